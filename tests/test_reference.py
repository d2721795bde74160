"""The shipped references: complete, small, and what the smoke study replicates."""

from pathlib import Path

import pytest

from geoctx import fingerprint, reference, replicate

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "reference"


def test_shipped_references_are_small_and_reproduce_their_fingerprints():
    names = sorted(p.name for p in SHIPPED.iterdir() if p.is_dir())
    assert "smoke" in names
    assert reference.size(SHIPPED) < reference.MAX_BYTES
    for name in names:
        reference.published_files(SHIPPED / name)
        reference.check_fingerprint(SHIPPED / name)
        replicate.load_study(SHIPPED / name)


def test_a_reference_is_copied_only_from_a_study_that_reproduces_its_fingerprint(
    tmp_path,
):
    out = tmp_path / "ref" / "smoke"
    value = reference.make_reference(SHIPPED / "smoke", out)
    assert value == fingerprint.read_file(out / "report/fingerprint.txt")[0]
    assert {p.name for p in out.rglob("*") if p.is_file()} == {
        *(f"{t}.parquet" for t in reference.TABLES),
        *reference.REPORT_FILES,
    }
    (out / "report/fingerprint.txt").write_text("0" * 64 + "\n")
    with pytest.raises(ValueError, match="recorded 0000000000000000"):
        reference.make_reference(out, tmp_path / "again")
    assert not (tmp_path / "again").exists()
    (out / "tables/claims.parquet").unlink()
    assert reference.main([str(out), str(tmp_path / "again")]) == 2


@pytest.mark.slow
def test_the_smoke_study_replicates_its_shipped_reference(study, tmp_path):
    result = replicate.replicate(SHIPPED / "smoke", study, out=tmp_path)
    assert result.config.empty, result.config
    assert result.replicates, "\n".join(result.problems())

"""The store of finished jobs' outputs (geoctx.reuse): its key, its trust, and a
forced rerun of a finished training that reuses the model instead of training."""

import os
import re
import stat

import pytest
from smoke_study import snakemake

from geoctx import reuse
from geoctx.storage import file_digest


@pytest.fixture
def job(tmp_path):
    """A job's key arguments: two input files and a code digest in its params."""
    (tmp_path / "data.npz").write_bytes(b"the split")
    (tmp_path / "tuning.parquet").write_bytes(b"the rates")
    return dict(
        params={"code": "c0de", "training": {"epochs": 4, "batch_size": 64}},
        inputs={"data": tmp_path / "data.npz", "tuning": tmp_path / "tuning.parquet"},
        wildcards={"dataset": "moons", "activation": "relu", "depth": "1"},
        threads=1,
        outputs={"model": "m/model.keras", "run": "m/runs.parquet"},
    )


def key(job, rule="train_model"):
    return reuse.job_key(rule, **job)


@pytest.mark.parametrize(
    "change",
    [
        lambda j: j["params"].update(code="c0de2"),  # the script or a module
        lambda j: j["params"]["training"].update(epochs=5),
        lambda j: j["params"]["training"].update(batch_size=63),
        lambda j: j["wildcards"].update(activation="sigmoid"),
        lambda j: j["wildcards"].update(depth="3"),
        lambda j: j.update(threads=2),
        lambda j: j["inputs"]["data"].write_bytes(b"another split"),
        lambda j: j["inputs"]["tuning"].write_bytes(b"the rates!"),
        lambda j: j["outputs"].update(units="m/units.parquet"),
    ],
    ids=[
        "code",
        "epochs",
        "batch_size",
        "activation",
        "depth",
        "threads",
        "data content",
        "tuning content",
        "outputs",
    ],
)
def test_key_changes_with_what_the_outputs_depend_on(job, change):
    before = key(job)
    change(job)
    assert key(job) != before


def test_key_ignores_paths_times_and_other_files(job, tmp_path):
    before = key(job)
    # the same content elsewhere, under an old time; another file changed
    moved = tmp_path / "moved"
    moved.mkdir()
    for name, path in list(job["inputs"].items()):
        (moved / path.name).write_bytes(path.read_bytes())
        os.utime(moved / path.name, (0, 0))
        job["inputs"][name] = moved / path.name
    (tmp_path / "unrelated.txt").write_text("anything")
    job["outputs"] = {k: f"elsewhere/{v}" for k, v in job["outputs"].items()}
    assert key(job) == before
    # key order in params makes no difference
    job["params"] = dict(reversed(list(job["params"].items())))
    assert key(job) == before
    assert key(job, rule="tune_learning_rate") != before


def test_key_material_is_what_the_docs_say(job):
    job["inputs"]["data"].write_bytes(b"abc")
    material = reuse.key_material("train_model", **job)
    assert material["inputs"] == {
        "data": file_digest(job["inputs"]["data"]),
        "tuning": file_digest(job["inputs"]["tuning"]),
    }
    # FIPS 180-2's SHA-256 test vector for "abc"
    assert material["inputs"]["data"] == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert material["outputs"] == ["model", "run"]
    assert set(material["software"]) == {"python", *reuse.SOFTWARE}


def test_a_param_json_cannot_hold_is_refused_by_name(job):
    job["params"]["training"] = {1, 2}
    with pytest.raises(ValueError, match=r"params\.training of rule train_model"):
        key(job)


@pytest.fixture
def finished(tmp_path):
    """A finished job's outputs, stored; (outputs, key, store root)."""
    out = tmp_path / "results"
    out.mkdir()
    outputs = {"model": out / "model.keras", "run": out / "runs.parquet"}
    outputs["model"].write_bytes(b"weights" * 100)
    outputs["run"].write_bytes(b"table")
    root = tmp_path / "store"
    entry = reuse.save("train_model", "k" * 64, outputs, root=root)
    assert entry == root / "train_model" / ("k" * 64)
    return outputs, "k" * 64, root


def test_saved_entry_is_private_whole_and_costs_no_copy(finished):
    outputs, key_, root = finished
    entry = root / "train_model" / key_
    for path in (root, root / "train_model", entry):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    stored = {p.name for p in entry.iterdir()}
    assert stored == {"model.keras", "run.parquet", "manifest.json"}
    # hard links: the stored file is the result's own inode
    assert (entry / "model.keras").stat().st_ino == outputs["model"].stat().st_ino
    # no temporary directory left beside it
    assert [p.name for p in (root / "train_model").iterdir()] == [key_]


def test_restore_gives_back_the_same_files(finished):
    outputs, key_, root = finished
    digests = {name: file_digest(path) for name, path in outputs.items()}
    for path in outputs.values():
        path.unlink()  # as Snakemake does before a forced job
    entry = reuse.restore("train_model", key_, outputs, root=root)
    assert entry == root / "train_model" / key_
    assert {name: file_digest(path) for name, path in outputs.items()} == digests


def test_an_unknown_key_is_a_miss(finished):
    outputs, _, root = finished
    assert reuse.restore("train_model", "0" * 64, outputs, root=root) is None
    assert reuse.restore("tune_learning_rate", "k" * 64, outputs, root=root) is None


def remove_outputs(outputs):
    for path in outputs.values():
        path.unlink()


def test_an_incomplete_entry_is_never_used(finished):
    outputs, key_, root = finished
    remove_outputs(outputs)
    (root / "train_model" / key_ / "run.parquet").unlink()
    assert reuse.restore("train_model", key_, outputs, root=root) is None
    assert not any(path.exists() for path in outputs.values())
    # ... and is dropped, so a new training can store its own
    assert not (root / "train_model" / key_).exists()


def test_an_entry_for_other_outputs_is_never_used(finished):
    outputs, key_, root = finished
    assert (
        reuse.restore("train_model", key_, {"model": outputs["model"]}, root=root)
        is None
    )


def test_a_result_edited_in_place_spoils_its_entry(finished):
    outputs, key_, root = finished
    # an in-place write reaches the stored hard link: its SHA-256 no longer matches
    with open(outputs["model"], "r+b") as fh:
        fh.write(b"W")
    remove_outputs(outputs)
    assert reuse.restore("train_model", key_, outputs, root=root) is None
    assert not any(path.exists() for path in outputs.values())


@pytest.mark.parametrize("where", ["root", "rule", "entry"])
def test_an_entry_others_can_write_is_not_trusted(finished, where):
    outputs, key_, root = finished
    path = {
        "root": root,
        "rule": root / "train_model",
        "entry": root / "train_model" / key_,
    }
    path[where].chmod(0o770)
    remove_outputs(outputs)
    assert reuse.restore("train_model", key_, outputs, root=root) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_an_entry_another_user_wrote_is_not_trusted(finished):
    outputs, key_, root = finished
    entry = root / "train_model" / key_
    os.chown(entry / "model.keras", 65534, 65534)  # nobody
    remove_outputs(outputs)
    assert reuse.restore("train_model", key_, outputs, root=root) is None
    assert not outputs["model"].exists()


@pytest.mark.slow
def test_a_forced_rerun_of_a_finished_training_reuses_it(study, tmp_path):
    from test_workflow import copy_study

    workdir = copy_study(study, tmp_path)
    model = "results/models/moons/relu/auto/w16_d1_s0"
    files = sorted((workdir / model).iterdir())
    before = {p.name: file_digest(p) for p in files}
    log = workdir / "logs/train_model/moons/relu/auto/w16_d1_s0.log"
    trained = "geoctx.training: training mlp_relu_16x1"  # geoctx.training's log
    assert trained in log.read_text()
    # --force: as Snakemake starts each job of a retried group (deleting outputs)
    proc = snakemake(workdir, "--cores", "1", "--force", f"{model}/model.keras")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"Finished jobid.*Rule: train_model", proc.stderr)
    # the same files, and the job's log says where they came from
    assert {p.name: file_digest(p) for p in files} == before
    text = log.read_text()
    entry = r"\S+geoctx-store/train_model/[0-9a-f]{64}"
    assert re.search(rf"reused the outputs of the same finished job: {entry}", text)
    assert trained not in text

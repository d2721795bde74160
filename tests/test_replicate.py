"""Replication: a rerun against a cited study, from the published artefacts."""

import json

import numpy as np
import pandas as pd
import pytest

from geoctx import replicate, tables
from geoctx.machine import PLATFORM_KEY

CONFIG = {"datasets": {"moons": {"noise": 0.1}}, "activations": ["relu", "sigmoid"]}
D = 0.02  # every row's smallest effect of interest


def _rows(name, overrides):
    """Rows of a study table: every schema column filled, ``overrides`` on top."""
    defaults = {
        "string": "x",
        "int64": 1,
        "bool": False,
        "double": 0.5,
    }
    base = {f.name: defaults.get(str(f.type), 0.5) for f in tables.SCHEMAS[name]}
    base.update(dataset="moons", initializer="auto", width=16, depth=2, seed=0)
    return pd.DataFrame([{**base, **o} for o in overrides])


def _claim(evidence, comparison, verdict, effect, **extra):
    return {
        "analysis": "main",
        "claim": "C3",
        "evidence": evidence,
        "stage": "trained",
        "part": "",
        "comparison": comparison,
        "dataset": "all",
        "condition": "all",
        "family": "decides",
        "decides": True,
        "primary": True,
        "at_init": False,
        "verdict": verdict,
        "effect": effect,
        "ci_low": effect - 0.01,
        "ci_high": effect + 0.01,
        "smallest_effect": D,
        "n_pairs": 4,
        "n_conditions": 4,
        **extra,
    }


def study_tables():
    models = [{"activation": a} for a in ("relu", "sigmoid")]
    return {
        "runs": _rows(
            "runs",
            [
                {**m, "test_accuracy": acc}
                for m, acc in zip(models, (0.9, 0.7), strict=True)
            ],
        ),
        "units": _rows("units", [{**m, "metric": "dead_fraction"} for m in models]),
        "geometry": _rows(
            "geometry",
            [{**m, "stage": "trained", "metric": "knn_overlap"} for m in models],
        ),
        "robustness": _rows(
            "robustness", [{**m, "attack": "pgd_linf", "epsilon": 0.1} for m in models]
        ),
        "claims": _rows(
            "claims",
            [
                _claim("test_accuracy", "sigmoid vs relu", "supported", -0.2),
                _claim("test_accuracy", "tanh vs relu", "no effect", 0.001)
                | {"family": "controls", "primary": False},
                _claim("log2_latency_ratio", "sigmoid vs relu", "inconclusive", 0.05)
                | {"claim": "C9", "stage": ""},
            ],
        ),
    }


def write_study(directory, study_tables, *, config=CONFIG, fingerprint="ab" * 32):
    (directory / "tables").mkdir(parents=True)
    (directory / "report").mkdir()
    for name, df in study_tables.items():
        tables.write(df, directory / "tables" / f"{name}.parquet", name)
    (directory / "report" / "study_config.json").write_text(json.dumps(config))
    (directory / "report" / "fingerprint.txt").write_text(fingerprint + "\n")
    return directory


def edited(change):
    t = study_tables()
    change(t)
    return t


@pytest.fixture
def cited(tmp_path):
    return write_study(tmp_path / "cited", study_tables())


def test_a_study_replicates_itself(cited, tmp_path, capsys):
    code = replicate.main([str(cited), str(cited), "--out", str(tmp_path / "out")])
    assert code == 0
    out = capsys.readouterr().out
    assert "same study fingerprint" in out and "REPLICATES" in out
    models = pd.read_parquet(tmp_path / "out" / "replication_models.parquet")
    assert (models.n_identical == models.n_matched).all()
    assert (models.max_abs_difference == 0).all()
    verdicts = pd.read_parquet(tmp_path / "out" / "replication.parquet")
    # 9 claims x 3 verdict kinds, and the 3 scorecard rows
    assert (verdicts.level == "claim").sum() == 27
    assert (verdicts.level == "row").sum() == 3
    assert verdicts.agrees.all()


def test_a_changed_verdict_is_named(cited, tmp_path, capsys):
    def change(t):
        t["claims"].loc[0, "verdict"] = "inconclusive"

    rerun = write_study(tmp_path / "rerun", edited(change))
    code = replicate.main([str(cited), str(rerun), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1
    assert "decides / C3 / test_accuracy / trained / sigmoid vs relu: verdict " in out
    assert "supported → inconclusive" in out
    assert "C3 verdict: verdict supported → inconclusive" in out
    assert "DOES NOT REPLICATE" in out


@pytest.mark.parametrize(
    ("shift", "tolerance", "replicates"),
    [(0.4 * D, 0.5, True), (0.6 * D, 0.5, False), (0.6 * D, 1.0, True)],
)
def test_an_effect_within_the_tolerance_in_units_of_d(
    cited, tmp_path, shift, tolerance, replicates
):
    def change(t):
        t["claims"].loc[0, "effect"] += shift

    rerun = write_study(tmp_path / "rerun", edited(change))
    result = replicate.replicate(cited, rerun, tolerance=tolerance)
    assert result.replicates is replicates
    row = result.verdicts[
        (result.verdicts.level == "row")
        & (result.verdicts.comparison == "sigmoid vs relu")
        & (result.verdicts.claim == "C3")
    ].iloc[0]
    assert row.difference == pytest.approx(shift)
    # the cited interval is effect ± 0.01 = ± 0.5 d
    assert row.rerun_in_cited_ci is (shift <= 0.01)
    if not replicates:
        (line,) = result.problems()
        assert f"(|Δ| = {shift / D:.2g} d > {tolerance:g} d, outside" in line


def test_an_effect_inside_the_cited_interval_agrees_beyond_the_tolerance(
    cited, tmp_path
):
    # a rerun on another processor moves a noisy effect by several d: it
    # agrees while it stays within the cited study's own 95% interval
    def widen(t):
        t["claims"].loc[0, ["ci_low", "ci_high"]] -= [3 * D, -3 * D]

    wide = write_study(tmp_path / "wide", edited(widen))

    def moved(shift):
        def change(t):
            widen(t)
            t["claims"].loc[0, "effect"] += shift

        return write_study(tmp_path / f"moved{shift}", edited(change))

    inside = replicate.replicate(wide, moved(2 * D))  # 2 d, inside +-3.5 d
    assert inside.replicates
    outside = replicate.replicate(wide, moved(4 * D))  # 4 d, beyond the interval
    assert not outside.replicates
    (line,) = outside.problems()
    assert "(|Δ| = 4 d > 0.5 d, outside the cited interval)" in line


def test_timings_decide_only_when_asked(cited, tmp_path):
    def change(t):
        t["claims"].loc[2, ["verdict", "effect"]] = ["supported", 0.9]

    rerun = write_study(tmp_path / "rerun", edited(change))
    assert replicate.replicate(cited, rerun).replicates
    strict = replicate.replicate(cited, rerun, include_timings=True)
    assert not strict.replicates
    assert any(p.startswith("C9 verdict") for p in strict.problems())


def test_model_differences_are_matched_by_keys(cited, tmp_path):
    def change(t):
        t["runs"].loc[t["runs"].activation == "sigmoid", "test_accuracy"] += 0.01
        t["runs"] = t["runs"].iloc[::-1]  # row order does not matter

    rerun = write_study(tmp_path / "rerun", edited(change))
    models = replicate.replicate(cited, rerun).models.set_index("quantity")
    acc = models.loc["test_accuracy"]
    assert (acc.n_matched, acc.n_identical) == (2, 1)
    assert acc.mean_difference == pytest.approx(0.005)
    assert acc.max_abs_difference == pytest.approx(0.01)
    assert models.loc["trained · knn_overlap", "n_identical"] == 2


def test_config_and_platform_differences_are_listed(cited, tmp_path):
    config = {
        **CONFIG,
        "datasets": {"moons": {"noise": 0.2}},
        PLATFORM_KEY: {"cpu_isa": "avx2"},
    }
    rerun = write_study(tmp_path / "rerun", study_tables(), config=config)
    result = replicate.replicate(cited, rerun, out=tmp_path / "out")
    assert result.config.to_dict("records") == [
        {"key": "datasets.moons.noise", "cited": "0.1", "rerun": "0.2"}
    ]
    assert result.platform.to_dict("records") == [
        {"key": "cpu_isa", "cited": "(absent)", "rerun": '"avx2"'}
    ]
    html = (tmp_path / "out" / "replication.html").read_text()
    assert "datasets.moons.noise" in html
    assert replicate.report._css() in html  # the study report's stylesheet


def test_a_row_only_one_study_has_is_a_difference(cited, tmp_path):
    rerun = write_study(
        tmp_path / "rerun", edited(lambda t: t.update(claims=t["claims"].iloc[1:]))
    )
    result = replicate.replicate(cited, rerun)
    assert not result.replicates
    assert any(
        p.endswith("sigmoid vs relu: only in the cited study")
        for p in result.problems()
    )


def test_an_older_scorecard_is_matched_on_the_keys_it_has(cited, tmp_path):
    def change(t):
        t["claims"] = t["claims"].drop(columns=["family", "part", "at_init"])

    old = tmp_path / "old"
    write_study(old, study_tables())
    claims_path = old / "tables" / "claims.parquet"
    edited(change)["claims"].to_parquet(claims_path)
    result = replicate.replicate(cited, old)
    rows = result.verdicts[result.verdicts.level == "row"]
    assert len(rows) == 3 and rows.verdict_agrees.all()


def test_missing_or_incomplete_directories_are_named(cited, tmp_path, capsys):
    with pytest.raises(ValueError, match="no such directory"):
        replicate.load_study(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="no tables/ and report/"):
        replicate.load_study(tmp_path)
    (cited / "tables" / "claims.parquet").unlink()
    args = [str(cited), str(cited), "--out", str(tmp_path / "out")]
    assert replicate.main(args) == 2
    err = capsys.readouterr().err
    assert "incomplete study" in err and "claims.parquet" in err


def test_a_workflow_directory_holding_results_is_a_study(tmp_path):
    write_study(tmp_path / "work" / "results", study_tables())
    assert replicate.load_study(tmp_path / "work").fingerprint == "ab" * 32


def test_a_negative_tolerance_is_refused(cited):
    with pytest.raises(ValueError, match="tolerance: -1"):
        replicate.replicate(cited, cited, tolerance=-1.0)
    with pytest.raises(ValueError, match="tolerance: nan"):
        replicate.replicate(cited, cited, tolerance=np.nan)


def test_check_writes_the_report_and_explains(cited, tmp_path):
    ok, text = replicate.check(cited, cited, out=tmp_path / "out")
    assert ok and text.endswith("REPLICATES")
    assert (tmp_path / "out" / "replication.html").is_file()
    rerun = write_study(
        tmp_path / "rerun",
        edited(lambda t: t["claims"].loc.__setitem__((0, "verdict"), "inconclusive")),
    )
    ok, text = replicate.check(cited, rerun, out=tmp_path / "out")
    assert not ok and "supported → inconclusive" in text

"""The report renders from any scorecard, escapes config strings, cites itself."""

import datetime

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from geoctx import claims, evidence, geometry, methods, names, report, stats, tables
from geoctx.config import SATURATION_TOLERANCE, validate_config


def empty(name):
    return tables.SCHEMAS[name].empty_table().to_pandas()


def runs_table(n_seeds):
    rows = []
    for seed in range(n_seeds):
        for activation, acc in (("relu", 0.9), ("sigmoid", 0.8)):
            rows.append(
                {
                    "dataset": "moons",
                    "activation": activation,
                    "initializer": "auto",
                    "width": 8,
                    "depth": 2,
                    "seed": seed,
                    "status": "ok",
                    "test_accuracy": acc + 0.01 * seed,
                    "generalization_gap": 0.0,
                    "train_loss": 0.3,
                    "test_loss": 0.3,
                    "epochs_run": 3,
                    "hit_cap": False,
                    "learning_rate": 0.01,
                    "tuned_rate": 0.01,
                    "rates_screened": 0,
                    "wall_time_s": 1.0,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def study_tables(request):
    t = {name: empty(name) for name in ("history", *claims.TABLES)}
    t["runs"] = runs_table(getattr(request, "param", 3))
    t["claims"] = claims.score_claims(
        t, activations=["sigmoid", "relu"], n_resamples=200
    )
    return t


def render(study_tables, study, **sections):
    config = validate_config(
        {"datasets": {"moons": {}}, "activations": ["relu"], "study": study, **sections}
    )
    return report.render(
        tables=study_tables,
        figures=[],
        study=config["study"],
        config=config,
        fingerprint="f" * 64,
        table_files={},
        commit="abc123",
        date=datetime.date(2026, 1, 2),
    )


def test_reproducibility_records_the_platform(study_tables):
    html = render(study_tables, {"title": "T"})
    section = html[html.index('id="reproducibility"') : html.index('id="cite"')]
    for key in ("cpu_isa", "onednn_isa", "ONEDNN_MAX_CPU_ISA", "tensorflow", "blas"):
        assert f"<td>{key}</td>" in section
    assert "python -m geoctx.replicate" in section


def test_the_runs_started_again_are_named(study_tables):
    html = render(study_tables, {"title": "T"})
    assert "No run was started again." in html
    runs = study_tables["runs"]
    last = runs.index[-1]  # sigmoid seed 2: failed at 0.01, learned at 0.003
    runs.loc[last, ["learning_rate", "rates_screened"]] = [0.003, 3]
    html = render(study_tables, {"title": "T"})
    assert "(1 of 6 runs):</strong> moons/sigmoid/auto/w8_d2_s2 (learned at " in html
    assert "0.003, not at 0.01)" in html


@pytest.mark.parametrize("study_tables", [1, 3], indirect=True)
def test_renders_with_one_or_few_pairs(study_tables):
    html = render(study_tables, {"title": "T"})
    assert 'id="scorecard"' in html and 'id="c9"' in html
    assert "not measured" in html


def test_config_strings_are_escaped(study_tables):
    study = {
        "title": "<script>alert(1)</script>",
        "authors": [{"name": "A <b>B</b>", "affiliation": "<i>x</i>"}],
        "description": "<img src=x onerror=alert(1)>",
    }
    html = render(study_tables, study)
    for raw in ("<script>alert(1)", "<b>B</b>", "<i>x</i>", "<img src=x"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("verdicts", "starts", "details"),
    [
        (
            {
                "claim": ["C1", "C2"],
                "verdict": ["supported", "not measured"],
                "evidence": ["distance_spearman (supported)", "x (not measured)"],
                "effect": [-0.1, np.nan],
                "ci_low": [-0.15, np.nan],
                "ci_high": [-0.05, np.nan],
                "n_pairs": [36, 0],
                "n_conditions": [12, 0],
                "datasets": ["circles -0.2, spirals +0.01", ""],
                "i2": [0.83, np.nan],
            },
            [
                "Of the argument's 2 claims, this study finds 1 supported, "
                "1 not measured (primary comparison: sigmoid vs relu).",
                "C1 (supported): the whole interval lies beyond the smallest effect "
                "of interest d on the predicted side",
                "Not measured (the sweep lacks what they need): C2.",
            ],
            [
                "-0.1 [-0.15, -0.05] over 12 conditions",
                "By dataset: circles -0.2, spirals +0.01 (I² 0.83).",
            ],
        ),
        (
            {
                "claim": ["C8", "C4"],
                "verdict": ["no effect", "mixed"],
                "evidence": [
                    "dead_fraction (no effect)",
                    "a (supported), b (contradicted)",
                ],
                "effect": [0.001, -0.1],
                "ci_low": [-0.002, -0.15],
                "ci_high": [0.004, -0.05],
                "n_pairs": [18, 18],
                "n_conditions": [6, 6],
                "datasets": ["", ""],
                "i2": [np.nan, np.nan],
            },
            [
                "Of the argument's 2 claims, this study finds 1 no effect, 1 mixed "
                "(primary comparison: sigmoid vs relu).",
                "C8 (no effect): no effect of practical size",
                "C4 (mixed): the claim's evidence items disagree",
            ],
            ["+0.001 [-0.002, +0.004] over 6 conditions"],
        ),
    ],
    ids=["supported-and-not-measured", "no-effect-and-mixed"],
)
def test_summary_is_written_from_the_verdicts(verdicts, starts, details):
    """One line per expected start, in order; the first claim's line holds
    each of ``details``."""
    scores = pd.DataFrame({"primary": [True], "comparison": ["sigmoid vs relu"]})
    lines = report.summary_sentences(pd.DataFrame(verdicts), scores)
    assert len(lines) == len(starts)
    for line, start in zip(lines, starts, strict=True):
        assert line.startswith(start)
    for detail in details:
        assert detail in lines[1]


SIMULATION = pd.DataFrame(
    {
        "scenario": ["null", "2d", "5d", "10d", "5d, skewed"],
        "true_effect": [0.0, 2.0, 5.0, 10.0, 5.0],
        "distribution": ["normal"] * 4 + ["skewed"],
        "supported": [0.0, 0.005, 0.24, 0.975, 0.18],
    }
)


@pytest.mark.parametrize("verdict", ["inconclusive", "supported"])
def test_summary_quotes_the_power_only_behind_an_inconclusive_claim(verdict):
    verdicts = pd.DataFrame(
        {"claim": ["C1"], "verdict": [verdict], "evidence": ["x"], "effect": [0.3],
         "ci_low": [0.2], "ci_high": [0.4], "n_pairs": [12]}
    )  # fmt: skip
    scores = pd.DataFrame({"primary": [True], "comparison": ["sigmoid vs relu"]})
    lines = report.summary_sentences(verdicts, scores, SIMULATION)
    power = [line for line in lines if line.startswith("At this design")]
    if verdict == "inconclusive":
        # the normal-noise rates of 2, 5 and 10 d, not the skewed 5 d (18%)
        assert power == [
            "At this design the rule calls an effect of 2 d supported in 0.5% of "
            "simulated studies, 5 d in 24%, 10 d in 97.5% (Error rates): an "
            "inconclusive claim may still have an effect several times its "
            "smallest effect of interest."
        ]
    else:
        assert power == []
    assert report.summary_sentences(verdicts, scores) == [
        line for line in lines if not line.startswith("At this design")
    ]


def test_power_sentence_needs_a_planted_effect():
    assert report.power_sentence(pd.DataFrame()) == ""
    assert report.power_sentence(SIMULATION.iloc[[0, 4]]) == ""


def test_methods_state_every_verdict():
    for name in stats.CLAIM_VERDICTS:
        assert name in report.VERDICT_RULE


def test_bibtex_carries_title_authors_date_and_fingerprint():
    study = {"title": "A {study}", "authors": [{"name": "Ada L"}, {"name": "Bo M"}]}
    bib = report.bibtex(
        study, fingerprint="ab" * 32, version="0.1.0", date=datetime.date(2026, 3, 4)
    )
    assert bib.startswith("@techreport{geoctx_20260304_abababab,")
    assert "title = {A study}" in bib and "author = {Ada L and Bo M}" in bib
    assert "year = {2026}" in bib and "ab" * 32 in bib


def test_methods_state_the_timing_protocol_and_what_it_does_not_ensure(study_tables):
    html = render(
        study_tables, {"title": "T"}, inference={"runs": 4, "min_seconds": 2.5}
    )
    assert "timed in 4 separate jobs, each a fresh process: 30 blocks" in html
    assert "at least 2.5 s in all" in html
    assert "locally nothing keeps other programs off the machine" in html


def test_report_says_when_there_is_no_transfer_attack(study_tables):
    html = render(study_tables, {"title": "T"})
    assert "No transfer attack in this study" in html
    assert "the primary pair (sigmoid, relu)" in html


def test_report_explains_every_verdict_in_words(study_tables):
    html = render(study_tables, {"title": "T"})
    assert "no effect of practical size" in html
    for name in stats.CLAIM_VERDICTS:
        assert f'stance-{stats.STANCE[name]}">{name}</span>' in html


def test_methods_values_come_from_the_config_and_the_package(study_tables):
    html = render(
        study_tables,
        {"title": "T"},
        robustness={"pgd_restarts": 7, "pgd_steps": 33},
        claims={"min_test_accuracy": 0.65},
        initializers=["auto", "glorot_uniform"],
    )
    assert "7 random restart(s) of 33 steps" in html
    assert "both models reached test accuracy 0.65" in html
    assert "each of auto, glorot_uniform" in html
    neighbours = methods._default(geometry.betti_numbers, "graph_neighbors")
    assert f"{neighbours}-NN graph" in html
    assert f"within {SATURATION_TOLERANCE} of a bound" in html


def test_training_methods_and_capped_runs_come_from_config_and_runs(study_tables):
    runs = study_tables["runs"]
    runs.loc[runs.index[1], "hit_cap"] = True
    study_tables["tuning"] = pd.DataFrame(
        {
            "dataset": "moons",
            "activation": ["relu", "relu", "sigmoid", "sigmoid"],
            "initializer": "auto",
            "width": 8,
            "depth": 2,
            "learning_rate": [0.001, 0.02, 0.001, 0.02],
            "chosen": [True, False, False, True],
            # sigmoid learned at neither rate: a failure at every tuned rate
            "status": ["ok", "diverged", "failed_to_learn", "diverged"],
            "train_accuracy": [0.95, np.nan, 0.5, np.nan],
            "val_accuracy": [0.9, np.nan, 0.5, np.nan],
            "held_out_accuracy": [0.9, np.nan, 0.5, np.nan],
            "epochs_run": [40, 3, 60, 2],
        }
    )
    html = render(
        study_tables,
        {"title": "T"},
        training={"epochs": 777, "convergence": {"window": 33, "tolerance": 0.002}},
        tuning={"learning_rates": [0.001, 0.02], "seeds": [99]},
    )
    assert "the best loss of the last 33 epochs" in html
    assert "less than 0.002 times the first epoch" in html
    assert "the cap of 777 epochs" in html
    assert "learning rates 0.001, 0.02 are trained" in html
    assert "tuning seed 99 (on its own split of the data" in html
    assert "early stopping" not in html.lower()
    assert "(1 of 6 runs):</strong> moons/sigmoid/auto/w8_d2_s0." in html
    assert "<td>0.001</td><td>0.02</td>" in html  # relu, sigmoid
    assert "(1 architecture(s)):</strong> moons/sigmoid/auto/w8_d2." in html
    # and the trailing sigmoid's row gives each rate's outcome, diverged as 0
    assert "0.001: 0.500 / 0.500, failed_to_learn, 60<br>" in html
    assert "0.02: 0.000 / 0.000, diverged, 2 (chosen)" in html


def test_methods_list_every_evidence_item(study_tables):
    html = render(study_tables, {"title": "T"})
    for ev in evidence.EVIDENCE:
        assert str(escape(ev.description)) in html, ev.name


def test_failed_to_learn_runs_are_counted_per_claim(study_tables):
    runs = study_tables["runs"]
    runs.loc[runs.index[:2], "status"] = names.FAILED_TO_LEARN
    html = render(study_tables, {"title": "T"})
    assert "<strong>2 run(s) failed to learn</strong>" in html
    assert report.failed_to_learn_note("C4", 2) in html
    assert report.failed_to_learn_note("C3", 2).endswith("part of what is measured).")


def test_c4_shows_the_worst_case_robust_accuracy(study_tables):
    rows = [
        {
            **model,
            "attack": "worst_case_linf",
            "metric": "accuracy",
            "epsilon": eps,
            "value": value,
        }
        for model in study_tables["runs"][
            ["dataset", "activation", "initializer", "width", "depth", "seed"]
        ].to_dict("records")
        for eps, value in (
            (0.0, 0.9),
            (0.1, 0.25 if model["activation"] == "relu" else 0.125),
        )
    ]
    study_tables["robustness"] = pd.DataFrame(rows)
    html = render(study_tables, {"title": "T"})
    section = html[html.index('id="c4"') : html.index('id="c5"')]
    assert "<th>ε=0.1</th>" in section
    assert "<td>0.125</td>" in section and "<td>0.25</td>" in section


def test_forest_leads_and_rows_move_to_the_appendix(study_tables, tmp_path):
    png = tmp_path / "forest.png"
    png.write_bytes(b"\x89PNG fake")
    # This scorecard measures nothing (one condition): not simulated ...
    assert stats.simulation.study_error_rates(
        study_tables["claims"][study_tables["claims"].family == "decides"]
    ).empty
    # ... so plant a simulation at a small design.
    design = dict(n_conditions=6, n_seeds=2, n_rows=2, sd_condition=1.0, sd_seed=1.0)
    study_tables["verdict_simulation"] = stats.error_rates(
        **design, n_families=2, n_resamples=50, scenarios=["null"]
    ).assign(**design)
    config = validate_config(
        {"datasets": {"moons": {}}, "activations": ["relu"], "study": {"title": "T"}}
    )
    html = report.render(
        tables=study_tables, figures=[str(png)], study=config["study"],
        config=config, fingerprint="f" * 64, table_files={}, commit="abc",
    )  # fmt: skip
    assert html.index('alt="forest"') < html.index('id="summary"')
    assert 'id="error-rates"' in html and "<td>null</td>" in html
    claim = html[html.index('id="c3"') : html.index('id="c4"')]
    assert "The items that decide it" in claim and "<td>family</td>" not in claim
    appendix = html[html.index('id="rows"') : html.index('id="models"')]
    n_rows = int((study_tables["claims"].family != "").sum())
    assert f"{n_rows} rows" in appendix


def test_summary_says_where_a_verdict_comes_from():
    verdicts = pd.DataFrame(
        {
            "claim": ["C1"],
            "verdict": ["contradicted"],
            "evidence": ["distance_spearman (contradicted)"],
            "effect": [0.15],
            "ci_low": [0.1],
            "ci_high": [0.2],
            "n_pairs": [30],
            "origin": [claims.origin("supported", "contradicted")],
        }
    )
    scores = pd.DataFrame({"primary": [True], "comparison": ["sigmoid vs relu"]})
    lines = report.summary_sentences(verdicts, scores)
    assert (
        "C1 at initialization: supported at initialization, contradicted after "
        "training: training changes it." in lines
    )


def test_scorecard_shows_the_initialization_verdict_per_part(study_tables):
    scores = study_tables["claims"]
    init = (scores.family == "initialization") & (scores.claim == "C1")
    relative = init & (scores.part == "relative distances")
    assert relative.sum() == 3 and (init & ~relative).sum() == 1
    scores["verdict"] = scores.verdict.astype(object)
    scores.loc[relative, "verdict"] = "contradicted"
    scores.loc[init & ~relative, "verdict"] = "inconclusive"
    html = render(study_tables, {"title": "T"})
    scorecard = html[html.index('id="scorecard"') : html.index('id="error-rates"')]
    # The claim's verdict by the rule of every combination (one item is
    # undecided), each part's beside it.
    assert (
        '<span class="verdict stance-open">inconclusive</span><br><small>'
        "relative distances: contradicted; compression: inconclusive</small>"
    ) in scorecard


def test_the_trailing_section_lists_each_activation_behind_its_cell(study_tables):
    # sigmoid's mean (0.81) trails ReLU's (0.91) by 10 points, and no tuning
    # run of it came within 2 points: a failure at every tuned rate
    html = render(study_tables, {"title": "T"})
    section = html[html.index('id="trailing"') : html.index('id="geometry"')]
    assert "more than 2 points (0.02" in section
    row = section[section.index("<td>moons/") :]
    row = row[: row.index("</tr>")]
    assert "<td>sigmoid</td>" in row and "relu 0.910" in row
    assert "0.100" in row and "fails at every tuned rate" in row
    # within the margin, nothing is listed
    runs = study_tables["runs"]
    study_tables["runs"] = runs.assign(
        test_accuracy=runs["test_accuracy"].where(runs["activation"] == "relu", 0.9)
    )
    html = render(study_tables, {"title": "T"})
    assert "No activation trails its cell's best" in html

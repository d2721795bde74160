"""End to end: the smoke study runs, its outputs are right, reruns are minimal.

The ``study`` fixture (tests/conftest.py) runs the smoke study once.
"""

import os
import random
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from smoke_study import ROOT, SMOKE, TOC, snakemake

from geoctx import claims, report, robustness, tables
from geoctx.config import GEOMETRY_METRICS
from geoctx.names import attack_names
from geoctx.report import model_id

pytestmark = pytest.mark.slow


def smoke_config():
    return yaml.safe_load((ROOT / SMOKE).read_text())


def n_models(config):
    return (
        len(config["datasets"])
        * len(config["activations"])
        * len(config.get("initializers", ["auto"]))
        * len(config["widths"])
        * len(config["depths"])
        * len(config["seeds"])
    )


def test_tables_have_their_schema_and_plausible_values(study):
    config = smoke_config()
    runs = pd.read_parquet(study / "results/tables/runs.parquet")
    assert len(runs) == n_models(config)
    # 4 epochs leave some deep sigmoid models at chance: measured, not dropped
    assert set(runs.status) <= {"ok", "failed_to_learn"}
    # the convergence window is the budget: every run reaches the cap
    assert not runs.stopped_early.any() and runs.hit_cap.all()
    assert not runs.plateaued.any()
    tuning = pd.read_parquet(study / "results/tables/tuning.parquet")
    rates, seeds = config["tuning"]["learning_rates"], config["tuning"]["seeds"]
    assert len(tuning) == n_models(config) // len(config["seeds"]) * len(rates) * len(
        seeds
    )
    chosen = tuning[tuning.chosen].merge(runs, on=["dataset", "activation", "depth"])
    # every run records its architecture's chosen rate and trains at it,
    # unless it failed to learn there and was kept at another rate of the
    # grid (geoctx.tuning.train_at_tuned_rates), which it then screened
    assert (chosen.learning_rate_x == chosen.tuned_rate).all()
    elsewhere = chosen.learning_rate_y != chosen.learning_rate_x
    assert (chosen.rates_screened[elsewhere] > 0).all()
    assert chosen.learning_rate_y.isin(rates).all()
    assert runs.test_accuracy.between(0, 1).all()
    # a few epochs are enough for the best model of each dataset to beat chance
    assert (runs.groupby("dataset").test_accuracy.max() > 0.7).all()
    assert (runs.epochs_run == config["training"]["epochs"]).all()
    for name in set(tables.SCHEMAS) - {"claims", "verdict_simulation"}:
        path = study / f"results/tables/{name}.parquet"
        assert pq.read_schema(path).remove_metadata() == tables.SCHEMAS[name]
        meta = tables.read_metadata(path)
        assert len(meta["config_sha256"]) == 64
        assert meta["versions"]["keras"] == "3.15.1"
    history = pd.read_parquet(study / "results/tables/history.parquet")
    assert len(history) == n_models(config) * config["training"]["epochs"]
    units = pd.read_parquet(study / "results/tables/units.parquet")
    grad = units[(units.metric == "grad_norm") & (units.stage == "init")]
    assert len(grad) == sum(d + 1 for d in config["depths"]) * n_models(config) // len(
        config["depths"]
    )


def test_robustness_and_inference_tables(study):
    config = smoke_config()
    rob = pd.read_parquet(study / "results/tables/robustness.parquet")
    transfers = {"transfer_from_relu", "transfer_from_sigmoid"}
    assert set(rob.attack) == set(robustness.ATTACKS) | transfers
    # transfer attacks both ways within each matched pair, never from itself
    for activation, other in (("sigmoid", "relu"), ("relu", "sigmoid")):
        attacked = rob[rob.attack == f"transfer_from_{other}"]
        assert set(attacked.activation) == {activation}
    rows = rob.groupby("activation").size()
    assert rows["sigmoid"] == rows["relu"]
    acc = rob[(rob.metric == "accuracy") & rob.attack.isin(["pgd_linf", "fgsm_linf"])]
    assert acc.value.between(0, 1).all()
    # every attack's epsilon-0 accuracy is the clean accuracy of its points
    zero = rob[(rob.epsilon == 0) & rob.metric.isin(["accuracy", "clean_accuracy"])]
    keys = ["dataset", "activation", "depth", "attack"]
    assert (zero.groupby(keys).value.nunique() == 1).all()
    clean = rob[rob.attack == "clean"].set_index(["dataset", "activation", "depth"])
    runs = pd.read_parquet(study / "results/tables/runs.parquet")
    runs = runs.set_index(["dataset", "activation", "depth"])
    joined = clean[clean.metric == "accuracy"].value
    assert np.allclose(joined.sort_index(), runs.test_accuracy.sort_index(), atol=1e-6)
    inference = pd.read_parquet(study / "results/tables/inference.parquet")
    n_forward = len(config["depths"]) * len(config["widths"]) * 2
    blocks, runs = config["inference"]["blocks"], config["inference"]["runs"]
    assert len(inference) == (
        blocks * len(config["activations"]) * (n_forward + 1) * runs
    )
    assert set(inference.block) == set(range(blocks))
    assert set(inference.run) == set(range(runs))
    # every measurement timed for min_seconds in all, in each run
    timed = inference.groupby(["run", "depth", "width", "batch_size", "activation"])
    assert (timed.timed_s.sum() >= config["inference"]["min_seconds"]).all()
    # every block of every cell holds every activation: a ratio per block
    per_block = inference.groupby(["depth", "width", "batch_size", "block"])
    assert (per_block.activation.nunique() == len(config["activations"])).all()
    assert (inference.latency_ms_median > 0).all()
    assert set(inference.threads) == {1}


def test_geometry_table_has_every_metric_layer_and_stage(study):
    geometry = pd.read_parquet(study / "results/tables/geometry.parquet")
    runs = pd.read_parquet(study / "results/tables/runs.parquet")
    keys = ["dataset", "activation", "initializer", "width", "depth", "seed"]
    counts = geometry.groupby([*keys, "stage", "metric"]).layer.nunique().reset_index()
    assert set(geometry.metric) == set(GEOMETRY_METRICS)
    assert set(geometry.stage) == {"init", "trained"}
    assert len(counts) == len(runs) * 2 * len(GEOMETRY_METRICS)
    assert (counts.layer == counts.depth + 2).all()  # input, hidden layers, logits
    identity = geometry[
        (geometry.layer == 0) & geometry.metric.isin(["linear_cka", "knn_overlap"])
    ]
    assert np.allclose(identity.value, 1.0)


def test_figures_and_report(study):
    names = ["accuracy_vs_depth", "grad_norm_by_layer", "boundary_accuracy"]
    names += ["learning_curves"]
    names += ["latency_ratio", "robustness_pgd_linf", "robustness_transfer_from_relu"]
    names += ["robustness_worst_case_linf", "robustness_pgd_margin_l2"]
    names += ["projections_moons", "projections_circles", "geometry_linear_cka"]
    for name in names:
        for ext in ("png", "svg"):
            assert (study / f"results/figures/{name}.{ext}").stat().st_size > 10_000
    html = (study / "results/report/report.html").read_text()
    runs = pd.read_parquet(study / "results/tables/runs.parquet")
    for _, row in runs.iterrows():
        assert model_id(row) in html
    assert "geoctx smoke study" in html
    assert 'src="data:image/png;base64,' in html
    # the trailing activations' section and its curves, drawn from the tables
    assert 'id="trailing"' in html and "trailing_curves" in html
    for section in TOC:
        assert f'id="{section}"' in html
    # the simulate_verdicts rule's table, not "Not simulated"
    simulation = pd.read_parquet(study / "results/tables/verdict_simulation.parquet")
    assert len(simulation) and "Not simulated" not in html
    for scenario in simulation.scenario:
        assert f"<td>{scenario}</td>" in html
    # the scorecard says how many hypotheses Holm adjusts over (smoke: 8 rows)
    holm = report.holm_family(pd.read_parquet(study / "results/tables/claims.parquet"))
    assert holm["hypotheses"] >= holm["rows"] > 0
    assert (
        f"Holm-adjusted over the family's {holm['hypotheses']} hypotheses (up to "
        f"three tests for each of its {holm['rows']} deciding rows)"
    ) in " ".join(html.split())
    for claim in ("c1", "c5", "c9"):
        assert f'id="{claim}"' in html
    assert (study / "results/report/report.pdf").read_bytes()[:5] == b"%PDF-"
    fingerprint = (study / "results/report/fingerprint.txt").read_text().split()[0]
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint) and fingerprint in html
    bib = (study / "results/report/CITATION.bib").read_text()
    assert "geoctx smoke study" in bib and fingerprint in bib and "Smoke Test" in bib


def test_scorecard_on_the_smoke_sweep(study):
    scores = pd.read_parquet(study / "results/tables/claims.parquet")
    assert (
        pq.read_schema(study / "results/tables/claims.parquet").remove_metadata()
        == (tables.SCHEMAS["claims"])
    )
    verdicts = claims.claim_verdicts(scores).set_index("claim").verdict
    assert list(verdicts.index) == [f"C{i}" for i in range(1, 10)]
    assert set(verdicts) <= set(claims.VERDICT_ORDER)
    # one seed and two depths: too few matched pairs to judge anything
    assert verdicts["C2"] == "not measured"
    timed = scores.claim == "C9"
    assert (scores[~timed].n_pairs <= 4).all()
    # two timed cells x two batch sizes, in every timing run
    assert scores[timed].n_pairs.max() == 4 * INFERENCE_RUNS


def test_fingerprint_verifies_from_the_command_line(study):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "geoctx.fingerprint",
            "results/report/study_config.json",
            "results/tables",
            "--check",
            "results/report/fingerprint.txt",
        ],
        cwd=study,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "matches" in proc.stdout


def test_snakemake_report_zip(study):
    proc = snakemake(study, "--report", "results/report.zip")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (study / "results/report.zip").stat().st_size > 10_000


def rule_counts(stats):
    """Jobs per rule from a dry run's job stats, without `all` and the total."""
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", stats, flags=re.M))
    counts.pop("total", None)
    counts.pop("all", None)
    return {rule: int(n) for rule, n in counts.items()}


def dry_run(workdir, *args, configfile=SMOKE):
    proc = snakemake(workdir, "-n", "--quiet", "rules", *args, configfile=configfile)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return rule_counts(proc.stdout)


N_MODELS = 8  # the smoke study: 2 datasets x 2 activations x 2 depths
N_CELLS = 4  # its cells (dataset x depth), evaluated one job each


def per_model(n, cells, *, tuned=0):
    """Training jobs of ``n`` models, the evaluation jobs of their ``cells``
    and the tuning jobs of ``tuned`` architectures."""
    jobs = {"train_model": n, "evaluate_models": cells}
    if tuned:
        jobs["tune_learning_rate"] = tuned
    return jobs


REPORT = {"render_report": 1, "render_pdf": 1}
# a new scorecard also redraws the forest plot and reruns the rule's simulation
CLAIMS = {"score_claims": 1, "simulate_verdicts": 1, "plot_forest": 1}
# one robustness figure per attack of the smoke study (sigmoid and ReLU)
N_ATTACKS = len(attack_names(["sigmoid", "relu"], ["sigmoid", "relu"]))


def figures(*, latency=False, projections=0, claims=True, tuning=False, runs=True):
    """The figure jobs that follow new model results, the scorecard and the
    report; with ``runs`` (a new runs table), the retrial of trailing seeds
    too; with ``tuning``, the learning-rate figure too (its aggregated
    tuning curves are one more aggregate_table job each test counts)."""
    jobs = {
        "plot_accuracy": 1,
        "plot_learning_curves": 1,
        "plot_trailing_curves": 1,
        "plot_grad_norms": 1,
        "plot_geometry": len(GEOMETRY_METRICS),
        "plot_robustness": N_ATTACKS,
        "plot_boundary_accuracy": 1,
        **REPORT,
    }
    if claims:
        jobs.update(CLAIMS)
    if runs:
        jobs["retry_trailing_seeds"] = 1
    if latency:
        jobs["plot_latency"] = 1
    if projections:
        jobs["plot_projections"] = projections
    if tuning:
        jobs["plot_learning_rates"] = 1
    return jobs


# the smoke study's timed depth x width cells and the activation op's, each
# timed in every run
INFERENCE_RUNS = smoke_config()["inference"]["runs"]
# the smoke study's splits: one per dataset and study or tuning seed
N_SPLITS = len(smoke_config()["datasets"]) * len(
    {*smoke_config()["seeds"], *smoke_config()["tuning"]["seeds"]}
)
INFERENCE_CELLS = INFERENCE_RUNS * (
    1 + len(smoke_config()["widths"]) * len(smoke_config()["depths"])
)


def timings(n):
    """``n`` timing jobs."""
    return {"benchmark_inference": n}


GEOMETRY_ONLY = {"plot_geometry": len(GEOMETRY_METRICS), **CLAIMS, **REPORT}
ROBUSTNESS_ONLY = {
    "plot_robustness": N_ATTACKS,
    "plot_boundary_accuracy": 1,
    **CLAIMS,
    **REPORT,
}
# A cell's evaluation is one job that updates its models' geometry and
# robustness tables in place and recomputes only the part whose code,
# settings or inputs changed (test_evaluation_recomputes_only_what_changed).
# Any edit that reruns it re-aggregates both tables and redraws both families
# of figures, from unchanged numbers for the part it kept.
EVALUATION = {
    "evaluate_models": N_CELLS,
    "aggregate_table": 2,
    **GEOMETRY_ONLY,
    **ROBUSTNESS_ONLY,
}


def edited_config(workdir, edit):
    config = smoke_config()
    edit(config)
    path = workdir / "edited.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def study(study, tmp_path_factory):
    """This module's own copy of the session's smoke study: the reruns below
    are planned on a directory that no test in another process (``pytest
    -n``) reads while they edit it, nor edits while they plan."""
    copy = tmp_path_factory.mktemp("workflow_study") / "study"
    shutil.copytree(study, copy, symlinks=True)
    return copy


def test_nothing_to_do_after_the_run(study):
    assert dry_run(study) == {}


def copy_study(study, tmp_path):
    """The finished study, results and Snakemake's records, copied elsewhere."""
    moved = tmp_path / "elsewhere" / "renamed-study"
    shutil.copytree(study, moved, symlinks=True)
    return moved


def copy_without_times(study, tmp_path):
    """The study as `cp -r` copies it: every file gets the time it was copied
    at, in whatever order the copy took, here a shuffled one ending with the
    largest input (the report, 5 MB) and the scripts."""
    copy = tmp_path / "cp-r"
    shutil.copytree(study, copy, symlinks=True, copy_function=shutil.copyfile)
    late = [copy / "results/report/report.html", *sorted(copy.glob("scripts/*.py"))]
    files = sorted(p for p in copy.rglob("*") if p.is_file() and p not in late)
    random.Random(0).shuffle(files)
    start = time.time() - len(files) - len(late)
    for i, path in enumerate(files + late):
        os.utime(path, (start + i, start + i))
    return copy


@pytest.mark.parametrize(
    "copy", [copy_study, copy_without_times], ids=["times-kept", "cp-r"]
)
def test_moved_study_has_nothing_to_do(study, tmp_path, copy):
    assert dry_run(copy(study, tmp_path)) == {}


def test_a_foreign_model_stops_its_evaluation_naming_the_file(study, tmp_path):
    # another model of the same architecture loads and runs: only the digest
    # its training recorded tells it apart
    workdir = copy_study(study, tmp_path)
    model = "results/models/moons/relu/auto/w16_d1_s0/model.keras"
    other = "results/models/circles/relu/auto/w16_d1_s0/model.keras"
    shutil.copyfile(workdir / other, workdir / model)
    target = "results/geometry/moons/relu/auto/w16_d1_s0/jacobians.parquet"
    proc = snakemake(workdir, target)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert f"{model} is not the model its training wrote" in output
    assert f"Rebuild it with: snakemake --forcerun {model}" in output


@pytest.mark.parametrize("profile", ["none", "profiles/default"])
def test_same_study_with_or_without_the_profile(study, profile):
    # without the profile, --configfile must still replace the default config
    # (merged into it, the smoke study would have 16 models)
    assert dry_run(study, "--cores", "1", "--workflow-profile", profile) == {}


TF_STARTUP = re.compile(r"oneDNN|absl|cpu_feature_guard|tensorflow|^[IWE]\d{4} ", re.M)


def test_job_output_stays_out_of_the_terminal(study, tmp_path):
    workdir = copy_study(study, tmp_path)
    # a missing table is computed again (a forced rerun would keep it as it is)
    target = "results/geometry/moons/sigmoid/auto/w16_d1_s0/jacobians.parquet"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    (workdir / target).unlink()
    proc = snakemake(workdir, "--cores", "1", target, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Finished jobid" in proc.stderr  # Snakemake's own progress is shown
    assert not TF_STARTUP.findall(proc.stdout + proc.stderr)
    # TensorFlow's start-up notices are kept in a log instead: the job server's,
    # which imported TensorFlow for the job, or the job's own without a server
    server = workdir / "logs/jobserver/server.log"
    assert "absl::InitializeLog" in server.read_text()
    (workdir / target).unlink()
    plain = snakemake(
        workdir, "--cores", "1", target, env={**env, "GEOCTX_NO_JOBSERVER": "1"}
    )
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert not TF_STARTUP.findall(plain.stdout + plain.stderr)
    log = workdir / "logs/evaluate_models/moons/auto/w16_d1_s0.log"
    assert "absl::InitializeLog" in log.read_text()


@pytest.mark.parametrize("user_limit", [False, True], ids=["default", "user-limit"])
def test_jobs_are_selected_only_when_a_job_finishes(study, tmp_path, user_limit):
    # Snakemake's default job rate limit would also select jobs once a second
    # for every job finished while others wait (schedule_on_events_only in
    # common.smk); a local run selects at its start and after each job. A
    # limit the user sets is kept: while the first job waits for the job
    # server's imports (seconds), it selects again every second.
    workdir = copy_study(study, tmp_path)
    limit = ["--max-jobs-per-timespan", "50/1s"] if user_limit else []
    proc = snakemake(
        workdir,
        "--cores",
        "1",
        "--verbose",
        *limit,
        "--forcerun",
        "make_dataset",
        "--until",
        "make_dataset",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    finished = log.count("Finished jobid")
    config = smoke_config()
    # a split per dataset and seed, and each tuning seed's split
    splits = {*config["seeds"], *config["tuning"]["seeds"]}
    assert finished == len(config["datasets"]) * len(splits)
    rounds = log.count("Ready jobs")
    if user_limit:
        assert rounds > finished + 1
    else:
        assert 1 <= rounds <= finished + 1


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            # the study seed's split and the tuning seeds'
            lambda c: c["datasets"]["moons"].update(noise=0.2),
            {
                "make_dataset": 3,
                **per_model(4, 2, tuned=4),
                "aggregate_table": 7,
                **figures(projections=1, tuning=True),
            },
            id="dataset-parameter",
        ),
        pytest.param(
            # every cell's job reruns; it evaluates the new models only;
            # only the new activation's architectures are tuned
            lambda c: c["activations"].append("tanh"),
            {
                **per_model(4, N_CELLS, tuned=4),
                **timings(INFERENCE_CELLS),
                "aggregate_table": 8,
                **figures(latency=True, projections=2, tuning=True),
            },
            id="new-activation",
        ),
        pytest.param(
            # one new split per dataset; projections show the first seed only;
            # the new models train at the rates already chosen, nothing is tuned
            lambda c: c["seeds"].append(1),
            {
                "make_dataset": 2,
                **per_model(8, N_CELLS),
                "aggregate_table": 5,
                **figures(),
            },
            id="new-seed",
        ),
        pytest.param(
            # new models and new timed cells at once: the new cells are timed,
            # the others stay (an `ancient` edge from the models to the
            # timings once broke this: config/README.md, `inference`)
            lambda c: (c["seeds"].append(1), c["inference"].update(widths=[16, 32])),
            {
                "make_dataset": 2,
                **per_model(8, N_CELLS),
                **timings(2 * INFERENCE_RUNS),
                "aggregate_table": 6,
                **figures(latency=True),
            },
            id="new-seed-and-timed-width",
        ),
        pytest.param(
            # every seed on the dataset's one split: new data, every model anew
            # (the tuning seed's too: every rate is chosen again)
            lambda c: c["splits"].update(per_seed=False),
            {
                "make_dataset": 2,
                **per_model(8, N_CELLS, tuned=8),
                "aggregate_table": 7,
                **figures(projections=2, tuning=True),
            },
            id="shared-split",
        ),
        pytest.param(
            lambda c: c.update(activations=c["activations"][::-1]),
            {},
            id="activations-reordered",
        ),
        pytest.param(
            lambda c: c.update(depths=c["depths"][::-1]),
            {},
            id="depths-reordered",
        ),
        pytest.param(
            lambda c: c["datasets"]["moons"].update(seed=0, generator="moons"),
            {},
            id="generator-default-written",
        ),
        pytest.param(
            lambda c: c["study"].update(title="A <script>new</script> title"),
            REPORT,
            id="report-title",
        ),
        pytest.param(
            lambda c: c["training"].update(epochs=5),
            {
                **per_model(8, N_CELLS, tuned=8),
                "aggregate_table": 7,
                **figures(projections=2, tuning=True),
            },
            id="training-budget",
        ),
        pytest.param(
            # the grid reruns every tuning and what depends on the rates
            lambda c: c["tuning"].update(learning_rates=[0.003, 0.02]),
            {
                **per_model(8, N_CELLS, tuned=8),
                "aggregate_table": 7,
                **figures(projections=2, tuning=True),
            },
            id="tuning-grid",
        ),
        pytest.param(
            # each tuning seed trains on its own split: a new one, new data
            lambda c: c["tuning"].update(seeds=[100, 102]),
            {
                "make_dataset": 2,
                **per_model(8, N_CELLS, tuned=8),
                "aggregate_table": 7,
                **figures(projections=2, tuning=True),
            },
            id="tuning-seeds",
        ),
        pytest.param(
            lambda c: c["geometry"].update(n_neighbors=4),
            EVALUATION,
            id="geometry-n_neighbors",
        ),
        pytest.param(
            lambda c: c["geometry"].update(curve_points=30),
            EVALUATION,
            id="geometry-curve",
        ),
        pytest.param(
            lambda c: c["robustness"].update(pgd_steps=6),
            EVALUATION,
            id="attack-setting",
        ),
        pytest.param(
            lambda c: c["robustness"]["epsilons"].append(0.2),
            EVALUATION,
            id="new-epsilon",
        ),
        pytest.param(
            lambda c: c["inference"].update(repeats=6),
            {
                **timings(INFERENCE_CELLS),
                "aggregate_table": 1,
                "plot_latency": 1,
                **CLAIMS,
                **REPORT,
            },
            id="inference-setting",
        ),
        pytest.param(
            # one more run of every cell, the others stay
            lambda c: c["inference"].update(runs=INFERENCE_RUNS + 1),
            {
                **timings(INFERENCE_CELLS // INFERENCE_RUNS),
                "aggregate_table": 1,
                "plot_latency": 1,
                **CLAIMS,
                **REPORT,
            },
            id="inference-runs",
        ),
        pytest.param(
            # new cells are timed (the sweep's width 16 and width 32), the
            # others stay
            lambda c: c["inference"].update(widths=[16, 32]),
            {
                **timings(2 * INFERENCE_RUNS),
                "aggregate_table": 1,
                "plot_latency": 1,
                **CLAIMS,
                **REPORT,
            },
            id="inference-grid",
        ),
        pytest.param(
            lambda c: c.update(claims={"smallest_effect": 0.05}),
            {**CLAIMS, **REPORT},
            id="claims-setting",
        ),
    ],
)
def test_config_edit_reruns_exactly(study, edit, expected):
    assert dry_run(study, configfile=edited_config(study, edit)) == expected


def evaluation_tables(workdir):
    """The bytes of every model's geometry, Jacobian and robustness tables."""
    return {
        part: {
            path.relative_to(workdir): path.read_bytes()
            for path in workdir.glob(f"results/{folder}/**/{part}.parquet")
        }
        for folder, part in (
            ("geometry", "geometry"),
            ("geometry", "jacobians"),
            ("robustness", "robustness"),
        )
    }


def test_evaluation_recomputes_only_what_changed(study, tmp_path):
    workdir = copy_study(study, tmp_path)

    def run(edit):
        before = evaluation_tables(workdir)
        configfile = edited_config(workdir, edit)
        proc = snakemake(workdir, "--until", "evaluate_models", configfile=configfile)
        assert proc.returncode == 0, proc.stderr[-3000:]
        after = evaluation_tables(workdir)
        assert all(len(after[part]) == N_MODELS for part in after)
        return {part for part in after if after[part] != before[part]}

    def geometry_k(config):
        config["geometry"].update(n_neighbors=4)

    def and_pgd_steps(config):
        geometry_k(config)
        config["robustness"].update(pgd_steps=6)

    # every model's evaluation reruns; only the changed part is computed
    assert run(geometry_k) == {"geometry"}
    log = workdir / "logs/evaluate_models/moons/auto/w16_d3_s0.log"
    assert "robustness: inputs, code and settings unchanged, table kept" in (
        log.read_text()
    )
    assert run(and_pgd_steps) == {"robustness"}


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (
            "training",
            {
                **per_model(8, N_CELLS, tuned=8),
                **timings(INFERENCE_CELLS),
                "aggregate_table": 8,
                **figures(latency=True, projections=2, tuning=True),
            },
        ),
        (
            "tuning",
            {
                **per_model(8, N_CELLS, tuned=8),
                "aggregate_table": 7,
                **figures(projections=2, tuning=True),
            },
        ),
        (
            # unit health: every model retrains (its units table), no timing
            # the timing job imports training, which imports units
            "units",
            {
                **per_model(8, N_CELLS, tuned=8),
                **timings(INFERENCE_CELLS),
                "aggregate_table": 8,
                **figures(latency=True, projections=2, tuning=True),
            },
        ),
        (
            "datasets",
            {
                "make_dataset": N_SPLITS,
                **per_model(8, N_CELLS, tuned=8),
                "aggregate_table": 7,
                **figures(projections=2, tuning=True),
            },
        ),
        (
            "geometry/topology",
            EVALUATION,
        ),
        ("robustness/attacks", EVALUATION),
        (
            "cost",
            {
                **timings(INFERENCE_CELLS),
                "aggregate_table": 1,
                "plot_latency": 1,
                **CLAIMS,
                **REPORT,
            },
        ),
        (
            "plots",
            {
                **figures(
                    latency=True, projections=2, claims=False, tuning=True, runs=False
                ),
                "plot_forest": 1,
            },
        ),
        ("report", REPORT),
        ("claims", {**CLAIMS, **REPORT}),
    ],
)
def test_code_edit_reruns_exactly(study, module, expected):
    # Snakemake compares checksums of small inputs, so a real edit is needed
    path = study / "src/geoctx" / f"{module}.py"
    original, stat = path.read_text(), path.stat()
    path.write_text(original + "\n# an edit\n")
    try:
        assert dry_run(study) == expected
    finally:
        path.write_text(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        pytest.param(
            lambda c: c.update(activations=["relu", "sigmod"]),
            "activations[1]: 'sigmod' is not a Keras activation",
            id="keras-name",
        ),
        pytest.param(
            # accepted by the schema; the robustness jobs, after training, would fail
            lambda c: c["robustness"].update(boundary_quantiles=[0.0, 0.7, 0.5, 1.0]),
            "robustness.boundary_quantiles: [0.0, 0.7, 0.5, 1.0] must increase "
            "strictly from 0 to 1",
            id="late-failing-value",
        ),
    ],
)
def test_bad_config_fails_before_any_job(study, edit, message):
    proc = snakemake(study, "-n", configfile=edited_config(study, edit))
    assert proc.returncode != 0
    assert message in proc.stderr + proc.stdout
    assert "Job stats" not in proc.stdout + proc.stderr


def test_escaped_title_in_a_rendered_report(study, tmp_path):
    workdir = copy_study(study, tmp_path)  # the shared study's report stays
    path = edited_config(
        workdir, lambda c: c["study"].update(title="<script>alert(1)</script>")
    )
    proc = snakemake(workdir, "results/report/report.html", configfile=path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (workdir / "results/report/report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

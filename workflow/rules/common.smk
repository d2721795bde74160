# Everything that is not a rule: config validation, the sweep grid, target
# builders and input functions. Light imports only: every job re-reads this.

import math
import functools
import os
import re
import subprocess
import sys
from pathlib import Path

SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
# Jobs import the package from this workflow's own src/ (the code its rules
# list as input), whatever else is installed. Set, not read from the user.
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)
)

from geoctx import imports, jobserver  # noqa: E402
from geoctx.names import attack_names  # noqa: E402
from geoctx.sources import DATA_SOURCES  # noqa: E402
from geoctx.config import (  # noqa: E402
    GEOMETRY_METRICS,
    LOW_DIMENSIONAL,
    MODEL_PATH,
    CURVE_TABLES,
    STUDY_TABLES,
    TABLE_CONFIG_KEYS,
    ConfigError,
    config_hash,
    dataset_params,
    load_schema,
    model_grid,
    validate_config,
)

try:
    _valid = validate_config(
        config,
        load_schema(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"),
    )
except ConfigError as err:
    raise WorkflowError(str(err)) from None
# A file dataset (or a table scikit-learn ships) is checked here, before any
# job, and its file's SHA-256 becomes one of its parameters (own_data). Read
# only when the study has one: it imports numpy and pandas.
SOURCES = [
    name
    for name, spec in _valid["datasets"].items()
    if spec["generator"] in DATA_SOURCES
]
if SOURCES:
    from geoctx import own_data

    _valid, _problems = own_data.source_problems(_valid)
    if _problems:
        raise WorkflowError("invalid study data:\n  " + "\n  ".join(_problems))
config.clear()
config.update(_valid)

ENV = "../../envs/geoctx.yaml"
MODEL = MODEL_PATH
# The models of one cell differ only in their activation.
CELL = MODEL_PATH.replace("{activation}/", "")
# The models of one architecture differ only in their seed; they share the
# learning rate tune_learning_rate chose.
ARCHITECTURE = MODEL_PATH.replace("_s{seed}", "")
# Each study table and the per-job files it is aggregated from.
TABLE_SOURCES = {
    "runs": [f"results/models/{MODEL}/runs.parquet"],
    "history": [f"results/models/{MODEL}/history.parquet"],
    "units": [f"results/models/{MODEL}/units.parquet"],
    "geometry": [
        f"results/geometry/{MODEL}/geometry.parquet",
        f"results/geometry/{MODEL}/jacobians.parquet",
    ],
    "robustness": [f"results/robustness/{MODEL}/robustness.parquet"],
    "inference": ["results/inference/w{width}_d{depth}_r{run}.parquet"],
    "tuning": [f"results/tuning/{ARCHITECTURE}/tuning.parquet"],
    "tuning_history": [f"results/tuning/{ARCHITECTURE}/tuning_history.parquet"],
}
TABLE_CATEGORIES = {
    "runs": "Training",
    "history": "Training",
    "units": "Training",
    "geometry": "Geometry",
    "robustness": "Robustness",
    "inference": "Cost",
    "tuning": "Training",
    "tuning_history": "Training",
}
TABLES = list(STUDY_TABLES)
# the config keys each aggregated table depends on (its config_sha256)
TABLE_KEYS = {**TABLE_CONFIG_KEYS, **CURVE_TABLES}
assert set(TABLE_SOURCES) == set(TABLE_KEYS), "every table needs its sources"
# Attacks with a figure: geoctx.names defines them for the package too.
ATTACKS = attack_names(config["activations"], config["robustness"]["transfer_from"])
PROJECTED = [
    name
    for name, params in config["datasets"].items()
    if params.get("generator", name) in LOW_DIMENSIONAL
]
FIGURE_NAMES = [
    "forest",
    "accuracy_vs_depth",
    "learning_curves",
    "learning_rates",
    "trailing_curves",
    "grad_norm_by_layer",
    *(f"geometry_{metric}" for metric in GEOMETRY_METRICS),
    *(f"projections_{dataset}" for dataset in PROJECTED),
    *(f"robustness_{attack}" for attack in ATTACKS),
    "boundary_accuracy",
    "latency_ratio",
]
FIGURES = [
    f"results/figures/{name}.{ext}" for name in FIGURE_NAMES for ext in ("png", "svg")
]


def alternatives(values):
    """A regex matching exactly one of ``values``."""
    return "|".join(re.escape(str(v)) for v in values)


@functools.cache
def code_digest(script):
    """One digest of the code a rule's job runs, for its ``params``.

    The code is ``scripts/<script>.py`` and every package file it imports,
    found by following its imports (geoctx.imports), not listed by hand.
    Editing one of them changes the digest and so reruns exactly the jobs
    that run it (Snakemake's params trigger), wherever the study lives: the
    digest names no directory and no modification time.
    """
    paths = imports.closure(Path(workflow.basedir, "scripts", f"{script}.py"), src=SRC)
    return imports.digest(paths, root=workflow.basedir)


def data_file(dataset, seed):
    """The data.npz a model of ``dataset`` and ``seed`` is trained and
    measured on: its seed's own split, or the one shared split."""
    split = f"s{seed}" if config["splits"]["per_seed"] else "shared"
    return f"results/data/{dataset}/{split}/data.npz"


def dataset_file(wildcards):
    """A file dataset's file, as an input of its make_dataset jobs: moving it
    (a new path) reruns them. ``ancient``: the SHA-256 in the job's params,
    not the file's time, tells whether its content changed, so a copy of the
    study with its data (new times, same bytes) reruns nothing."""
    spec = config["datasets"][wildcards.dataset]
    return {"source": ancient(spec["path"])} if spec["generator"] == "file" else {}


def source_metas():
    """meta.json of each file or sklearn dataset (its first seed's split), for
    the report's account of what was done to the data."""
    return [
        data_file(name, config["seeds"][0]).replace("data.npz", "meta.json")
        for name in SOURCES
    ]


def model_data(wildcards):
    return data_file(wildcards.dataset, wildcards.seed)


def study_splits():
    """``{"dataset/seed": data.npz}`` of every study seed of every dataset."""
    return {
        f"{dataset}/{seed}": data_file(dataset, seed)
        for dataset in config["datasets"]
        for seed in config["seeds"]
    }


def tuning_data(wildcards):
    """The data an architecture's learning rate is tuned on: each tuning
    seed's own split (never a study seed's), in the order of the tuning
    seeds, or the one shared split."""
    seeds = config["tuning"]["seeds"]
    return list(dict.fromkeys(data_file(wildcards.dataset, seed) for seed in seeds))


def split_seed(wildcards):
    """The seed of a split (None: the dataset's own, for the shared split)."""
    return None if wildcards.split == "shared" else int(wildcards.split[1:])


def per_model(template):
    """Expand a path template with the keys of every model in the sweep; a
    template without the seed (an architecture's) gives each path once."""
    return list(dict.fromkeys(template.format(**keys) for keys in model_grid(config)))


def table_inputs(wildcards):
    paths = []
    for template in TABLE_SOURCES[wildcards.table]:
        if "{dataset}" in template:
            paths += per_model(template)
        else:
            paths += [
                template.format(width=w, depth=d, run=r)
                for w, d in inference_cells()
                for r in range(config["inference"]["runs"])
            ]
    return paths


def inference_cells():
    """(width, depth) of every timed cell; (0, 0) times the activation op alone.
    The sweep's own depths and widths are always among them."""
    section = config["inference"]
    widths = sorted({*(section["widths"] or []), *config["widths"]})
    depths = sorted({*(section["depths"] or []), *config["depths"]})
    return [(0, 0)] + [(w, d) for w in widths for d in depths]


def inference_settings():
    """The inference section but its grid and run count: editing them adds or
    drops jobs without retiming the other cells or runs."""
    return {
        key: value
        for key, value in config["inference"].items()
        if key not in ("depths", "widths", "runs")
    }


# What each part of a model's evaluation depends on: the code its entry
# function in geoctx.evaluation (``_<part>``) imports, and its slice of the
# config (geoctx.evaluation keeps a part whose code, settings and input files
# are all unchanged).
GEOMETRY_PARAMS = {
    "geometry": (
        "measured_points",
        "n_neighbors",
        "betti_max_points",
        "probe_folds",
        "seed",
    ),
    "jacobians": (
        "jacobian_points",
        "curve_points",
        "curve_rtol",
        "curve_max_points",
        "seed",
    ),
}


def part_params(part):
    """The code digest and settings of one part of a model's evaluation."""
    if part == "robustness":
        settings = dict(config["robustness"])
        settings.pop("transfer_from")  # the job's transfer sources, a param
    else:
        settings = {key: config["geometry"][key] for key in GEOMETRY_PARAMS[part]}
    code = imports.function_closure(
        Path(SRC, "geoctx", "evaluation.py"), f"_{part}", src=SRC
    )
    return {"code": imports.digest(code, root=workflow.basedir), "settings": settings}


def per_activation(template):
    """``template`` (a model path) for every activation of one cell."""
    return expand(template, activation=config["activations"], allow_missing=True)


def projection_data(wildcards):
    """The data of the projection figure's models (the first seed's)."""
    return data_file(wildcards.dataset, config["seeds"][0])


def projection_inputs(wildcards):
    """Representations drawn in one dataset's projection figure: every
    activation at one depth, with the first width, initializer and seed."""
    depth = config["geometry"]["projection_depth"] or max(config["depths"])
    keys = {
        "dataset": wildcards.dataset,
        "initializer": config["initializers"][0],
        "width": config["widths"][0],
        "depth": depth,
        "seed": config["seeds"][0],
    }
    return [
        f"results/models/{MODEL.format(activation=activation, **keys)}/representations.npz"
        for activation in config["activations"]
    ]


# What each job asks a scheduler for: (mem_mb, runtime in minutes). Memory is
# the peak RSS of the default study's jobs (python benchmarks/stage_costs.py:
# 439 MB training, 832 MB evaluating a cell of four models, 320-560 MB for
# the rest) with room for larger models and a plain process's imports; the
# time limits are far above the default study's job times (median CPU per
# model: 2.0 s training, 4.1 s evaluation). Both grow with each retry;
# per-model time limits also with model size, and an evaluation's with its
# cell's models. A group job asks for the sum over its layers.
JOB_SIZES = {
    "make_dataset": (500, 5),
    "train_model": (1500, 3),
    "tune_learning_rate": (1500, 10),
    "retry_trailing_seeds": (1500, 30),
    "evaluate_models": (1500, 7),
    "benchmark_inference": (1500, 15),
    "aggregate_table": (750, 5),
    "score_claims": (750, 5),
    "plot": (750, 5),
    "render_report": (750, 5),
    "render_pdf": (750, 5),
}
# width x depth of the default study's deep models, which the runtimes fit
REFERENCE_SIZE = 64 * 8


def job_mem_mb(rule):
    """A rule's memory request in MB, doubled on each retry."""
    return lambda wildcards, attempt: JOB_SIZES[rule][0] * 2 ** (attempt - 1)


def job_runtime(rule, *, models=1):
    """A rule's time limit in minutes, longer on each retry; for a per-model
    rule also scaled by width x depth beyond the reference size, and by the
    number of ``models`` a job evaluates."""

    def runtime(wildcards, attempt):
        size = int(wildcards.get("width", 1)) * int(wildcards.get("depth", 1))
        scale = models * max(1, size / REFERENCE_SIZE)
        return math.ceil(JOB_SIZES[rule][1] * attempt * scale)

    return runtime


def machine_cores():
    """Every local core; 1 under a cluster executor, which sets no total (the
    slurm profile gives such a job a whole node instead)."""
    try:
        cores = workflow.cores
    except WorkflowError:
        return 1
    return cores if isinstance(cores, int) else 1


def workflow_commit():
    """The git commit of this workflow (``-dirty`` with local edits), if any."""
    try:
        out = subprocess.run(
            [
                "git",
                "-C",
                workflow.basedir,
                "describe",
                "--always",
                "--dirty",
                "--abbrev=12",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    return (
        out.stdout.strip()
        if out.returncode == 0
        else "unavailable (not a git checkout)"
    )


# Snakemake's --max-jobs-per-timespan default, 100/1s: (jobs, seconds)
SNAKEMAKE_DEFAULT_RATE_LIMIT = (100, 1)


def schedule_on_events_only():
    """Let a local run select jobs only when a job finishes.

    Snakemake's default job rate limit (``--max-jobs-per-timespan 100/1s``)
    selects jobs again one second after every selection that leaves a job
    waiting, and each of those selections schedules another. So every job
    that finishes while others wait starts one more selection per second
    for as long as any job waits. With the default study's 144 training jobs
    ready at once, the Snakemake process spent 93 s of CPU on the whole
    study with it and 9 s without it (``benchmarks/startup_share.py``). A
    local run has no use for the default limit (jobs start as cores free),
    so it is turned off; a limit the user set is kept, and a cluster run
    keeps it, to pace its submissions. Nothing is done if a Snakemake
    version no longer has it.
    """
    limiter = getattr(workflow.scheduler, "job_rate_limiter", None)
    if (
        workflow.local_exec
        and limiter is not None
        and (limiter.max_jobs, limiter.timespan) == SNAKEMAKE_DEFAULT_RATE_LIMIT
    ):
        workflow.scheduler.job_rate_limiter = None


onstart:
    schedule_on_events_only()
    # a local run's job server (geoctx.jobserver): it imports Keras,
    # TensorFlow and the package once and forks each job from it, or runs
    # it in a worker it keeps. GEOCTX_NO_JOBSERVER=1 turns it off; results
    # are the same either way.
    jobserver.start_for_run(workflow)


onsuccess:
    jobserver.stop_for_run(success=True)


onerror:
    jobserver.stop_for_run(success=False)

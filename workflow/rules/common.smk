# Everything that is not a rule: config validation, the sweep grid, target
# builders and input functions. Light imports only: every job re-reads this.

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
# Jobs import the package from this workflow's own src/ (the code its rules
# list as input), whatever else is installed. Set, not read from the user.
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)
)

from geoctx import jobserver  # noqa: E402
from geoctx.config import (  # noqa: E402
    GEOMETRY_METRICS,
    LOW_DIMENSIONAL,
    MODEL_PATH,
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
config.clear()
config.update(_valid)

ENV = "../../envs/geoctx.yaml"
MODEL = MODEL_PATH
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
    "inference": ["results/inference/{activation}.parquet"],
}
TABLE_CATEGORIES = {
    "runs": "Training",
    "history": "Training",
    "units": "Training",
    "geometry": "Geometry",
    "robustness": "Robustness",
    "inference": "Cost",
}
TABLES = list(STUDY_TABLES)
assert set(TABLE_SOURCES) == set(TABLES), "every study table needs its sources"
ATTACKS = ["gaussian", "fgsm_linf", "pgd_linf", "pgd_l2"]
if (
    config["robustness"]["reference_activation"] in config["activations"]
    and len(config["activations"]) > 1
):
    ATTACKS.append("transfer_pgd_linf")
PROJECTED = [
    name
    for name, params in config["datasets"].items()
    if params.get("generator", name) in LOW_DIMENSIONAL
]
FIGURE_NAMES = [
    "accuracy_vs_depth",
    "learning_curves",
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


# Code inputs by path relative to the working directory, not absolute: a
# study copied or moved elsewhere keeps the same set of inputs, so no rerun.
SRC_INPUT = os.path.relpath(SRC)


def package(*modules):
    """Package modules a job runs, listed as inputs: editing one reruns the job.

    A module is named by its path under ``geoctx/`` without ``.py``
    (``robustness/attacks``); a subpackage's name stands for all its modules.
    Paths are relative to the working directory (see ``SRC_INPUT``).
    """
    paths = []
    for module in ("__init__", "config", "logs", "storage", *modules):
        path = Path(SRC_INPUT, "geoctx", module)
        paths += (
            sorted(map(str, path.glob("*.py"))) if path.is_dir() else [f"{path}.py"]
        )
    return paths


def per_model(template):
    """Expand a path template with the keys of every model in the sweep."""
    return [template.format(**keys) for keys in model_grid(config)]


def table_inputs(wildcards):
    paths = []
    for template in TABLE_SOURCES[wildcards.table]:
        if "{dataset}" in template:
            paths += per_model(template)
        else:
            paths += expand(template, activation=config["activations"])
    return paths


GEOMETRY_PARAMS = {
    "geometry": ("probe_size", "k", "betti_max_points", "probe_folds", "seed"),
    "jacobians": ("jacobian_points", "curve_points", "seed"),
}


def geometry_settings(part):
    """The slice of the geometry section one geometry job uses."""
    return {key: config["geometry"][key] for key in GEOMETRY_PARAMS[part]}


def reference(wildcards, filename):
    """A file of the transfer-attack reference model of this model, if any."""
    activation = config["robustness"]["reference_activation"]
    if activation not in config["activations"] or activation == wildcards.activation:
        return []
    keys = {**wildcards, "activation": activation}
    return f"results/models/{MODEL.format(**keys)}/{filename}"


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


def machine_cores():
    """Every local core (1 when a cluster executor places the job)."""
    return workflow.cores if isinstance(workflow.cores, int) else 1


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


def robustness_settings(wildcards):
    """The robustness section without what only the workflow uses."""
    settings = dict(config["robustness"])
    settings.pop("reference_activation")
    return settings


# A local run starts one job server that imports Keras, TensorFlow and the
# package once and forks a child per job (geoctx.jobserver), instead of
# paying the imports in every job. Cluster jobs run as plain processes.
# GEOCTX_NO_JOBSERVER=1 turns it off; results are the same either way.
JOBSERVER_SOCKET = os.path.join(
    tempfile.gettempdir(), f"geoctx-jobserver-{os.getpid()}.sock"
)


onstart:
    if workflow.local_exec and os.environ.get("GEOCTX_NO_JOBSERVER") != "1":
        jobserver.start(JOBSERVER_SOCKET, log="logs/jobserver.log")


onsuccess:
    jobserver.stop(JOBSERVER_SOCKET)


onerror:
    jobserver.stop(JOBSERVER_SOCKET)

# Everything that is not a rule: config validation, the sweep grid, target
# builders and input functions. Light imports only: every job re-reads this.

import os
import re
import sys
from pathlib import Path

SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
# Jobs import the package from this workflow's own src/ (the code its rules
# list as input), whatever else is installed. Set, not read from the user.
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)
)

from geoctx.config import (  # noqa: E402
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
MODEL = "{dataset}/{activation}/{initializer}/w{width}_d{depth}_s{seed}"
# Each study table and the per-job files it is aggregated from.
TABLE_SOURCES = {
    "runs": f"results/models/{MODEL}/runs.parquet",
    "history": f"results/models/{MODEL}/history.parquet",
    "units": f"results/models/{MODEL}/units.parquet",
    "robustness": f"results/robustness/{MODEL}/robustness.parquet",
    "inference": "results/inference/{activation}.parquet",
}
TABLES = list(TABLE_SOURCES)
ATTACKS = ["gaussian", "fgsm_linf", "pgd_linf", "pgd_l2"]
if (
    config["robustness"]["reference_activation"] in config["activations"]
    and len(config["activations"]) > 1
):
    ATTACKS.append("transfer_pgd_linf")
FIGURE_NAMES = [
    "accuracy_vs_depth",
    "grad_norm_by_layer",
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


def package(*modules):
    """Package modules a job runs, listed as inputs: editing one reruns the job."""
    return [f"{SRC}/geoctx/{m}.py" for m in ("__init__", "config", "logs", *modules)]


def per_model(template):
    """Expand a path template with the keys of every model in the sweep."""
    return [template.format(**keys) for keys in model_grid(config)]


def table_inputs(wildcards):
    template = TABLE_SOURCES[wildcards.table]
    if "{dataset}" not in template:
        return expand(template, activation=config["activations"])
    return per_model(template)


def reference(wildcards, filename):
    """A file of the transfer-attack reference model of this model, if any."""
    activation = config["robustness"]["reference_activation"]
    if activation not in config["activations"] or activation == wildcards.activation:
        return []
    keys = {**wildcards, "activation": activation}
    return f"results/models/{MODEL.format(**keys)}/{filename}"


def robustness_settings(wildcards):
    """The robustness section without what only the workflow uses."""
    settings = dict(config["robustness"])
    settings.pop("reference_activation")
    return settings

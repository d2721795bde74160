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
TABLES = ["runs", "history", "units"]
# Per-model file each study table is aggregated from.
TABLE_SOURCES = {table: f"results/models/{MODEL}/{table}.parquet" for table in TABLES}
FIGURES = [
    f"results/figures/{name}.{ext}"
    for name in ("accuracy_vs_depth", "grad_norm_by_layer")
    for ext in ("png", "svg")
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
    return per_model(TABLE_SOURCES[wildcards.table])

"""Parquet tables: one explicit pyarrow schema per table, tidy rows.

Per-job outputs are small Parquet files with the table's schema, written
atomically (:mod:`geoctx.storage`); a job may record the SHA-256 of the
files it read in the ``inputs`` metadata key. :func:`aggregate` reads the
parts, refuses a part whose rows belong to another model than its path says,
or whose recorded inputs have changed since, and writes the study table with
key-value metadata (config hash, package versions).
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from geoctx import stats
from geoctx.config import MODEL_PATH
from geoctx.names import ANALYSES, FAMILY_NAMES, STAGES
from geoctx.storage import UnreadableFileError, atomic_path, check_digests

MODEL_FIELDS = [
    pa.field("dataset", pa.string()),
    pa.field("activation", pa.string()),
    pa.field("initializer", pa.string()),
    pa.field("width", pa.int64()),
    pa.field("depth", pa.int64()),
    pa.field("seed", pa.int64()),
]


#: One measurement of one layer (0 = input) of a model at a stage.
LAYER_FIELDS = [
    pa.field("stage", pa.string()),
    pa.field("layer", pa.int64()),
    pa.field("metric", pa.string()),
    pa.field("value", pa.float64()),
]


def _categorical(name: str, values: Iterable[str]) -> pa.Field:
    """A string field whose allowed values travel in its metadata."""
    return pa.field(name, pa.string(), metadata={"values": json.dumps(list(values))})


def allowed_values(field: pa.Field) -> list[str] | None:
    """The values a categorical field allows; None for any other field."""
    meta = field.metadata or {}
    return json.loads(meta[b"values"]) if b"values" in meta else None


#: How a training run ended, in the runs and the tuning tables.
RUN_FIELDS = [
    pa.field("epochs_run", pa.int64()),
    pa.field("plateaued", pa.bool_()),
    pa.field("hit_cap", pa.bool_()),
    pa.field("train_loss", pa.float64()),
    pa.field("train_accuracy", pa.float64()),
    pa.field("val_loss", pa.float64()),
    pa.field("val_accuracy", pa.float64()),
]


#: One row per epoch of a run at a learning rate and seed (the tuning and
#: retrial curves): the architecture's keys, rate, seed, epoch, training
#: loss and accuracy.
_TRAINING_CURVES = pa.schema(
    [field for field in MODEL_FIELDS if field.name != "seed"]
    + [
        pa.field("learning_rate", pa.float64()),
        pa.field("seed", pa.int64()),
        pa.field("epoch", pa.int64()),
        pa.field("loss", pa.float64()),
        pa.field("accuracy", pa.float64()),
    ]
)


SCHEMAS: dict[str, pa.Schema] = {
    "runs": pa.schema(
        MODEL_FIELDS
        + [
            pa.field("status", pa.string()),
            pa.field("kernel_initializer", pa.string()),
            pa.field("n_features", pa.int64()),
            pa.field("n_classes", pa.int64()),
            pa.field("n_params", pa.int64()),
            pa.field("learning_rate", pa.float64()),
            pa.field("tuned_rate", pa.float64()),
            pa.field("rates_screened", pa.int64()),
            pa.field("best_epoch", pa.int64()),
            pa.field("stopped_early", pa.bool_()),
            *RUN_FIELDS,
            pa.field("test_loss", pa.float64()),
            pa.field("test_accuracy", pa.float64()),
            pa.field("generalization_gap", pa.float64()),
            pa.field("wall_time_s", pa.float64()),
        ]
    ),
    "history": pa.schema(
        MODEL_FIELDS
        + [
            pa.field("epoch", pa.int64()),
            pa.field("loss", pa.float64()),
            pa.field("accuracy", pa.float64()),
            pa.field("val_loss", pa.float64()),
            pa.field("val_accuracy", pa.float64()),
            pa.field("epoch_time_s", pa.float64()),
        ]
    ),
    "geometry": pa.schema(MODEL_FIELDS + LAYER_FIELDS),
    "robustness": pa.schema(
        MODEL_FIELDS
        + [
            pa.field("attack", pa.string()),
            pa.field("epsilon", pa.float64()),
            pa.field("metric", pa.string()),
            pa.field("value", pa.float64()),
        ]
    ),
    "inference": pa.schema(
        [
            pa.field("activation", pa.string()),
            pa.field("depth", pa.int64()),
            pa.field("width", pa.int64()),
            pa.field("batch_size", pa.int64()),
            pa.field("block", pa.int64()),
            pa.field("backend", pa.string()),
            pa.field("op", pa.string()),
            pa.field("latency_ms_median", pa.float64()),
            pa.field("latency_ms_iqr", pa.float64()),
            pa.field("throughput_per_s", pa.float64()),
            pa.field("cpu", pa.string()),
            pa.field("threads", pa.int64()),
            pa.field("run", pa.int64()),
            pa.field("calls", pa.int64()),
            pa.field("timed_s", pa.float64()),
        ]
    ),
    "claims": pa.schema(
        [
            _categorical("analysis", ANALYSES),
            pa.field("claim", pa.string()),
            pa.field("statement", pa.string()),
            pa.field("evidence", pa.string()),
            pa.field("evidence_description", pa.string()),
            _categorical("stage", STAGES),
            pa.field("decides", pa.bool_()),
            pa.field("at_init", pa.bool_()),
            pa.field("part", pa.string()),
            pa.field("comparison", pa.string()),
            pa.field("primary", pa.bool_()),
            pa.field("dataset", pa.string()),
            pa.field("condition", pa.string()),
            _categorical("family", ["", *FAMILY_NAMES]),
            pa.field("n_pairs", pa.int64()),
            pa.field("n_conditions", pa.int64()),
            pa.field("effect", pa.float64()),
            pa.field("ci_low", pa.float64()),
            pa.field("ci_high", pa.float64()),
            pa.field("p_value", pa.float64()),
            *(pa.field(t, pa.float64()) for t in stats.TESTS),
            *(pa.field(f"{t}_holm", pa.float64()) for t in stats.TESTS),
            pa.field("p_sign_flip", pa.float64()),
            pa.field("p_floor", pa.float64()),
            pa.field("effect_size", pa.float64()),
            pa.field("i2", pa.float64()),
            pa.field("between_dataset_sd", pa.float64()),
            pa.field("predicted_sign", pa.int64()),
            pa.field("smallest_effect", pa.float64()),
            _categorical("verdict", stats.VERDICTS),
        ]
    ),
    "units": pa.schema(MODEL_FIELDS + LAYER_FIELDS),
    "verdict_simulation": pa.schema(
        [
            pa.field("scenario", pa.string()),
            pa.field("true_effect", pa.float64()),
            pa.field("distribution", pa.string()),
            *(pa.field(v, pa.float64()) for v in stats.VERDICTS),
            pa.field("coverage", pa.float64()),
            pa.field("any_false_supported", pa.float64()),
            pa.field("any_false_contradicted", pa.float64()),
            pa.field("any_false_no_effect", pa.float64()),
            pa.field("n_families", pa.int64()),
            pa.field("n_conditions", pa.int64()),
            pa.field("n_seeds", pa.int64()),
            pa.field("n_rows", pa.int64()),
            pa.field("sd_condition", pa.float64()),
            pa.field("sd_seed", pa.float64()),
        ]
    ),
    # one row per learning rate and tuning seed of an architecture cell
    "tuning": pa.schema(
        [field for field in MODEL_FIELDS if field.name != "seed"]
        + [
            pa.field("learning_rate", pa.float64()),
            pa.field("seed", pa.int64()),
            pa.field("status", pa.string()),
            *RUN_FIELDS,
            pa.field("test_loss", pa.float64()),
            pa.field("test_accuracy", pa.float64()),
            pa.field("held_out_loss", pa.float64()),
            pa.field("held_out_accuracy", pa.float64()),
            pa.field("criterion", pa.string()),
            pa.field("score", pa.float64()),
            pa.field("chosen", pa.bool_()),
        ]
    ),
    # one row per epoch of every tuning run (geoctx.tuning.tune_with_curves)
    "tuning_history": _TRAINING_CURVES,
    # one row per short study seed of a seed-dependent or held-out-only
    # activation and other rate of the grid it was trained at again
    # (geoctx.trailing.retry)
    "retrials": pa.schema(
        MODEL_FIELDS
        + [
            pa.field("learning_rate", pa.float64()),
            pa.field("chosen_rate", pa.float64()),
            pa.field("status", pa.string()),
            *RUN_FIELDS,
            pa.field("test_loss", pa.float64()),
            pa.field("test_accuracy", pa.float64()),
        ]
    ),
    # one row per epoch of every retrial run
    "retrial_history": _TRAINING_CURVES,
}

#: Packages whose versions every study table records.
RECORDED_PACKAGES = (
    "geoctx",
    "keras",
    "tensorflow-cpu",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "seaborn",
    "matplotlib",
    "mnist1d",
    "ripser",
    "weasyprint",
    "snakemake",
)


def package_versions(names: Iterable[str] = RECORDED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (``"not installed"`` when absent)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def model_keys(wildcards: Mapping) -> dict:
    """The model-key columns of one job, typed as in the tables."""
    return {
        field.name: int(wildcards[field.name])
        if pa.types.is_integer(field.type)
        else str(wildcards[field.name])
        for field in MODEL_FIELDS
    }


def cpu_name() -> str:
    """The CPU model, from /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def to_table(df: pd.DataFrame, name: str) -> pa.Table:
    """Convert a frame to the named table's schema (columns in schema order).

    Raises ``ValueError`` naming missing columns, or a value a categorical
    column (e.g. ``claims.verdict``, from :data:`geoctx.stats.VERDICTS`) does
    not allow.
    """
    schema = SCHEMAS[name]
    missing = [f for f in schema.names if f not in df.columns]
    if missing:
        raise ValueError(f"{name} table is missing columns {missing}")
    for field in schema:
        allowed = allowed_values(field)
        if allowed is not None:
            bad = sorted(set(df[field.name].dropna()) - set(allowed))
            if bad:
                raise ValueError(
                    f"{name}.{field.name} has values {bad} outside {allowed}"
                )
    return pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False)


def _encode(metadata: Mapping) -> dict[bytes, bytes]:
    """Parquet key-value metadata: JSON-encoded values."""
    return {
        k.encode(): json.dumps(v, sort_keys=True).encode() for k, v in metadata.items()
    }


def write(
    df: pd.DataFrame, path: Path | str, name: str, *, metadata: Mapping | None = None
) -> None:
    """Write a frame as the named table, atomically.

    ``metadata`` values are JSON-encoded into the Parquet key-value metadata.
    """
    table = to_table(df, name)
    if metadata:
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), **_encode(metadata)}
        )
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def model_path(keys: Mapping) -> str:
    """The relative directory of one model's files (:data:`MODEL_PATH`)."""
    return MODEL_PATH.format(**keys)


_KEY_PATTERN = re.compile(
    re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(MODEL_PATH)) + "/"
)


#: Per-job files of the inference table: one per timed depth x width cell
#: and timing run.
_CELL_PATTERN = re.compile(r"w(?P<width>\d+)_d(?P<depth>\d+)_r(?P<run>\d+)")


def keys_from_path(path: Path | str) -> dict | None:
    """The model keys a per-model file's path names, or None if it names none.

    Examples
    --------
    >>> keys_from_path("results/robustness/moons/relu/auto/w16_d3_s0/r.parquet")
    {'dataset': 'moons', 'activation': 'relu', 'initializer': 'auto', \
'width': 16, 'depth': 3, 'seed': 0}
    """
    match = _KEY_PATTERN.search(Path(path).as_posix())
    return None if match is None else model_keys(match.groupdict())


def read_part(path: Path | str, name: str) -> pa.Table:
    """One per-job file of the named table, checked against its path and inputs.

    Raises :class:`~geoctx.storage.UnreadableFileError` if the file cannot be
    read as that table, ``ValueError`` if its rows belong to another model
    than its path names, and :class:`~geoctx.storage.ChangedInputError` if a
    file it recorded as an input has changed since.
    """
    try:
        table = pq.read_table(path, schema=SCHEMAS[name])
    except (OSError, pa.ArrowException) as err:
        raise UnreadableFileError(path, f"{type(err).__name__}: {err}") from err
    expected = keys_from_path(path) or {}
    if name == "inference":
        cell = _CELL_PATTERN.fullmatch(Path(path).stem)
        expected = {k: int(v) for k, v in cell.groupdict().items()} if cell else {}
    for column, value in expected.items():
        if column not in table.column_names:
            continue
        found = set(table.column(column).to_pylist())
        if found - {value}:
            raise ValueError(
                f"{path}: its rows have {column}={sorted(found)}, but the path "
                f"says {column}={value!r}; the file belongs to another model. "
                f"Rebuild it with: snakemake --forcerun {path}"
            )
    recorded = read_metadata(path).get("inputs", {})
    check_digests(recorded, result=str(path))
    return table


def aggregate(
    paths: Iterable[Path | str], out: Path | str, name: str, *, metadata: Mapping
) -> int:
    """Check and concatenate per-job files into the study table at ``out``.

    Every part goes through :func:`read_part`; no two parts may come from the
    same path. Returns the number of rows written.
    """
    paths = [str(p) for p in paths]
    duplicated = sorted({p for p in paths if paths.count(p) > 1})
    if duplicated:
        raise ValueError(f"{name}: parts listed more than once: {duplicated}")
    table = (
        pa.concat_tables([read_part(p, name) for p in paths])
        if paths
        else (SCHEMAS[name].empty_table())
    )
    table = table.replace_schema_metadata(_encode(metadata))
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp)
    return table.num_rows


def read_metadata(path: Path | str) -> dict:
    """The JSON-decoded key-value metadata of a table."""
    raw = pq.read_schema(path).metadata or {}
    return {
        k.decode(): json.loads(v) for k, v in raw.items() if not k.startswith(b"pandas")
    }

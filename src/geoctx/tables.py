"""Parquet tables: one explicit pyarrow schema per table, tidy rows.

Per-job outputs are small Parquet files with the table's schema; the
aggregate reads them as one ``pyarrow.dataset`` and writes the study table
with key-value metadata (config hash, package versions).
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from geoctx import stats

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


SCHEMAS: dict[str, pa.Schema] = {
    "runs": pa.schema(
        MODEL_FIELDS
        + [
            pa.field("status", pa.string()),
            pa.field("kernel_initializer", pa.string()),
            pa.field("n_features", pa.int64()),
            pa.field("n_classes", pa.int64()),
            pa.field("n_params", pa.int64()),
            pa.field("epochs_run", pa.int64()),
            pa.field("best_epoch", pa.int64()),
            pa.field("train_loss", pa.float64()),
            pa.field("train_accuracy", pa.float64()),
            pa.field("val_loss", pa.float64()),
            pa.field("val_accuracy", pa.float64()),
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
            pa.field("backend", pa.string()),
            pa.field("op", pa.string()),
            pa.field("latency_ms_median", pa.float64()),
            pa.field("latency_ms_iqr", pa.float64()),
            pa.field("throughput_per_s", pa.float64()),
            pa.field("cpu", pa.string()),
            pa.field("threads", pa.int64()),
        ]
    ),
    "claims": pa.schema(
        [
            pa.field("claim", pa.string()),
            pa.field("statement", pa.string()),
            pa.field("evidence", pa.string()),
            pa.field("evidence_description", pa.string()),
            pa.field("comparison", pa.string()),
            pa.field("primary", pa.bool_()),
            pa.field("dataset", pa.string()),
            pa.field("condition", pa.string()),
            pa.field("n_pairs", pa.int64()),
            pa.field("effect", pa.float64()),
            pa.field("ci_low", pa.float64()),
            pa.field("ci_high", pa.float64()),
            pa.field("p_value", pa.float64()),
            pa.field("p_holm", pa.float64()),
            pa.field("effect_size", pa.float64()),
            pa.field("predicted_sign", pa.int64()),
            pa.field("smallest_effect", pa.float64()),
            _categorical("verdict", stats.VERDICTS),
        ]
    ),
    "units": pa.schema(MODEL_FIELDS + LAYER_FIELDS),
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
    """Write a frame as the named table; ``metadata`` values are JSON-encoded."""
    table = to_table(df, name)
    if metadata:
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), **_encode(metadata)}
        )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def aggregate(
    paths: Iterable[Path | str], out: Path | str, name: str, *, metadata: Mapping
) -> int:
    """Read per-job Parquet files as one dataset and write the study table.

    Returns the number of rows written.
    """
    paths = [str(p) for p in paths]
    dataset = ds.dataset(paths, schema=SCHEMAS[name], format="parquet")
    table = dataset.to_table()
    table = table.replace_schema_metadata(_encode(metadata))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    return table.num_rows


def read_metadata(path: Path | str) -> dict:
    """The JSON-decoded key-value metadata of a table."""
    raw = pq.read_schema(path).metadata or {}
    return {
        k.decode(): json.loads(v) for k, v in raw.items() if not k.startswith(b"pandas")
    }

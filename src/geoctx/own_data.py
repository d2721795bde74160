"""A researcher's own data: a CSV, Parquet or NPZ file, or a table scikit-learn ships.

Two generators of :mod:`geoctx.datasets` come from here:

- ``file``: ``path`` (relative to the working directory), ``label`` (the
  label column; for NPZ the label array beside ``X``), optional
  ``features`` (columns; default every numeric column but the label) and
  ``drop_missing`` (drop rows with NaN or infinite values, counted, instead
  of refusing the file). Labels may be strings or integers: classes are
  numbered in sorted order and their names kept in the metadata.
- ``sklearn``: ``name`` one of :data:`SKLEARN_TABLES`, loaded by
  scikit-learn's ``load_<name>`` from the files it ships (no network).

:func:`source_problems` checks every such dataset of a study before any job
runs (the workflow calls it when it reads the config) and returns the
config with each file's SHA-256 filled in: the file's content is then part
of its dataset's parameters, so editing the file reruns exactly that
dataset, and a copy of the study with its data reruns nothing. Every
message names the config key, the file and the column.

numpy and pandas are imported inside the functions: the workflow imports
this module only for a study that has such a dataset.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from geoctx.config import split_parts, split_sizes
from geoctx.sources import SKLEARN_TABLES

#: File formats by suffix.
FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet", ".npz": "NPZ"}


@dataclass
class Table:
    """Features ``X`` (n, d) float64, integer labels ``y`` (n,), and what was done."""

    X: object
    y: object
    classes: list[str]
    features: list[str]
    rows_read: int
    rows_dropped: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def class_counts(self) -> list[int]:
        import numpy as np

        return np.bincount(self.y, minlength=len(self.classes)).tolist()


class SourceError(ValueError):
    """A file or table that cannot be a dataset; the message names key, file, column."""


def file_sha256(path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _read(path: Path, fmt: str, label: str, key: str):
    """The file as a DataFrame (NPZ: columns ``X[0]``...) and its label column."""
    import numpy as np
    import pandas as pd

    try:
        if fmt == "CSV":
            frame = pd.read_csv(path, engine="pyarrow")
        elif fmt == "Parquet":
            frame = pd.read_parquet(path)
        else:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
            if "X" not in arrays:
                raise SourceError(
                    f"{key}.path: {path} has no array 'X' (it has "
                    f"{', '.join(arrays) or 'none'}); an NPZ dataset needs X and "
                    "the label array"
                )
            X = arrays["X"]
            if X.ndim != 2:
                raise SourceError(
                    f"{key}.path: array 'X' of {path} has shape {X.shape}; "
                    "it must be (rows, features)"
                )
            frame = pd.DataFrame(X, columns=[f"X[{j}]" for j in range(X.shape[1])])
            if label in arrays:
                y = arrays[label]
                if y.shape != (len(X),):
                    raise SourceError(
                        f"{key}.label: array {label!r} of {path} has shape "
                        f"{y.shape}; it must be ({len(X)},), one label per row of X"
                    )
                frame[label] = y
    except SourceError:
        raise
    except Exception as err:  # any parser's complaint: name the file and say why
        raise SourceError(
            f"{key}.path: cannot read {path} as {fmt}: {type(err).__name__}: {err}"
        ) from None
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _line(fmt: str, row: int) -> str:
    """Where row ``row`` (0-based) is in the file: a CSV's line, else its row."""
    return f"line {row + 2}" if fmt == "CSV" else f"row {row}"


def read_table(
    path,
    *,
    label: str,
    features=None,
    drop_missing: bool = False,
    key: str = "dataset",
    limits: Mapping | None = None,
) -> Table:
    """Read a CSV, Parquet or NPZ file as features and labels, checking it.

    Parameters
    ----------
    path : path of the file; its suffix gives the format (:data:`FORMATS`).
    label : the label column (NPZ: the label array beside ``X``).
    features : the feature columns; None: every numeric column but the label
        (the others are listed in ``ignored_columns``).
    drop_missing : drop the rows with a NaN or infinite feature or a missing
        label (counted in ``rows_dropped``) instead of refusing the file.
    key : the config key the messages name (``datasets.<name>``).
    limits : ``max_file_mb``, ``max_rows``, ``max_features`` (``data_limits``).

    Raises
    ------
    SourceError
        Naming ``key``, the file and the column: a missing, unreadable or too
        large file, an unknown label or feature column, a non-numeric
        feature, missing values (without ``drop_missing``), no rows left.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = path.write_text("a,b,kind\\n1,2,x\\n3,4,y\\n5,,x\\n")
    >>> t = read_table(path, label="kind", drop_missing=True)
    >>> t.X.tolist(), t.y.tolist(), t.classes, t.rows_dropped
    ([[1.0, 2.0], [3.0, 4.0]], [0, 1], ['x', 'y'], 1)
    """
    import numpy as np
    import pandas as pd

    path = Path(path)
    limits = dict(limits or {})
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SourceError(
            f"{key}.path: {path} has suffix {path.suffix!r}; valid: "
            f"{', '.join(FORMATS)} (CSV, Parquet, NPZ with arrays X and the label)"
        )
    if not path.is_file():
        raise SourceError(
            f"{key}.path: {path} does not exist (paths are relative to the "
            f"working directory, {os.getcwd()})"
        )
    max_mb = limits.get("max_file_mb")
    size_mb = path.stat().st_size / 2**20
    if max_mb is not None and size_mb > max_mb:
        raise SourceError(
            f"{key}.path: {path} is {size_mb:.3g} MB, more than "
            f"data_limits.max_file_mb ({max_mb}); raise data_limits.max_file_mb "
            "to use it"
        )
    frame = _read(path, fmt, label, key)
    columns = list(frame.columns)
    if label not in columns:
        raise SourceError(
            f"{key}.label: column {label!r} is not in {path}; its columns: "
            f"{', '.join(columns)}"
        )
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(frame[c])]
    numeric = [c for c in numeric if not pd.api.types.is_bool_dtype(frame[c])]
    if features is None:
        chosen = [c for c in numeric if c != label]
        ignored = [c for c in columns if c not in chosen and c != label]
    else:
        if fmt == "NPZ":
            raise SourceError(
                f"{key}.features: an NPZ file's features are its array X; "
                "leave features out"
            )
        for name in features:
            if name not in columns:
                raise SourceError(
                    f"{key}.features: column {name!r} is not in {path}; its "
                    f"columns: {', '.join(columns)}"
                )
            if name == label:
                raise SourceError(
                    f"{key}.features: column {name!r} of {path} is the label"
                )
            if name not in numeric:
                column = frame[name]
                bad = column[pd.to_numeric(column, errors="coerce").isna()]
                bad = bad[bad.notna()]
                where = (
                    f"e.g. {bad.iloc[0]!r} at {_line(fmt, bad.index[0])}"
                    if len(bad)
                    else f"dtype {column.dtype}"
                )
                raise SourceError(
                    f"{key}.features: column {name!r} of {path} is not numeric "
                    f"({where})"
                )
        chosen, ignored = list(features), []
    if not chosen:
        raise SourceError(
            f"{key}.features: {path} has no numeric column besides the label "
            f"{label!r}; its columns: {', '.join(columns)}"
        )
    if limits.get("max_rows") is not None and len(frame) > limits["max_rows"]:
        raise SourceError(
            f"{key}.path: {path} has {len(frame)} rows, more than "
            f"data_limits.max_rows ({limits['max_rows']}); raise "
            "data_limits.max_rows to use it"
        )
    if limits.get("max_features") is not None and len(chosen) > limits["max_features"]:
        raise SourceError(
            f"{key}.features: {path} has {len(chosen)} feature columns, more than "
            f"data_limits.max_features ({limits['max_features']}); raise "
            "data_limits.max_features, or list the columns in features"
        )
    X = frame[chosen].to_numpy(dtype=np.float64)
    labels = frame[label]
    bad_x = ~np.isfinite(X)
    bad_y = labels.isna().to_numpy()
    bad = bad_x.any(axis=1) | bad_y
    n_bad = int(bad.sum())
    if n_bad and not drop_missing:
        counts = {chosen[j]: int(n) for j, n in enumerate(bad_x.sum(axis=0)) if n}
        if bad_y.any():
            counts[label] = int(bad_y.sum())
        first = int(np.flatnonzero(bad)[0])
        listed = ", ".join(f"{c!r} {n}" for c, n in counts.items())
        raise SourceError(
            f"{key}: {n_bad} row(s) of {path} have a missing (NaN) or infinite "
            f"value (by column: {listed}; the first at {_line(fmt, first)}); "
            f"clean the file or set {key}.drop_missing: true to drop them"
        )
    if n_bad:
        X, labels = X[~bad], labels[~bad]
    if len(X) == 0:
        raise SourceError(f"{key}: {path} has no rows left to use")
    values = labels.to_numpy()
    if values.dtype.kind == "f" and np.all(values == np.round(values)):
        values = values.astype(np.int64)
    elif values.dtype.kind not in "iub":
        values = values.astype(str)
    names, y = np.unique(values, return_inverse=True)
    return Table(
        X=X,
        y=y.astype(np.int64),
        classes=[str(v) for v in names],
        features=chosen,
        rows_read=len(frame),
        rows_dropped=n_bad,
        ignored_columns=ignored,
    )


def load_sklearn_table(name: str) -> Table:
    """A table scikit-learn ships (``load_<name>``), with its class names."""
    import numpy as np
    from sklearn import datasets

    if name not in SKLEARN_TABLES:
        raise SourceError(
            f"sklearn table {name!r} is not one of {', '.join(SKLEARN_TABLES)}"
        )
    bunch = getattr(datasets, f"load_{name}")()
    X = np.asarray(bunch.data, dtype=np.float64)
    return Table(
        X=X,
        y=np.asarray(bunch.target, dtype=np.int64),
        classes=[str(c) for c in bunch.target_names],
        features=[str(f) for f in bunch.feature_names],
        rows_read=len(X),
    )


def min_class_rows(
    n_rows: int,
    *,
    test_fraction: float,
    validation_fraction: float,
    probe_points: int,
) -> int:
    """Fewest rows a class needs so that a stratified split puts it everywhere.

    A class of ``c`` rows gets about ``c * test_fraction`` test rows
    (rounded down, at worst), then ``validation_fraction`` of the rest for
    validation; it needs one row in training, validation and test and, when
    the probe set is drawn from a larger test split, two test rows (a
    stratified draw needs two) and one probe row.

    >>> min_class_rows(178, test_fraction=0.25, validation_fraction=0.2,
    ...                probe_points=256)
    7
    """
    sizes = split_sizes(
        n_rows,
        test_fraction=test_fraction,
        validation_fraction=validation_fraction,
        probe_points=probe_points,
    )
    drawn = sizes["probe"] < sizes["test"]
    for c in range(2, n_rows + 1):
        test = math.floor(c * test_fraction)
        rest = c - math.ceil(c * test_fraction)
        val = math.floor(rest * validation_fraction)
        train = rest - math.ceil(rest * validation_fraction)
        probe = math.floor(test * sizes["probe"] / sizes["test"])
        if min(test, val, train) >= 1 and (not drawn or (test >= 2 and probe >= 1)):
            return c
    return n_rows + 1


def table_problems(key: str, source: str, table_counts, config: Mapping) -> list[str]:
    """Classes of one table against ``data_limits``, the splits and the probe.

    ``table_counts`` maps class name to rows; ``source`` names the file or table.
    """
    limits = config["data_limits"]
    counts = dict(table_counts)
    n = sum(counts.values())
    if len(counts) < 2:
        only = next(iter(counts), None)
        return [
            f"{key}.label: {source} has a single class ({only!r}); a classifier "
            "needs two"
        ]
    if len(counts) > limits["max_classes"]:
        return [
            f"{key}.label: {source} has {len(counts)} classes, more than "
            f"data_limits.max_classes ({limits['max_classes']}); is the label "
            "column right? Raise data_limits.max_classes if so"
        ]
    settings = {
        "test_fraction": config["splits"]["test_fraction"],
        "validation_fraction": config["training"]["validation_fraction"],
        "probe_points": config["splits"]["probe_points"],
    }
    problems = [
        f"{key}: the {n} rows of {source} give {size} {part} row(s) for "
        f"{len(counts)} classes (splits.test_fraction {settings['test_fraction']}, "
        f"training.validation_fraction {settings['validation_fraction']}, "
        f"splits.probe_points {settings['probe_points']}); every class needs one"
        for part, size in split_parts(config, n, unit="rows").items()
        if size < len(counts)
    ]
    if problems:
        return problems
    need = min_class_rows(n, **settings)
    problems = [
        f"{key}.label: class {name!r} of {source} has {rows} row(s); the splits "
        f"need at least {need} of every class (splits.test_fraction "
        f"{settings['test_fraction']}, training.validation_fraction "
        f"{settings['validation_fraction']}, splits.probe_points "
        f"{settings['probe_points']}): add rows or drop the class"
        for name, rows in counts.items()
        if rows < need
    ]
    if problems:
        return problems
    # the geometry measures a random subset of the probe: its smallest class,
    # at its expected size, needs a point per linear-probe fold and the
    # neighbourhoods fewer neighbours than half the points
    geometry = config["geometry"]
    probe = split_sizes(n, **settings)["probe"]
    measured = min(geometry["measured_points"], probe)
    smallest_name, smallest = min(counts.items(), key=lambda kv: kv[1])
    expected = math.floor(measured * smallest / n)
    if expected < geometry["probe_folds"]:
        problems.append(
            f"geometry.probe_folds: class {smallest_name!r} of {source} has "
            f"{smallest} of {n} rows, about {expected} of the {measured} measured "
            f"probe points, fewer than probe_folds ({geometry['probe_folds']}); "
            "raise splits.probe_points and geometry.measured_points, or lower "
            "geometry.probe_folds"
        )
    if 2 * geometry["n_neighbors"] >= measured:
        problems.append(
            f"geometry.n_neighbors: {geometry['n_neighbors']} is too large for "
            f"the {measured} probe points of {source}; valid: 1 to "
            f"{(measured - 1) // 2}"
        )
    return problems


def source_problems(config: Mapping) -> tuple[dict, list[str]]:
    """Check every ``file`` and ``sklearn`` dataset of a validated config.

    Returns the config with each file dataset's ``sha256`` filled in (a
    ``sha256`` written in the config must match the file), and the
    problems, each naming the key, the file and the column. A file is read
    once, here; its rows, classes and columns are checked against
    ``data_limits``, the splits and the geometry settings.
    """
    config = dict(config)
    datasets = {name: dict(spec) for name, spec in config["datasets"].items()}
    problems = []
    for name, spec in datasets.items():
        key = f"datasets.{name}"
        if spec["generator"] == "sklearn":
            table = SKLEARN_TABLES[spec["name"]]
            counts = dict(enumerate(table["class_counts"]))
            problems += table_problems(
                key, f"sklearn table {spec['name']}", counts, config
            )
        elif spec["generator"] == "file":
            try:
                table = read_table(
                    spec["path"],
                    label=spec["label"],
                    features=spec["features"],
                    drop_missing=spec["drop_missing"],
                    key=key,
                    limits=config["data_limits"],
                )
            except SourceError as err:
                problems.append(str(err))
                continue
            digest = file_sha256(spec["path"])
            if spec.get("sha256") not in (None, digest):
                problems.append(
                    f"{key}.sha256: {spec['path']} has SHA-256 {digest}, not the "
                    f"{spec['sha256']} the config names (the file changed?)"
                )
            spec["sha256"] = digest
            counts = dict(zip(table.classes, table.class_counts, strict=True))
            problems += table_problems(key, spec["path"], counts, config)
    config["datasets"] = datasets
    return config, problems


def file_info(table: Table, **source) -> dict:
    """What was done to a file or table, for the dataset's metadata."""
    return {
        "source": source,
        "rows_read": table.rows_read,
        "rows_dropped": table.rows_dropped,
        "classes": table.classes,
        "features": table.features,
        "ignored_columns": table.ignored_columns,
    }

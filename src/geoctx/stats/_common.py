"""Validation shared by the statistics modules."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _is_integral(x) -> bool:
    """True for ints and for floats that hold a whole number (e.g. from a table)."""
    if _is_int(x):
        return True
    return (
        isinstance(x, numbers.Real)
        and not isinstance(x, bool)
        and math.isfinite(x)
        and float(x).is_integer()
    )


def _check_table(df, *, value, factor, levels, match_on) -> None:
    """Validate a long table of paired observations: ``value`` (numeric) and
    ``factor`` columns of ``df``, two different ``levels`` of the factor,
    and ``match_on``, a non-empty list of other columns without repeats.

    Raises ``ValueError`` naming the offending argument and value.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    for label, col in (("value", value), ("factor", factor)):
        if not isinstance(col, str):
            raise ValueError(f"{label} must be a column name (str), got {col!r}")
        if col not in df.columns:
            raise ValueError(
                f"{label}={col!r} is not a column of df; columns are {list(df.columns)}"
            )
    if value == factor:
        raise ValueError(f"value and factor must differ, both are {value!r}")
    if not pd.api.types.is_numeric_dtype(df[value]):
        raise ValueError(
            f"value column {value!r} must be numeric, got dtype {df[value].dtype}"
        )
    a, b = levels
    if a == b:
        raise ValueError(f"levels a and b must differ, both are {a!r}")
    if isinstance(match_on, str) or not isinstance(match_on, Sequence):
        raise ValueError(f"match_on must be a list of column names, got {match_on!r}")
    if len(match_on) == 0:
        raise ValueError("match_on must name at least one column, got []")
    if len(set(match_on)) != len(match_on):
        raise ValueError(f"match_on has repeated columns: {list(match_on)!r}")
    for col in match_on:
        if col not in df.columns:
            raise ValueError(
                f"match_on column {col!r} is not a column of df; "
                f"columns are {list(df.columns)}"
            )
        if col in (value, factor, "a", "b", "diff"):
            raise ValueError(
                f"match_on column {col!r} clashes with the value/factor column "
                "or with an output column ('a', 'b', 'diff')"
            )


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _is_probability(x) -> bool:
    return isinstance(x, numbers.Real) and (math.isnan(x) or 0.0 <= x <= 1.0)


def _in_open_unit_interval(x) -> bool:
    return isinstance(x, numbers.Real) and 0.0 < x < 1.0


#: Each named setting: (is it valid, what it must be). A setting is checked
#: under its name (:func:`_check_settings`), so the message names it.
SETTINGS = {
    "n_resamples": (lambda x: _is_int(x) and x >= 1, "be a positive integer"),
    "confidence": (_in_open_unit_interval, "lie in (0, 1)"),
    "alpha": (_in_open_unit_interval, "lie in (0, 1)"),
    "predicted_sign": (lambda x: _is_real(x) and x in (1, -1), "be +1 or -1"),
    "smallest_effect": (
        lambda x: _is_real(x) and math.isfinite(x) and x >= 0,
        "be a finite number >= 0",
    ),
    "n_pairs": (lambda x: _is_integral(x) and x >= 0, "be an integer >= 0"),
    "min_pairs": (lambda x: _is_int(x) and x >= 2, "be an integer >= 2"),
    **dict.fromkeys(
        ("p_supported", "p_contradicted", "p_no_effect"),
        (_is_probability, "lie in [0, 1] or be NaN"),
    ),
}


def _check_settings(**named) -> None:
    """Validate each named setting (:data:`SETTINGS`) that is not None.

    Raises ``ValueError`` naming the setting and its value.

    >>> _check_settings(alpha=0.05, n_resamples=None)
    >>> _check_settings(alpha=1.5)
    Traceback (most recent call last):
    ...
    ValueError: alpha must lie in (0, 1), got 1.5
    """
    for name, x in named.items():
        valid, must = SETTINGS[name]
        if x is not None and not valid(x):
            raise ValueError(f"{name} must {must}, got {x!r}")


def _check_values(
    values, *, name: str = "diffs", nan_ok: bool = False, unit_interval: bool = False
) -> np.ndarray:
    """``values`` as a 1-D float64 array: finite (or NaN with ``nan_ok``),
    within [0, 1] with ``unit_interval``.

    Raises ``ValueError`` naming ``name`` and the first offending entry.
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {values!r}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    bad = np.isinf(arr) if nan_ok else ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must be finite{' or NaN' if nan_ok else ''}; "
            f"{name}[{i}] = {float(arr[i])!r}"
        )
    if unit_interval:
        out = (arr < 0) | (arr > 1)
        if out.any():
            i = int(np.flatnonzero(out)[0])
            raise ValueError(
                f"{name} must lie in [0, 1]; {name}[{i}] = {float(arr[i])!r}"
            )
    return arr

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


def _check_inputs(
    values=None,
    *,
    name: str = "diffs",
    nan_ok: bool = False,
    unit_interval: bool = False,
    df=None,
    value=None,
    factor=None,
    levels=None,
    match_on=None,
    n_resamples=None,
    confidence=None,
    alpha=None,
    predicted_sign=None,
    smallest_effect=None,
    n_pairs=None,
    min_pairs=None,
    p_holm=None,
):
    """Validate the public arguments of this module.

    Only the arguments that are not None are checked. Raises ``ValueError``
    naming the offending argument and value. Returns ``values`` as a 1-D
    float64 array, or None when ``values`` is None.
    """
    if df is not None:
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
        for label, col in (("value", value), ("factor", factor)):
            if not isinstance(col, str):
                raise ValueError(f"{label} must be a column name (str), got {col!r}")
            if col not in df.columns:
                raise ValueError(
                    f"{label}={col!r} is not a column of df; "
                    f"columns are {list(df.columns)}"
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
            raise ValueError(
                f"match_on must be a list of column names, got {match_on!r}"
            )
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

    if n_resamples is not None and (not _is_int(n_resamples) or n_resamples < 1):
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if confidence is not None and not (
        isinstance(confidence, numbers.Real) and 0.0 < confidence < 1.0
    ):
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    if alpha is not None and not (isinstance(alpha, numbers.Real) and 0 < alpha < 1):
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    if predicted_sign is not None and (
        isinstance(predicted_sign, bool)
        or not isinstance(predicted_sign, numbers.Real)
        or predicted_sign not in (1, -1)
    ):
        raise ValueError(f"predicted_sign must be +1 or -1, got {predicted_sign!r}")
    if smallest_effect is not None and not (
        isinstance(smallest_effect, numbers.Real)
        and not isinstance(smallest_effect, bool)
        and math.isfinite(smallest_effect)
        and smallest_effect >= 0
    ):
        raise ValueError(
            f"smallest_effect must be a finite number >= 0, got {smallest_effect!r}"
        )
    if n_pairs is not None and not (_is_integral(n_pairs) and n_pairs >= 0):
        raise ValueError(f"n_pairs must be an integer >= 0, got {n_pairs!r}")
    if min_pairs is not None and not (_is_int(min_pairs) and min_pairs >= 2):
        raise ValueError(f"min_pairs must be an integer >= 2, got {min_pairs!r}")
    if p_holm is not None and not (
        isinstance(p_holm, numbers.Real)
        and (math.isnan(p_holm) or 0.0 <= p_holm <= 1.0)
    ):
        raise ValueError(f"p_holm must lie in [0, 1] or be NaN, got {p_holm!r}")

    if values is None:
        return None
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

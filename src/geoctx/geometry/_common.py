"""Validation and degenerate input, shared by the geometry metrics."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.distance import squareform


def _check_inputs(
    arrays: Mapping[str, ArrayLike],
    *,
    ndim: int = 2,
    min_points: int = 1,
    y: ArrayLike | None = None,
    n_neighbors: int | None = None,
    neighbors_below_half: bool = False,
) -> list[np.ndarray]:
    """Validate arrays that describe the same points; return them as float64.

    Each array must have ``ndim`` dimensions, at least one column, the same
    number of rows ``n >= min_points`` as the others and only finite values.
    ``y``, when given, must be one label per point and is appended to the
    result. ``n_neighbors``, when given, must be an integer with
    ``1 <= n_neighbors < n`` (or ``< n / 2`` if ``neighbors_below_half``).
    """
    checked = []
    n = None
    first = None
    for name, value in arrays.items():
        a = np.asarray(value, dtype=np.float64)
        if a.ndim != ndim:
            raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
        if a.size == 0 or 0 in a.shape[1:]:
            raise ValueError(f"{name} is empty (shape {a.shape})")
        if n is None:
            n, first = a.shape[0], name
        elif a.shape[0] != n:
            raise ValueError(
                f"{name} has {a.shape[0]} points but {first} has {n}; "
                "they must describe the same points in the same order"
            )
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        if bad:
            raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")
        checked.append(a)
    if n < min_points:
        raise ValueError(f"{first} has {n} point(s); at least {min_points} needed")
    if n_neighbors is not None:
        if not isinstance(n_neighbors, numbers.Integral) or isinstance(
            n_neighbors, bool
        ):
            raise ValueError(f"n_neighbors must be an integer, got {n_neighbors!r}")
        limit = (n - 1) / 2 if neighbors_below_half else n - 1
        if not 1 <= n_neighbors <= limit:
            rule = "n_neighbors < n/2" if neighbors_below_half else "n_neighbors < n"
            raise ValueError(
                f"n_neighbors={n_neighbors} is out of range for n={n} points "
                f"(need 1 <= {rule})"
            )
    if y is not None:
        labels = np.asarray(y)
        if labels.ndim != 1 or labels.shape[0] != n:
            raise ValueError(
                f"y must be 1-D with one label per point ({n}), got shape "
                f"{labels.shape}"
            )
        if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
            raise ValueError("y contains NaN or infinite labels")
        checked.append(labels)
    return checked


def _degenerate(message: str) -> float:
    warnings.warn(f"{message}; returning NaN", RuntimeWarning, stacklevel=3)
    return float("nan")


def _is_constant(a: np.ndarray) -> bool:
    """True if all rows of ``a`` are identical (zero spread in every column)."""
    return not np.any(a != a[0])


def _square(condensed: np.ndarray) -> np.ndarray:
    """Square distance matrix with ``+inf`` on the diagonal (excludes self)."""
    d = squareform(condensed)
    np.fill_diagonal(d, np.inf)
    return d

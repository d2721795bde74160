"""Validation and clip-box helpers shared by the robustness modules.

Arrays are checked once at each public boundary by
:func:`geoctx.autodiff.check_arrays`, the package's one check of inputs and
labels: inputs become C-contiguous float32 ``(n, d)`` and labels int32
``(n,)``. A clip box is a per-point pair
``(low, high)`` of shape ``(n, d)`` that always contains the clean input.
"""

from __future__ import annotations

import numpy as np

from geoctx import autodiff


def _check_nonnegative(value, name):
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def _check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def _check_grid(values, name):
    grid = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got {values}")
    if not np.all(np.isfinite(grid)) or np.any(grid < 0):
        raise ValueError(f"{name} must hold finite numbers >= 0, got {values}")
    return [float(v) for v in grid]


def _check_quantiles(quantiles):
    quantiles = np.asarray(quantiles, dtype=np.float64)
    if (
        quantiles.ndim != 1
        or quantiles.size < 2
        or quantiles[0] != 0
        or quantiles[-1] != 1
        or np.any(np.diff(quantiles) <= 0)
    ):
        raise ValueError(
            f"quantiles must increase strictly from 0 to 1, got {quantiles.tolist()}"
        )
    return quantiles


def _rng(rng):
    return np.random.default_rng(rng)


def _predict_logits(model, x, batch_size=1024):
    """Logits ``(n, n_classes)`` in inference mode, batch by batch."""
    return autodiff.predict(model, x, batch_size=batch_size)


def _clip_bounds(clip, x):
    """Per-point box ``(low, high)`` of shape (n, d), widened to contain ``x``.

    Widening means an attack never moves a coordinate past the clean value when
    the clean input already lies outside the nominal data range, so clipping
    never enlarges a perturbation and ``epsilon = 0`` leaves ``x`` unchanged.
    """
    if clip is None:
        return None
    if len(clip) != 2:
        raise ValueError(f"clip must be a pair (low, high), got {clip!r}")
    low = np.broadcast_to(np.asarray(clip[0], dtype=np.float64), x.shape[1:])
    high = np.broadcast_to(np.asarray(clip[1], dtype=np.float64), x.shape[1:])
    if np.any(np.isnan(low)) or np.any(np.isnan(high)) or np.any(low > high):
        raise ValueError(f"clip must satisfy low <= high, got {clip!r}")
    return np.minimum(low, x), np.maximum(high, x)


def _take(bounds, index):
    return None if bounds is None else (bounds[0][index], bounds[1][index])


def _finish(x64, delta, bounds):
    """``x + delta`` clipped to the box, as float32 model input."""
    out = x64 + delta
    if bounds is not None:
        out = np.clip(out, bounds[0], bounds[1])
    return out.astype(np.float32)

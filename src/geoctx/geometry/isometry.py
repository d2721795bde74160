"""Trajectory length and local isometry: the input circle, its length
through the layers, and the Jacobian spectrum."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from geoctx.geometry._common import _check_inputs, _degenerate, _is_constant


def _closed_length(curve: np.ndarray) -> float:
    steps = np.roll(curve, -1, axis=0) - curve
    return float(np.sum(np.linalg.norm(steps, axis=1), dtype=np.float64))


def trajectory_length_ratio(curve_in: ArrayLike, curve_layer: ArrayLike) -> float:
    """Length of a closed curve in the layer over its length in the input.

    Raghu et al. (2017) track how the length of an input trajectory grows
    with depth. Both curves are closed polylines through the same ``m``
    points in order, including the segment from the last point back to the
    first. Pure numpy.

    Parameters
    ----------
    curve_in : array-like of shape (m, d_in)
        Curve in input space, e.g. from :func:`input_circle`.
    curve_layer : array-like of shape (m, d_layer)
        The same curve mapped through the network to a layer.

    Returns
    -------
    float
        In [0, inf); > 1 when the layer stretches the curve. NaN with a
        ``RuntimeWarning`` if the input curve has zero length.

    Examples
    --------
    >>> square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    >>> trajectory_length_ratio(square, 3 * square)
    3.0
    """
    curve_in, curve_layer = _check_inputs(
        {"curve_in": curve_in, "curve_layer": curve_layer}, min_points=2
    )
    length_in = _closed_length(curve_in)
    if length_in == 0:
        return _degenerate("curve_in has zero length")
    return _closed_length(curve_layer) / length_in


def _rms_radius(curve: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.sum((curve - curve.mean(axis=0)) ** 2, axis=1))))


def trajectory_length_scaled(curve_in: ArrayLike, curve_layer: ArrayLike) -> float:
    """Trajectory length ratio with each curve measured in its own extent.

    Each closed length is divided by the curve's RMS radius (the root mean
    squared distance of its points from their mean) before the ratio is
    taken. The ratio of :func:`trajectory_length_ratio` mixes how much a
    layer bends the curve with the layer's output scale, and the scales
    differ by activation (sigmoid's (0, 1) against ReLU's unbounded range);
    this one is unchanged when a layer is multiplied by a constant, is 1 for
    any similarity map (so 1 at the input), and grows only as the curve
    folds and winds within its extent. The RMS radius rather than, say, the
    median pairwise distance because it uses the same points as the length,
    costs O(m) for the tens of thousands of points a refined curve can have,
    and gives the analytic answer for a circle (radius r) mapped linearly.
    Pure numpy.

    Parameters
    ----------
    curve_in : array-like of shape (m, d_in)
        Closed curve in input space, e.g. from :func:`input_circle`.
    curve_layer : array-like of shape (m, d_layer)
        The same curve mapped through the network to a layer.

    Returns
    -------
    float
        In [0, inf); 1 for a similarity map. NaN with a ``RuntimeWarning`` if
        either curve is a single point.

    Examples
    --------
    >>> square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    >>> round(trajectory_length_scaled(square, 3 * square), 12)
    1.0
    >>> flat = square * [1.0, 0.0]  # folded onto a segment
    >>> round(trajectory_length_scaled(square, flat), 6)
    0.707107
    """
    curve_in, curve_layer = _check_inputs(
        {"curve_in": curve_in, "curve_layer": curve_layer}, min_points=2
    )
    if _is_constant(curve_in) or _is_constant(curve_layer):
        return _degenerate("a curve is a single point")
    radius_in, radius_layer = _rms_radius(curve_in), _rms_radius(curve_layer)
    return (_closed_length(curve_layer) / radius_layer) / (
        _closed_length(curve_in) / radius_in
    )


def refined_trajectory(
    forward: Callable[[np.ndarray], list[np.ndarray]],
    X: ArrayLike,
    *,
    n_points: int = 200,
    rtol: float = 0.01,
    max_points: int = 25_600,
) -> tuple[np.ndarray, list[np.ndarray], bool]:
    """The input circle and its images, refined until every length converges.

    A polyline through ``m`` points of a curve underestimates its length,
    badly so when a chaotic network folds the curve between neighbouring
    points. Starting from :func:`input_circle` with ``n_points`` points, the
    number of points is doubled (the new points halfway in angle, only they
    are mapped) until the closed length of every curve ``forward`` returns
    changes by at most ``rtol`` of its new value, or doubling would exceed
    ``max_points``, or a length is not finite (a diverged network).

    Parameters
    ----------
    forward : callable
        Maps circle points of shape (m, d) to a list of arrays of shape
        (m, d_layer), one per layer, row i the image of point i.
    X : array-like of shape (n, d)
        Input data, d >= 2 (see :func:`input_circle`).
    n_points : int, default=200
        Starting number of points, >= 3.
    rtol : float, default=0.01
        Relative change of every length below which the curve has converged.
    max_points : int, default=25600
        Cap on the number of points.

    Returns
    -------
    circle : numpy.ndarray of shape (m, d)
    curves : list of numpy.ndarray of shape (m, d_layer)
        ``forward(circle)``.
    converged : bool
        False if the cap, or a length that is not finite, stopped it.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(50, 2))
    >>> circle, (wavy,), ok = refined_trajectory(
    ...     lambda c: [np.c_[c, np.sin(40 * c[:, :1])]], X, n_points=8
    ... )
    >>> len(circle), ok
    (1024, True)
    """
    if not isinstance(rtol, numbers.Real) or not 0 < rtol < 1:
        raise ValueError(f"rtol must be in (0, 1), got {rtol!r}")
    if not isinstance(max_points, numbers.Integral) or max_points < n_points:
        raise ValueError(
            f"max_points must be an integer >= n_points={n_points}, got {max_points!r}"
        )
    circle = input_circle(X, n_points=n_points)
    curves = list(forward(circle))
    lengths = np.array([_closed_length(c) for c in curves])
    while np.isfinite(lengths).all() and 2 * len(circle) <= max_points:
        halfway = input_circle(X, n_points=2 * len(circle))[1::2]
        circle = _interleave(circle, halfway)
        curves = [
            _interleave(c, h) for c, h in zip(curves, forward(halfway), strict=True)
        ]
        previous, lengths = lengths, np.array([_closed_length(c) for c in curves])
        if np.all(np.abs(lengths - previous) <= rtol * lengths):
            return circle, curves, True
    return circle, curves, False


def _interleave(even: np.ndarray, odd: np.ndarray) -> np.ndarray:
    out = np.empty((2 * len(even), *even.shape[1:]), dtype=np.result_type(even, odd))
    out[0::2], out[1::2] = even, odd
    return out


def input_circle(X: ArrayLike, *, n_points: int = 200) -> np.ndarray:
    """A circle in the data's top-2 principal plane, to map through a network.

    Centred at the mean of ``X``, in the plane of its first two principal
    axes (:func:`numpy.linalg.svd` of the centred data), with radius equal
    to the (population) standard deviation of ``X`` along the first
    principal axis. The ``n_points`` points are equally spaced, starting on
    the first axis and turning towards the second (each axis signed so its
    largest-magnitude component is positive); the last point does not
    repeat the first: :func:`trajectory_length_ratio` closes the curve.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Input data, d >= 2.
    n_points : int, default=200
        Points on the circle, >= 3.

    Returns
    -------
    numpy.ndarray of shape (n_points, d)
        The circle. If ``X`` is constant the radius is 0 (with a
        ``RuntimeWarning``) and the ratio computed from it will be NaN.

    Examples
    --------
    >>> X = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    >>> circle = input_circle(X, n_points=4)
    >>> np.round(circle, 6) + 0.0
    array([[ 1.414214,  0.      ],
           [ 0.      ,  1.414214],
           [-1.414214,  0.      ],
           [ 0.      , -1.414214]])
    """
    (X,) = _check_inputs({"X": X}, min_points=1)
    if X.shape[1] < 2:
        raise ValueError(
            f"X must have at least 2 features for a plane, got {X.shape[1]}"
        )
    if not isinstance(n_points, numbers.Integral) or n_points < 3:
        raise ValueError(f"n_points must be an integer >= 3, got {n_points!r}")
    mean = X.mean(axis=0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    radius = s[0] / np.sqrt(X.shape[0])
    if _is_constant(X):
        warnings.warn("X is constant; the circle has radius 0", RuntimeWarning, 2)
        radius = 0.0
    angle = 2.0 * np.pi * np.arange(n_points) / n_points
    # Fix the SVD's sign freedom (as sklearn's svd_flip) so the orientation
    # of the circle is reproducible.
    plane = vt[:2] if vt.shape[0] >= 2 else np.eye(2, X.shape[1])
    plane = (
        plane * np.sign(plane[np.arange(2), np.argmax(np.abs(plane), axis=1)])[:, None]
    )
    return mean + radius * (np.c_[np.cos(angle), np.sin(angle)] @ plane)


def jacobian_spectrum(J: ArrayLike) -> dict[str, float]:
    """Singular-value summary of input-to-layer Jacobians (local isometry).

    For each point the singular values of its Jacobian are computed with
    :func:`numpy.linalg.svd` (batched LAPACK). Singular values at or below
    the floor ``s_ref * max(d_layer, d_in) * eps`` count as collapsed, where
    ``s_ref`` is the largest singular value over all points and ``eps`` that
    of the input's floating dtype (so float32 Jacobians from autodiff get
    float32 tolerance): the :func:`numpy.linalg.matrix_rank` tolerance, at
    the scale of the whole layer so that a point whose Jacobian vanishes
    entirely collapses too. Collapsed values are raised to the floor, not
    dropped: a layer that annihilates half the directions (dead ReLU paths)
    must not look like a near-isometry of the other half. The log mean is
    then finite and strongly negative, and the condition number is at most
    ``1 / (max(d_layer, d_in) * eps)``.

    Parameters
    ----------
    J : array-like of shape (n, d_layer, d_in)
        Jacobian of the layer with respect to the input at each of n points.

    Returns
    -------
    dict
        ``"jacobian_log_sv_mean"``: mean over points and singular values of
        their natural log (0 for an isometry, < 0 contracts).
        ``"jacobian_condition"``: median over points of ``s_max / s_min``
        (>= 1; 1 for a conformal map, and for a point whose every value
        collapsed). ``"jacobian_collapsed_fraction"``: fraction of all
        singular values at or below the floor, in [0, 1]. If every Jacobian
        is zero the fraction is 1 and the other two are NaN, with a
        ``RuntimeWarning``.

    Examples
    --------
    >>> jacobian_spectrum(np.tile(np.diag([2.0, 1.0]), (5, 1, 1)))
    {'jacobian_log_sv_mean': 0.34657359027997264, 'jacobian_condition': 2.0, \
'jacobian_collapsed_fraction': 0.0}
    >>> spectrum = jacobian_spectrum(np.diag([1.0, 0.0])[None])
    >>> spectrum["jacobian_collapsed_fraction"], spectrum["jacobian_condition"]
    (0.5, 2251799813685248.0)
    """
    raw = np.asarray(J)
    dtype = raw.dtype if np.issubdtype(raw.dtype, np.floating) else np.float64
    (J,) = _check_inputs({"J": raw}, ndim=3, min_points=1)
    s = np.linalg.svd(J, compute_uv=False)
    floor = s.max() * max(J.shape[1:]) * np.finfo(dtype).eps
    collapsed = float(np.mean(s <= floor))
    if floor == 0:
        nan = _degenerate("every Jacobian is zero")
        return {
            "jacobian_log_sv_mean": nan,
            "jacobian_condition": nan,
            "jacobian_collapsed_fraction": collapsed,
        }
    s = np.maximum(s, floor)
    return {
        "jacobian_log_sv_mean": float(np.mean(np.log(s))),
        "jacobian_condition": float(np.median(s[:, 0] / s[:, -1])),
        "jacobian_collapsed_fraction": collapsed,
    }

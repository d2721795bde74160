"""Trajectory length and local isometry: the input circle, its length
through the layers, and the Jacobian spectrum."""

from __future__ import annotations

import numbers
import warnings

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
    :func:`numpy.linalg.svd` (batched LAPACK). Only the numerically non-zero
    part of the spectrum is used, as in :func:`numpy.linalg.matrix_rank`:
    singular values above ``s_max * max(d_layer, d_in) * eps`` (``eps`` of
    the input's floating dtype, so float32 Jacobians from autodiff get
    float32 tolerance). Directions the layer annihilates (dead ReLU paths)
    would otherwise make the log mean ``-inf`` and the condition number
    infinite; the dead-unit fraction reports them instead. Points whose
    Jacobian is numerically zero are skipped.

    Parameters
    ----------
    J : array-like of shape (n, d_layer, d_in)
        Jacobian of the layer with respect to the input at each of n points.

    Returns
    -------
    dict
        ``"jacobian_log_sv_mean"``: mean over points of the mean natural log
        of the non-zero singular values (0 for an isometry, < 0 contracts).
        ``"jacobian_condition"``: median over points of ``s_max / s_min``
        over the non-zero singular values (>= 1; 1 for a conformal map). Both
        NaN with a ``RuntimeWarning`` if every Jacobian is zero.

    Examples
    --------
    >>> jacobian_spectrum(np.tile(np.diag([2.0, 1.0]), (5, 1, 1)))
    {'jacobian_log_sv_mean': 0.34657359027997264, 'jacobian_condition': 2.0}
    """
    raw = np.asarray(J)
    dtype = raw.dtype if np.issubdtype(raw.dtype, np.floating) else np.float64
    (J,) = _check_inputs({"J": raw}, ndim=3, min_points=1)
    s = np.linalg.svd(J, compute_uv=False)
    keep = s > s[:, :1] * max(J.shape[1:]) * np.finfo(dtype).eps
    rank = keep.sum(axis=1)
    alive = rank > 0
    if not alive.any():
        nan = _degenerate("every Jacobian is zero")
        return {"jacobian_log_sv_mean": nan, "jacobian_condition": nan}
    log_s = np.where(keep, np.log(np.where(keep, s, 1.0)), 0.0)
    smallest = np.where(keep, s, np.inf).min(axis=1)
    return {
        "jacobian_log_sv_mean": float(np.mean(log_s.sum(axis=1)[alive] / rank[alive])),
        "jacobian_condition": float(np.median(s[alive, 0] / smallest[alive])),
    }

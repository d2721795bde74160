"""Distance to the decision boundary and local Lipschitz constants.

Distances are L2 in input units, plain nouns (lower means closer to the
boundary); Lipschitz constants are in logit units per input unit.
:func:`minimal_adversarial_distance` searches with the model's gradients and
has a gradient-free upper bound; :func:`nearest_other_class_distance` uses
the data alone.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.spatial import cKDTree

from geoctx import autodiff
from geoctx.autodiff import check_arrays
from geoctx.robustness._common import (
    _check_nonnegative,
    _check_positive_int,
    _check_quantiles,
    _clip_bounds,
    _finish,
    _predict_logits,
    _take,
)
from geoctx.robustness.gradient import PGD_STEP_SIZE_FACTOR, _pgd_search


def _deepfool(model, x, y, *, iterations, overshoot, bounds, batch_size):
    """Multi-class DeepFool (Moosavi-Dezfooli et al., 2016) from correct points."""
    x64 = x.astype(np.float64)
    total = np.zeros_like(x64)
    current = x.copy()
    active = np.arange(len(x))
    for _ in range(iterations):
        if active.size == 0:
            break
        logits = _predict_logits(model, current[active], batch_size)
        still = np.argmax(logits, axis=1) == y[active]
        active, logits = active[still], logits[still].astype(np.float64)
        if active.size == 0:
            break
        jac = autodiff.logit_jacobians(model, current[active], batch_size=batch_size)
        rows = np.arange(active.size)
        label = y[active]
        w = jac.astype(np.float64) - jac[rows, label][:, None, :]
        gap = logits - logits[rows, label][:, None]
        w_norm = np.linalg.norm(w, axis=2)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.where(w_norm > 0, np.abs(gap) / w_norm, np.inf)
            ratio[rows, label] = np.inf
            nearest = np.argmin(ratio, axis=1)
            # Zero gradients towards every class (saturation): DeepFool is stuck.
            movable = np.isfinite(ratio[rows, nearest])
            rows, nearest, active = rows[movable], nearest[movable], active[movable]
            size = (np.abs(gap[rows, nearest]) + 1e-4) / w_norm[rows, nearest] ** 2
            step = total[active] + size[:, None] * w[rows, nearest]
            moved = _finish(x64[active], (1 + overshoot) * step, _take(bounds, active))
        finite = np.all(np.isfinite(moved), axis=1)
        active = active[finite]
        total[active] = step[finite]
        current[active] = moved[finite]
    fooled = np.argmax(_predict_logits(model, current, batch_size), axis=1) != y
    return current, fooled


def _line_search(model, x, y, far, bounds, *, iterations, batch_size):
    """Boundary point on the segment from ``x`` (correct) to ``far`` (fooled)."""
    x64 = x.astype(np.float64)
    direction = far.astype(np.float64) - x64
    low, high = np.zeros(len(x)), np.ones(len(x))
    for _ in range(iterations):
        middle = (low + high) / 2
        point = _finish(x64, middle[:, None] * direction, bounds)
        fooled = np.argmax(_predict_logits(model, point, batch_size), axis=1) != y
        high = np.where(fooled, middle, high)
        low = np.where(fooled, low, middle)
    point = _finish(x64, high[:, None] * direction, bounds)
    fooled = np.argmax(_predict_logits(model, point, batch_size), axis=1) != y
    distance = np.linalg.norm(point.astype(np.float64) - x64, axis=1)
    return np.where(fooled, distance, np.inf)


def _anchors(model, x, y, reference, batch_size):
    """Per point, the nearest reference point predicted as another class."""
    predicted = np.argmax(_predict_logits(model, reference, batch_size), axis=1)
    far = x.copy()
    found = np.zeros(len(x), dtype=bool)
    for label in np.unique(y):
        others = reference[predicted != label]
        rows = np.flatnonzero(y == label)
        if len(others) == 0:
            continue
        _, index = cKDTree(others.astype(np.float64)).query(x[rows].astype(np.float64))
        far[rows] = others[index]
        found[rows] = True
    return far, found


def minimal_adversarial_distance(
    model,
    x,
    y,
    *,
    clip=None,
    reference_x=None,
    steps=10,
    step_size_factor=PGD_STEP_SIZE_FACTOR,
    bisections=10,
    deepfool_iterations=20,
    overshoot=0.02,
    line_search_iterations=25,
    batch_size=1024,
):
    """Smallest L2 perturbation that changes each point's prediction.

    For correctly classified points:

    1. Upper bounds, each refined by bisection along a segment to the
       boundary: DeepFool (Moosavi-Dezfooli et al., 2016) and, gradient-free
       (so immune to gradient masking), the segment to the nearest point of
       ``reference_x`` that the model predicts as another class.
    2. Bisection on the radius of a PGD-L2 attack started at the clean point
       (``steps`` steps of size ``step_size_factor * radius / steps``),
       keeping the norm of every adversarial example found.

    The result is the smallest norm of an adversarial example actually found,
    so it is an upper bound on the true minimal distance; for an affine model
    it equals the analytic ``|w.x + b| / ||w||`` up to float32 rounding.

    Parameters
    ----------
    model : keras.Model
    x : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    clip : (low, high) or None
        Data range the adversarial examples must stay in.
    reference_x : array_like, shape (m, d), optional
        Points used for the gradient-free bound; defaults to ``x``.
    steps : int, default 10
        PGD steps per bisection.
    step_size_factor : float, default 2.5
        PGD step size is ``step_size_factor * radius / steps``.
    bisections : int, default 10
        PGD bisection rounds; the bracket shrinks by 2**bisections.
    deepfool_iterations : int, default 20
    overshoot : float, default 0.02
        DeepFool overshoot; it does not bias the result because of the line
        search that follows.
    line_search_iterations : int, default 25
    batch_size : int, default 1024

    Returns
    -------
    ndarray, shape (n,), float64
        L2 distance in input units; 0 for misclassified points; ``inf`` (with
        a warning) where no adversarial example was found.

    Examples
    --------
    >>> d = minimal_adversarial_distance(model, x_probe, y_probe)  # doctest: +SKIP
    >>> np.median(d)  # doctest: +SKIP
    0.42
    """
    x, y = check_arrays(x, y)
    steps = _check_positive_int(steps, "steps")
    step_size_factor = _check_nonnegative(step_size_factor, "step_size_factor")
    bisections = _check_positive_int(bisections, "bisections", minimum=0)
    deepfool_iterations = _check_positive_int(
        deepfool_iterations, "deepfool_iterations", minimum=0
    )
    line_search_iterations = _check_positive_int(
        line_search_iterations, "line_search_iterations"
    )
    overshoot = _check_nonnegative(overshoot, "overshoot")
    batch_size = _check_positive_int(batch_size, "batch_size")
    reference = x if reference_x is None else check_arrays(reference_x)[0]
    if reference.shape[1] != x.shape[1]:
        raise ValueError(
            f"reference_x must have {x.shape[1]} columns, got {reference.shape[1]}"
        )
    distance = np.zeros(len(x))
    correct = np.flatnonzero(
        np.argmax(_predict_logits(model, x, batch_size), axis=1) == y
    )
    if correct.size == 0:
        return distance
    xs, ys = x[correct], y[correct]
    bounds = _take(_clip_bounds(clip, x), correct)
    search = {"iterations": line_search_iterations, "batch_size": batch_size}

    upper = np.full(len(xs), np.inf)
    if deepfool_iterations > 0:
        far, fooled = _deepfool(
            model,
            xs,
            ys,
            iterations=deepfool_iterations,
            overshoot=overshoot,
            bounds=bounds,
            batch_size=batch_size,
        )
        rows = np.flatnonzero(fooled)
        if rows.size:
            upper[rows] = _line_search(
                model, xs[rows], ys[rows], far[rows], _take(bounds, rows), **search
            )
    far, found = _anchors(model, xs, ys, reference, batch_size)
    rows = np.flatnonzero(found)
    if rows.size:
        bound = _line_search(
            model, xs[rows], ys[rows], far[rows], _take(bounds, rows), **search
        )
        upper[rows] = np.minimum(upper[rows], bound)

    lower = np.zeros(len(xs))
    for _ in range(bisections):
        rows = np.flatnonzero(np.isfinite(upper))
        if rows.size == 0:
            break
        radius = (lower[rows] + upper[rows]) / 2
        worst = _pgd_search(
            model,
            xs[rows],
            ys[rows],
            radius,
            norm="l2",
            steps=steps,
            step_size=step_size_factor * radius / steps,
            # from the clean point, not a random one: a second restart would repeat it
            restarts=1,
            rng=None,
            bounds=_take(bounds, rows),
            batch_size=batch_size,
            random_start=False,
        )
        norms = np.linalg.norm(
            worst.x.astype(np.float64) - xs[rows].astype(np.float64), axis=1
        )
        upper[rows] = np.where(
            worst.fooled, np.minimum(upper[rows], norms), upper[rows]
        )
        lower[rows] = np.where(worst.fooled, lower[rows], radius)
    if not np.all(np.isfinite(upper)):
        warnings.warn(
            f"no adversarial example found for {np.sum(~np.isfinite(upper))} "
            "points; their minimal distance is inf",
            RuntimeWarning,
            stacklevel=2,
        )
    distance[correct] = upper
    return distance


def lipschitz_estimate(model, x, *, batch_size=256) -> dict[str, float]:
    """Empirical local Lipschitz constants of the logits, raw and scale-free.

    ``lipschitz_*``: at each point the spectral norm (largest singular value)
    of the input-to-logit Jacobian, in logit units per input unit (L2 norms).
    It grows with the scale of the logits, which differs between activations
    (ReLU's logits are typically several times sigmoid's).

    ``lipschitz_relative_*``: at each point ``x_i`` the L2 norm of the
    gradient of the logit margin ``m_i = z_top - z_second`` (predicted class
    minus runner-up at ``x_i``), divided by the median ``|m_k|`` over all the
    points, in 1 / input unit. Multiplying the logits by any constant leaves
    it unchanged; for an affine binary classifier it is the inverse of the
    median distance from the points to the model's decision boundary.

    Parameters
    ----------
    model : keras.Model
    x : array_like, shape (n, d)
    batch_size : int, default 256

    Returns
    -------
    dict
        ``lipschitz_max``, ``lipschitz_mean``, ``lipschitz_relative_max``,
        ``lipschitz_relative_mean`` over the points (relative ones NaN when
        the median margin is 0).

    Examples
    --------
    >>> lipschitz_estimate(model, x_probe)  # doctest: +SKIP
    {'lipschitz_max': 12.3, 'lipschitz_mean': 4.1, 'lipschitz_relative_max': 3.0,
     'lipschitz_relative_mean': 1.2}
    """
    x, _ = check_arrays(x)
    jac = autodiff.logit_jacobians(model, x, batch_size=batch_size).astype(np.float64)
    spectral = np.linalg.svd(jac, compute_uv=False)[:, 0]
    logits = _predict_logits(model, x, 1024).astype(np.float64)
    rows = np.arange(len(x))
    order = np.argsort(-logits, axis=1, kind="stable")
    top, second = order[:, 0], order[:, 1]
    margin = logits[rows, top] - logits[rows, second]
    gradient = np.linalg.norm(jac[rows, top] - jac[rows, second], axis=1)
    typical = float(np.median(np.abs(margin)))
    relative = gradient / typical if typical > 0 else np.full(len(x), np.nan)
    return {
        "lipschitz_max": float(np.max(spectral)),
        "lipschitz_mean": float(np.mean(spectral)),
        "lipschitz_relative_max": float(np.max(relative)),
        "lipschitz_relative_mean": float(np.mean(relative)),
    }


def nearest_other_class_distance(x, y, *, reference_x=None, reference_y=None):
    """Euclidean distance from each point to the nearest point of another class.

    A data-only stand-in for the distance to the true decision boundary when it
    is not known analytically.

    Parameters
    ----------
    x : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    reference_x : array_like, shape (m, d), optional
        Points to search; defaults to ``x``.
    reference_y : array_like of int, shape (m,), optional
        Their labels; required with ``reference_x``.

    Returns
    -------
    ndarray, shape (n,), float64
        NaN (with a warning) for points whose class is the only one present.

    Examples
    --------
    >>> nearest_other_class_distance([[0.0], [1.0], [3.0]], [0, 1, 1])
    array([1., 1., 3.])
    """
    x, y = check_arrays(x, y)
    if (reference_x is None) != (reference_y is None):
        raise ValueError("reference_x and reference_y must be given together")
    if reference_x is None:
        ref_x, ref_y = x, y
    else:
        ref_x, ref_y = check_arrays(
            reference_x, reference_y, x_name="reference_x", y_name="reference_y"
        )
    if ref_x.shape[1] != x.shape[1]:
        raise ValueError(
            f"reference_x must have {x.shape[1]} columns, got {ref_x.shape[1]}"
        )
    distance = np.full(len(x), np.nan)
    for label in np.unique(y):
        others = ref_x[ref_y != label].astype(np.float64)
        rows = np.flatnonzero(y == label)
        if len(others):
            distance[rows] = cKDTree(others).query(x[rows].astype(np.float64))[0]
    if np.any(np.isnan(distance)):
        warnings.warn(
            "some points have no point of another class; their distance is NaN",
            RuntimeWarning,
            stacklevel=2,
        )
    return distance


def boundary_stratified_accuracy(
    model, x, y, distance, *, quantiles=(0.0, 0.25, 0.5, 0.75, 1.0), batch_size=1024
) -> dict[str, np.ndarray]:
    """Accuracy within bins of the distance to the decision boundary.

    Bin edges are the ``quantiles`` of ``distance``; bin ``b`` holds the points
    with ``edge[b] < distance <= edge[b + 1]`` (the first bin also holds the
    minimum). With tied distances a bin can be empty; its accuracy is NaN.

    Parameters
    ----------
    model : keras.Model
    x : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    distance : array_like, shape (n,)
        Finite distance of each point to the (true) decision boundary.
    quantiles : sequence of float, default (0, 0.25, 0.5, 0.75, 1)
        Strictly increasing, from 0 to 1.
    batch_size : int, default 1024

    Returns
    -------
    dict of ndarray, each of shape (n_bins,)
        ``quantile_low``, ``quantile_high``, ``distance_low``,
        ``distance_high``, ``n`` (points in the bin) and ``accuracy``.

    Examples
    --------
    >>> bins = boundary_stratified_accuracy(model, x, y, d, quantiles=[0, .5, 1])
    ... # doctest: +SKIP
    >>> bins["accuracy"]  # doctest: +SKIP
    array([0.91, 1.  ])
    """
    x, y = check_arrays(x, y)
    distance = np.asarray(distance, dtype=np.float64)
    if distance.shape != (len(x),) or not np.all(np.isfinite(distance)):
        raise ValueError(
            f"distance must be finite with shape ({len(x)},), got shape "
            f"{distance.shape}"
        )
    quantiles = _check_quantiles(quantiles)
    edges = np.quantile(distance, quantiles)
    bins = np.searchsorted(edges[1:-1], distance, side="left")
    correct = np.argmax(_predict_logits(model, x, batch_size), axis=1) == y
    n_bins = len(quantiles) - 1
    counts = np.bincount(bins, minlength=n_bins)
    hits = np.bincount(bins, weights=correct, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(counts > 0, hits / counts, np.nan)
    return {
        "quantile_low": quantiles[:-1],
        "quantile_high": quantiles[1:],
        "distance_low": edges[:-1],
        "distance_high": edges[1:],
        "n": counts,
        "accuracy": acc,
    }

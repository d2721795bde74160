"""Robustness, calibration and inference cost of trained classifiers.

Naming follows the package convention: ``*_score`` is higher-is-better,
``*_error`` is lower-is-better, anything else is a plain noun. ``accuracy`` is a
fraction in [0, 1] (higher is better); distances and Lipschitz constants are
plain nouns with their unit stated where they are defined.

Models are Keras models mapping float32 inputs ``(n, d)`` to logits
``(n, n_classes)``; labels are integer class indices. Arrays go in and come out
as numpy. Randomness comes only from ``numpy.random.Generator`` objects built
from an ``rng`` keyword (a seed or a Generator), never from a global RNG.
Gradients come from :mod:`geoctx.autodiff`.

Against gradient masking (saturated units make gradient attacks look weak),
PGD keeps per point the worst case over several candidates: the clean input,
the one-step FGSM/FGM point, every iterate of every random restart and, in
:func:`attack_accuracy`, the adversarial example found at the next smaller
epsilon. Transfer attacks are crafted on another model, and
:func:`minimal_adversarial_distance` has a gradient-free upper bound.

Attack functions take epsilons in input-data units. :func:`evaluate_robustness`
takes them in units of the data's standard deviation (see its docstring).
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import keras
import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.spatial import cKDTree
from scipy.special import log_softmax, logsumexp, softmax

from geoctx import autodiff

__all__ = [
    "ATTACKS",
    "COLUMNS",
    "METRICS",
    "RobustnessSettings",
    "accuracy",
    "activation_op_latency",
    "apply_temperature",
    "attack_accuracy",
    "boundary_stratified_accuracy",
    "evaluate_robustness",
    "expected_calibration_error",
    "fgsm",
    "fit_temperature",
    "gaussian_noise_accuracy",
    "inference_latency",
    "lipschitz_estimate",
    "minimal_adversarial_distance",
    "nearest_other_class_distance",
    "pgd",
    "transfer_accuracy",
]

#: Columns of the tidy table returned by :func:`evaluate_robustness`.
COLUMNS = ("attack", "epsilon", "metric", "value")
#: Values of the ``attack`` column.
ATTACKS = (
    "clean",
    "gaussian",
    "fgsm_linf",
    "pgd_linf",
    "pgd_l2",
    "transfer_pgd_linf",
    "none",
)
#: Values of the ``metric`` column.
METRICS = (
    "accuracy",
    "accuracy_boundary_bin",
    "boundary_distance_upper",
    "min_adv_distance_median",
    "min_adv_distance_q25",
    "min_adv_distance_q75",
    "lipschitz_max",
    "lipschitz_mean",
    "ece",
    "ece_temperature_scaled",
    "temperature",
)
_GRADIENT_ATTACKS = ("fgsm_linf", "pgd_linf", "pgd_l2")


# Validation and small helpers ----------------------------------------------------


def _check_inputs(x, y=None, *, x_name="x", y_name="y"):
    """Return ``x`` as C-contiguous float32 (n, d) and ``y`` as int64 (n,)."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{x_name} must be 2-D (n, d), got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{x_name} has no rows")
    if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
        raise ValueError(f"{x_name} must contain finite numbers only")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if y is None:
        return x, None
    y = np.asarray(y)
    if y.shape != (x.shape[0],):
        raise ValueError(f"{y_name} must have shape ({x.shape[0]},), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ValueError(
            f"{y_name} must hold non-negative integer class indices, got {y.dtype} "
            f"with minimum {y.min()}"
        )
    return x, y.astype(np.int64)


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
    blocks = [
        np.asarray(model.predict_on_batch(x[start : start + batch_size]))
        for start in range(0, x.shape[0], batch_size)
    ]
    return np.concatenate(blocks)


def _cross_entropy(logits, y):
    logits = np.asarray(logits, dtype=np.float64)
    return logsumexp(logits, axis=1) - logits[np.arange(len(y)), y]


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


def _l2_normalize(v):
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, np.finfo(np.float64).tiny)


def _project(delta, epsilon, norm):
    """Project each row of ``delta`` onto the ``norm`` ball of radius epsilon[i]."""
    if norm == "linf":
        return np.clip(delta, -epsilon[:, None], epsilon[:, None])
    norms = np.linalg.norm(delta, axis=1)
    factor = np.minimum(1.0, epsilon / np.maximum(norms, np.finfo(np.float64).tiny))
    return delta * factor[:, None]


def _random_in_ball(rng, epsilon, norm, shape):
    if norm == "linf":
        return rng.uniform(-1.0, 1.0, size=shape) * epsilon[:, None]
    direction = _l2_normalize(rng.standard_normal(shape))
    radius = epsilon * rng.uniform(size=shape[0]) ** (1.0 / shape[1])
    return direction * radius[:, None]


def _check_norm(norm):
    if norm not in ("linf", "l2"):
        raise ValueError(f"norm must be 'linf' or 'l2', got {norm!r}")
    return norm


class _WorstCase:
    """Per point, the candidate input that fools the model, else the highest loss."""

    def __init__(self, x, logits, y):
        if y.max() >= logits.shape[1]:
            raise ValueError(
                f"y has label {y.max()} but the model has {logits.shape[1]} classes"
            )
        self.y = y
        self.x = x.copy()
        self.fooled = np.argmax(logits, axis=1) != y
        self.loss = _cross_entropy(logits, y)

    def offer(self, candidate, logits):
        fooled = np.argmax(logits, axis=1) != self.y
        loss = _cross_entropy(logits, self.y)
        better = (fooled & ~self.fooled) | (
            (fooled == self.fooled) & (loss > self.loss)
        )
        self.x[better] = candidate[better]
        self.fooled[better] = fooled[better]
        self.loss[better] = loss[better]


def _one_step(model, x, y, epsilon, norm, bounds, batch_size):
    """FGSM (L-inf) or FGM (L2) step of size ``epsilon`` (n,) from ``x``."""
    gradient = autodiff.input_gradient(model, x, y, batch_size=batch_size)
    gradient = gradient.astype(np.float64)
    if norm == "linf":
        delta = epsilon[:, None] * np.sign(gradient)
    else:
        delta = epsilon[:, None] * _l2_normalize(gradient)
    return _finish(x.astype(np.float64), delta, bounds)


def _pgd_search(
    model,
    x,
    y,
    epsilon,
    *,
    norm,
    steps,
    step_size,
    restarts,
    rng,
    bounds,
    batch_size,
    random_start=True,
    candidates=(),
):
    """Worst case over clean input, ``candidates`` and all PGD iterates.

    ``epsilon`` and ``step_size`` are per-point arrays of shape (n,).
    """
    x64 = x.astype(np.float64)
    worst = _WorstCase(x, _predict_logits(model, x, batch_size), y)
    for candidate in candidates:
        worst.offer(candidate, _predict_logits(model, candidate, batch_size))
    for _ in range(restarts):
        delta = (
            _random_in_ball(rng, epsilon, norm, x.shape)
            if random_start
            else np.zeros_like(x64)
        )
        current = _finish(x64, delta, bounds)
        for _ in range(steps):
            logits, gradient = autodiff.logits_and_input_gradient(
                model, current, y, batch_size=batch_size
            )
            worst.offer(current, logits)
            gradient = gradient.astype(np.float64)
            direction = np.sign(gradient) if norm == "linf" else _l2_normalize(gradient)
            delta = current.astype(np.float64) - x64 + step_size[:, None] * direction
            current = _finish(x64, _project(delta, epsilon, norm), bounds)
        worst.offer(current, _predict_logits(model, current, batch_size))
    return worst


# Accuracy under noise and attack ---------------------------------------------------


def accuracy(model, x, y, *, batch_size=1024) -> float:
    """Fraction of points whose arg-max logit is the true class.

    Parameters
    ----------
    model : keras.Model
        Maps ``(n, d)`` to logits ``(n, n_classes)``.
    x : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    batch_size : int, default 1024

    Returns
    -------
    float
        In [0, 1], higher is better.

    Examples
    --------
    >>> accuracy(model, x_test, y_test)  # doctest: +SKIP
    0.97
    """
    x, y = _check_inputs(x, y)
    batch_size = _check_positive_int(batch_size, "batch_size")
    logits = _predict_logits(model, x, batch_size)
    return float(np.mean(np.argmax(logits, axis=1) == y))


def gaussian_noise_accuracy(
    model, x, y, *, sigmas, scale=1.0, n_draws=10, rng=0, batch_size=1024
) -> dict[float, float]:
    """Accuracy under additive Gaussian noise ``N(0, (sigma * scale)^2)``.

    The same standard-normal draws are reused for every sigma (common random
    numbers), so differences between sigmas carry little Monte-Carlo noise and
    the curve is close to monotone; its standard error at one sigma is about
    ``sqrt(a (1 - a) / (n * n_draws))``. ``sigma = 0`` returns the clean accuracy
    exactly (no noise is added).

    Parameters
    ----------
    model : keras.Model
    x : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    sigmas : sequence of float
        Noise levels >= 0, in units of ``scale``.
    scale : float or array_like, shape (d,), default 1.0
        Per-feature scale, typically the training data's standard deviation.
    n_draws : int, default 10
        Noise draws averaged per sigma.
    rng : int, numpy.random.Generator or None, default 0
        Seed or generator for the noise.
    batch_size : int, default 1024

    Returns
    -------
    dict
        ``{sigma: mean accuracy over draws}`` in the order of ``sigmas``.

    Examples
    --------
    >>> gaussian_noise_accuracy(model, x, y, sigmas=[0, 0.5], scale=x.std(0))
    ... # doctest: +SKIP
    {0.0: 0.97, 0.5: 0.81}
    """
    x, y = _check_inputs(x, y)
    sigmas = _check_grid(sigmas, "sigmas")
    n_draws = _check_positive_int(n_draws, "n_draws")
    batch_size = _check_positive_int(batch_size, "batch_size")
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), x.shape[1:])
    if not np.all(np.isfinite(scale)) or np.any(scale < 0):
        raise ValueError(f"scale must be finite and >= 0, got {scale}")
    generator = _rng(rng)
    x64 = x.astype(np.float64)
    totals = dict.fromkeys(sigmas, 0.0)
    for _ in range(n_draws):
        noise = generator.standard_normal(x.shape) * scale
        for sigma in sigmas:
            if sigma > 0:
                noisy = (x64 + sigma * noise).astype(np.float32)
                totals[sigma] += accuracy(model, noisy, y, batch_size=batch_size)
    clean = accuracy(model, x, y, batch_size=batch_size)
    return {s: clean if s == 0 else totals[s] / n_draws for s in sigmas}


def fgsm(model, x, y, *, epsilon, clip=None, batch_size=1024):
    """Fast gradient sign method (Goodfellow et al., 2015), L-inf ball.

    ``x_adv = clip(x + epsilon * sign(grad_x CE(model(x), y)))``.

    Parameters
    ----------
    model : keras.Model
    x : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    epsilon : float
        L-inf radius in input units, >= 0; 0 returns a copy of ``x``.
    clip : (low, high) or None
        Data range, scalars or arrays of shape (d,); widened per point to
        contain the clean input, so ``|x_adv - x| <= epsilon`` always holds.
    batch_size : int, default 1024

    Returns
    -------
    ndarray, shape (n, d), float32
        Adversarial inputs.

    Examples
    --------
    >>> x_adv = fgsm(model, x, y, epsilon=0.1, clip=(0.0, 1.0))  # doctest: +SKIP
    """
    x, y = _check_inputs(x, y)
    epsilon = _check_nonnegative(epsilon, "epsilon")
    batch_size = _check_positive_int(batch_size, "batch_size")
    if epsilon == 0:
        return x.copy()
    bounds = _clip_bounds(clip, x)
    return _one_step(model, x, y, np.full(len(x), epsilon), "linf", bounds, batch_size)


def pgd(
    model,
    x,
    y,
    *,
    epsilon,
    norm="linf",
    steps=20,
    step_size=None,
    restarts=2,
    rng=0,
    clip=None,
    batch_size=1024,
):
    """Projected gradient descent attack (Madry et al., 2018) with restarts.

    Each restart starts uniformly at random inside the ball and takes ``steps``
    signed (L-inf) or normalised (L2) gradient steps on the cross-entropy,
    projecting back onto the ball and the data range. For each point the
    result is the worst case over the clean input, the one-step FGSM (L-inf) or
    FGM (L2) point, and every iterate of every restart: a candidate that fools
    the model if there is one (the highest-loss such), else the highest loss.
    PGD is therefore never weaker than FGSM at the same epsilon.

    Parameters
    ----------
    model : keras.Model
    x : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    epsilon : float
        Radius in input units, >= 0; 0 returns a copy of ``x``.
    norm : {"linf", "l2"}, default "linf"
    steps : int, default 20
    step_size : float or None
        Defaults to ``2.5 * epsilon / steps``.
    restarts : int, default 2
        Random restarts (>= 1).
    rng : int, numpy.random.Generator or None, default 0
        Seed or generator for the random starts.
    clip : (low, high) or None
        Data range (scalars or arrays of shape (d,)), widened per point to
        contain the clean input.
    batch_size : int, default 1024

    Returns
    -------
    ndarray, shape (n, d), float32
        Adversarial inputs with ``||x_adv - x|| <= epsilon`` in the chosen norm
        (up to float32 rounding).

    Examples
    --------
    >>> x_adv = pgd(model, x, y, epsilon=0.5, norm="l2", rng=0)  # doctest: +SKIP
    """
    x, y = _check_inputs(x, y)
    epsilon = _check_nonnegative(epsilon, "epsilon")
    norm = _check_norm(norm)
    steps = _check_positive_int(steps, "steps")
    restarts = _check_positive_int(restarts, "restarts")
    batch_size = _check_positive_int(batch_size, "batch_size")
    step_size = (
        2.5 * epsilon / steps
        if step_size is None
        else _check_nonnegative(step_size, "step_size")
    )
    if epsilon == 0:
        return x.copy()
    bounds = _clip_bounds(clip, x)
    eps = np.full(len(x), epsilon)
    worst = _pgd_search(
        model,
        x,
        y,
        eps,
        norm=norm,
        steps=steps,
        step_size=np.full(len(x), step_size),
        restarts=restarts,
        rng=_rng(rng),
        bounds=bounds,
        batch_size=batch_size,
        candidates=[_one_step(model, x, y, eps, norm, bounds, batch_size)],
    )
    return worst.x


def attack_accuracy(
    model,
    x,
    y,
    *,
    attack,
    epsilons,
    clip=None,
    steps=20,
    restarts=2,
    step_size_factor=2.5,
    rng=0,
    batch_size=1024,
) -> dict[float, float]:
    """Accuracy under a gradient attack over a grid of radii.

    For PGD the epsilons are visited in increasing order and the adversarial
    example found at the previous radius is one more candidate (it lies inside
    every larger ball), so PGD accuracy is non-increasing in epsilon. The
    PGD accuracy is computed from the same forward passes that choose the
    candidates; as the FGSM point is one of them, PGD L-inf accuracy never
    exceeds FGSM accuracy at the same epsilon. ``epsilon = 0`` gives the clean
    accuracy exactly.

    Parameters
    ----------
    model : keras.Model
    x : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    attack : {"fgsm_linf", "pgd_linf", "pgd_l2"}
    epsilons : sequence of float
        Radii in input units, >= 0.
    clip : (low, high) or None
        Data range.
    steps, restarts : int, default 20, 2
        PGD iterations per restart and random restarts (ignored for FGSM).
    step_size_factor : float, default 2.5
        PGD step size is ``step_size_factor * epsilon / steps``.
    rng : int, numpy.random.Generator or None, default 0
    batch_size : int, default 1024

    Returns
    -------
    dict
        ``{epsilon: accuracy}`` in the order of ``epsilons``.

    Examples
    --------
    >>> attack_accuracy(model, x, y, attack="pgd_linf", epsilons=[0, 0.1])
    ... # doctest: +SKIP
    {0.0: 0.97, 0.1: 0.55}
    """
    x, y = _check_inputs(x, y)
    if attack not in _GRADIENT_ATTACKS:
        raise ValueError(f"attack must be one of {_GRADIENT_ATTACKS}, got {attack!r}")
    epsilons = _check_grid(epsilons, "epsilons")
    steps = _check_positive_int(steps, "steps")
    restarts = _check_positive_int(restarts, "restarts")
    step_size_factor = _check_nonnegative(step_size_factor, "step_size_factor")
    batch_size = _check_positive_int(batch_size, "batch_size")
    bounds = _clip_bounds(clip, x)
    generator = _rng(rng)
    norm = "l2" if attack == "pgd_l2" else "linf"
    clean = accuracy(model, x, y, batch_size=batch_size)
    result = {}
    previous = None
    for epsilon in sorted(set(epsilons)):
        if epsilon == 0:
            result[epsilon] = clean
            continue
        eps = np.full(len(x), epsilon)
        one_step = _one_step(model, x, y, eps, norm, bounds, batch_size)
        if attack == "fgsm_linf":
            result[epsilon] = accuracy(model, one_step, y, batch_size=batch_size)
            continue
        candidates = [one_step] if previous is None else [one_step, previous]
        worst = _pgd_search(
            model,
            x,
            y,
            eps,
            norm=norm,
            steps=steps,
            step_size=eps * step_size_factor / steps,
            restarts=restarts,
            rng=generator,
            bounds=bounds,
            batch_size=batch_size,
            candidates=candidates,
        )
        result[epsilon] = float(np.mean(~worst.fooled))
        previous = worst.x
    return {epsilon: result[epsilon] for epsilon in epsilons}


def transfer_accuracy(
    target_model,
    source_model,
    x,
    y,
    *,
    epsilon,
    steps=20,
    restarts=2,
    step_size=None,
    rng=0,
    clip=None,
    batch_size=1024,
) -> float:
    """Accuracy of ``target_model`` on PGD L-inf examples crafted on ``source_model``.

    A transfer (black-box) attack is immune to the target's gradient masking.

    Parameters
    ----------
    target_model, source_model : keras.Model
        Same input dimension and classes.
    x : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    epsilon : float
        L-inf radius in input units.
    steps, restarts, step_size, rng, clip, batch_size
        As in :func:`pgd` (applied to ``source_model``).

    Returns
    -------
    float
        Accuracy of the target in [0, 1].

    Examples
    --------
    >>> transfer_accuracy(sigmoid_model, relu_model, x, y, epsilon=0.1)
    ... # doctest: +SKIP
    0.74
    """
    x_adv = pgd(
        source_model,
        x,
        y,
        epsilon=epsilon,
        norm="linf",
        steps=steps,
        step_size=step_size,
        restarts=restarts,
        rng=rng,
        clip=clip,
        batch_size=batch_size,
    )
    return accuracy(target_model, x_adv, y, batch_size=batch_size)


# Distance to the decision boundary ------------------------------------------------


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
       (``steps`` steps of size ``2.5 * radius / steps``), keeping the norm of
       every adversarial example found.

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
    x, y = _check_inputs(x, y)
    steps = _check_positive_int(steps, "steps")
    bisections = _check_positive_int(bisections, "bisections", minimum=0)
    deepfool_iterations = _check_positive_int(
        deepfool_iterations, "deepfool_iterations", minimum=0
    )
    line_search_iterations = _check_positive_int(
        line_search_iterations, "line_search_iterations"
    )
    overshoot = _check_nonnegative(overshoot, "overshoot")
    batch_size = _check_positive_int(batch_size, "batch_size")
    reference = x if reference_x is None else _check_inputs(reference_x)[0]
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
            step_size=2.5 * radius / steps,
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
    """Empirical local Lipschitz constant of the logits at each point.

    The local constant at ``x_i`` is the spectral norm (largest singular value)
    of the input-to-logit Jacobian, in logit units per input unit (L2 norms).

    Parameters
    ----------
    model : keras.Model
    x : array_like, shape (n, d)
    batch_size : int, default 256

    Returns
    -------
    dict
        ``{"lipschitz_max": float, "lipschitz_mean": float}`` over the points.

    Examples
    --------
    >>> lipschitz_estimate(model, x_probe)  # doctest: +SKIP
    {'lipschitz_max': 12.3, 'lipschitz_mean': 4.1}
    """
    x, _ = _check_inputs(x)
    jac = autodiff.logit_jacobians(model, x, batch_size=batch_size)
    spectral = np.linalg.svd(jac.astype(np.float64), compute_uv=False)[:, 0]
    return {
        "lipschitz_max": float(np.max(spectral)),
        "lipschitz_mean": float(np.mean(spectral)),
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
    x, y = _check_inputs(x, y)
    if (reference_x is None) != (reference_y is None):
        raise ValueError("reference_x and reference_y must be given together")
    if reference_x is None:
        ref_x, ref_y = x, y
    else:
        ref_x, ref_y = _check_inputs(
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
    x, y = _check_inputs(x, y)
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


# Calibration ------------------------------------------------------------------------


def _check_probabilities(probs, y):
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2:
        raise ValueError(f"probs must be 2-D (n, n_classes), got shape {probs.shape}")
    if (
        not np.all(np.isfinite(probs))
        or np.any(probs < 0)
        or np.any(probs > 1)
        or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    ):
        raise ValueError("probs must hold probabilities in [0, 1] that sum to 1")
    _, y = _check_inputs(probs, y, x_name="probs")
    if y.max() >= probs.shape[1]:
        raise ValueError(
            f"y has label {y.max()} but probs has {probs.shape[1]} classes"
        )
    return probs, y


def expected_calibration_error(probs, y, *, n_bins=15) -> float:
    """Expected calibration error (Guo et al., 2017), equal-width bins.

    ``ECE = sum_b |B_b| / n * |accuracy(B_b) - confidence(B_b)|`` where the
    confidence of a prediction is its largest probability and bin ``b`` holds
    confidences in ``((b - 1) / n_bins, b / n_bins]``.

    Parameters
    ----------
    probs : array_like, shape (n, n_classes)
        Predicted class probabilities (rows sum to 1).
    y : array_like of int, shape (n,)
    n_bins : int, default 15

    Returns
    -------
    float
        In [0, 1], lower is better.

    Examples
    --------
    >>> expected_calibration_error([[0.9, 0.1], [0.9, 0.1]], [0, 1], n_bins=10)
    0.4
    """
    probs, y = _check_probabilities(probs, y)
    n_bins = _check_positive_int(n_bins, "n_bins")
    confidence = probs.max(axis=1)
    correct = np.argmax(probs, axis=1) == y
    bins = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    gap = np.bincount(
        bins, weights=correct.astype(np.float64) - confidence, minlength=n_bins
    )
    return float(np.sum(np.abs(gap)) / len(y))


def apply_temperature(logits, temperature):
    """Softmax probabilities of ``logits / temperature``.

    Parameters
    ----------
    logits : array_like, shape (n, n_classes)
    temperature : float
        > 0; 1 gives the plain softmax.

    Returns
    -------
    ndarray, shape (n, n_classes), float64

    Examples
    --------
    >>> apply_temperature([[0.0, 0.0]], 2.0)
    array([[0.5, 0.5]])
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or not np.all(np.isfinite(logits)):
        raise ValueError(f"logits must be finite and 2-D, got shape {logits.shape}")
    temperature = float(temperature)
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return softmax(logits / temperature, axis=1)


def fit_temperature(logits_val, y_val, *, bounds=(1e-2, 1e2)) -> float:
    """Temperature minimising the validation NLL (Guo et al., 2017).

    A bounded 1-D search over ``log T`` (``scipy.optimize.minimize_scalar``).

    Parameters
    ----------
    logits_val : array_like, shape (n, n_classes)
        Validation logits.
    y_val : array_like of int, shape (n,)
    bounds : (float, float), default (0.01, 100)
        Search range of T.

    Returns
    -------
    float
        The temperature T > 0; apply it with :func:`apply_temperature`.

    Examples
    --------
    >>> T = fit_temperature(logits_val, y_val)  # doctest: +SKIP
    >>> probs = apply_temperature(logits_test, T)  # doctest: +SKIP
    """
    _, y = _check_inputs(logits_val, y_val, x_name="logits_val", y_name="y_val")
    logits = np.asarray(logits_val, dtype=np.float64)
    if y.max() >= logits.shape[1]:
        raise ValueError(
            f"y_val has label {y.max()} but logits_val has {logits.shape[1]} classes"
        )
    low, high = (float(b) for b in bounds)
    if not 0 < low < high < np.inf:
        raise ValueError(f"bounds must satisfy 0 < low < high, got {bounds}")
    rows = np.arange(len(y))

    def nll(log_t):
        return -np.mean(log_softmax(logits / np.exp(log_t), axis=1)[rows, y])

    result = minimize_scalar(
        nll,
        bounds=(np.log(low), np.log(high)),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(result.x))


# Inference cost ----------------------------------------------------------------------


def _timing_summary(seconds, items):
    ms = np.asarray(seconds) * 1e3
    q25, median, q75 = np.percentile(ms, [25, 50, 75])
    return {
        "latency_median_ms": float(median),
        "latency_iqr_ms": float(q75 - q25),
        "throughput_per_s": float(items / (median / 1e3)),
    }


def _block(value):
    # JAX dispatches asynchronously; TensorFlow eager ops return when done.
    if hasattr(value, "block_until_ready"):
        value.block_until_ready()
    return value


def inference_latency(
    model, *, batch_size=256, repeats=50, warmup=5, rng=0
) -> dict[str, float]:
    """Wall-clock time of one inference batch through ``model.predict_on_batch``.

    Thread count is the caller's job: for single-thread numbers call
    ``tf.config.threading.set_intra_op_parallelism_threads(1)`` and
    ``set_inter_op_parallelism_threads(1)`` before TensorFlow runs any op (or
    set ``TF_NUM_INTRAOP_THREADS=1`` and ``TF_NUM_INTEROP_THREADS=1``).

    Parameters
    ----------
    model : keras.Model
        With a known input shape (``model.inputs``).
    batch_size : int, default 256
    repeats : int, default 50
        Timed calls.
    warmup : int, default 5
        Untimed calls first (tracing, caches).
    rng : int, numpy.random.Generator or None, default 0
        For the standard-normal input batch.

    Returns
    -------
    dict
        ``latency_median_ms`` and ``latency_iqr_ms`` per batch, and
        ``throughput_per_s`` (samples per second at the median latency).

    Examples
    --------
    >>> inference_latency(model, batch_size=1)  # doctest: +SKIP
    {'latency_median_ms': 0.41, 'latency_iqr_ms': 0.02, 'throughput_per_s': 2439.0}
    """
    batch_size = _check_positive_int(batch_size, "batch_size")
    repeats = _check_positive_int(repeats, "repeats")
    warmup = _check_positive_int(warmup, "warmup", minimum=0)
    try:
        shape = tuple(model.inputs[0].shape[1:])
    except (AttributeError, IndexError, ValueError) as error:
        raise ValueError("model has no known input shape; build it first") from error
    x = _rng(rng).standard_normal((batch_size, *shape)).astype(np.float32)
    for _ in range(warmup):
        model.predict_on_batch(x)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(x)
        seconds.append(time.perf_counter() - start)
    return _timing_summary(seconds, batch_size)


def activation_op_latency(
    name, *, size=1_048_576, repeats=50, warmup=5, rng=0
) -> dict[str, float]:
    """Wall-clock time of the activation op alone on a float32 tensor.

    The op is ``keras.activations.get(name)`` applied eagerly to a standard-
    normal tensor of ``size`` elements. ``"linear"`` returns its input
    untouched and so measures the call overhead. Thread count is the caller's
    job (see :func:`inference_latency`).

    Parameters
    ----------
    name : str
        A Keras activation name, e.g. ``"relu"``, ``"sigmoid"``, ``"gelu"``.
    size : int, default 2**20
        Number of elements.
    repeats : int, default 50
    warmup : int, default 5
    rng : int, numpy.random.Generator or None, default 0

    Returns
    -------
    dict
        ``latency_median_ms``, ``latency_iqr_ms`` per call and
        ``throughput_per_s`` (elements per second at the median latency).

    Examples
    --------
    >>> activation_op_latency("sigmoid", size=10**6)  # doctest: +SKIP
    {'latency_median_ms': 0.9, 'latency_iqr_ms': 0.05, 'throughput_per_s': 1.1e9}
    """
    try:
        op = keras.activations.get(name)
    except ValueError as error:
        raise ValueError(f"unknown activation {name!r}") from error
    size = _check_positive_int(size, "size")
    repeats = _check_positive_int(repeats, "repeats")
    warmup = _check_positive_int(warmup, "warmup", minimum=0)
    x = keras.ops.convert_to_tensor(_rng(rng).standard_normal(size).astype(np.float32))
    for _ in range(warmup):
        _block(op(x))
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        _block(op(x))
        seconds.append(time.perf_counter() - start)
    return _timing_summary(seconds, size)


# The whole evaluation ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RobustnessSettings:
    """Every grid and setting of :func:`evaluate_robustness`.

    Save ``dataclasses.asdict(settings)`` next to the outputs.

    Attributes
    ----------
    sigmas : tuple of float
        Gaussian noise levels, in units of the data std.
    n_draws : int
        Noise draws per sigma.
    epsilons : tuple of float
        Attack radii in data-std units (see :func:`evaluate_robustness`).
    pgd_steps, pgd_restarts : int
        PGD iterations per restart and random restarts.
    pgd_step_size_factor : float
        PGD step size is ``factor * epsilon / pgd_steps``.
    min_distance_steps, min_distance_bisections : int
        PGD steps and bisection rounds of the minimal adversarial distance.
    boundary_quantiles : tuple of float
        Quantile edges (0 to 1) of the boundary-distance bins.
    ece_bins : int
        Equal-width confidence bins of the ECE.
    probe_size : int
        Attacked points when ``data`` has no ``probe_index``.
    seed : int
        Seeds every random choice (independent streams per component).
    batch_size : int
        Rows per forward/backward call.
    """

    sigmas: tuple[float, ...] = (0.0, 0.1, 0.2, 0.5, 1.0)
    n_draws: int = 10
    epsilons: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5)
    pgd_steps: int = 20
    pgd_restarts: int = 2
    pgd_step_size_factor: float = 2.5
    min_distance_steps: int = 10
    min_distance_bisections: int = 10
    boundary_quantiles: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    ece_bins: int = 15
    probe_size: int = 256
    seed: int = 0
    batch_size: int = 1024

    def __post_init__(self):
        for name in ("sigmas", "epsilons"):
            grid = tuple(_check_grid(getattr(self, name), name))
            object.__setattr__(self, name, grid)
        quantiles = _check_quantiles(self.boundary_quantiles)
        object.__setattr__(self, "boundary_quantiles", tuple(quantiles.tolist()))
        for name in (
            "n_draws",
            "pgd_steps",
            "pgd_restarts",
            "min_distance_steps",
            "ece_bins",
            "probe_size",
            "batch_size",
        ):
            _check_positive_int(getattr(self, name), name)
        _check_positive_int(self.min_distance_bisections, "min_distance_bisections", 0)
        _check_positive_int(self.seed, "seed", 0)
        _check_nonnegative(self.pgd_step_size_factor, "pgd_step_size_factor")


def _percentiles(values, quantiles):
    """Linear-interpolation quantiles that stay ``inf`` (not NaN) past an inf."""
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    out = []
    for q in quantiles:
        position = (len(ordered) - 1) * q
        low, high = int(np.floor(position)), int(np.ceil(position))
        if ordered[low] == ordered[high]:
            out.append(ordered[low])
        else:
            step = ordered[high] - ordered[low]
            out.append(ordered[low] + step * (position - low))
    return out


def _lookup(data, *names):
    for name in names:
        if name in data:
            return data[name]
    raise ValueError(f"data has no key {' or '.join(map(repr, names))}")


def _rows(attack, metric, values):
    return [(attack, float(eps), metric, float(v)) for eps, v in values.items()]


def evaluate_robustness(
    model, data, *, reference_model=None, settings=None
) -> pd.DataFrame:
    """All robustness and calibration metrics of one trained model, tidy.

    Units. Everything is measured in units of the data's standard deviation
    ``std`` (``data["data_std"]``, else the root mean square over features of
    the per-feature std of the test inputs; 1 for geoctx's isotropically
    standardized splits). Gaussian noise has std ``sigma * std`` on every
    feature. An attack radius ``e`` is ``e * std`` for L-inf and
    ``e * std * sqrt(d)`` for L2: the norm of a perturbation of ``e * std`` on
    every coordinate, and the typical norm of the Gaussian noise at
    ``sigma = e``. The ``epsilon`` column holds ``e`` (or sigma). Distances
    (``min_adv_distance_*``, ``boundary_distance_upper``) are L2 distances
    divided by ``std`` (so a ``pgd_l2`` row at ``e`` is a radius of
    ``e * sqrt(d)`` on that scale); ``lipschitz_*`` are in logit units per
    input unit.

    Which points. Clean, Gaussian, boundary-stratified and calibration rows use
    all of ``x_test``; attacks, minimal distance and Lipschitz rows use the
    probe points (their clean accuracy is the ``epsilon = 0`` attack row).

    Rows (``attack, epsilon, metric``):

    - ``clean, 0, accuracy``;
    - ``gaussian, sigma, accuracy`` for each sigma;
    - ``fgsm_linf | pgd_linf | pgd_l2, e, accuracy`` for each epsilon;
    - ``transfer_pgd_linf, e, accuracy`` when ``reference_model`` is given
      (PGD L-inf crafted on the reference model, evaluated on ``model``);
    - ``clean, q, accuracy_boundary_bin`` and ``clean, q,
      boundary_distance_upper`` per distance bin, where ``q`` is the bin's
      upper quantile (e.g. 0.2 = the 20 % of points closest to the boundary)
      and the second row is that bin's upper distance (in ``std`` units);
    - ``none, NaN, m`` for ``m`` in ``min_adv_distance_median``,
      ``min_adv_distance_q25``, ``min_adv_distance_q75``, ``lipschitz_max``,
      ``lipschitz_mean``, ``ece``, ``ece_temperature_scaled`` (test ECE after
      a temperature fitted on the validation split) and ``temperature``.

    Parameters
    ----------
    model : keras.Model
        Maps ``(n, d)`` to logits.
    data : dict
        ``x_test`` (n, d), ``y_test`` (n,), ``x_val`` (m, d), ``y_val`` (m,)
        (``X_test`` and ``X_val`` are accepted too, as written by
        :func:`geoctx.datasets.split_and_standardize`); optional
        ``probe_index`` (indices into the test split; default a random
        subset of ``settings.probe_size``), ``boundary_distance`` or
        ``boundary_distance_test`` (n,) (default
        :func:`nearest_other_class_distance` within the test split), ``clip``
        ((low, high) data range, or None) and ``data_std`` (float). Other keys
        are ignored; in particular the datasets' ``scale`` (the raw-unit
        standardization scale) is not read.
    reference_model : keras.Model, optional
        Source of the transfer attacks.
    settings : RobustnessSettings, optional
        Defaults to ``RobustnessSettings()``.

    Returns
    -------
    pandas.DataFrame
        Columns ``attack`` (str), ``epsilon`` (float64), ``metric`` (str),
        ``value`` (float64).

    Examples
    --------
    >>> df = evaluate_robustness(model, data, reference_model=other)
    ... # doctest: +SKIP
    >>> df.query("attack == 'pgd_linf'")  # doctest: +SKIP
    """
    s = RobustnessSettings() if settings is None else settings
    if not isinstance(s, RobustnessSettings):
        raise ValueError(f"settings must be RobustnessSettings, got {type(s)}")
    x, y = _check_inputs(
        _lookup(data, "x_test", "X_test"), _lookup(data, "y_test"), x_name="x_test"
    )
    x_val, y_val = _check_inputs(
        _lookup(data, "x_val", "X_val"), _lookup(data, "y_val"), x_name="x_val"
    )
    streams = dict(
        zip(
            ("probe", "gaussian", "fgsm", "pgd_linf", "pgd_l2", "transfer"),
            (np.random.default_rng(c) for c in np.random.SeedSequence(s.seed).spawn(6)),
            strict=True,
        )
    )
    std = data.get("data_std")
    std = np.sqrt(np.mean(x.var(axis=0, dtype=np.float64))) if std is None else std
    std = float(std)
    if not np.isfinite(std) or std <= 0:
        raise ValueError(f"data_std must be a finite number > 0, got {std}")
    linf_unit, l2_unit = std, std * np.sqrt(x.shape[1])
    clip = data.get("clip")
    probe = data.get("probe_index")
    if probe is None:
        size = min(s.probe_size, len(x))
        probe = np.sort(streams["probe"].choice(len(x), size=size, replace=False))
    probe = np.asarray(probe)
    if probe.ndim != 1 or probe.size == 0 or not np.issubdtype(probe.dtype, np.integer):
        raise ValueError(f"probe_index must be a non-empty 1-D integer array: {probe}")
    xp, yp = x[probe], y[probe]
    b = s.batch_size

    rows = [("clean", 0.0, "accuracy", accuracy(model, x, y, batch_size=b))]
    noise = gaussian_noise_accuracy(
        model,
        x,
        y,
        sigmas=s.sigmas,
        scale=std,
        n_draws=s.n_draws,
        rng=streams["gaussian"],
        batch_size=b,
    )
    rows += _rows("gaussian", "accuracy", noise)

    attack_options = {
        "clip": clip,
        "steps": s.pgd_steps,
        "restarts": s.pgd_restarts,
        "step_size_factor": s.pgd_step_size_factor,
        "batch_size": b,
    }
    for attack, unit, stream in (
        ("fgsm_linf", linf_unit, "fgsm"),
        ("pgd_linf", linf_unit, "pgd_linf"),
        ("pgd_l2", l2_unit, "pgd_l2"),
    ):
        result = attack_accuracy(
            model,
            xp,
            yp,
            attack=attack,
            epsilons=[e * unit for e in s.epsilons],
            rng=streams[stream],
            **attack_options,
        )
        by_std_unit = {e: result[e * unit] for e in s.epsilons}
        rows += _rows(attack, "accuracy", by_std_unit)
    if reference_model is not None:
        transfer = {
            e: transfer_accuracy(
                model,
                reference_model,
                xp,
                yp,
                epsilon=e * linf_unit,
                steps=s.pgd_steps,
                restarts=s.pgd_restarts,
                step_size=s.pgd_step_size_factor * e * linf_unit / s.pgd_steps,
                rng=streams["transfer"],
                clip=clip,
                batch_size=b,
            )
            for e in s.epsilons
        }
        rows += _rows("transfer_pgd_linf", "accuracy", transfer)

    distance = (
        minimal_adversarial_distance(
            model,
            xp,
            yp,
            clip=clip,
            reference_x=x,
            steps=s.min_distance_steps,
            bisections=s.min_distance_bisections,
            batch_size=b,
        )
        / std
    )
    q25, median, q75 = _percentiles(distance, (0.25, 0.5, 0.75))
    summaries = {
        "min_adv_distance_median": median,
        "min_adv_distance_q25": q25,
        "min_adv_distance_q75": q75,
    }
    summaries.update(lipschitz_estimate(model, xp, batch_size=min(b, 256)))

    boundary = data.get("boundary_distance", data.get("boundary_distance_test"))
    if boundary is None:
        boundary = nearest_other_class_distance(x, y)
    bins = boundary_stratified_accuracy(
        model, x, y, boundary, quantiles=s.boundary_quantiles, batch_size=b
    )
    for q, acc, edge in zip(
        bins["quantile_high"], bins["accuracy"], bins["distance_high"], strict=True
    ):
        rows.append(("clean", float(q), "accuracy_boundary_bin", float(acc)))
        rows.append(("clean", float(q), "boundary_distance_upper", float(edge) / std))

    logits = _predict_logits(model, x, b)
    temperature = fit_temperature(_predict_logits(model, x_val, b), y_val)
    summaries["ece"] = expected_calibration_error(
        apply_temperature(logits, 1.0), y, n_bins=s.ece_bins
    )
    summaries["ece_temperature_scaled"] = expected_calibration_error(
        apply_temperature(logits, temperature), y, n_bins=s.ece_bins
    )
    summaries["temperature"] = temperature
    rows += [("none", np.nan, m, float(v)) for m, v in summaries.items()]

    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return table.astype(
        {"attack": "str", "epsilon": "float64", "metric": "str", "value": "float64"}
    )


def evaluate_run(
    model_path,
    data: dict,
    *,
    status: str,
    keys: dict,
    settings: RobustnessSettings,
    reference_path=None,
    reference_status: str | None = None,
) -> pd.DataFrame:
    """:func:`evaluate_robustness` of one saved model of the sweep, with its keys.

    A diverged model gets no rows (its accuracy is undefined); a diverged
    or absent reference gives no transfer rows. ``data`` holds the arrays
    of :func:`geoctx.datasets.split_and_standardize`; its ``clip_low`` /
    ``clip_high`` (a natural value range, e.g. pixel intensities) become
    the attacks' clip box.

    Returns the tidy table with the model keys as leading columns.
    """
    columns = [*keys, *COLUMNS]
    if status != "ok":
        warnings.warn(f"model status is {status!r}: no robustness rows", stacklevel=2)
        return pd.DataFrame(columns=columns)
    model = keras.saving.load_model(model_path, compile=False)
    reference = None
    if reference_path and reference_status == "ok":
        reference = keras.saving.load_model(reference_path, compile=False)
    data = dict(data)
    if "clip_low" in data:
        data["clip"] = (data["clip_low"], data["clip_high"])
    table = evaluate_robustness(
        model, data, reference_model=reference, settings=settings
    )
    return table.assign(**keys)[columns]

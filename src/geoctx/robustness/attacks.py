"""Accuracy and per-point outcomes, clean, under Gaussian noise and under attack.

``accuracy`` is a fraction in [0, 1], higher is better. Per-point outcomes
(:func:`attack_sweep`, :func:`gaussian_noise_correct`, and
:func:`~geoctx.robustness.transfer.transfer_sweep`) let the caller condition
on clean correctness and take the worst case over attacks.
:func:`attack_sweep` runs one gradient attack
(:mod:`~geoctx.robustness.gradient`) over a grid of radii and offers each
radius the adversarial example found at the next smaller one.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from geoctx import autodiff
from geoctx.autodiff import check_arrays
from geoctx.names import ATTACK_NORMS, GRADIENT_ATTACKS
from geoctx.robustness._common import (
    _check_grid,
    _check_nonnegative,
    _check_positive_int,
    _clip_bounds,
    _predict_logits,
    _rng,
)
from geoctx.robustness.gradient import (
    PGD_RESTARTS,
    PGD_STEP_SIZE_FACTOR,
    PGD_STEPS,
    _one_step,
    _pgd_search,
)
from geoctx.robustness.worst_case import _loss_of


class Attacked(NamedTuple):
    """Outcome of one attack at one radius, per point.

    Attributes
    ----------
    x : ndarray, shape (n, d), float32
        The adversarial inputs (the clean inputs at radius 0).
    correct : ndarray of bool, shape (n,)
        Whether the attacked model still classifies each point correctly.
    """

    x: np.ndarray
    correct: np.ndarray


def _correct(model, x, y, batch_size):
    return np.argmax(_predict_logits(model, x, batch_size), axis=1) == y


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
    x, y = check_arrays(x, y)
    batch_size = _check_positive_int(batch_size, "batch_size")
    return float(np.mean(_correct(model, x, y, batch_size)))


def gaussian_noise_correct(
    model, x, y, *, sigmas, scale=1.0, n_draws=10, rng=0, batch_size=1024
) -> dict[float, np.ndarray]:
    """Per point, the fraction of Gaussian noise draws classified correctly.

    The noise is ``N(0, (sigma * scale)^2)`` per feature. The same
    standard-normal draws are reused for every sigma (common random numbers),
    so differences between sigmas carry little Monte-Carlo noise.
    ``sigma = 0`` gives the clean correctness exactly (no noise is added).

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
        Noise draws per sigma.
    rng : int, numpy.random.Generator or None, default 0
        Seed or generator for the noise.
    batch_size : int, default 1024

    Returns
    -------
    dict
        ``{sigma: ndarray (n,) of fractions in [0, 1]}`` in the order of
        ``sigmas``.

    Examples
    --------
    >>> gaussian_noise_correct(model, x, y, sigmas=[0, 0.5])[0.5].mean()
    ... # doctest: +SKIP
    0.81
    """
    x, y = check_arrays(x, y)
    sigmas = _check_grid(sigmas, "sigmas")
    n_draws = _check_positive_int(n_draws, "n_draws")
    batch_size = _check_positive_int(batch_size, "batch_size")
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), x.shape[1:])
    if not np.all(np.isfinite(scale)) or np.any(scale < 0):
        raise ValueError(f"scale must be finite and >= 0, got {scale}")
    generator = _rng(rng)
    x64 = x.astype(np.float64)
    totals = {sigma: np.zeros(len(x)) for sigma in sigmas}
    for _ in range(n_draws):
        noise = generator.standard_normal(x.shape) * scale
        for sigma in sigmas:
            if sigma > 0:
                noisy = (x64 + sigma * noise).astype(np.float32)
                totals[sigma] += _correct(model, noisy, y, batch_size)
    clean = _correct(model, x, y, batch_size).astype(np.float64)
    return {s: clean if s == 0 else totals[s] / n_draws for s in sigmas}


def gaussian_noise_accuracy(
    model, x, y, *, sigmas, scale=1.0, n_draws=10, rng=0, batch_size=1024
) -> dict[float, float]:
    """Accuracy under additive Gaussian noise ``N(0, (sigma * scale)^2)``.

    The mean over points of :func:`gaussian_noise_correct` (same arguments);
    its standard error at one sigma is about ``sqrt(a (1 - a) / (n *
    n_draws))``. ``sigma = 0`` returns the clean accuracy exactly.

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
    per_point = gaussian_noise_correct(
        model,
        x,
        y,
        sigmas=sigmas,
        scale=scale,
        n_draws=n_draws,
        rng=rng,
        batch_size=batch_size,
    )
    return {sigma: float(np.mean(v)) for sigma, v in per_point.items()}


def attack_sweep(
    model,
    x,
    y,
    *,
    attack,
    epsilons,
    clip=None,
    steps=PGD_STEPS,
    restarts=PGD_RESTARTS,
    step_size_factor=PGD_STEP_SIZE_FACTOR,
    rng=0,
    batch_size=1024,
    outcomes_only=False,
) -> dict[float, Attacked]:
    """A gradient attack over a grid of radii, per point.

    ``fgsm_linf`` is one signed cross-entropy step; ``pgd_linf`` and
    ``pgd_l2`` are :func:`pgd` on the cross-entropy, ``pgd_margin_linf`` and
    ``pgd_margin_l2`` on the Carlini-Wagner margin. For PGD the epsilons are
    visited in increasing order and the adversarial example found at the
    previous radius is one more candidate (it lies inside every larger ball),
    so a point fooled at one radius is fooled at every larger one. As the
    one-step point is a candidate too, PGD L-inf is never weaker than FGSM at
    the same epsilon. Correctness comes from the same forward passes that
    choose the candidates. ``epsilon = 0`` gives the clean inputs and their
    clean correctness exactly.

    Parameters
    ----------
    model : keras.Model
    x : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    attack : str
        One of :data:`geoctx.names.GRADIENT_ATTACKS`.
    epsilons : sequence of float
        Radii in input units, >= 0.
    clip : (low, high) or None
        Data range.
    steps, restarts : int, default 50, 5
        PGD iterations per restart and random restarts (ignored for FGSM).
    step_size_factor : float, default 2.5
        PGD step size is ``step_size_factor * epsilon / steps``.
    rng : int, numpy.random.Generator or None, default 0
    batch_size : int, default 1024
    outcomes_only : bool, default False
        Only ``correct`` is needed: PGD skips the points that the clean
        input, the one-step point or the previous radius's example already
        fools, and stops attacking a point at the first iterate of any
        restart that fools it (``correct`` is the same, and so is ``x`` of
        every point still classified correctly; a fooled point's ``x`` is
        the first input found to fool the model rather than the
        highest-loss one).

    Returns
    -------
    dict
        ``{epsilon: Attacked(x, correct)}`` in the order of ``epsilons``.

    Examples
    --------
    >>> out = attack_sweep(model, x, y, attack="pgd_margin_linf", epsilons=[0, 0.1])
    ... # doctest: +SKIP
    >>> out[0.1].correct.mean()  # doctest: +SKIP
    0.55
    """
    x, y = check_arrays(x, y)
    if attack not in GRADIENT_ATTACKS:
        raise ValueError(f"attack must be one of {GRADIENT_ATTACKS}, got {attack!r}")
    epsilons = _check_grid(epsilons, "epsilons")
    steps = _check_positive_int(steps, "steps")
    restarts = _check_positive_int(restarts, "restarts")
    step_size_factor = _check_nonnegative(step_size_factor, "step_size_factor")
    batch_size = _check_positive_int(batch_size, "batch_size")
    bounds = _clip_bounds(clip, x)
    generator = _rng(rng)
    norm, loss = ATTACK_NORMS[attack], _loss_of(attack)
    # the clean logits and one-step gradient are the same at every radius
    clean_logits = _predict_logits(model, x, batch_size)
    clean_correct = np.argmax(clean_logits, axis=1) == y
    gradient = autodiff.input_gradient(model, x, y, loss=loss, batch_size=batch_size)
    result = {}
    previous = None
    for epsilon in sorted(set(epsilons)):
        if epsilon == 0:
            result[epsilon] = Attacked(x.copy(), clean_correct.copy())
            continue
        eps = np.full(len(x), epsilon)
        one_step = _one_step(
            model, x, y, eps, norm, bounds, batch_size, loss, gradient=gradient
        )
        if attack == "fgsm_linf":
            correct = _correct(model, one_step, y, batch_size)
            result[epsilon] = Attacked(one_step, correct)
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
            loss=loss,
            clean_logits=clean_logits,
            outcomes_only=outcomes_only,
        )
        result[epsilon] = Attacked(worst.x, ~worst.fooled)
        previous = worst.x
    return {epsilon: result[epsilon] for epsilon in epsilons}


def attack_accuracy(model, x, y, *, attack, epsilons, **options) -> dict[float, float]:
    """Accuracy under a gradient attack over a grid of radii.

    The mean over points of :func:`attack_sweep` (same arguments), so PGD
    accuracy is non-increasing in epsilon and never exceeds FGSM accuracy;
    ``epsilon = 0`` gives the clean accuracy exactly.

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
    sweep = attack_sweep(model, x, y, attack=attack, epsilons=epsilons, **options)
    return {epsilon: float(np.mean(out.correct)) for epsilon, out in sweep.items()}

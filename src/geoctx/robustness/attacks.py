"""Gradient and transfer attacks, and accuracy under noise and attack.

``accuracy`` is a fraction in [0, 1], higher is better. Attack functions take
epsilons in input-data units and return float32 adversarial inputs ``(n, d)``.

Against gradient masking (saturated units make gradient attacks look weak),
PGD keeps per point the worst case over several candidates: the clean input,
the one-step FGSM/FGM point, every iterate of every random restart and, in
:func:`attack_sweep`, the adversarial example found at the next smaller
epsilon. PGD maximises either the cross-entropy or the Carlini-Wagner margin
``max_{j != y} z_j - z_y``: the cross-entropy's gradient is exactly zero in
float32 once the true logit leads by enough (its softmax saturates), the
margin's never for that reason. Transfer attacks are crafted on another
model. Per-point outcomes (:func:`attack_sweep`, :func:`transfer_sweep`,
:func:`gaussian_noise_correct`) let the caller condition on clean
correctness and take the worst case over attacks.
"""

from __future__ import annotations

import hashlib
import weakref
from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp

from geoctx import autodiff
from geoctx.names import ATTACK_NORMS, GRADIENT_ATTACKS
from geoctx.robustness._common import (
    _check_grid,
    _check_inputs,
    _check_nonnegative,
    _check_positive_int,
    _clip_bounds,
    _finish,
    _predict_logits,
    _rng,
)

#: PGD iterations per restart when the caller gives none.
PGD_STEPS = 20
#: PGD random restarts when the caller gives none.
PGD_RESTARTS = 5
#: PGD step size is ``PGD_STEP_SIZE_FACTOR * epsilon / steps`` by default.
PGD_STEP_SIZE_FACTOR = 2.5


def _cross_entropy(logits, y):
    logits = np.asarray(logits, dtype=np.float64)
    return logsumexp(logits, axis=1) - logits[np.arange(len(y)), y]


def _margin(logits, y):
    """Carlini-Wagner margin ``max_{j != y} z_j - z_y``: > 0 iff misclassified."""
    logits = np.array(logits, dtype=np.float64)
    rows = np.arange(len(y))
    true = logits[rows, y].copy()
    logits[rows, y] = -np.inf
    return logits.max(axis=1) - true


_LOSSES = {"cross_entropy": _cross_entropy, "margin": _margin}


def _loss_of(attack):
    return "margin" if "_margin_" in attack else "cross_entropy"


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

    def __init__(self, x, logits, y, loss="cross_entropy"):
        if y.max() >= logits.shape[1]:
            raise ValueError(
                f"y has label {y.max()} but the model has {logits.shape[1]} classes"
            )
        self.y = y
        self.x = x.copy()
        self.score = _LOSSES[loss]
        self.fooled = np.argmax(logits, axis=1) != y
        self.loss = self.score(logits, y)

    def judge(self, logits, rows=None):
        """Per row of ``logits`` (of the points ``rows``): fooled, loss."""
        y = self.y if rows is None else self.y[rows]
        return np.argmax(logits, axis=1) != y, self.score(logits, y)

    def offer(self, candidate, logits, rows=None, judged=None):
        """Offer one candidate per point, or per point of ``rows`` (indices);
        ``judged`` is ``judge(logits, rows)`` if already known."""
        fooled, loss = self.judge(logits, rows) if judged is None else judged
        rows = np.arange(len(self.y)) if rows is None else rows
        better = (fooled & ~self.fooled[rows]) | (
            (fooled == self.fooled[rows]) & (loss > self.loss[rows])
        )
        self.x[rows[better]] = candidate[better]
        self.fooled[rows[better]] = fooled[better]
        self.loss[rows[better]] = loss[better]


def _one_step(
    model, x, y, epsilon, norm, bounds, batch_size, loss="cross_entropy", gradient=None
):
    """FGSM (L-inf) or FGM (L2) step of size ``epsilon`` (n,) from ``x``.

    ``gradient`` is the input gradient of ``loss`` at ``x``, if already known.
    """
    if gradient is None:
        gradient = autodiff.input_gradient(
            model, x, y, loss=loss, batch_size=batch_size
        )
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
    loss="cross_entropy",
    clean_logits=None,
    outcomes_only=False,
):
    """Worst case over clean input, ``candidates`` and all PGD iterates.

    ``epsilon`` and ``step_size`` are per-point arrays of shape (n,);
    ``clean_logits`` the model's logits at ``x``, if already known. With
    ``outcomes_only``, points that the clean input or a candidate already
    fools are not attacked: ``fooled`` is the same, but their ``x`` is that
    first fooling input, not the highest-loss one.

    The restarts run side by side, one gradient call per step for all of
    them, but their random starts are drawn and their iterates offered to
    the worst case in the order of one restart after the other, so the
    result is that of running them one by one (each row's arithmetic is its
    own).
    """
    if clean_logits is None:
        clean_logits = _predict_logits(model, x, batch_size)
    worst = _WorstCase(x, clean_logits, y, loss)
    for candidate in candidates:
        worst.offer(candidate, _predict_logits(model, candidate, batch_size))
    # every start is drawn, attacked or not: the stream stays that of all points
    starts = [
        _random_in_ball(rng, epsilon, norm, x.shape)
        if random_start
        else np.zeros(x.shape)
        for _ in range(restarts)
    ]
    active = np.flatnonzero(~worst.fooled) if outcomes_only else np.arange(len(x))
    if active.size == 0:
        return worst
    n = active.size
    origin = np.tile(x[active].astype(np.float64), (restarts, 1))
    labels = np.tile(y[active], restarts)
    radius = np.tile(epsilon[active], restarts)
    step = np.tile(step_size[active], restarts)
    box = (
        None
        if bounds is None
        else tuple(np.tile(b[active], (restarts, 1)) for b in bounds)
    )
    current = _finish(origin, np.concatenate([s[active] for s in starts]), box)
    iterates = []
    for _ in range(steps):
        logits, gradient = autodiff.logits_and_input_gradient(
            model, current, labels, loss=loss, batch_size=batch_size
        )
        iterates.append((current, logits))
        gradient = gradient.astype(np.float64)
        direction = np.sign(gradient) if norm == "linf" else _l2_normalize(gradient)
        delta = current.astype(np.float64) - origin + step[:, None] * direction
        current = _finish(origin, _project(delta, radius, norm), box)
    iterates.append((current, _predict_logits(model, current, batch_size)))
    # judged in one call; rows are independent, so the values are the same
    fooled, loss = worst.judge(
        np.concatenate([logits for _, logits in iterates]),
        np.tile(active, restarts * len(iterates)),
    )
    fooled, loss = (v.reshape(len(iterates), restarts, n) for v in (fooled, loss))
    for restart in range(restarts):
        rows = slice(restart * n, (restart + 1) * n)
        for i, (candidate, _) in enumerate(iterates):
            judged = fooled[i, restart], loss[i, restart]
            worst.offer(candidate[rows], None, active, judged=judged)
    return worst


# Accuracy under noise and attack ---------------------------------------------------


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
    x, y = _check_inputs(x, y)
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
    x, y = _check_inputs(x, y)
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


def _check_loss(loss):
    if loss not in _LOSSES:
        raise ValueError(f"loss must be one of {tuple(_LOSSES)}, got {loss!r}")
    return loss


def pgd(
    model,
    x,
    y,
    *,
    epsilon,
    norm="linf",
    loss="cross_entropy",
    steps=PGD_STEPS,
    step_size=None,
    restarts=PGD_RESTARTS,
    rng=0,
    clip=None,
    batch_size=1024,
):
    """Projected gradient descent attack (Madry et al., 2018) with restarts.

    Each restart starts uniformly at random inside the ball and takes ``steps``
    signed (L-inf) or normalised (L2) gradient steps on the loss, projecting
    back onto the ball and the data range. For each point the result is the
    worst case over the clean input, the one-step FGSM (L-inf) or FGM (L2)
    point on the same loss, and every iterate of every restart: a candidate
    that fools the model if there is one (the highest-loss such), else the
    highest loss. PGD is therefore never weaker than its one-step attack.

    Parameters
    ----------
    model : keras.Model
    x : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    epsilon : float
        Radius in input units, >= 0; 0 returns a copy of ``x``.
    norm : {"linf", "l2"}, default "linf"
    loss : {"cross_entropy", "margin"}, default "cross_entropy"
        The margin is Carlini & Wagner's ``max_{j != y} z_j - z_y``, immune to
        the cross-entropy's float32 saturation.
    steps : int, default 50
    step_size : float or None
        Defaults to ``2.5 * epsilon / steps``.
    restarts : int, default 5
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
    >>> x_adv = pgd(model, x, y, epsilon=0.1, loss="margin")  # doctest: +SKIP
    """
    x, y = _check_inputs(x, y)
    epsilon = _check_nonnegative(epsilon, "epsilon")
    norm = _check_norm(norm)
    loss = _check_loss(loss)
    steps = _check_positive_int(steps, "steps")
    restarts = _check_positive_int(restarts, "restarts")
    batch_size = _check_positive_int(batch_size, "batch_size")
    step_size = (
        PGD_STEP_SIZE_FACTOR * epsilon / steps
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
        candidates=[_one_step(model, x, y, eps, norm, bounds, batch_size, loss)],
        loss=loss,
    )
    return worst.x


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
        fools (``correct`` is the same; such a point's ``x`` is the first
        input found to fool the model rather than the highest-loss one).

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
    x, y = _check_inputs(x, y)
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


def transfer_sweep(
    target_model,
    source_model,
    x,
    y,
    *,
    epsilons,
    attack="pgd_margin_linf",
    **options,
) -> dict[float, Attacked]:
    """``target_model`` on ``attack`` examples crafted on ``source_model``, per point.

    A transfer (black-box) attack is immune to the target's gradient masking.

    Parameters
    ----------
    target_model, source_model : keras.Model
        Same input dimension and classes.
    x : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    epsilons : sequence of float
        Radii in input units.
    attack : str, default "pgd_margin_linf"
        Gradient attack run on the source (:func:`attack_sweep`).
    **options
        ``clip``, ``steps``, ``restarts``, ``step_size_factor``, ``rng``,
        ``batch_size`` of :func:`attack_sweep`.

    Returns
    -------
    dict
        ``{epsilon: Attacked(x_adv, correct)}``, ``correct`` judged by the
        target.

    Examples
    --------
    >>> out = transfer_sweep(sigmoid_model, relu_model, x, y, epsilons=[0.1])
    ... # doctest: +SKIP
    """
    sweep = _crafted(source_model, x, y, attack=attack, epsilons=epsilons, **options)
    _, y = _check_inputs(x, y)
    batch_size = options.get("batch_size", 1024)
    return {
        epsilon: Attacked(out.x, _correct(target_model, out.x, y, batch_size))
        for epsilon, out in sweep.items()
    }


# source model -> {crafting key: (sweep, generator state after it)}, the
# latest _CRAFTED_PER_SOURCE per source (a model object can outlive its
# cell's evaluation: geoctx.storage.model_cache)
_CRAFTED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CRAFTED_PER_SOURCE = 16


def _crafted(source_model, x, y, *, attack, epsilons, rng=0, **options):
    """:func:`attack_sweep` on a transfer source, computed once per crafting.

    A cell's evaluation attacks each of its models with the same sources on
    the same points, so the examples crafted on a source repeat. They are
    kept per source model object, keyed by everything the sweep reads: the
    source's weights, the points, the radii, the options and the random
    generator's state. A repeat returns the same examples and leaves the
    generator in the state the sweep would have, so results do not depend on
    the memo.
    """
    generator = _rng(rng)
    key = _digest(
        attack,
        sorted(float(e) for e in epsilons),
        sorted(options.items()),
        np.asarray(x),
        np.asarray(y),
        source_model.get_weights(),
        generator.bit_generator.state,
    )
    memo = _CRAFTED.setdefault(source_model, {})
    if key not in memo:
        sweep = attack_sweep(
            source_model,
            x,
            y,
            attack=attack,
            epsilons=epsilons,
            rng=generator,
            **options,
        )
        memo[key] = (sweep, generator.bit_generator.state)
        while len(memo) > _CRAFTED_PER_SOURCE:
            del memo[next(iter(memo))]
    sweep, state = memo[key]
    generator.bit_generator.state = state
    return sweep


def _digest(*values) -> str:
    """SHA-256 of nested values: arrays by dtype, shape and bytes, the rest by repr."""
    digest = hashlib.sha256()

    def feed(value):
        if isinstance(value, np.ndarray):
            digest.update(f"{value.dtype}{value.shape}".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        elif isinstance(value, list | tuple):
            digest.update(f"{type(value).__name__}{len(value)}(".encode())
            for item in value:
                feed(item)
            digest.update(b")")
        elif isinstance(value, dict):
            feed(sorted(value.items(), key=lambda item: repr(item[0])))
        else:
            digest.update(repr(value).encode())

    feed(values)
    return digest.hexdigest()


def transfer_accuracy(
    target_model,
    source_model,
    x,
    y,
    *,
    epsilon,
    loss="cross_entropy",
    steps=PGD_STEPS,
    restarts=PGD_RESTARTS,
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
    loss, steps, restarts, step_size, rng, clip, batch_size
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
        loss=loss,
        steps=steps,
        step_size=step_size,
        restarts=restarts,
        rng=rng,
        clip=clip,
        batch_size=batch_size,
    )
    return accuracy(target_model, x_adv, y, batch_size=batch_size)

"""Gradient attacks: FGSM, FGM and PGD (L-inf and L2, random restarts).

Attack functions take epsilons in input-data units and return float32
adversarial inputs ``(n, d)``. Against gradient masking, PGD keeps per point
the worst case (:mod:`~geoctx.robustness.worst_case`) over the clean input,
the one-step point, and every iterate of every random restart.
"""

from __future__ import annotations

import numpy as np

from geoctx import autodiff
from geoctx.autodiff import check_arrays
from geoctx.robustness._common import (
    _check_nonnegative,
    _check_positive_int,
    _clip_bounds,
    _finish,
    _predict_logits,
    _rng,
    _take,
)
from geoctx.robustness.worst_case import _check_loss, _WorstCase

#: PGD iterations per restart when the caller gives none.
PGD_STEPS = 20
#: PGD random restarts when the caller gives none.
PGD_RESTARTS = 5
#: PGD step size is ``PGD_STEP_SIZE_FACTOR * epsilon / steps`` by default.
PGD_STEP_SIZE_FACTOR = 2.5


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
    ``outcomes_only``, a point stops being attacked as soon as an input
    fools the model: the clean input or a candidate (it is then not attacked
    at all), or an iterate of any of its restarts (its restarts stop there).
    ``fooled`` is the same, and so is ``x`` of every point never fooled, but
    a fooled point's ``x`` is the first input found to fool the model, not
    the highest-loss one.

    The restarts run side by side, one gradient call per step for all of
    them, but their random starts are drawn and their iterates offered to
    the worst case in the order of one restart after the other, so the
    result is that of running them one by one, up to the last bits of a
    few rows: TensorFlow computes some rows of a call by their place in it
    (the cross-entropy's softmax treats the last rows of a call apart, and
    a call of under 16 rows takes another matrix-product kernel;
    ``benchmarks/gradient_batching.py`` shows both), which can move an L2
    step (L-inf steps take only the gradient's sign). The attacks of one
    model do not share calls for the same reason: their numbers would
    change.
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
    # row r attacks point active[r % n] in restart r // n; ``rows`` are those
    # still attacked, in that order
    point = np.tile(active, restarts)
    rows = np.arange(restarts * n)
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
    iterates = []  # (rows, inputs, logits) of each iterate
    for i in range(steps + 1):
        if i < steps:
            logits, gradient = autodiff.logits_and_input_gradient(
                model, current, labels[rows], loss=loss, batch_size=batch_size
            )
        else:
            logits = _predict_logits(model, current, batch_size)
        iterates.append((rows, current, logits))
        if outcomes_only:
            fooled = np.argmax(logits, axis=1) != labels[rows]
            if fooled.any():
                # one fooling input per point settles it; drop all its rows
                first = np.unique(point[rows[fooled]], return_index=True)[1]
                hits = np.flatnonzero(fooled)[first]
                worst.offer(current[hits], logits[hits], point[rows[hits]])
                going = ~worst.fooled[point[rows]]
                rows, current = rows[going], current[going]
                if i < steps:
                    gradient = gradient[going]
                if rows.size == 0:
                    return worst
        if i == steps:
            break
        gradient = gradient.astype(np.float64)
        direction = np.sign(gradient) if norm == "linf" else _l2_normalize(gradient)
        delta = current.astype(np.float64) - origin[rows] + step[rows, None] * direction
        current = _finish(
            origin[rows], _project(delta, radius[rows], norm), _take(box, rows)
        )
    # the rows attacked to the end, judged in one call; rows are independent,
    # so the values are the same
    ended = []
    for seen, inputs, logits in iterates:
        k = np.searchsorted(seen, rows)
        ended.append((inputs[k], logits[k]))
    fooled, loss = worst.judge(
        np.concatenate([logits for _, logits in ended]),
        np.tile(point[rows], len(ended)),
    )
    fooled, loss = (v.reshape(len(ended), rows.size) for v in (fooled, loss))
    restart_of = rows // n
    for restart in range(restarts):
        mine = np.flatnonzero(restart_of == restart)
        for i, (inputs, _) in enumerate(ended):
            judged = fooled[i, mine], loss[i, mine]
            worst.offer(inputs[mine], None, point[rows[mine]], judged=judged)
    return worst


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
    x, y = check_arrays(x, y)
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
    x, y = check_arrays(x, y)
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

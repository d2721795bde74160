"""Transfer attacks: examples crafted on one model, judged by another.

A transfer (black-box) attack is immune to the target's gradient masking.
The examples crafted on a source are computed once per crafting and reused
for every target of a cell's evaluation (exactly: keyed by the source's
weights, the points, the settings and the random state).
"""

from __future__ import annotations

import hashlib
import weakref

import numpy as np

from geoctx.autodiff import check_arrays
from geoctx.robustness._common import _rng
from geoctx.robustness.attacks import Attacked, _correct, accuracy, attack_sweep
from geoctx.robustness.gradient import PGD_RESTARTS, PGD_STEPS, pgd


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
    _, y = check_arrays(x, y)
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

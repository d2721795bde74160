"""Unit health: how much of each hidden layer a network uses.

Per hidden layer, from the probe points' representations and the derivative
of the activation at each unit's pre-activation ``z``:

- ``inactive_fraction``: the fraction of units that pass (almost) no
  gradient on most probe points. A unit is inactive when its relative
  derivative ``|phi'(z)| / max |phi'|`` is below ``INACTIVE_TOLERANCE`` on
  more than ``INACTIVE_SHARE`` of the points. Relative to the activation's
  own peak slope (:func:`derivative_peak`: 1 for ReLU and tanh, 1/4 for
  sigmoid, 1.129 for GELU), so one definition serves every activation: a
  dead ReLU unit (z < 0) and a saturated sigmoid unit (|z| > 5.99) count
  alike, as do tanh beyond |z| = 2.99 and GELU below z = -3.02 (or in the
  narrow band -0.78 < z < -0.73 around its minimum);
- ``effective_width``: the units that are not inactive, a count: the width
  the layer actually uses. Inactive units cost exactly this: a layer
  whose units are mostly inactive is as narrow as its active ones;
- ``dead_fraction``: units that output exactly zero on every probe point
  (ReLU-style death, descriptive: zero by construction for sigmoid);
- ``saturated_fraction`` (bounded activations): the fraction of unit
  activations within ``SATURATION_TOLERANCE`` of a bound;
- ``activation_std``: the mean per-unit standard deviation;

and each layer's kernel gradient norm (``grad_norm``, logits included).
"""

from __future__ import annotations

import functools

import numpy as np

from geoctx.config import BOUNDED_ACTIVATIONS, SATURATION_TOLERANCE

#: A unit is inactive on a point when its activation's derivative there is
#: below this share of the activation's peak slope: it passes under 1% of the
#: gradient the unit passes at its best, a hundredfold attenuation per layer.
INACTIVE_TOLERANCE = 1e-2
#: ... and inactive when that holds on more than this share of probe points:
#: it serves fewer than 1 point in 20 (at most 12 of 256 probe points). Not
#: "every point": then one stray point keeps a dead or saturated unit alive,
#: which a saturating sigmoid met almost never and a ReLU unit often. On the
#: default study's trained models the choice barely matters: over tolerances
#: 1e-3 to 1e-1 and shares 0.9 to 0.99, ReLU's mean inactive fraction is
#: 0.13-0.15 and sigmoid's 0.00-0.04 (tanh and GELU below 0.02).
INACTIVE_SHARE = 0.95
#: :func:`derivative_peak` searches this interval, step 1e-3; every
#: activation of the study peaks inside it (or, like softplus, approaches its
#: supremum to within 1e-8 by its end).
PEAK_GRID = (-20.0, 20.0)


def activation_derivative(z: np.ndarray, *, activation: str) -> np.ndarray:
    """Derivative of the Keras activation ``activation`` at each entry of ``z``.

    Taken by automatic differentiation (the gradient of the summed output),
    so it works for any activation that acts entry by entry, which every
    hidden-layer activation of the study does.

    >>> activation_derivative(np.array([[-1.0, 2.0]]), activation="relu")
    array([[0., 1.]], dtype=float32)
    """
    import keras
    import tensorflow as tf

    z = tf.convert_to_tensor(np.asarray(z, dtype=np.float32))
    with tf.GradientTape() as tape:
        tape.watch(z)
        out = keras.activations.get(activation)(z)
    return tape.gradient(out, z).numpy()


@functools.cache
def derivative_peak(activation: str) -> float:
    """The activation's largest absolute derivative, ``max |phi'(z)|``.

    Found on a grid of step 1e-3 over :data:`PEAK_GRID` by
    :func:`activation_derivative`, so it holds for any Keras activation;
    raises ``ValueError`` if the derivative is zero everywhere there.

    >>> derivative_peak("sigmoid")
    0.25
    """
    z = np.linspace(*PEAK_GRID, 40_001)
    peak = float(np.max(np.abs(activation_derivative(z, activation=activation))))
    if not np.isfinite(peak) or peak <= 0:
        raise ValueError(
            f"activation {activation!r} has no nonzero finite derivative on "
            f"{PEAK_GRID}: {peak}"
        )
    return peak


def inactive_units(
    derivative: np.ndarray,
    *,
    peak: float = 1.0,
    tolerance: float = INACTIVE_TOLERANCE,
    share: float = INACTIVE_SHARE,
) -> np.ndarray:
    """Which units (columns) are inactive: ``|derivative| / peak < tolerance``
    on more than ``share`` of the points (rows).

    >>> d = np.array([[0.0, 0.5], [1e-5, 0.0], [0.0, 0.0]])
    >>> inactive_units(d, share=0.5).tolist()
    [True, True]
    >>> inactive_units(d, share=0.7).tolist()
    [True, False]
    """
    derivative = np.asarray(derivative, dtype=np.float64)
    if derivative.ndim != 2 or derivative.shape[0] == 0:
        raise ValueError(
            f"derivative must be (points, units) with points > 0, got "
            f"shape {derivative.shape}"
        )
    if not peak > 0:
        raise ValueError(f"peak must be > 0, got {peak}")
    if not 0 <= share < 1:
        raise ValueError(f"share must be in [0, 1), got {share}")
    off = np.abs(derivative) / peak < tolerance
    return np.mean(off, axis=0) > share


def inactive_fraction(derivative: np.ndarray, **options) -> float:
    """Fraction of units that are inactive (:func:`inactive_units`).

    >>> inactive_fraction(np.array([[0.0, 0.5], [1e-5, 0.0]]), share=0.5)
    0.5
    """
    return float(np.mean(inactive_units(derivative, **options)))


def pre_activations(model, reps: list[np.ndarray]) -> list[np.ndarray]:
    """Each hidden layer's input to its activation, ``z = h W + b``.

    ``reps`` are the layer outputs from :func:`layer_representations`; the
    kernels are those of the layers ``hidden_1`` ... of :func:`build_mlp`.
    """
    out = []
    for i in range(1, len(reps) - 1):
        kernel, bias = model.get_layer(f"hidden_{i}").get_weights()
        out.append(reps[i - 1].astype(np.float32) @ kernel + bias)
    return out


def unit_health(
    reps: list[np.ndarray],
    grad_norms: list[float],
    *,
    activation: str,
    derivatives: list[np.ndarray],
    peak: float | None = None,
) -> list[tuple[int, str, float]]:
    """``(layer, metric, value)`` rows for the hidden layers and the logits.

    ``reps`` are the representations from :func:`layer_representations`
    (``reps[0]`` is the input); ``grad_norms[i]`` belongs to layer ``i + 1``;
    ``derivatives[i]`` is the activation derivative of hidden layer
    ``i + 1`` at each probe point (:func:`activation_derivative`); ``peak``
    is the activation's largest absolute derivative
    (:func:`derivative_peak` of ``activation`` when None).
    """
    if peak is None:
        peak = derivative_peak(activation)
    rows = []
    hidden = reps[1:-1]
    bounds = BOUNDED_ACTIVATIONS.get(activation)
    for layer, (h, d) in enumerate(zip(hidden, derivatives, strict=True), start=1):
        inactive = inactive_units(d, peak=peak)
        rows.append((layer, "dead_fraction", float(np.mean(np.all(h == 0, axis=0)))))
        rows.append((layer, "inactive_fraction", float(np.mean(inactive))))
        rows.append((layer, "effective_width", float(np.sum(~inactive))))
        if bounds is not None:
            low, high = bounds
            saturated = (h <= low + SATURATION_TOLERANCE) | (
                h >= high - SATURATION_TOLERANCE
            )
            rows.append((layer, "saturated_fraction", float(np.mean(saturated))))
        rows.append(
            (
                layer,
                "activation_std",
                float(np.mean(np.std(h, axis=0, dtype=np.float64))),
            )
        )
    for layer, norm in enumerate(grad_norms, start=1):
        rows.append((layer, "grad_norm", norm))
    return rows

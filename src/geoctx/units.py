"""Unit health: how much of each hidden layer's units a network uses.

Per hidden layer, from the representations of the probe points and the
derivative of the activation at each unit's pre-activation: the fraction
of units that output exactly zero on every probe point (``dead_fraction``),
the fraction whose derivative is below ``INACTIVE_TOLERANCE`` on every
probe point (``inactive_fraction``), for bounded activations the fraction
of unit activations within ``SATURATION_TOLERANCE`` of a bound
(``saturated_fraction``), the mean per-unit standard deviation
(``activation_std``), and each layer's kernel gradient norm.
"""

from __future__ import annotations

import numpy as np

from geoctx.config import (
    BOUNDED_ACTIVATIONS,
    INACTIVE_TOLERANCE,
    SATURATION_TOLERANCE,
)


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


def inactive_fraction(
    derivative: np.ndarray, *, tolerance: float = INACTIVE_TOLERANCE
) -> float:
    """Fraction of units (columns) whose |derivative| < ``tolerance`` on every row.

    >>> inactive_fraction(np.array([[0.0, 0.5], [1e-5, 0.0]]))
    0.5
    """
    return float(np.mean(np.all(np.abs(derivative) < tolerance, axis=0)))


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
) -> list[tuple[int, str, float]]:
    """``(layer, metric, value)`` rows for the hidden layers and the logits.

    ``reps`` are the representations from :func:`layer_representations`
    (``reps[0]`` is the input); ``grad_norms[i]`` belongs to layer ``i + 1``;
    ``derivatives[i]`` is the activation derivative of hidden layer
    ``i + 1`` at each probe point (:func:`activation_derivative`).
    """
    rows = []
    hidden = reps[1:-1]
    bounds = BOUNDED_ACTIVATIONS.get(activation)
    for layer, (h, d) in enumerate(zip(hidden, derivatives, strict=True), start=1):
        rows.append((layer, "dead_fraction", float(np.mean(np.all(h == 0, axis=0)))))
        rows.append((layer, "inactive_fraction", inactive_fraction(d)))
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

"""The MLP every model in the sweep is: backend-agnostic Keras 3.

Nothing here touches TensorFlow directly, so the same models run on the
JAX backend.
"""

from __future__ import annotations

import keras

from geoctx.config import resolve_initializer


def build_mlp(
    n_features: int,
    n_classes: int,
    *,
    activation: str,
    initializer: str = "auto",
    width: int = 64,
    depth: int = 2,
) -> keras.Sequential:
    """A ``depth``-hidden-layer MLP that outputs logits.

    Hidden layers are ``Dense(width, activation)`` named ``hidden_1`` ...
    ``hidden_<depth>`` with the resolved initializer (``auto``: He-normal
    for the ReLU family, Glorot-uniform otherwise) and zero biases; the
    output layer ``logits`` is linear with Glorot-uniform weights for every
    model, so only the hidden layers differ between activations.
    Seed Keras (``keras.utils.set_random_seed``) before calling it for
    reproducible weights.

    >>> build_mlp(2, 2, activation="relu", width=8, depth=3).count_params()
    186
    """
    kernel = resolve_initializer(initializer, activation)
    layers = [keras.Input(shape=(n_features,), name="input")]
    layers += [
        keras.layers.Dense(
            width, activation=activation, kernel_initializer=kernel, name=f"hidden_{i}"
        )
        for i in range(1, depth + 1)
    ]
    layers.append(keras.layers.Dense(n_classes, name="logits"))
    return keras.Sequential(layers, name=f"mlp_{activation}_{width}x{depth}")


def layer_outputs_model(model: keras.Model) -> keras.Model:
    """A model returning every layer's output (hidden layers, then logits)."""
    return keras.Model(
        inputs=model.inputs, outputs=[layer.output for layer in model.layers]
    )

"""The MLP builder: layers, activation, initializer, parameter count."""

import keras
import numpy as np
import pytest

from geoctx.models import build_mlp, layer_outputs_model


@pytest.mark.parametrize("depth", [1, 3, 8])
def test_layers_and_parameters(depth):
    model = build_mlp(5, 3, activation="tanh", width=7, depth=depth)
    names = [layer.name for layer in model.layers]
    assert names == [f"hidden_{i}" for i in range(1, depth + 1)] + ["logits"]
    expected = (5 * 7 + 7) + (depth - 1) * (7 * 7 + 7) + (7 * 3 + 3)
    assert model.count_params() == expected
    assert model.layers[-1].activation is keras.activations.linear


@pytest.mark.parametrize(
    ("activation", "initializer", "expected"),
    [
        ("relu", "auto", keras.initializers.HeNormal),
        ("gelu", "auto", keras.initializers.HeNormal),
        ("sigmoid", "auto", keras.initializers.GlorotUniform),
        ("tanh", "auto", keras.initializers.GlorotUniform),
        ("sigmoid", "he_normal", keras.initializers.HeNormal),
        ("relu", "orthogonal", keras.initializers.Orthogonal),
    ],
)
def test_hidden_layers_get_the_resolved_initializer(activation, initializer, expected):
    model = build_mlp(4, 2, activation=activation, initializer=initializer, depth=2)
    for layer in model.layers[:-1]:
        assert isinstance(layer.kernel_initializer, expected)
        assert layer.activation is keras.activations.get(activation)
    assert isinstance(
        model.layers[-1].kernel_initializer, keras.initializers.GlorotUniform
    )


def test_he_init_has_he_variance():
    keras.utils.set_random_seed(0)
    model = build_mlp(400, 2, activation="relu", width=400, depth=2)
    kernel = np.asarray(model.layers[1].kernel)
    # He-normal is a normal truncated at 2 sd: variance 2/fan_in
    assert kernel.var() == pytest.approx(2 / 400, rel=0.05)


def test_layer_outputs_follow_the_layers():
    model = build_mlp(2, 2, activation="relu", width=4, depth=2)
    x = np.array([[0.5, -1.0]], dtype="float32")
    h1, h2, logits = layer_outputs_model(model).predict(x, verbose=0)
    w1, b1 = model.layers[0].get_weights()
    np.testing.assert_allclose(h1, np.maximum(x @ w1 + b1, 0), rtol=1e-6)
    np.testing.assert_allclose(logits, model.predict(x, verbose=0), rtol=1e-6)

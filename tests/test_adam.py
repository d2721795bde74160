"""The flat Adam update against Keras's own Adam, bit for bit."""

import numpy as np
import pytest

from geoctx import adam, training
from geoctx.training import ModelSpec, TrainSettings

N_POINTS = 96


def _data(n_features: int, seed: int = 0):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N_POINTS, n_features)).astype(np.float32)
    y = (x[:, 0] * x[:, -1] > 0).astype(np.int32)
    return [tf.constant(a) for a in (x, y, x[:32], y[:32])]


def _model(activation, depth, n_features, *, optimizer="adam"):
    spec = ModelSpec("toy", activation, "glorot_uniform", 16, depth, 3)
    settings = TrainSettings(learning_rate=0.01, optimizer=optimizer)
    training.configure_model_run(threads=1, seed=spec.seed)
    model = training._build(spec, settings, n_features, 2)
    model.optimizer.build(model.trainable_variables)
    return model


def _epochs(model, arrays, flat, n_epochs, *, first=0):
    import tensorflow as tf

    epoch = tf.function(training._epoch_function(model, 32, flat))
    orders = [
        tf.constant(np.random.default_rng(first + k).permutation(N_POINTS))
        for k in range(n_epochs)
    ]
    return [[float(v) for v in epoch(*arrays, order)] for order in orders]


def _state(model):
    return [np.asarray(v) for v in (*model.get_weights(), *model.optimizer.variables)]


@pytest.mark.parametrize(
    ("activation", "depth", "n_features"), [("sigmoid", 8, 2), ("relu", 2, 64)]
)
def test_flat_adam_takes_keras_adams_steps_bit_for_bit(activation, depth, n_features):
    # reference: keras.optimizers.Adam's own apply (one variable at a time),
    # on the same model, data and batch orders; weights, moments,
    # velocities and the iteration count must match exactly
    arrays = _data(n_features)
    keras_model = _model(activation, depth, n_features)
    flat_model = _model(activation, depth, n_features)
    flat = adam.FlatAdam.of(flat_model.optimizer, flat_model.trainable_variables)
    assert flat is not None

    reference = _epochs(keras_model, arrays, None, 6)
    mine = _epochs(flat_model, arrays, flat, 6)
    flat.store()

    assert mine == reference
    for a, b in zip(_state(keras_model), _state(flat_model), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(flat_model.optimizer.iterations.numpy()) == 6 * 3


def test_a_stored_flat_state_goes_on_as_keras_adam_would():
    # 3 flat epochs, stored, then 2 of Keras's: the 5 epochs Keras alone takes
    arrays = _data(2)
    keras_model = _model("tanh", 3, 2)
    both_model = _model("tanh", 3, 2)
    _epochs(keras_model, arrays, None, 5)
    flat = adam.FlatAdam.of(both_model.optimizer, both_model.trainable_variables)
    _epochs(both_model, arrays, flat, 3)
    flat.store()
    _epochs(both_model, arrays, None, 2, first=3)
    for a, b in zip(_state(keras_model), _state(both_model), strict=True):
        np.testing.assert_array_equal(a, b)


def test_reset_starts_from_the_optimizers_own_state():
    import tensorflow as tf

    model = _model("relu", 2, 2)
    flat = adam.FlatAdam.of(model.optimizer, model.trainable_variables)
    _epochs(model, _data(2), flat, 2)
    assert float(tf.reduce_max(tf.abs(flat.moments))) > 0
    for slot in (*model.optimizer._momentums, *model.optimizer._velocities):
        slot.assign(tf.zeros_like(slot))
    flat.reset()
    assert float(tf.reduce_max(tf.abs(flat.moments))) == 0.0
    assert float(tf.reduce_max(tf.abs(flat.velocities))) == 0.0


@pytest.mark.parametrize(
    "changes",
    [
        {"amsgrad": True},
        {"weight_decay": 0.01},
        {"clipnorm": 1.0},
        {"global_clipnorm": 1.0},
        {"clipvalue": 1.0},
        {"use_ema": True},
        {"gradient_accumulation_steps": 2},
    ],
)
def test_only_a_plain_adam_is_flattened(changes):
    import keras

    model = _model("relu", 2, 2)
    variables = model.trainable_variables
    assert adam.FlatAdam.of(model.optimizer, variables) is not None
    other = keras.optimizers.Adam(learning_rate=0.01, **changes)
    other.build(variables)
    assert adam.FlatAdam.of(other, variables) is None


def test_other_optimizers_keep_their_own_update():
    model = _model("relu", 2, 2, optimizer="sgd")
    assert adam.FlatAdam.of(model.optimizer, model.trainable_variables) is None
    trainer = training._Trainer.around(model, 32)
    assert trainer.flat_adam is None

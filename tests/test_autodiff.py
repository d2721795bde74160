"""Known-answer tests of geoctx.autodiff: affine maps, finite differences."""

import gc
import weakref

import keras
import numpy as np
import pytest

from geoctx import autodiff
from geoctx import robustness as rb


def _linear_softmax(d=3, n_classes=4, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((d,)), keras.layers.Dense(n_classes, name="logits")]
    )


def _two_layer(activation, seed=1):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(6, activation=activation, name="hidden_1")(inputs)
    logits = keras.layers.Dense(4, name="logits")(hidden)
    return keras.Model(inputs, logits)


def _points(n=20, d=3, seed=2):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def _finite_difference_jacobian(function, x, h=1e-3):
    """Central differences in float64 of a float32 map, shape (n, d_out, d_in)."""
    columns = []
    for j in range(x.shape[1]):
        step = np.zeros_like(x, dtype=np.float64)
        step[:, j] = h
        plus = function((x + step).astype(np.float32)).astype(np.float64)
        minus = function((x - step).astype(np.float32)).astype(np.float64)
        columns.append((plus - minus) / (2 * h))
    return np.stack(columns, axis=2)


def test_input_gradient_of_linear_softmax_is_kernel_times_residual():
    model = _linear_softmax()
    x = _points()
    y = np.arange(len(x)) % 4
    kernel, bias = (
        w.astype(np.float64) for w in model.get_layer("logits").get_weights()
    )
    logits = x.astype(np.float64) @ kernel + bias
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    expected = (probs - np.eye(4)[y]) @ kernel.T
    np.testing.assert_allclose(
        autodiff.input_gradient(model, x, y), expected, rtol=1e-4, atol=1e-6
    )


def test_input_gradient_rows_are_per_example_and_batch_independent():
    model = _two_layer("tanh")
    x = _points(n=50)
    y = np.arange(50) % 4
    full = autodiff.input_gradient(model, x, y)
    small_batches = autodiff.input_gradient(model, x, y, batch_size=7)
    first_rows = autodiff.input_gradient(model, x[:5], y[:5])
    np.testing.assert_allclose(small_batches, full, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(first_rows, full[:5], rtol=1e-5, atol=1e-7)


def test_logits_and_input_gradient_returns_model_logits():
    model = _two_layer("relu")
    x = _points()
    logits, gradient = autodiff.logits_and_input_gradient(model, x, np.zeros(20, int))
    np.testing.assert_allclose(logits, model.predict_on_batch(x), rtol=1e-5, atol=1e-6)
    assert gradient.shape == x.shape


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "gelu"])
def test_predict_is_keras_predict_bit_for_bit_from_one_trace(activation):
    from geoctx.models import layer_outputs_model

    model = _deep(activation)
    x = _points(n=300)
    expected = model.predict_on_batch(x)
    np.testing.assert_array_equal(autodiff.predict(model, x), expected)
    np.testing.assert_array_equal(autodiff.predict(model, x, batch_size=7), expected)
    np.testing.assert_array_equal(autodiff.predict(model, x[:5]), expected[:5])
    predict = autodiff._CACHE[model]["predict"].function
    assert predict.experimental_get_tracing_count() == 1
    # several outputs: a list, as Keras's predict returns them
    outputs = layer_outputs_model(model)
    layers = autodiff.predict(outputs, x, batch_size=128)
    for ours, keras_own in zip(
        layers, outputs.predict(x, batch_size=4096, verbose=0), strict=True
    ):
        np.testing.assert_array_equal(ours, keras_own)


@pytest.mark.parametrize("layer", ["hidden_1", 1, -2])
def test_jacobian_of_linear_dense_layer_is_kernel_transpose(layer):
    model = _two_layer(None)
    x = _points()
    kernel = model.get_layer("hidden_1").kernel.numpy()
    jac = autodiff.layer_jacobians(model, x, layer=layer)
    assert jac.shape == (20, 6, 3)
    np.testing.assert_allclose(jac, np.broadcast_to(kernel.T, jac.shape), rtol=1e-6)


def test_jacobian_of_input_layer_is_identity():
    model = _two_layer("relu")
    x = _points(n=4)
    for layer in (0, -3, model.layers[0].name):
        jac = autodiff.layer_jacobians(model, x, layer=layer)
        np.testing.assert_array_equal(jac, np.broadcast_to(np.eye(3), (4, 3, 3)))


@pytest.mark.parametrize("builder", ["functional", "sequential"])
def test_relu_layer_jacobian_matches_finite_differences(builder):
    model = _two_layer("relu")
    if builder == "sequential":
        model = keras.Sequential([keras.Input((3,)), *model.layers[1:]])
    x = _points(n=30)
    hidden = model.get_layer("hidden_1")
    kernel, bias = (w.numpy().astype(np.float64) for w in hidden.weights)
    pre = x.astype(np.float64) @ kernel + bias
    # Finite differences are exact for a ReLU layer unless a step crosses a kink.
    far_from_kink = np.all(np.abs(pre) > 1e-2, axis=1)
    assert far_from_kink.sum() > 10
    x = x[far_from_kink]
    jac = autodiff.layer_jacobians(model, x, layer="hidden_1")
    numeric = _finite_difference_jacobian(
        lambda z: np.maximum(z.astype(np.float64) @ kernel + bias, 0.0), x
    )
    np.testing.assert_allclose(jac, numeric, rtol=1e-4, atol=1e-5)
    assert np.any(jac == 0) and np.any(jac != 0)


def test_logit_jacobians_match_finite_differences_of_the_model():
    model = _two_layer("tanh")
    x = _points(n=10)
    jac = autodiff.logit_jacobians(model, x)
    numeric = _finite_difference_jacobian(model.predict_on_batch, x, h=1e-2)
    assert jac.shape == (10, 4, 3)
    np.testing.assert_allclose(jac, numeric, rtol=1e-2, atol=1e-3)
    np.testing.assert_allclose(
        jac, autodiff.layer_jacobians(model, x, layer="logits"), rtol=1e-6
    )


def _deep(activation, seed=3):
    keras.utils.set_random_seed(seed)
    layers = [keras.layers.Dense(16, activation=activation) for _ in range(4)]
    return keras.Sequential([keras.Input((3,)), *layers, keras.layers.Dense(5)])


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_jacobians_equal_the_tapes_batch_jacobian_bit_for_bit(activation):
    import tensorflow as tf

    model, x = _deep(activation), _points(n=40) * 3
    outputs = keras.Model(model.inputs, [layer.output for layer in model.layers])

    @tf.function(autograph=False)
    def batch_jacobians(x):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            outs = outputs(x, training=False)
        return [tape.batch_jacobian(out, x) for out in outs]

    expected = [j.numpy() for j in batch_jacobians(tf.constant(x))]
    found = autodiff.all_layer_jacobians(model, x)[1:]
    # one point per call: the result does not depend on the blocks
    one_by_one = autodiff.all_layer_jacobians(model, x, batch_size=1)[1:]
    for k, jacobian in enumerate(expected):
        np.testing.assert_array_equal(found[k], jacobian)
        np.testing.assert_array_equal(one_by_one[k], jacobian)
        np.testing.assert_array_equal(
            autodiff.layer_jacobians(model, x, layer=k + 1, batch_size=7), jacobian
        )


@pytest.mark.parametrize(
    ("layer", "match"),
    [("nope", "'nope' not found"), (3, "out of range"), (-4, "out of range")],
)
def test_bad_layer_raises(layer, match):
    with pytest.raises(ValueError, match=match):
        autodiff.layer_jacobians(_two_layer("relu"), _points(n=2), layer=layer)


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        (np.zeros(3), np.zeros(3, int), "x must be 2-D"),
        (np.zeros((3, 3)), np.zeros(2, int), "y must have shape"),
        (np.zeros((3, 3)), np.full(3, 0.5), "integer class indices"),
        (np.zeros((3, 3)), np.array([0, -1, 0]), "minimum -1"),
        (np.full((3, 3), np.nan), np.zeros(3, int), "finite"),
        (np.zeros((0, 3)), np.zeros(0, int), "no rows"),
    ],
)
def test_bad_inputs_raise_the_same_error_in_autodiff_and_robustness(x, y, match):
    # one check for the whole package: the same input, the same message
    messages = []
    for call in (autodiff.input_gradient, rb.accuracy):
        with pytest.raises(ValueError, match=match) as caught:
            call(_linear_softmax(), x, y)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int64])
def test_labels_leave_the_check_as_one_dtype(dtype):
    _, y = autodiff.check_arrays(np.zeros((2, 1)), np.array([1, 0], dtype=dtype))
    assert y.dtype == autodiff.LABEL_DTYPE
    assert y.tolist() == [1, 0]


def test_other_backends_raise_not_implemented(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    model = _linear_softmax()
    with pytest.raises(NotImplementedError, match="'jax'"):
        autodiff.input_gradient(model, _points(), np.zeros(20, int))
    with pytest.raises(NotImplementedError, match="'jax'"):
        autodiff.logit_jacobians(model, _points())


def test_later_calls_run_each_models_own_graph_bit_for_bit():
    # the first call runs the tf.function, later ones its graph directly
    first, other = _deep("tanh", seed=3), _deep("tanh", seed=4)
    x, y = _points(n=50), np.arange(50) % 5
    for model in (first, other):
        calls = [
            (
                autodiff.predict(model, x, batch_size=16),
                *autodiff.logits_and_input_gradient(model, x, y, batch_size=16),
                *autodiff.logits_and_input_gradient(model, x, y, loss="margin"),
                autodiff.logit_jacobians(model, x, batch_size=16),
                *autodiff.all_layer_jacobians(model, x, batch_size=16),
            )
            for _ in range(2)
        ]
        for once, again in zip(*calls, strict=True):
            np.testing.assert_array_equal(again, once)
    assert not np.array_equal(autodiff.predict(first, x), autodiff.predict(other, x))
    np.testing.assert_array_equal(autodiff.predict(other, x), other.predict_on_batch(x))


def test_compiled_cache_does_not_keep_models_alive():
    model = _linear_softmax()
    for _ in range(autodiff._DISPATCHED_CALLS + 1):  # the concrete functions too
        autodiff.input_gradient(model, _points(), np.zeros(20, int))
        autodiff.logit_jacobians(model, _points())
    assert autodiff._CACHE[model]["gradient_cross_entropy"].concrete is not None
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


def test_kernel_gradient_norms_match_a_hand_computed_gradient():
    from geoctx.models import build_mlp

    model = build_mlp(2, 2, activation="linear", width=3, depth=1)
    x = np.array([[1.0, 2.0]], dtype="float32")
    y = np.array([1])
    w1, b1, w2, b2 = model.get_weights()
    h = x @ w1 + b1
    z = h @ w2 + b2
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    dz = p - np.eye(2)[y]
    expected = [np.linalg.norm(x.T @ (dz @ w2.T)), np.linalg.norm(h.T @ dz)]
    got = autodiff.kernel_gradient_norms(model, x, y)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_a_compiled_function_runs_as_its_concrete_function_after_two_calls():
    calls = []

    class Traced:
        def __call__(self, x):
            calls.append(("tf.function", x))
            return x

        def get_concrete_function(self):
            return lambda x: calls.append(("concrete", x)) or x

    compiled = autodiff.Compiled(Traced())
    assert [compiled(k) for k in range(4)] == [0, 1, 2, 3]
    # the first two calls let geoctx.accounting see a first and a later run
    assert calls == [
        ("tf.function", 0),
        ("tf.function", 1),
        ("concrete", 2),
        ("concrete", 3),
    ]


@pytest.mark.parametrize("loss", ["cross_entropy", "margin"])
def test_gradient_calls_past_the_second_skip_the_dispatch_and_match_it(loss):
    model = _deep("gelu")
    x, y = _points(n=37), np.arange(37) % 2
    for _ in range(2):
        autodiff.logits_and_input_gradient(model, x[:9], y[:9], loss=loss)
    compiled = autodiff._CACHE[model][f"gradient_{loss}"]
    expected = [np.asarray(v) for v in compiled.function(x, y.astype(np.int32))]

    def refuse(*args):
        raise AssertionError("dispatched through the tf.function")

    function, compiled.function = compiled.function, refuse
    try:
        found = autodiff.logits_and_input_gradient(model, x, y, loss=loss)
    finally:
        compiled.function = function
    for ours, theirs in zip(found, expected, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert function.experimental_get_tracing_count() == 1


def test_the_flat_call_gives_what_the_concrete_call_gives():
    # TensorFlow's private ConcreteFunction._call_flat, which Compiled calls
    # for tensors (or arrays) of the signature's dtypes: same outputs, bit
    # for bit, as the public call; anything else takes the public call
    import tensorflow as tf

    def step(x, order):
        return tf.reduce_sum(tf.gather(x, order) * 1.5, axis=0), {"n": tf.size(order)}

    signature = [tf.TensorSpec([None, 3]), tf.TensorSpec([None], tf.int64)]
    compiled = autodiff.Compiled(tf.function(step, input_signature=signature))
    x = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    order = np.arange(7)[::-1].copy()
    for _ in range(2):
        compiled(tf.constant(x), tf.constant(order))
    for args in [(tf.constant(x), tf.constant(order)), (x, order)]:
        assert compiled._flat(args) is not None
        flat, public = compiled(*args), compiled.concrete(*args)
        np.testing.assert_array_equal(flat[0].numpy(), public[0].numpy())
        assert int(flat[1]["n"]) == int(public[1]["n"]) == 7
    # a float64 array or an int32 order is not the signature's: public call
    assert compiled._flat((x.astype(np.float64), order)) is None
    assert compiled._flat((x, order.astype(np.int32))) is None

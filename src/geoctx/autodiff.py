"""Forward passes, input gradients, Jacobians and kernel gradient norms of Keras models.

This is the only module of geoctx that uses backend autodiff or compiles
functions of a model (training, geometry and robustness call it);
everything else is backend-agnostic Keras and numpy.
Every public function dispatches on ``keras.backend.backend()``. Only
TensorFlow is implemented (``tf.GradientTape``, inside a ``tf.function``
compiled once per model and cached for the input derivatives); a JAX version
would add ``_jax_*`` builders (``jax.value_and_grad``,
``jax.vmap(jax.jacrev(...))`` under ``jax.jit``) to ``_BUILDERS``. Any other
backend raises ``NotImplementedError``.

Arrays go in and come out as numpy: inputs ``x`` of shape ``(n, d_in)``
(cast to float32), integer labels ``y`` of shape ``(n,)``. Layers are named by
``layer`` either as a Keras layer name or as a depth index: 0 is the input
(the identity map), ``k >= 1`` the k-th layer after the input (for the geoctx
MLP ``hidden_1 .. hidden_depth`` then ``logits``), and negative indices count
from the output (-1 is the logits).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import keras
import numpy as np

__all__ = [
    "LABEL_DTYPE",
    "Compiled",
    "compiled_for",
    "check_arrays",
    "input_gradient",
    "kernel_gradient_norms",
    "layer_jacobians",
    "logit_jacobians",
    "logits_and_input_gradient",
    "predict",
]

# model -> {key: compiled function}. Compiled functions reach the model through
# a weak reference, so the cache never keeps a model alive.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


#: The dtype of every labels array past a public boundary of the package.
LABEL_DTYPE = np.int32


def check_arrays(x, y=None, *, x_name="x", y_name="y"):
    """The package's one check of model inputs and labels at a public boundary.

    Used by this module and by :mod:`geoctx.robustness`, so that every
    function taking ``(x, y)`` refuses the same input with the same message
    and hands the same dtypes on.

    Parameters
    ----------
    x : array_like, shape (n, d)
        Finite numbers, at least one row.
    y : array_like of int, shape (n,), optional
        Non-negative integer class indices.
    x_name, y_name : str
        The names the error messages use.

    Returns
    -------
    x : ndarray, shape (n, d), C-contiguous float32
    y : ndarray, shape (n,), :data:`LABEL_DTYPE`, or None

    Raises
    ------
    ValueError
        Naming the array and what is wrong with it.

    Examples
    --------
    >>> x, y = check_arrays([[0, 1], [2, 3]], [1, 0])
    >>> x.dtype, y.dtype
    (dtype('float32'), dtype('int32'))
    >>> check_arrays([[0.0, 1.0]], [-1], y_name="labels")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: labels must hold non-negative integer class indices, ...minimum -1
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{x_name} must be 2-D (n, d), got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{x_name} has no rows")
    if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
        raise ValueError(f"{x_name} must contain finite numbers only")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if y is None:
        return x, None
    y = np.asarray(y)
    if y.shape != (x.shape[0],):
        raise ValueError(f"{y_name} must have shape ({x.shape[0]},), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{y_name} must hold non-negative integer class indices, got {y.dtype}"
        )
    if y.min() < 0:
        raise ValueError(
            f"{y_name} must hold non-negative integer class indices, got {y.dtype} "
            f"with minimum {y.min()}"
        )
    return x, y.astype(LABEL_DTYPE)


def _check_batch_size(batch_size):
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    return int(batch_size)


def _builders():
    backend = keras.backend.backend()
    if backend not in _BUILDERS:
        raise NotImplementedError(
            f"geoctx.autodiff supports the TensorFlow backend only, but Keras runs "
            f"on {backend!r}; set KERAS_BACKEND=tensorflow or add a {backend} "
            f"implementation to geoctx.autodiff._BUILDERS"
        )
    return _BUILDERS[backend]


#: Calls of a compiled function made through ``tf.function`` before it is
#: called as its one concrete function: the first traces and optimises the
#: graph, the second is the later call :mod:`geoctx.accounting` needs to tell
#: the first run's compile cost apart.
_DISPATCHED_CALLS = 2


class Compiled:
    """A ``tf.function`` with an input signature (so one graph), called as
    its concrete function once past :data:`_DISPATCHED_CALLS` calls.

    The concrete function is the graph the ``tf.function`` runs, so the
    numbers are the same; the call skips the ``tf.function``'s dispatch on
    its arguments, about 0.1 ms of CPU a call (an attack makes hundreds of
    calls per model, many on a few hundred rows; a small model's training
    epoch is a few milliseconds, :mod:`geoctx.training`). Arguments that
    are already tensors of the signature's dtypes (or arrays of them) go
    straight to the graph's flat call (TensorFlow's private
    ``ConcreteFunction._call_flat`` of the pinned release), which skips
    binding them to the signature as well: about half the concrete call's
    own 0.1 ms. Anything else takes the concrete function's public call.
    ``tests/test_autodiff.py`` checks that both give the same outputs.
    """

    def __init__(self, function):
        self.function = function
        self.calls = 0
        self.concrete = None
        self.dtypes = None  # the signature's, for the flat call
        self.captured = None

    def __call__(self, *args):
        if self.concrete is not None:
            flat = self._flat(args)
            if flat is None:
                return self.concrete(*args)
            return self.concrete._call_flat(flat, self.captured)
        self.calls += 1
        if self.calls == _DISPATCHED_CALLS:
            self.concrete = self.function.get_concrete_function()
            signature = getattr(self.concrete, "structured_input_signature", None)
            specs = signature[0] if signature and not signature[1] else ()
            if hasattr(self.concrete, "_call_flat") and all(
                hasattr(spec, "dtype") for spec in specs
            ):
                self.dtypes = [spec.dtype for spec in specs]
                self.captured = self.concrete.captured_inputs
        return self.function(*args)

    def _flat(self, args):
        """``args`` as the flat call's tensors, or None if one is not a
        tensor (or array) of its signature's dtype."""
        import tensorflow as tf

        if self.dtypes is None or len(args) != len(self.dtypes):
            return None
        flat = []
        for arg, dtype in zip(args, self.dtypes, strict=True):
            if isinstance(arg, np.ndarray) and arg.dtype == dtype.as_numpy_dtype:
                arg = tf.constant(arg)
            if not (isinstance(arg, tf.Tensor) and arg.dtype == dtype):
                return None
            flat.append(arg)
        return flat


def compiled_for(cache: dict, function, signature) -> Compiled:
    """``function`` compiled for the input ``signature`` (``tf.TensorSpec``
    list), kept in ``cache`` by its shapes and dtypes: one graph per shape
    of the data, called as a :class:`Compiled`."""
    import tensorflow as tf

    key = tuple((tuple(spec.shape), spec.dtype.name) for spec in signature)
    if key not in cache:
        cache[key] = Compiled(tf.function(function, input_signature=signature))
    return cache[key]


def _compiled(model, key, build) -> Callable:
    per_model = _CACHE.setdefault(model, {})
    if key not in per_model:
        per_model[key] = Compiled(build())
    return per_model[key]


def _input_dim(model):
    try:
        return model.inputs[0].shape[-1]
    except (AttributeError, IndexError, ValueError, TypeError):
        return None


def _chain_layers(model):
    return [
        layer
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]


def _resolve_layer(model, layer):
    """Return the Keras layer named by ``layer``, or None for the input."""
    chain = _chain_layers(model)
    if isinstance(layer, str):
        try:
            found = model.get_layer(layer)
        except ValueError:
            names = [lyr.name for lyr in model.layers]
            raise ValueError(
                f"layer {layer!r} not found in model; layers are {names}"
            ) from None
        return None if isinstance(found, keras.layers.InputLayer) else found
    if isinstance(layer, bool) or not isinstance(layer, int | np.integer):
        raise ValueError(f"layer must be a name or an int index, got {layer!r}")
    depth = len(chain)
    index = int(layer) + depth + 1 if layer < 0 else int(layer)
    if not 0 <= index <= depth:
        raise ValueError(
            f"layer index {layer} out of range [-{depth + 1}, {depth}] for a model "
            f"with {depth} layers after the input"
        )
    return None if index == 0 else chain[index - 1]


def _layer_function(model, target):
    """A callable mapping model inputs to ``target``'s output."""
    if target is _chain_layers(model)[-1]:
        return model
    if isinstance(model, keras.Sequential):
        chain = _chain_layers(model)
        stop = next(i for i, lyr in enumerate(chain) if lyr is target)

        def upto(x, training=False):
            for lyr in chain[: stop + 1]:
                x = lyr(x, training=training)
            return x

        return upto
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, target.output)


def _weak_call(model):
    ref = weakref.ref(model)

    def call(x, training=False):
        return ref()(x, training=training)

    return call


# TensorFlow implementation --------------------------------------------------


def _tf_margin_losses(tf, y, logits):
    """Carlini-Wagner margin ``max_{j != y} z_j - z_y`` per example."""
    true = tf.one_hot(y, tf.shape(logits)[1], on_value=True, off_value=False)
    others = tf.where(true, tf.fill(tf.shape(logits), -np.inf), logits)
    return tf.reduce_max(others, axis=1) - tf.reduce_sum(
        tf.where(true, logits, tf.zeros_like(logits)), axis=1
    )


def _tf_predict_builder(model):
    import tensorflow as tf

    call = _weak_call(model)
    signature = [tf.TensorSpec([None, _input_dim(model)], tf.float32)]

    @tf.function(input_signature=signature, autograph=False)
    def predict(x):
        return tf.nest.map_structure(
            lambda out: tf.cast(out, tf.float32), call(x, training=False)
        )

    return predict


def _tf_gradient_builder(model, loss="cross_entropy"):
    import tensorflow as tf

    call = _weak_call(model)
    signature = [
        tf.TensorSpec([None, _input_dim(model)], tf.float32),
        tf.TensorSpec([None], tf.int32),
    ]

    @tf.function(input_signature=signature, autograph=False)
    def logits_and_gradient(x, y):
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = tf.cast(call(x, training=False), tf.float32)
            if loss == "margin":
                losses = _tf_margin_losses(tf, y, logits)
            else:
                losses = tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits)
            total = tf.reduce_sum(losses)
        return logits, tape.gradient(total, x)

    return logits_and_gradient


def _tf_stacked_jacobians(tf, call, x, sizes):
    """Jacobians of the outputs of ``call`` (``sizes[k]`` units each) w.r.t. x.

    One backward pass over ``sum(sizes)`` copies of the points, copy ``u``
    seeded with unit ``u``: row by row the products of
    ``tape.batch_jacobian``, whose vectorised trace costs several times
    more (a test checks they agree bit for bit).
    """
    n, units = tf.shape(x)[0], sum(sizes)
    copies = tf.tile(x, [units, 1])  # row u * n + i: unit u at point i
    with tf.GradientTape() as tape:
        tape.watch(copies)
        outs = call(copies, training=False)
        outs = outs if isinstance(outs, list | tuple) else [outs]
        seeded, offset = [], 0
        for out, size in zip(outs, sizes, strict=True):
            out = tf.reshape(tf.cast(out, tf.float32), [n * units, size])
            seed = np.zeros((units, size), dtype=np.float32)
            seed[offset : offset + size] = np.eye(size, dtype=np.float32)
            seeded.append(tf.reduce_sum(out * tf.repeat(seed, n, axis=0)))
            offset += size
        total = tf.add_n(seeded)
    gradient = tape.gradient(total, copies)
    gradient = tf.reshape(gradient, [units, n, tf.shape(x)[1]])
    return tf.split(tf.transpose(gradient, [1, 0, 2]), sizes, axis=1)


def _units(layer):
    return int(np.prod(layer.output.shape[1:]))


#: Cap on copies x layer units held per Jacobian call (float32: 64 MB each).
_JACOBIAN_ELEMENTS = 2**24


def _jacobian_block(model, copies, batch_size):
    """Points per Jacobian call: ``batch_size``, fewer if their copies would
    hold more than :data:`_JACOBIAN_ELEMENTS` layer outputs."""
    per_point = copies * sum(_units(layer) for layer in _chain_layers(model))
    return max(1, min(batch_size, _JACOBIAN_ELEMENTS // per_point))


def _tf_jacobian_builder(model, function, target):
    import tensorflow as tf

    call = _weak_call(model) if function is model else function
    signature = [tf.TensorSpec([None, _input_dim(model)], tf.float32)]

    @tf.function(input_signature=signature, autograph=False)
    def jacobian(x):
        return _tf_stacked_jacobians(tf, call, x, [_units(target)])[0]

    return jacobian


def _tf_all_jacobians_builder(model):
    import tensorflow as tf

    outputs = keras.Model(model.inputs, [layer.output for layer in model.layers])
    sizes = [_units(layer) for layer in model.layers]
    signature = [tf.TensorSpec([None, _input_dim(model)], tf.float32)]

    @tf.function(input_signature=signature, autograph=False)
    def jacobians(x):
        return _tf_stacked_jacobians(tf, outputs, x, sizes)

    return jacobians


_BUILDERS = {
    "tensorflow": {
        "predict": _tf_predict_builder,
        "gradient": _tf_gradient_builder,
        "jacobian": _tf_jacobian_builder,
        "all_jacobians": _tf_all_jacobians_builder,
    },
}


# Public API --------------------------------------------------------------------


def predict(model, x, *, batch_size=4096):
    """``model(x)`` in inference mode as float32 numpy, ``batch_size`` rows a call.

    What Keras's ``predict`` and ``predict_on_batch`` return, bit for bit,
    from one compiled function per model traced once for any number of rows
    (they trace again for new batch shapes, and ``predict`` builds a data
    pipeline per call). A model with several outputs gives a list of arrays.

    Examples
    --------
    >>> predict(model, x).shape  # doctest: +SKIP
    (256, 2)
    """
    x, _ = check_arrays(x)
    batch_size = _check_batch_size(batch_size)
    builders = _builders()
    function = _compiled(model, "predict", lambda: builders["predict"](model))
    blocks = [
        function(x[start : start + batch_size])
        for start in range(0, x.shape[0], batch_size)
    ]
    if isinstance(blocks[0], list | tuple):
        return [
            np.concatenate([keras.ops.convert_to_numpy(b[k]) for b in blocks])
            for k in range(len(blocks[0]))
        ]
    return np.concatenate([keras.ops.convert_to_numpy(b) for b in blocks])


#: Losses of :func:`logits_and_input_gradient`.
LOSSES = ("cross_entropy", "margin")


def logits_and_input_gradient(model, x, y, *, loss="cross_entropy", batch_size=1024):
    """Logits and input gradient of a classification loss in one pass.

    ``loss="cross_entropy"`` is the softmax cross-entropy. Its gradient is
    ``softmax - onehot`` times the logit Jacobian, which is exactly zero in
    float32 once the true logit leads by enough that the other
    probabilities underflow (gradient masking). ``loss="margin"`` is the
    Carlini-Wagner margin ``max_{j != y} z_j - z_y`` (Carlini & Wagner,
    2017), whose gradient is a difference of two logit gradients and never
    vanishes for that reason.

    Parameters
    ----------
    model : keras.Model
        Maps float32 inputs ``(n, d_in)`` to logits ``(n, n_classes)``.
    x : array_like, shape (n, d_in)
        Inputs.
    y : array_like of int, shape (n,)
        True class indices.
    loss : {"cross_entropy", "margin"}, default "cross_entropy"
    batch_size : int, default 1024
        Rows per backend call; the result does not depend on it.

    Returns
    -------
    logits : ndarray, shape (n, n_classes), float32
        ``model(x)`` in inference mode.
    gradient : ndarray, shape (n, d_in), float32
        Gradient of the *summed* loss, so row ``i`` is the gradient of
        example ``i``'s own loss and does not shrink with ``n``.

    Examples
    --------
    >>> logits, grad = logits_and_input_gradient(model, x, y)  # doctest: +SKIP
    >>> _, up = logits_and_input_gradient(model, x, y, loss="margin")  # doctest: +SKIP
    """
    x, y = check_arrays(x, y)
    batch_size = _check_batch_size(batch_size)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    builders = _builders()
    function = _compiled(
        model, f"gradient_{loss}", lambda: builders["gradient"](model, loss)
    )
    logits, grads = [], []
    for start in range(0, x.shape[0], batch_size):
        out, grad = function(
            x[start : start + batch_size], y[start : start + batch_size]
        )
        logits.append(keras.ops.convert_to_numpy(out))
        grads.append(keras.ops.convert_to_numpy(grad))
    return np.concatenate(logits), np.concatenate(grads)


def input_gradient(model, x, y, *, loss="cross_entropy", batch_size=1024):
    """Gradient of a loss of the logits (default softmax cross-entropy) w.r.t. x.

    The loss is the *sum* over examples of ``-log softmax(model(x))[y]``, so row
    ``i`` is the gradient of example ``i``'s own loss (divide by ``n`` for the
    gradient of the mean).

    Parameters
    ----------
    model : keras.Model
        Maps float32 inputs ``(n, d_in)`` to logits ``(n, n_classes)``.
    x : array_like, shape (n, d_in)
        Inputs.
    y : array_like of int, shape (n,)
        True class indices.
    loss : {"cross_entropy", "margin"}, default "cross_entropy"
        As in :func:`logits_and_input_gradient`.
    batch_size : int, default 1024
        Rows per backend call.

    Returns
    -------
    ndarray, shape (n, d_in), float32

    Examples
    --------
    >>> g = input_gradient(model, x, y)  # doctest: +SKIP
    >>> x_fgsm = x + 0.1 * np.sign(g)  # doctest: +SKIP
    """
    return logits_and_input_gradient(model, x, y, loss=loss, batch_size=batch_size)[1]


def all_layer_jacobians(model, x, *, batch_size=256):
    """Jacobian of every layer's output w.r.t. the input, in one traced pass.

    Parameters
    ----------
    model : keras.Model
        A Sequential (or single-chain functional) model with one input.
    x : array_like, shape (n, d_in)
    batch_size : int, default 256

    Returns
    -------
    list of ndarray
        ``J[0]`` is the identity (the input layer), ``J[k]`` has shape
        ``(n, d_k, d_in)`` for the k-th layer after the input; the last is
        the logits. Equal to :func:`layer_jacobians` layer by layer, with
        one function traced per model instead of one per layer.
    """
    x, _ = check_arrays(x)
    batch_size = _check_batch_size(batch_size)
    builders = _builders()
    function = _compiled(
        model, "all_jacobians", lambda: builders["all_jacobians"](model)
    )
    block = _jacobian_block(model, sum(map(_units, model.layers)), batch_size)
    parts = [
        function(x[start : start + block]) for start in range(0, x.shape[0], block)
    ]
    eye = np.broadcast_to(
        np.eye(x.shape[1], dtype=np.float32), (x.shape[0], x.shape[1], x.shape[1])
    )
    layers = [
        np.concatenate([keras.ops.convert_to_numpy(p[k]) for p in parts])
        for k in range(len(parts[0]))
    ]
    return [np.array(eye), *layers]


def layer_jacobians(model, x, *, layer, batch_size=256):
    """Jacobian of one layer's output w.r.t. the model input, per point.

    Parameters
    ----------
    model : keras.Model
        A Sequential model or a functional model with one input.
    x : array_like, shape (n, d_in)
        Points at which to differentiate.
    layer : str or int
        Layer name, or depth index (0 = input, which gives the identity;
        ``k`` = k-th layer after the input; -1 = output layer).
    batch_size : int, default 256
        Points per backend call (fewer if their copies, one per unit of the
        layer, would be large); the result does not depend on it.

    Returns
    -------
    ndarray, shape (n, d_layer, d_in), float32
        ``J[i, a, b] = d h_a(x_i) / d x_b``.

    Examples
    --------
    >>> J = layer_jacobians(model, x, layer="hidden_1")  # doctest: +SKIP
    >>> s = np.linalg.svd(J, compute_uv=False)  # local isometry  # doctest: +SKIP
    """
    x, _ = check_arrays(x)
    batch_size = _check_batch_size(batch_size)
    builders = _builders()
    target = _resolve_layer(model, layer)
    if target is None:
        eye = np.eye(x.shape[1], dtype=np.float32)
        return np.repeat(eye[None], x.shape[0], axis=0)

    def build():
        return builders["jacobian"](model, _layer_function(model, target), target)

    function = _compiled(model, ("jacobian", target.name), build)
    block = _jacobian_block(model, _units(target), batch_size)
    blocks = [
        keras.ops.convert_to_numpy(function(x[start : start + block]))
        for start in range(0, x.shape[0], block)
    ]
    return np.concatenate(blocks)


def logit_jacobians(model, x, *, batch_size=256):
    """Jacobian of the logits w.r.t. the input, per point.

    Parameters
    ----------
    model : keras.Model
        Maps ``(n, d_in)`` to logits ``(n, n_classes)``.
    x : array_like, shape (n, d_in)
        Points at which to differentiate.
    batch_size : int, default 256
        Rows per backend call.

    Returns
    -------
    ndarray, shape (n, n_classes, d_in), float32

    Examples
    --------
    >>> J = logit_jacobians(model, x)  # doctest: +SKIP
    >>> local_lipschitz = np.linalg.norm(J, ord=2, axis=(1, 2))  # doctest: +SKIP
    """
    return layer_jacobians(model, x, layer=-1, batch_size=batch_size)


def kernel_gradient_norms(model, x, y) -> list[float]:
    """L2 norm of the gradient of the loss w.r.t. each layer's kernel, on one batch.

    The loss is the *mean* softmax cross-entropy of the logits over the batch,
    in inference mode (the training loss of :mod:`geoctx.training`).

    Parameters
    ----------
    model : keras.Model
        Every layer after the input has a ``kernel`` (e.g. the geoctx MLP).
    x : array_like, shape (n, d_in)
    y : array_like of int, shape (n,)

    Returns
    -------
    list of float
        One Frobenius norm per layer, in layer order (the logits last).

    Examples
    --------
    >>> kernel_gradient_norms(model, x[:64], y[:64])  # doctest: +SKIP
    [0.012, 0.034, 0.21]
    """
    x, y = check_arrays(x, y)
    _builders()
    import tensorflow as tf

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    kernels = [layer.kernel for layer in _chain_layers(model)]
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=False))
    grads = tape.gradient(loss, kernels)
    return [float(np.linalg.norm(np.asarray(g, dtype=np.float64))) for g in grads]

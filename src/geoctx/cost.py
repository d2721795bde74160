"""Inference cost: forward-pass latency by activation, depth, width and batch.

Latencies are machine-dependent; what carries over between machines is the
ratio to ReLU at the same depth, width and batch size, which is what the
report shows. Every row records the backend, the CPU and the thread count.
The timers :func:`inference_latency` (a model's forward pass) and
:func:`activation_op_latency` (the activation alone) return median and
interquartile latency in milliseconds and the throughput at the median.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from geoctx.tables import cpu_name


def benchmark_activation(
    activation: str,
    *,
    depths,
    widths,
    batch_sizes,
    n_features: int = 64,
    n_classes: int = 10,
    repeats: int = 50,
    warmup: int = 5,
    op_size: int = 1_048_576,
    threads: int = 1,
) -> pd.DataFrame:
    """Time one activation's MLPs and its op alone; one row per measurement.

    Rows with ``op = "mlp_forward"`` time ``model.predict_on_batch`` of an
    untrained :func:`geoctx.models.build_mlp` model; the row with
    ``op = "activation_op"`` times the activation alone on ``op_size``
    float32 elements (``depth = width = 0``, ``batch_size = op_size``).
    Call :func:`geoctx.training.configure_backend` with ``threads`` first.
    """
    import keras

    from geoctx.models import build_mlp

    common = {
        "activation": activation,
        "backend": keras.backend.backend(),
        "cpu": cpu_name(),
        "threads": threads,
    }
    rows = []
    for depth in depths:
        for width in widths:
            keras.utils.set_random_seed(0)
            model = build_mlp(
                n_features, n_classes, activation=activation, width=width, depth=depth
            )
            for batch_size in batch_sizes:
                t = inference_latency(
                    model, batch_size=batch_size, repeats=repeats, warmup=warmup
                )
                rows.append(
                    {
                        **common,
                        "depth": depth,
                        "width": width,
                        "batch_size": batch_size,
                        "op": "mlp_forward",
                        **_columns(t),
                    }
                )
    t = activation_op_latency(activation, size=op_size, repeats=repeats, warmup=warmup)
    rows.append(
        {
            **common,
            "depth": 0,
            "width": 0,
            "batch_size": op_size,
            "op": "activation_op",
            **_columns(t),
        }
    )
    return pd.DataFrame(rows)


def _check_count(value, name, minimum=1):
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def _timing_summary(seconds, items):
    ms = np.asarray(seconds) * 1e3
    q25, median, q75 = np.percentile(ms, [25, 50, 75])
    return {
        "latency_median_ms": float(median),
        "latency_iqr_ms": float(q75 - q25),
        "throughput_per_s": float(items / (median / 1e3)),
    }


def _block(value):
    # JAX dispatches asynchronously; TensorFlow eager ops return when done.
    if hasattr(value, "block_until_ready"):
        value.block_until_ready()
    return value


def inference_latency(
    model, *, batch_size=256, repeats=50, warmup=5, rng=0
) -> dict[str, float]:
    """Wall-clock time of one inference batch through ``model.predict_on_batch``.

    Thread count is the caller's job: for single-thread numbers call
    ``tf.config.threading.set_intra_op_parallelism_threads(1)`` and
    ``set_inter_op_parallelism_threads(1)`` before TensorFlow runs any op (or
    set ``TF_NUM_INTRAOP_THREADS=1`` and ``TF_NUM_INTEROP_THREADS=1``).

    Parameters
    ----------
    model : keras.Model
        With a known input shape (``model.inputs``).
    batch_size : int, default 256
    repeats : int, default 50
        Timed calls.
    warmup : int, default 5
        Untimed calls first (tracing, caches).
    rng : int, numpy.random.Generator or None, default 0
        For the standard-normal input batch.

    Returns
    -------
    dict
        ``latency_median_ms`` and ``latency_iqr_ms`` per batch, and
        ``throughput_per_s`` (samples per second at the median latency).

    Examples
    --------
    >>> inference_latency(model, batch_size=1)  # doctest: +SKIP
    {'latency_median_ms': 0.41, 'latency_iqr_ms': 0.02, 'throughput_per_s': 2439.0}
    """
    batch_size = _check_count(batch_size, "batch_size")
    repeats = _check_count(repeats, "repeats")
    warmup = _check_count(warmup, "warmup", minimum=0)
    try:
        shape = tuple(model.inputs[0].shape[1:])
    except (AttributeError, IndexError, ValueError) as error:
        raise ValueError("model has no known input shape; build it first") from error
    x = (
        np.random.default_rng(rng)
        .standard_normal((batch_size, *shape))
        .astype(np.float32)
    )
    for _ in range(warmup):
        model.predict_on_batch(x)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(x)
        seconds.append(time.perf_counter() - start)
    return _timing_summary(seconds, batch_size)


def activation_op_latency(
    name, *, size=1_048_576, repeats=50, warmup=5, rng=0
) -> dict[str, float]:
    """Wall-clock time of the activation op alone on a float32 tensor.

    The op is ``keras.activations.get(name)`` applied eagerly to a standard-
    normal tensor of ``size`` elements. ``"linear"`` returns its input
    untouched and so measures the call overhead. Thread count is the caller's
    job (see :func:`inference_latency`).

    Parameters
    ----------
    name : str
        A Keras activation name, e.g. ``"relu"``, ``"sigmoid"``, ``"gelu"``.
    size : int, default 2**20
        Number of elements.
    repeats : int, default 50
    warmup : int, default 5
    rng : int, numpy.random.Generator or None, default 0

    Returns
    -------
    dict
        ``latency_median_ms``, ``latency_iqr_ms`` per call and
        ``throughput_per_s`` (elements per second at the median latency).

    Examples
    --------
    >>> activation_op_latency("sigmoid", size=10**6)  # doctest: +SKIP
    {'latency_median_ms': 0.9, 'latency_iqr_ms': 0.05, 'throughput_per_s': 1.1e9}
    """
    import keras

    try:
        op = keras.activations.get(name)
    except ValueError as error:
        raise ValueError(f"unknown activation {name!r}") from error
    size = _check_count(size, "size")
    repeats = _check_count(repeats, "repeats")
    warmup = _check_count(warmup, "warmup", minimum=0)
    x = keras.ops.convert_to_tensor(
        np.random.default_rng(rng).standard_normal(size).astype(np.float32)
    )
    for _ in range(warmup):
        _block(op(x))
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        _block(op(x))
        seconds.append(time.perf_counter() - start)
    return _timing_summary(seconds, size)


def _columns(timing: dict) -> dict:
    return {
        "latency_ms_median": timing["latency_median_ms"],
        "latency_ms_iqr": timing["latency_iqr_ms"],
        "throughput_per_s": timing["throughput_per_s"],
    }


def ratio_to(df: pd.DataFrame, reference: str | None = None) -> pd.DataFrame:
    """Median latency over the reference activation's at the same op, depth,
    width and batch size (column ``latency_ratio``); rows without a matching
    reference are dropped. The reference defaults to ReLU when the table has
    it, else the first activation in alphabetical order."""
    if reference is None:
        names = sorted(df["activation"].unique())
        reference = "relu" if "relu" in names else names[0]
    keys = ["op", "depth", "width", "batch_size"]
    ref = df[df["activation"] == reference][[*keys, "latency_ms_median"]]
    merged = df.merge(ref, on=keys, suffixes=("", "_reference"))
    return merged.assign(
        latency_ratio=merged["latency_ms_median"]
        / merged["latency_ms_median_reference"]
    )

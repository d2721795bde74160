"""Inference cost: forward-pass latency by activation, depth, width and batch.

Latencies are machine-dependent; what carries over between machines is the
ratio to ReLU at the same depth, width and batch size, which is what the
report shows. :func:`benchmark_cell` times every activation of one depth x
width cell in one process, interleaved in random order over repeated blocks,
so that :func:`ratio_to` can divide latencies measured moments apart. The
workflow repeats that in several fresh processes (timing runs, ``run``),
the replicates of a cell's timing. Every row records the backend, the CPU,
the thread count, the run and how many calls over how many seconds it
timed.
The timers :func:`inference_latency` (a model's forward pass) and
:func:`activation_op_latency` (the activation alone) return median and
interquartile latency in milliseconds and the throughput at the median.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from geoctx.tables import cpu_name

#: ``depth`` and ``width`` of the cell that times the activation op alone.
OP_CELL = (0, 0)


def benchmark_cell(
    activations,
    *,
    depth: int,
    width: int,
    batch_sizes=(1, 256),
    n_features: int = 64,
    n_classes: int = 10,
    blocks: int = 30,
    repeats: int = 10,
    min_seconds: float = 1.0,
    warmup: int = 5,
    op_size: int = 1_048_576,
    threads: int = 1,
    run: int = 0,
) -> pd.DataFrame:
    """Time every activation of one depth x width cell, interleaved in blocks.

    Timing the activations one after another (or in separate jobs) confounds
    them with whatever the machine does meanwhile: turbo states, heat, other
    processes. Here every measurement of the cell (each activation at each
    batch size) is prepared and warmed up first; then each of ``blocks``
    blocks times every measurement once, ``repeats`` calls each, in a fresh
    random order. Drift slower than a block cancels in the ratio of two
    activations within the block (:func:`ratio_to`); the order cancels in
    the median over blocks.

    Each measurement is timed for at least ``min_seconds`` in all: in each
    block it makes at least ``repeats`` calls, and goes on until its calls
    have taken ``min_seconds / blocks``. ``run`` numbers
    this timing run (one process): it seeds the block order and is
    recorded, so repeated runs of a cell, in fresh processes, are the
    replicates of its timing.

    For ``(depth, width) = (0, 0)`` (:data:`OP_CELL`) the rows time the
    activation alone (``op = "activation_op"``, ``batch_size = op_size``,
    :func:`activation_op_latency`); otherwise ``model.predict_on_batch`` of
    an untrained :func:`geoctx.models.build_mlp` model (``op =
    "mlp_forward"``, :func:`inference_latency`). Call
    :func:`geoctx.training.configure_backend` with ``threads`` first.

    Returns
    -------
    pandas.DataFrame
        One row per block, activation and batch size, in timing order, with
        the columns of the ``inference`` table (:data:`geoctx.tables.SCHEMAS`).
    """
    import keras

    from geoctx.models import build_mlp

    blocks = _check_count(blocks, "blocks")
    repeats = _check_count(repeats, "repeats")
    run = _check_count(run, "run", minimum=0)
    if not np.isfinite(min_seconds) or min_seconds < 0:
        raise ValueError(f"min_seconds must be a number >= 0, got {min_seconds}")
    activations = list(activations)
    if not activations or len(set(activations)) != len(activations):
        raise ValueError(f"activations must be distinct and not empty: {activations}")
    if (depth, width) == OP_CELL:
        op = "activation_op"
        timers = {
            (name, op_size): _op_timer(name, size=op_size, warmup=warmup)
            for name in activations
        }
    else:
        op = "mlp_forward"
        timers = {}
        for name in activations:
            keras.utils.set_random_seed(0)
            model = build_mlp(
                n_features, n_classes, activation=name, width=width, depth=depth
            )
            for batch_size in batch_sizes:
                timers[name, batch_size] = _model_timer(
                    model, batch_size=batch_size, warmup=warmup
                )
    common = {
        "depth": depth,
        "width": width,
        "op": op,
        "backend": keras.backend.backend(),
        "cpu": cpu_name(),
        "threads": threads,
        "run": run,
    }
    order = list(timers)
    rng = np.random.default_rng(run)
    rows = []
    for block in range(blocks):
        for i in rng.permutation(len(order)):
            name, batch_size = order[i]
            timing = timers[name, batch_size](repeats, min_seconds / blocks)
            rows.append(
                {
                    **common,
                    "activation": name,
                    "batch_size": batch_size,
                    "block": block,
                    **_columns(timing),
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
        "calls": len(ms),
        "timed_s": float(np.sum(ms) / 1e3),
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
        ``latency_median_ms`` and ``latency_iqr_ms`` per batch,
        ``throughput_per_s`` (samples per second at the median latency),
        ``calls`` (timed calls) and ``timed_s`` (their total seconds).

    Examples
    --------
    >>> inference_latency(model, batch_size=1)  # doctest: +SKIP
    {'latency_median_ms': 0.41, 'latency_iqr_ms': 0.02, 'throughput_per_s': 2439.0}
    """
    repeats = _check_count(repeats, "repeats")
    return _model_timer(model, batch_size=batch_size, warmup=warmup, rng=rng)(repeats)


def _model_timer(model, *, batch_size, warmup, rng=0):
    """Warm ``model`` up on a fixed batch; return ``repeats -> timing``."""
    batch_size = _check_count(batch_size, "batch_size")
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
    return _timer(lambda: model.predict_on_batch(x), batch_size, warmup)


def _timer(call, items, warmup):
    for _ in range(warmup):
        _block(call())

    def timing(repeats, seconds=0.0):
        """``repeats`` calls at least, and on until they sum to ``seconds``."""
        times = []
        total = 0.0
        while len(times) < repeats or total < seconds:
            start = time.perf_counter()
            _block(call())
            times.append(time.perf_counter() - start)
            total += times[-1]
        return _timing_summary(times, items)

    return timing


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
        ``latency_median_ms``, ``latency_iqr_ms`` per call,
        ``throughput_per_s`` (elements per second at the median latency),
        ``calls`` and ``timed_s``.

    Examples
    --------
    >>> activation_op_latency("sigmoid", size=10**6)  # doctest: +SKIP
    {'latency_median_ms': 0.9, 'latency_iqr_ms': 0.05, 'throughput_per_s': 1.1e9}
    """
    repeats = _check_count(repeats, "repeats")
    return _op_timer(name, size=size, warmup=warmup, rng=rng)(repeats)


def _op_timer(name, *, size, warmup, rng=0):
    """Warm the activation op up on a fixed tensor; return ``repeats -> timing``."""
    import keras

    try:
        op = keras.activations.get(name)
    except ValueError as error:
        raise ValueError(f"unknown activation {name!r}") from error
    size = _check_count(size, "size")
    warmup = _check_count(warmup, "warmup", minimum=0)
    x = keras.ops.convert_to_tensor(
        np.random.default_rng(rng).standard_normal(size).astype(np.float32)
    )
    return _timer(lambda: op(x), size, warmup)


def _columns(timing: dict) -> dict:
    return {
        "latency_ms_median": timing["latency_median_ms"],
        "latency_ms_iqr": timing["latency_iqr_ms"],
        "throughput_per_s": timing["throughput_per_s"],
        "calls": timing["calls"],
        "timed_s": timing["timed_s"],
    }


def ratio_to(df: pd.DataFrame, reference: str | None = None) -> pd.DataFrame:
    """Median latency over the reference activation's at the same op, depth,
    width, batch size and block (column ``latency_ratio``).

    Rows without a matching reference are dropped. Within a block
    (:func:`benchmark_cell`) the activations were timed moments apart, so the
    ratio is free of slower machine drift; summarise it over blocks (median)
    rather than dividing medians over blocks. A table without a ``block``
    column is matched on the other keys. The reference defaults to ReLU when
    the table has it, else the first activation in alphabetical order.

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "activation": ["relu", "sigmoid"] * 2, "op": "mlp_forward",
    ...     "depth": 2, "width": 8, "batch_size": 1, "block": [0, 0, 1, 1],
    ...     "latency_ms_median": [1.0, 1.5, 2.0, 2.4]})
    >>> ratio_to(df).latency_ratio.tolist()
    [1.0, 1.5, 1.0, 1.2]
    """
    if df.empty:
        return df.assign(latency_ratio=pd.Series(dtype=float))
    if reference is None:
        names = sorted(df["activation"].unique())
        reference = "relu" if "relu" in names else names[0]
    keys = [
        k for k in ("op", "depth", "width", "batch_size", "run", "block") if k in df
    ]
    ref = df[df["activation"] == reference][[*keys, "latency_ms_median"]]
    merged = df.merge(ref, on=keys, suffixes=("", "_reference"))
    return merged.assign(
        latency_ratio=merged["latency_ms_median"]
        / merged["latency_ms_median_reference"]
    )

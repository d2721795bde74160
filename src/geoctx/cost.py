"""Inference cost: forward-pass latency by activation, depth, width and batch.

Latencies are machine-dependent; what carries over between machines is the
ratio to ReLU at the same depth, width and batch size, which is what the
report shows. Every row records the backend, the CPU and the thread count.
"""

from __future__ import annotations

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
    from geoctx.robustness import activation_op_latency, inference_latency

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

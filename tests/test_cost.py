"""The latency timers of geoctx.cost."""

import keras
import pytest

from geoctx import cost


def test_inference_latency_reports_consistent_timings():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    result = cost.inference_latency(model, batch_size=32, repeats=5, warmup=1)
    assert set(result) == {"latency_median_ms", "latency_iqr_ms", "throughput_per_s"}
    assert result["latency_median_ms"] > 0 and result["latency_iqr_ms"] >= 0
    assert result["throughput_per_s"] == pytest.approx(
        32 / (result["latency_median_ms"] / 1e3)
    )


def test_activation_op_latency_grows_with_size():
    small = cost.activation_op_latency("sigmoid", size=1_000, repeats=20)
    large = cost.activation_op_latency("sigmoid", size=4_000_000, repeats=5)
    assert large["latency_median_ms"] > small["latency_median_ms"]
    with pytest.raises(ValueError, match="not_an_activation"):
        cost.activation_op_latency("not_an_activation")


@pytest.mark.parametrize(
    ("options", "match"), [({"repeats": 0}, "repeats"), ({"warmup": -1}, "warmup")]
)
def test_timers_reject_bad_counts(options, match):
    with pytest.raises(ValueError, match=match):
        cost.activation_op_latency("relu", size=10, **options)

"""The latency timers of geoctx.cost."""

import keras
import numpy as np
import pandas as pd
import pytest

from geoctx import cost, evidence, tables


def test_inference_latency_reports_consistent_timings():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    result = cost.inference_latency(model, batch_size=32, repeats=5, warmup=1)
    assert set(result) == {
        "latency_median_ms",
        "latency_iqr_ms",
        "throughput_per_s",
        "calls",
        "timed_s",
    }
    assert result["calls"] == 5 and result["timed_s"] > 0
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


def _drifting_table():
    """Four blocks whose machine slows 2x per block; sigmoid always 1.5x ReLU."""
    speed = [1.0, 2.0, 4.0, 8.0]
    return pd.DataFrame(
        {
            "activation": ["relu", "sigmoid"] * 4,
            "op": "mlp_forward",
            "depth": 2,
            "width": 8,
            "batch_size": 256,
            "block": np.repeat(range(4), 2),
            "latency_ms_median": np.repeat(speed, 2) * np.tile([1.0, 1.5], 4),
        }
    )


def test_ratio_is_taken_within_each_block():
    ratios = cost.ratio_to(_drifting_table())
    assert ratios[ratios.activation == "sigmoid"].latency_ratio.tolist() == [1.5] * 4
    assert (ratios[ratios.activation == "relu"].latency_ratio == 1.0).all()
    # Without blocks, sigmoid's block 0 against ReLU's block 3 would read 1.5 / 8.
    assert cost.ratio_to(_drifting_table().iloc[:0]).empty


def test_c9_evidence_is_the_median_per_block_log2_ratio_per_batch_and_run():
    (c9,) = [ev for ev in evidence.EVIDENCE if ev.claim == "C9"]
    table = _drifting_table()
    table.loc[7, "latency_ms_median"] = 8.0 * 3.0  # one outlying block: 3x
    small = table.assign(batch_size=1, latency_ms_median=1.0)
    # a second timing run of batch 256 where sigmoid is 2x in every block
    rerun = _drifting_table().assign(run=1)
    rerun.loc[rerun.activation == "sigmoid", "latency_ms_median"] *= 2.0 / 1.5
    values = c9.extract(
        {"inference": pd.concat([table.assign(run=0), small.assign(run=0), rerun])}
    )
    values = values.set_index(["batch_size", "run", "activation"]).value
    assert (values.xs("relu", level="activation") == 0.0).all()
    assert values[256, 0, "sigmoid"] == pytest.approx(np.log2(1.5))  # median of 4
    assert values[256, 1, "sigmoid"] == pytest.approx(1.0)
    assert values[1, 0, "sigmoid"] == 0.0  # every batch size its own row
    assert list(c9.unit) == ["depth", "width", "batch_size", "run"]
    assert c9.condition_on == ("depth", "width", "batch_size")


def tiny_cell(**options):
    """Sigmoid and ReLU timed on a 3-feature, width-4 single-layer model."""
    settings = dict(depth=1, width=4, n_features=3, n_classes=2, repeats=3, warmup=1)
    return cost.benchmark_cell(["relu", "sigmoid"], **settings, **options)


def test_benchmark_cell_interleaves_every_activation_in_every_block():
    table = tiny_cell(batch_sizes=[1, 8], blocks=3, min_seconds=0.0, run=2)
    assert len(table) == 3 * 2 * 2 and set(table.op) == {"mlp_forward"}
    assert set(table.run) == {2} and (table.calls == 3).all()
    per_block = table.groupby("block")[["activation", "batch_size"]]
    for _, block in per_block:
        assert sorted(map(tuple, block.to_numpy())) == sorted(
            [("relu", 1), ("relu", 8), ("sigmoid", 1), ("sigmoid", 8)]
        )
    orders = [tuple(map(tuple, block.to_numpy())) for _, block in per_block]
    assert len(set(orders)) > 1  # a fresh random order per block (seed: run)
    assert (table.latency_ms_median > 0).all()
    tables.to_table(table, "inference")  # the table's schema, columns and types


def test_benchmark_cell_op_cell_times_the_activation_alone():
    table = cost.benchmark_cell(
        ["relu", "tanh"],
        depth=0,
        width=0,
        blocks=2,
        repeats=3,
        min_seconds=0.0,
        op_size=1000,
    )
    assert set(table.op) == {"activation_op"}
    assert set(table.batch_size) == {1000} and len(table) == 2 * 2


def test_every_measurement_is_timed_for_at_least_min_seconds():
    table = tiny_cell(batch_sizes=[1], blocks=4, min_seconds=0.2)
    # every block times on until its calls sum to 0.2 / 4 = 0.05 s
    assert (table.timed_s >= 0.05).all() and (table.calls >= 3).all()
    assert (table.groupby("activation").timed_s.sum() >= 0.2).all()


@pytest.mark.parametrize(
    ("activations", "options", "match"),
    [
        (["relu"], {"blocks": 0}, "blocks"),
        (["relu"], {"run": -1}, "run"),
        (["relu"], {"min_seconds": -1.0}, "min_seconds"),
        (["relu", "relu"], {}, "distinct"),
        ([], {}, "not empty"),
    ],
)
def test_benchmark_cell_rejects_bad_settings(activations, options, match):
    with pytest.raises(ValueError, match=match):
        cost.benchmark_cell(activations, depth=0, width=0, op_size=10, **options)


def test_inference_part_must_hold_its_cell(tmp_path):
    table = _drifting_table().assign(
        backend="tensorflow", latency_ms_iqr=0.0, throughput_per_s=1.0, cpu="x"
    )
    table = table.assign(threads=1, run=1, calls=3, timed_s=0.1)
    tables.write(table, tmp_path / "w8_d2_r1.parquet", "inference")
    assert tables.read_part(tmp_path / "w8_d2_r1.parquet", "inference").num_rows == 8
    tables.write(table, tmp_path / "w8_d3_r1.parquet", "inference")
    with pytest.raises(ValueError, match="depth=3"):
        tables.read_part(tmp_path / "w8_d3_r1.parquet", "inference")
    tables.write(table, tmp_path / "w8_d2_r0.parquet", "inference")
    with pytest.raises(ValueError, match="run=0"):
        tables.read_part(tmp_path / "w8_d2_r0.parquet", "inference")

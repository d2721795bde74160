"""A job's CPU by phase: start-up, loading, tracing, computing."""

import time

import numpy as np
import pytest

from geoctx import accounting, storage


def burn(seconds):
    """Spend about ``seconds`` of CPU."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


@pytest.fixture
def fresh():
    accounting.job_started(log_at_exit=False)


def test_phases_split_the_process_cpu(fresh):
    with accounting.phase("load"):
        burn(0.05)
    burn(0.05)
    costs = accounting.summary()
    assert costs["load_cpu_s"] == pytest.approx(0.05, abs=0.02)
    parts = sum(costs[f"{p}_cpu_s"] for p in ("startup", "load", "trace", "compute"))
    assert parts == pytest.approx(costs["cpu_s"], abs=0.005)


def test_a_nested_phase_counts_once(fresh):
    with accounting.phase("load"), accounting.phase("trace"):
        burn(0.05)
    costs = accounting.summary()
    assert costs["load_cpu_s"] == pytest.approx(0.05, abs=0.02)
    assert costs["trace_cpu_s"] == 0


def test_reading_files_counts_as_load(fresh, tmp_path):
    storage.save_npz(tmp_path / "a.npz", {"x": np.zeros((200, 200))})
    storage.load_npz(tmp_path / "a.npz")
    assert accounting.summary()["load_cpu_s"] > 0


def test_only_calls_that_trace_count_as_trace(fresh):
    tf = pytest.importorskip("tensorflow")
    assert accounting.count_tracing()

    @tf.function
    def square(x):
        return x * x

    square(tf.constant(2.0))  # traces
    traced = accounting.summary()["trace_cpu_s"]
    assert traced > 0
    for _ in range(50):  # same signature: no new trace
        square(tf.constant(3.0))
    assert accounting.summary()["trace_cpu_s"] == traced
    square(tf.constant([1.0, 2.0]))  # a new shape traces again
    assert accounting.summary()["trace_cpu_s"] > traced


def test_unknown_phase_is_named():
    with pytest.raises(ValueError, match="unknown phase 'io'"), accounting.phase("io"):
        pass

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
    parts = sum(costs[f"{p}_cpu_s"] for p in (*accounting.PHASES, "compute"))
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


def test_tracing_is_counted_exactly_and_only_when_it_happens(fresh):
    tf = pytest.importorskip("tensorflow")
    assert accounting.count_tracing()

    @tf.function
    def square(x):
        burn(0.05)  # Python runs while tracing only
        return x * x

    square(tf.constant(2.0))  # traces
    traced = accounting.summary()["trace_cpu_s"]
    assert traced >= 0.05  # and TensorFlow's own first-graph set-up
    for _ in range(50):  # same signature: no new trace
        square(tf.constant(3.0))
    assert accounting.summary()["trace_cpu_s"] == traced
    start = time.process_time()
    square(tf.constant([1.0, 2.0]))  # a new shape traces again
    call = time.process_time() - start
    retraced = accounting.summary()["trace_cpu_s"] - traced
    # the burn is counted, and nothing beyond the call that traced (how much
    # of it is TensorFlow's own tracing depends on the machine's load)
    assert 0.05 <= retraced <= call
    costs = accounting.summary()
    parts = sum(costs[f"{p}_cpu_s"] for p in accounting.PHASES) + costs["compute_cpu_s"]
    assert parts == pytest.approx(costs["cpu_s"], abs=0.005)


def test_compile_is_a_first_run_beyond_the_fastest_later_call(fresh):
    runs = accounting._FirstRuns()
    runs.update(first=0.3)  # no later call yet: the whole first run
    assert accounting.summary()["compile_cpu_s"] == pytest.approx(0.3)
    runs.update(later=0.1)
    assert accounting.summary()["compile_cpu_s"] == pytest.approx(0.2)
    runs.update(later=0.05)  # a faster later call lowers the estimate
    runs.update(later=0.2)  # a slower one does not raise it
    assert accounting.summary()["compile_cpu_s"] == pytest.approx(0.25)
    runs.update(first=0.01)  # a retrace faster than the fastest call adds 0
    assert accounting.summary()["compile_cpu_s"] == pytest.approx(0.25)


def test_imports_count_as_startup(fresh, tmp_path, monkeypatch):
    (tmp_path / "slow_to_import.py").write_text(
        "import time\n"
        "end = time.process_time() + 0.05\n"
        "while time.process_time() < end:\n"
        "    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    before = accounting.summary()["startup_cpu_s"]
    import slow_to_import  # noqa: F401

    assert accounting.summary()["startup_cpu_s"] - before == pytest.approx(
        0.05, abs=0.03
    )


def test_unknown_phase_is_named():
    with pytest.raises(ValueError, match="unknown phase 'io'"), accounting.phase("io"):
        pass

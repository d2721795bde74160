import fcntl
import os
import shutil

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def small_moons():
    """Arrays of a small two-moons dataset (300 points, 40 probe points)."""
    from geoctx import datasets

    arrays, _ = datasets.make_dataset(
        {"generator": "moons", "n_samples": 300, "noise": 0.1},
        test_fraction=0.25,
        validation_fraction=0.2,
        probe_points=40,
    )
    return arrays


@pytest.fixture(scope="session")
def study(tmp_path_factory):
    """A finished smoke study (minutes): shared by every end-to-end test.

    Under ``pytest -n`` the workers share one run: the first to need it runs
    it under a lock in the session's common temporary directory, the others
    wait for it and read it. Tests copy the study before changing it.
    """
    from smoke_study import copy_workflow, snakemake

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this session
    workdir = root / "study"
    done = root / "study.done"
    with open(root / "study.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir()
            copy_workflow(workdir)
            proc = snakemake(workdir)
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
            done.touch()
    return workdir


def pytest_collection_modifyitems(items):
    """Groups for ``pytest -n`` (``--dist loadgroup``, see the Makefile).

    Every test of one module runs on one worker, so its module fixtures are
    made once. (The session's smoke study is shared between workers by the
    ``study`` fixture itself.)
    """
    for item in items:
        item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))

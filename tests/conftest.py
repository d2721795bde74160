import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def study(tmp_path_factory):
    """A finished smoke study (minutes): shared by every end-to-end test."""
    from smoke_study import copy_workflow, snakemake

    workdir = tmp_path_factory.mktemp("study")
    copy_workflow(workdir)
    proc = snakemake(workdir)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return workdir


@pytest.fixture(scope="session")
def moons_data():
    """Splits of a 300-point two-moons set: small enough to train in seconds."""
    from geoctx import datasets

    arrays, _ = datasets.make_dataset(
        {"generator": "moons", "n_samples": 300, "noise": 0.1},
        test_fraction=0.25,
        validation_fraction=0.2,
        probe_size=40,
    )
    return arrays

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

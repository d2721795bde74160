"""A file dataset in the workflow: checked before any job, rerun by its content only.

Cheap: only the data stage runs (four make_dataset jobs, no TensorFlow);
the rest are dry runs. What follows the data (training, evaluation, the
report) reruns from the data's outputs, as tests/test_workflow.py shows for
every dataset.
"""

import hashlib
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from smoke_study import copy_workflow, snakemake
from test_workflow import dry_run

pytestmark = pytest.mark.slow

CONFIG = {
    "datasets": {
        "mine": {"generator": "file", "path": "data/mine.csv", "label": "kind"},
        "iris": {"generator": "sklearn", "name": "iris"},
    },
    "activations": ["relu"],
    "depths": [1],
    "widths": [8],
    "seeds": [0],
    "splits": {"probe_points": 30},
    "tuning": {"learning_rates": [0.01], "seeds": [100]},
    "geometry": {"measured_points": 30, "n_neighbors": 3, "probe_folds": 2},
}
ENV = {**os.environ, "GEOCTX_NO_JOBSERVER": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
# the data stage only: a dry run of it counts the make_dataset jobs
UNTIL = ("--until", "make_dataset")


def write_csv(path, n=150):
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {
            "a": rng.normal(size=n).round(4),
            "b": rng.normal(size=n).round(4),
            "kind": np.array(["x", "y", "z"])[np.arange(n) % 3],
        }
    ).to_csv(path, index=False)


@pytest.fixture(scope="module")
def data_study(tmp_path_factory):
    """The data stage of a study with a file dataset and a bundled table, run."""
    workdir = copy_workflow(tmp_path_factory.mktemp("own-data"))
    (workdir / "data").mkdir()
    write_csv(workdir / "data/mine.csv")
    (workdir / "own.yaml").write_text(yaml.safe_dump(CONFIG))
    proc = snakemake(workdir, "--cores", "2", *UNTIL, configfile="own.yaml", env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return workdir


def counts(workdir, configfile="own.yaml"):
    return dry_run(workdir, *UNTIL, configfile=configfile)


def test_the_file_is_an_input_and_its_sha256_in_the_metadata(data_study):
    assert counts(data_study) == {}
    meta = yaml.safe_load((data_study / "results/data/mine/s0/meta.json").read_text())
    digest = meta["source"]["sha256"]
    assert (
        digest
        == hashlib.sha256((data_study / "data/mine.csv").read_bytes()).hexdigest()
    )
    assert meta["params"]["sha256"] == digest
    assert meta["classes"] == ["x", "y", "z"] and meta["rows_read"] == 150


def test_a_copy_with_its_data_has_nothing_to_do(data_study, tmp_path):
    # as `cp -r` copies: every file gets a new time, the data file last
    copy = tmp_path / "copied"
    shutil.copytree(data_study, copy, symlinks=True, copy_function=shutil.copyfile)
    os.utime(copy / "data/mine.csv")
    assert counts(copy) == {}


def test_editing_the_file_reruns_its_dataset_only(data_study, tmp_path):
    copy = tmp_path / "edited"
    shutil.copytree(data_study, copy, symlinks=True)
    path = copy / "data/mine.csv"
    path.write_text(path.read_text().replace("\n", "\n0.5,0.5,x\n", 1))
    # its split per study seed and the tuning seed's; iris is untouched
    assert counts(copy) == {"make_dataset": 2}


def test_moving_the_file_reruns_its_dataset(data_study, tmp_path):
    copy = tmp_path / "moved"
    shutil.copytree(data_study, copy, symlinks=True)
    (copy / "data/mine.csv").rename(copy / "mine.csv")
    config = yaml.safe_load((copy / "own.yaml").read_text())
    config["datasets"]["mine"]["path"] = "mine.csv"
    (copy / "moved.yaml").write_text(yaml.safe_dump(config))
    assert counts(copy, "moved.yaml") == {"make_dataset": 2}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            {"label": "species"},
            "datasets.mine.label: column 'species' is not in data/mine.csv; "
            "its columns: a, b, kind",
        ),
        (
            {"path": "data/other.csv"},
            "datasets.mine.path: data/other.csv does not exist",
        ),
    ],
    ids=["unknown-column", "missing-file"],
)
def test_a_bad_file_fails_before_any_job(data_study, edit, message):
    config = {**CONFIG, "datasets": {"mine": {**CONFIG["datasets"]["mine"], **edit}}}
    (data_study / "bad.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(data_study, "-n", configfile="bad.yaml", env=ENV)
    assert proc.returncode != 0
    assert message in proc.stderr + proc.stdout
    assert "Job stats" not in proc.stdout + proc.stderr

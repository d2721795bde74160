"""Faults a user meets, tried for real on the smoke study.

- The Snakemake process is killed with SIGKILL in the middle of training
  (its jobs left running as orphans); the recovery README gives
  (``snakemake --unlock``, then ``snakemake``) ends with tables identical in
  content to an uninterrupted run.
- The same study without the job server gives identical tables.
- A corrupted intermediate file stops the run with a message that names it.
"""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from smoke_study import SMOKE, copy_workflow, snakemake

from geoctx import fingerprint

pytestmark = pytest.mark.slow


def digests(workdir):
    return {
        name: fingerprint.table_digest(
            pd.read_parquet(workdir / "results" / "tables" / f"{name}.parquet")
        )
        for name in fingerprint.TABLES
    }


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_killed_run_recovers_to_identical_tables(study, tmp_path):
    copy_workflow(tmp_path)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    run = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--configfile", SMOKE],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    models = tmp_path / "results" / "models"
    # Mid-training: the first model is written, others are still training.
    wait_for(
        lambda: any(models.glob("*/*/*/*/model.keras")) or run.poll() is not None,
        timeout=900,
        what="the first trained model",
    )
    assert run.poll() is None, "the run ended before it could be killed"
    run.send_signal(signal.SIGKILL)
    run.wait()

    locked = snakemake(tmp_path)  # a dry run takes no lock; a real one stops
    assert locked.returncode != 0
    assert "locked" in (locked.stdout + locked.stderr).lower()
    assert snakemake(tmp_path, "--unlock").returncode == 0
    rerun = snakemake(tmp_path)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-5000:]
    assert digests(tmp_path) == digests(study)
    leftovers = [p for p in (tmp_path / "results").rglob(".*.tmp*")]
    assert leftovers == []


def test_same_tables_without_the_job_server(study, tmp_path):
    copy_workflow(tmp_path)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "GEOCTX_NO_JOBSERVER": "1"}
    proc = snakemake(tmp_path, "--cores", "1", env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert not (tmp_path / "logs" / "jobserver").exists()
    assert (study / "logs" / "jobserver" / "jobs.jsonl").exists()
    assert digests(tmp_path) == digests(study)


def test_corrupted_model_is_named_with_how_to_rebuild_it(study, tmp_path):
    copy_workflow(tmp_path)
    subprocess.run(["cp", "-a", str(study / "results"), str(tmp_path)], check=True)
    subprocess.run(["cp", "-a", str(study / ".snakemake"), str(tmp_path)], check=True)
    model = next((tmp_path / "results" / "models").glob("*/*/*/*/model.keras"))
    model.write_bytes(model.read_bytes()[:200])
    rel = model.relative_to(tmp_path)
    target = (
        str(rel)
        .replace("models", "robustness", 1)
        .replace("model.keras", "robustness.parquet")
    )
    proc = snakemake(tmp_path, "--forcerun", target, "--until", target)
    assert proc.returncode != 0
    log = "".join(p.read_text() for p in (tmp_path / "logs").rglob("*.log"))
    # its SHA-256 no longer matches the one its run table records, which is
    # checked before the file is read
    assert f"{rel} is not the model its training wrote" in log
    assert f"snakemake --forcerun {rel}" in log

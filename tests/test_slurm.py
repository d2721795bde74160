"""The smoke study on a live single-node Slurm, through ``profiles/slurm``.

Slurm is installed from Debian packages when missing and started on localhost
(``slurm_cluster``). The study runs with the official executor plugin as a user
runs it (``snakemake --workflow-profile profiles/slurm --configfile ...``) and
is compared with a local run of the same config. Skipped, with the reason,
where Slurm cannot run (not root, no apt); in CI (``CI=true``) that fails.
"""

import importlib.util
import os
import re
import subprocess
import sys
import time

import pandas as pd
import pytest
import slurm_cluster
from smoke_study import SMOKE, copy_workflow
from test_workflow import EVALUATION, edited_config, rule_counts

from geoctx import fingerprint

pytestmark = pytest.mark.slow

TIMEOUT_S = 1800  # a hung run is killed (-k: even when it ignores SIGTERM)
# "Job <id or group uuid> has been submitted with SLURM jobid <n> (log: <path>)."
SUBMITTED = re.compile(
    r"Job \S+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)"
)
INJECTED = "injected failure for the cluster test"


def unavailable(reason):
    if os.environ.get("CI") == "true":
        pytest.fail(f"the Slurm test must run in CI: {reason}")
    pytest.skip(reason)


def node_conf_dir():
    """The machine's own /etc/slurm: each file's path and content."""
    root = slurm_cluster.NODE_CONF_DIR
    return {
        str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def machine_slurm_conf():
    """The machine's /etc/slurm before the test cluster starts."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        unavailable("snakemake-executor-plugin-slurm is not installed")
    reason = slurm_cluster.install() or slurm_cluster.private_mounts()
    if reason:
        unavailable(reason)
    return node_conf_dir()


@pytest.fixture(scope="module")
def cluster(machine_slurm_conf, tmp_path_factory):
    # munged's socket path must stay short (108 bytes)
    root = tmp_path_factory.mktemp("slurm", numbered=True)
    running = slurm_cluster.start(root)
    yield running
    slurm_cluster.stop(root)


def run_on_slurm(cluster, workdir, *args, configfile=SMOKE):
    cmd = [
        "timeout",
        "-k",
        "30",
        str(TIMEOUT_S),
        sys.executable,
        "-m",
        "snakemake",
        "--workflow-profile",
        "profiles/slurm",
        "--configfile",
        configfile,
        "--slurm-no-account",  # the test cluster has no accounts
        *args,
    ]
    env = {**cluster.env, "TF_CPP_MIN_LOG_LEVEL": "2"}
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env)
    assert proc.returncode not in (124, 137), "the Slurm run hung and was killed"
    return proc, time.monotonic() - start


def this_run(cluster, workdir):
    """Slurm jobs of ``workdir``, by job id, from the job-completion log."""
    return {
        job["JobId"]: job
        for job in cluster.completed_jobs()
        if job["WorkDir"] == str(workdir)
    }


@pytest.fixture(scope="module")
def slurm_study(cluster, tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("slurm_study"))
    proc, wall = run_on_slurm(cluster, workdir)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    print(f"smoke study on Slurm: {wall:.0f} s")
    return workdir, proc.stderr


def test_every_job_went_through_sbatch(cluster, slurm_study):
    workdir, log = slurm_study
    submitted = {slurm for slurm, _ in SUBMITTED.findall(log)}
    finished = this_run(cluster, workdir)
    # one Slurm job per Snakemake job or group, each completed
    assert submitted == set(finished)
    assert {job["JobState"] for job in finished.values()} == {"COMPLETED"}
    # nothing ran on the submit host but the target rule
    assert set(re.findall(r"^localrule (\w+):", log, flags=re.M)) <= {"all"}
    # tiny jobs were grouped: fewer Slurm jobs than Snakemake jobs
    n_jobs = int(re.search(r"^total\s+(\d+)$", log, flags=re.M).group(1))
    assert len(submitted) < n_jobs - 1
    print(f"{len(submitted)} Slurm jobs for {n_jobs} Snakemake jobs")


def test_inference_timing_had_the_node_to_itself(cluster, slurm_study):
    workdir, log = slurm_study
    finished = this_run(cluster, workdir)
    inference = [
        finished[slurm]
        for slurm, path in SUBMITTED.findall(log)
        if "/rule_benchmark_inference/" in path
    ]
    cells = list((workdir / "results" / "inference").glob("w*_d*.parquet"))
    assert len(inference) == len(cells) >= 2  # one job per timed depth x width cell
    # --exclusive: every CPU of the node, though the job asks for one
    assert {job["ProcCnt"] for job in inference} == {str(os.cpu_count())}


def test_tables_match_a_local_run(study, slurm_study):  # noqa: F811
    workdir, _ = slurm_study
    for name in fingerprint.TABLES:
        local = pd.read_parquet(study / f"results/tables/{name}.parquet")
        cluster = pd.read_parquet(workdir / f"results/tables/{name}.parquet")
        assert fingerprint.table_digest(cluster) == fingerprint.table_digest(local), (
            name
        )
    assert (workdir / "results/report/fingerprint.txt").read_text() == (
        study / "results/report/fingerprint.txt"
    ).read_text()


def test_groups_change_nothing_about_what_reruns(cluster, slurm_study):
    workdir, _ = slurm_study

    def dry_run(configfile=SMOKE):
        args = ("-n", "--quiet", "rules")
        proc, _ = run_on_slurm(cluster, workdir, *args, configfile=configfile)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return rule_counts(proc.stdout)

    assert dry_run() == {}
    # as in test_workflow: a geometry setting reruns geometry and what follows
    edited = edited_config(workdir, lambda c: c["geometry"].update(n_neighbors=4))
    assert dry_run(edited) == EVALUATION


def test_a_failing_job_is_retried_then_reported(cluster, slurm_study):
    workdir, _ = slurm_study
    script = workdir / "scripts/make_dataset.py"
    script.write_text(f"raise RuntimeError({INJECTED!r})\n" + script.read_text())
    before = set(this_run(cluster, workdir))
    proc, wall = run_on_slurm(
        cluster, workdir, "results/data/moons/s0/data.npz", "--forcerun", "make_dataset"
    )
    assert proc.returncode != 0
    assert "Error in rule make_dataset" in proc.stderr
    attempts = {
        job_id: job
        for job_id, job in this_run(cluster, workdir).items()
        if job_id not in before
    }
    retries = 2  # `retries:` of make_dataset
    assert len(attempts) == 1 + retries
    assert {job["JobState"] for job in attempts.values()} == {"FAILED"}
    # the Slurm log of the failed job holds the error
    logs = (workdir / ".snakemake/slurm_logs/rule_make_dataset").rglob("*.log")
    assert any(INJECTED in path.read_text() for path in logs)
    print(f"injected failure: {len(attempts)} attempts, error after {wall:.0f} s")


def test_job_steps_see_the_private_config(cluster, machine_slurm_conf):
    # srun in a job reads /etc/slurm/slurm.conf (the job step drops SLURM_CONF)
    proc = subprocess.run(
        ["srun", "--quiet", "cat", "/etc/slurm/slurm.conf"],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(slurm_cluster.MARK)
    assert f"StateSaveLocation={cluster.root}/state" in proc.stdout
    # ... which is this cluster's, not the machine's: that is untouched
    assert node_conf_dir() == machine_slurm_conf


def test_daemons_stop_by_their_pid_files(cluster, machine_slurm_conf):
    assert slurm_cluster.running(cluster.root) == slurm_cluster.DAEMONS
    assert slurm_cluster.stop(cluster.root) == slurm_cluster.DAEMONS
    assert slurm_cluster.running(cluster.root) == []
    assert node_conf_dir() == machine_slurm_conf

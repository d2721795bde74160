"""The smoke study on a live single-node Slurm, through ``profiles/slurm``.

Slurm is installed from Debian packages when missing and started on localhost
(``slurm_cluster``). The study runs with the official executor plugin as a user
runs it (``snakemake --workflow-profile profiles/slurm --configfile ...``) and
is compared with a local run of the same config. Skipped, with the reason,
where Slurm cannot run (not root, no apt); in CI (``CI=true``) that fails.
"""

import collections
import datetime
import importlib.util
import itertools
import math
import os
import re
import shutil
import subprocess
import sys
import time

import pandas as pd
import pytest
import slurm_cluster
from smoke_study import SMOKE, copy_workflow
from test_workflow import EVALUATION, edited_config, rule_counts

from geoctx import fingerprint, replicate, reuse

pytestmark = pytest.mark.slow

TIMEOUT_S = 1800  # a hung run is killed (-k: even when it ignores SIGTERM)
# "Job <id or group uuid> has been submitted with SLURM jobid <n> (log: <path>)."
SUBMITTED = re.compile(
    r"Job \S+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)"
)
PROGRESS = re.compile(r"^\d+ of \d+ jobs done \(\d+%\)$", flags=re.M)
PEAK_RSS = re.compile(r"peak RSS (\d+) MB")
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", flags=re.M)
# what the plugin logs when it guesses an account (it finds none here)
ACCOUNT_WARNINGS = (
    "No SLURM account given, trying to guess.",
    "not able to get a SLURM account via sacct",
    "Unable to guess SLURM account.",
)
ACTIVATIONS = ["sigmoid", "relu"]  # tests/config/smoke.yaml
INJECTED = "injected failure for the cluster test"
REUSED = "reused the outputs of the same finished job"  # scripts/train_model.py


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


def sbatch_recorder(workdir):
    """A directory whose ``sbatch`` records its arguments, one call a line, in
    ``sbatch_calls.txt`` and runs the real one."""
    shim = workdir / ".sbatch"
    shim.mkdir(exist_ok=True)
    real = shutil.which("sbatch")
    calls = shim / "sbatch_calls.txt"
    script = shim / "sbatch"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {calls}\nexec {real} "$@"\n')
    script.chmod(0o755)
    return shim


def sbatch_calls(workdir):
    calls = workdir / ".sbatch/sbatch_calls.txt"
    return calls.read_text().splitlines() if calls.exists() else []


def snakemake_on_slurm(cluster, workdir, *args, configfile=SMOKE):
    """The command and environment of a run through ``profiles/slurm``."""
    cmd = [
        "timeout",
        "-k",
        "30",
        str(TIMEOUT_S),
        sys.executable,
        "-m",
        "snakemake",
        *args,  # before --configfile, which takes every argument up to a flag
        "--workflow-profile",
        "profiles/slurm",
        # the test cluster has no accounts (README: sites without accounts)
        "--geoctx-slurm-no-account",
        "--configfile",
        configfile,
    ]
    path = os.pathsep.join([str(sbatch_recorder(workdir)), cluster.env["PATH"]])
    # the copy's src: its logger plugin (profiles/slurm `logger`) and package
    env = {
        **cluster.env,
        "PATH": path,
        "PYTHONPATH": str(workdir / "src"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    return cmd, env


def run_on_slurm(cluster, workdir, *args, configfile=SMOKE):
    cmd, env = snakemake_on_slurm(cluster, workdir, *args, configfile=configfile)
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


def complete_log(workdir):
    """The newest of Snakemake's own full logs (every job's block)."""
    return sorted((workdir / ".snakemake/log").glob("*.snakemake.log"))[-1].read_text()


def peak_rss_mb(workdir):
    """Per rule, the largest peak RSS its jobs logged (geoctx.accounting's last
    line of a plain process: every job on Slurm is one)."""
    peaks = {}
    for path in (workdir / "logs").rglob("*.log"):
        found = PEAK_RSS.findall(path.read_text(errors="replace"))
        if found:
            # logs/<rule>/... or logs/<rule>.log
            rule = path.relative_to(workdir / "logs").parts[0].removesuffix(".log")
            peaks[rule] = max(peaks.get(rule, 0), max(map(int, found)))
    return peaks


def timing_span(workdir, run):
    """When one timing job ran, in seconds: its log's last line (the job's
    end, geoctx.accounting) less its wall time (its benchmark file)."""
    log = (workdir / f"logs/benchmark_inference/{run}.log").read_text()
    end = datetime.datetime.strptime(STAMP.findall(log)[-1], "%Y-%m-%d %H:%M:%S,%f")
    bench = workdir / f"benchmarks/rules/benchmark_inference/{run}.tsv"
    wall = float(bench.read_text().splitlines()[1].split("\t")[0])
    return end.timestamp() - wall, end.timestamp()


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
    full = complete_log(workdir)
    local = set(re.findall(r"^localrule (\w+):", full, flags=re.M))
    assert local == {"all"}
    # tiny jobs were grouped: fewer Slurm jobs than Snakemake jobs
    n_jobs = int(re.search(r"^total\s+(\d+)$", log, flags=re.M).group(1))
    assert len(submitted) < n_jobs - 1
    print(f"{len(submitted)} Slurm jobs for {n_jobs} Snakemake jobs")


def test_no_account_is_sent(slurm_study):
    workdir, log = slurm_study
    calls = sbatch_calls(workdir)
    assert calls and all(call.startswith("--parsable") for call in calls)
    assert not [call for call in calls if re.search(r"(^|\s)(-A|--account)", call)]
    # told there are no accounts, the executor guesses none
    assert not [warning for warning in ACCOUNT_WARNINGS if warning in log]


def test_terminal_shows_one_line_per_slurm_job(slurm_study):
    workdir, log = slurm_study
    lines = log.splitlines()
    submitted = SUBMITTED.findall(log)
    progress = [line for line in lines if PROGRESS.match(line)]
    # the jobs run in the Snakemake process (the target rule `all`)
    local = re.findall(r"^localrule \w+:$", complete_log(workdir), flags=re.M)
    # every Slurm job's submission, and progress as each (and each local
    # job) finishes
    assert len(submitted) <= len(progress) <= len(submitted) + len(local)
    done, total = map(int, re.findall(r"\d+", progress[-1])[:2])
    assert done == total
    # no job blocks, shell commands or per-member notices
    assert not re.search(r"^\s*(rule|localrule) \w+:$", log, flags=re.M)
    assert "Shell command" not in log
    # the rest: the job table (a row per rule) and a few lines around it
    rows = len(re.findall(r"^\w+\s+\d+$", log, flags=re.M))
    other = len(lines) - len(submitted) - len(progress) - rows
    print(f"clean run: {len(lines)} lines for {len(submitted)} Slurm jobs")
    assert other <= 25, "\n".join(lines)


def test_inference_timing_is_one_exclusive_job(cluster, slurm_study):
    workdir, log = slurm_study
    finished = this_run(cluster, workdir)
    timing = [
        finished[slurm]
        for slurm, path in SUBMITTED.findall(log)
        if "/group_timing_" in path
    ]
    runs = sorted((workdir / "results" / "inference").glob("w*_d*_r*.parquet"))
    assert len(runs) >= 2
    # the profile's 16 timings per Slurm job: the smoke study's fill a few
    assert len(timing) == math.ceil(len(runs) / 16)
    assert "/rule_benchmark_inference/" not in log
    # --exclusive: every CPU of the node, though the job asks for one
    assert {job["ProcCnt"] for job in timing} == {str(os.cpu_count())}
    # within it the timings ran one after another
    spans = sorted(timing_span(workdir, run.stem) for run in runs)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start + 1, spans  # the log's stamps are to the ms


def test_per_rule_peak_memory_on_slurm(slurm_study):
    workdir, _ = slurm_study
    peaks = peak_rss_mb(workdir)
    print("peak RSS on Slurm (MB):", dict(sorted(peaks.items())))
    # every rule's job logged it, within what the rules ask for
    assert {"make_dataset", "train_model", "benchmark_inference"} <= set(peaks)
    assert all(100 < mb < 1500 for mb in peaks.values()), peaks


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
    # the replication report of the Slurm run against the local one
    ok, text = replicate.check(study, workdir, out=workdir / "replication")
    assert ok, text


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


def cancel_when_one_trained(cluster, proc, logs):
    """Cancel the running `model` group once one of ``logs`` (its trainings)
    records a finished job; the time of the cancel and the logs finished."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        done = [p for p in logs if p.exists() and "peak RSS" in p.read_text()]
        if done:
            out = subprocess.run(
                ["squeue", "-h", "-t", "R", "-o", "%i %k"],
                env=cluster.env,
                capture_output=True,
                text=True,
            ).stdout
            group = [line.split()[0] for line in out.splitlines() if "model" in line]
            assert len(group) == 1, out
            subprocess.run(["scancel", group[0]], env=cluster.env, check=True)
            return time.time(), done
        time.sleep(0.5)
    raise AssertionError("the model group finished before it could be cancelled")


def test_failures_are_retried_then_reported(cluster, slurm_study):
    """One run, two faults: a data job that always fails (injected: moons
    only), and a `model` group cancelled once one of its trainings finished."""
    workdir, _ = slurm_study
    script = workdir / "scripts/make_dataset.py"
    logged = "log = log_to(snakemake.log[0])\n"
    fault = (
        f"if 'moons' in str(snakemake.output):\n    raise RuntimeError({INJECTED!r})\n"
    )
    assert logged in script.read_text()
    script.write_text(script.read_text().replace(logged, logged + fault))
    cell = "circles/{}/auto/w16_d1_s0"
    models = [workdir / "results/models" / cell.format(a) for a in ACTIVATIONS]
    train_logs = [
        workdir / f"logs/train_model/{cell.format(a)}.log" for a in ACTIVATIONS
    ]
    for model, train_log in zip(models, train_logs, strict=True):
        shutil.rmtree(model)
        train_log.unlink()
    # the study's trainings are in the reuse store: cleared (README), they train
    shutil.rmtree(workdir / reuse.ROOT)
    targets = [
        "results/data/moons/s0/data.npz",
        f"results/geometry/{cell.format(ACTIVATIONS[0])}/geometry.parquet",
    ]
    before = set(this_run(cluster, workdir))
    # forced: the removed models alone would not make the existing geometry stale
    trainings = [f"results/models/{cell.format(a)}/model.keras" for a in ACTIVATIONS]
    forced = ("-R", targets[0], *trainings)
    cmd, env = snakemake_on_slurm(cluster, workdir, *targets, *forced)
    start = time.monotonic()
    with subprocess.Popen(
        cmd,
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        cancelled, finished = cancel_when_one_trained(cluster, proc, train_logs)
        _, log = proc.communicate()
    wall = time.monotonic() - start
    assert proc.returncode not in (0, 124, 137), log[-3000:]
    jobs = {i: job for i, job in this_run(cluster, workdir).items() if i not in before}
    states = collections.Counter(job["JobState"] for job in jobs.values())
    # the moons data job: three attempts (`retries: 2`), each failed; the
    # group: cancelled, resubmitted, completed; and the circles data and
    # tuning the edited script reruns (its digest is in every data job's params)
    retries = 2
    assert states["FAILED"] == 1 + retries and states["CANCELLED"] == 1, states
    assert set(states) == {"FAILED", "CANCELLED", "COMPLETED"}, states
    assert all(model.joinpath("model.keras").exists() for model in models)
    # the terminal names the failing rule, its logs and their last lines
    assert re.search(r"^Error in rule make_dataset \(job \d+\)", log, flags=re.M)
    assert "log logs/make_dataset/moons/s0.log" in log
    assert INJECTED in log
    # ... and of the group, what did not finish and the cancellation
    assert re.search(r"^Error in group model", log, flags=re.M)
    assert "not finished: rule evaluate_models" in log
    assert "CANCELLED" in log
    assert "Trying to restart job" in log
    lines = log.splitlines()
    print(f"faults run: {len(lines)} lines, {len(jobs)} Slurm jobs, {wall:.0f} s")
    assert len(lines) <= 200, log
    # a training's log is rewritten when it runs: the retry trained the
    # models unfinished at the cancel, and reused those finished (Snakemake
    # forces every member of a group job it resubmits; geoctx.reuse)
    rerun = [path for path in train_logs if path.stat().st_mtime > cancelled]
    reused = [path for path in rerun if REUSED in path.read_text()]
    print(
        f"retry after the cancel: {len(rerun) - len(reused)} of {len(models)} "
        f"trained again, {len(reused)} reused; {len(finished)} had finished"
    )
    assert set(rerun) == set(train_logs)
    # a training that ended between the check and the cancel is reused too
    assert set(finished) <= set(reused)
    for path in set(rerun) - set(reused):
        assert "geoctx.training: training mlp_" in path.read_text(), path


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

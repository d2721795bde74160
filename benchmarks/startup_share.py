"""Start-up share: how much of a study's CPU is importing, loading and tracing.

Runs a whole study with ``snakemake --cores N`` in a fresh copy of the
workflow (job server on, as a user runs it), measures the CPU of the whole
process tree (``RUSAGE_CHILDREN``), and splits it with the run's accounting
(``logs/jobserver/jobs.jsonl``, see ``geoctx.accounting``):

- imports: the job server importing TensorFlow, Keras and the package, once;
- job start-up (imports inside the job), loading, tracing and compiling:
  inside each job. Tracing is measured exactly; compiling is the first run
  of each new graph beyond its function's fastest later call (the whole
  first run when there is none), an upper bound;
- workers between jobs: the job server's training and evaluation workers
  outside their jobs (resetting the process, collecting garbage);
- clients and other: the per-job client processes (a Python interpreter and
  Snakemake's script preamble each, which hand the job to the server) and
  whatever else ran outside the accounting: the rest of the total;
- Snakemake: the main process planning and scheduling the run;
- computing: the jobs' remaining CPU.

The last line is the start-up share, (imports + job start-up + loading +
tracing + compiling + workers between jobs + clients) / total (target:
under 0.15), then the same with the Snakemake process left out of the
total.

    python benchmarks/startup_share.py [--config FILE] [--cores 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from workflow_vs_loop import copy_workflow, issue_study, timed  # noqa: E402


def breakdown(accounting: Path, total_cpu: float) -> dict[str, float]:
    """CPU seconds by where they went (see the module docstring)."""
    records = pd.read_json(accounting, lines=True)
    jobs = records[records.event == "job"]
    out = {
        "server imports": records.loc[records.event == "imports", "cpu_s"].sum(),
        "job start-up": jobs.startup_cpu_s.sum(),
        "job loading": jobs.load_cpu_s.sum(),
        "job tracing": jobs.trace_cpu_s.sum(),
        "job compiling (upper bound)": jobs.compile_cpu_s.sum(),
        "job computing": jobs.compute_cpu_s.sum(),
        "snakemake process": records.loc[records.event == "workflow", "cpu_s"].sum(),
    }
    workers = records[records.event == "worker"]
    pooled = jobs[jobs.pid.isin(workers.pid)] if "pid" in jobs else jobs.iloc[:0]
    out["workers between jobs"] = workers.cpu_s.sum() - pooled.cpu_s.sum()
    # phases are process_time, cpu_s is getrusage: the same clock, rounded
    out["clients and other"] = (
        total_cpu
        - out["server imports"]
        - jobs.cpu_s.sum()
        - out["workers between jobs"]
        - out["snakemake process"]
    )
    return out


STARTUP = (
    "server imports",
    "job start-up",
    "job loading",
    "job tracing",
    "job compiling (upper bound)",
    "workers between jobs",
    "clients and other",
)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="a study config (default: the 12-model study)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", help="copy the finished study here")
    args = parser.parse_args(argv)
    raw = (
        yaml.safe_load(Path(args.config).read_text()) if args.config else issue_study()
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("GEOCTX_NO_JOBSERVER", None)
    with tempfile.TemporaryDirectory() as tmp:
        work = copy_workflow(Path(tmp) / "workflow")
        (work / "study.yaml").write_text(yaml.safe_dump(raw))
        cmd = [sys.executable, "-m", "snakemake", "--cores", str(args.cores)]
        wall, cpu = timed([*cmd, "--configfile", "study.yaml"], work, env)
        parts = breakdown(work / "logs/jobserver/jobs.jsonl", cpu)
        if args.keep:
            shutil.copytree(work, args.keep, symlinks=True)
    print(f"study: {wall:.1f} s wall, {cpu:.1f} s CPU in all")
    for name, seconds in parts.items():
        print(f"  {name:28s} {seconds:8.1f} s  {seconds / cpu:6.1%}")
    startup = sum(parts[name] for name in STARTUP)
    without = cpu - parts["snakemake process"]
    print(
        f"start-up share = {startup / cpu:.3f} of all CPU "
        f"({startup / without:.3f} without the Snakemake process)"
    )


if __name__ == "__main__":
    main()

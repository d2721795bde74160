"""100,000 rows x 100 features from a file through data, training and evaluation.

Writes a CSV of ``--rows`` x ``--features`` (ten Gaussian classes around
random centres, one text column the dataset ignores) into a copy of the
workflow, then

1. reads the workflow with it (``snakemake -n``): the check of the file
   before any job, in Snakemake's own process;
2. runs every job up to the evaluation (``--until evaluate_models``:
   make_dataset, tune_learning_rate, train_model, evaluate_models) with one
   activation pair at one small architecture and a few epochs, without the
   job server;

and prints, per job and per stage, the CPU seconds and peak RSS each job
logged itself (its last line). The
geometry and attacks see only the probe set (``splits.probe_points``,
``geometry.measured_points``), so their cost does not grow with the rows;
training and the data stage are linear in the rows.

    nice -n 10 python benchmarks/own_data_scale.py [--rows 100000] [--features 100]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from smoke_study import copy_workflow  # noqa: E402

STAGES = {
    "make_dataset": "data",
    "tune_learning_rate": "training",
    "train_model": "training",
    "evaluate_models": "evaluation",
}


def write_file(path: Path, rows: int, features: int, *, seed: int = 0) -> None:
    """Ten classes around random centres, in ``features`` dimensions."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, rows)
    centres = rng.normal(scale=2.0, size=(10, features))
    X = centres[y] + rng.normal(size=(rows, features))
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(features)])
    df["note"] = "x"
    df["label"] = np.array([f"class_{k}" for k in range(10)])[y]
    df.to_csv(path, index=False, float_format="%.5g")


def study_config(rows: int) -> dict:
    return {
        "study": {"title": f"geoctx scale: {rows} rows from a file"},
        "datasets": {
            "big": {"generator": "file", "path": "data/big.csv", "label": "label"}
        },
        "activations": ["sigmoid", "relu"],
        "initializers": ["auto"],
        "depths": [2],
        "widths": [64],
        "seeds": [0],
        "splits": {"probe_points": 256},
        "training": {"epochs": 3, "batch_size": 256, "convergence": {"window": 3}},
        "tuning": {"learning_rates": [0.001], "seeds": [100]},
        "geometry": {"measured_points": 256},
        "robustness": {"pgd_steps": 10, "pgd_restarts": 2, "n_draws": 3},
    }


def snakemake(workdir: Path, *args: str) -> tuple[float, float, float]:
    """Run snakemake; return wall seconds, CPU seconds and peak RSS (MB) of
    the Snakemake process and its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = {**os.environ, "GEOCTX_NO_JOBSERVER": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--configfile", "study.yaml", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-3000:] + proc.stderr[-5000:])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024


#: The line each job's log ends with (geoctx.jobserver's accounting, also
#: without the server): the job's own CPU and peak RSS.
JOB_LINE = re.compile(r"job CPU: ([\d.]+) s .*peak RSS (\d+) MB")


def job_costs(workdir: Path) -> pd.DataFrame:
    """One row per job of the measured stages: its CPU seconds and peak RSS."""
    rows = []
    for rule, stage in STAGES.items():
        for path in sorted((workdir / "logs" / rule).glob("**/*.log")):
            found = JOB_LINE.findall(path.read_text())
            if found:
                cpu, rss = found[-1]
                rows.append(
                    {
                        "stage": stage,
                        "rule": rule,
                        "job": str(path.relative_to(workdir / "logs" / rule)),
                        "cpu_s": float(cpu),
                        "max_rss_mb": float(rss),
                    }
                )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", help="run in this directory and keep it")
    args = parser.parse_args()
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="geoctx-scale-"))
    copy_workflow(workdir)
    (workdir / "data").mkdir(exist_ok=True)
    csv = workdir / "data/big.csv"
    start = time.perf_counter()
    write_file(csv, args.rows, args.features)
    print(
        f"{csv}: {args.rows} rows x {args.features} features, "
        f"{csv.stat().st_size / 2**20:.0f} MB, written in "
        f"{time.perf_counter() - start:.0f} s"
    )
    (workdir / "study.yaml").write_text(yaml.safe_dump(study_config(args.rows)))
    wall, cpu, rss = snakemake(workdir, "-n", "--quiet")
    print(
        f"workflow read with the file checked (snakemake -n): {wall:.1f} s wall, "
        f"{cpu:.1f} s CPU, peak RSS {rss:.0f} MB"
    )
    wall, cpu, rss = snakemake(
        workdir, "--cores", str(args.cores), "--until", "evaluate_models"
    )
    print(f"data, training and evaluation: {wall:.0f} s wall, {cpu:.0f} s CPU")
    costs = job_costs(workdir)
    print(costs.to_string(index=False))
    summary = costs.groupby("stage", sort=False).agg(
        jobs=("rule", "size"),
        cpu_s=("cpu_s", "sum"),
        max_rss_mb=("max_rss_mb", "max"),
    )
    print(summary.round(1).to_string())
    print(f"workdir: {workdir}")


if __name__ == "__main__":
    main()

"""What tuning and training to convergence cost: two finished studies side by side.

Reads the job server's accounting (``logs/jobserver/jobs.jsonl``) of two
finished runs of the same study, one before the change (one shared
learning rate, early stopping) and one after it (a tuning stage, training
to convergence), and prints each rule's total CPU seconds in both, and the
ratio of the totals. The total counts every job, the job server's imports
and its workers between jobs, and the Snakemake process (the ``workflow``
event, written when a run succeeds); the thin per-job client processes are
not in the accounting, in either run.

    python benchmarks/tuning_cost.py BEFORE_DIR AFTER_DIR

Each directory is a workflow directory in which ``snakemake`` ran. When the
AFTER run stopped early (``snakemake results/tables/runs.parquet``: tuning
and training only), every rule it did not run is counted at its BEFORE
cost, marked ``(from before)``, and the ratio is an extrapolation: it
assumes the later stages cost what they did, which holds where their code
is unchanged and their cost does not depend on how the models were trained.

Or run both studies side by side, in one run of this script, and compare:

    python benchmarks/tuning_cost.py --run OUT [--before 88658e3] [--after HEAD]
        [--nice 10] [-- SNAKEMAKE_ARGS...]

clones this repository twice into OUT (``before`` at the commit before the
tuning stage, ``after`` at ``--after``), starts ``snakemake`` in both at
once (the default study, or what ``SNAKEMAKE_ARGS`` ask, e.g. a target),
so both meet the same load on the machine, and then prints the table above
for the two, each run's wall time and each report's fingerprint.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ACCOUNTING = Path("logs/jobserver/jobs.jsonl")


def costs(workdir: Path) -> pd.Series:
    """CPU seconds per rule, plus the job server and Snakemake, of one run."""
    records = pd.read_json(workdir / ACCOUNTING, lines=True)
    # the accounting is appended to by every run in the directory; each run's
    # job server writes an ``imports`` record first. Count the run that ran
    # the most jobs (the study), not later reruns of a few rules.
    run = (records.event == "imports").cumsum()
    if run.max() > 1:
        built = (records.event == "job").groupby(run).sum().idxmax()
        print(
            f"{workdir}: {run.max()} runs in {ACCOUNTING}, counting run "
            f"{built} (the one that ran the most jobs)",
            file=sys.stderr,
        )
        records = records[run == built]
    jobs = records[(records.event == "job") & (records.exit == 0)]
    per_rule = jobs.groupby("rule").cpu_s.sum()
    workers = records[records.event == "worker"]
    pooled = jobs[jobs.pid.isin(workers.pid)] if "pid" in jobs else jobs.iloc[:0]
    extra = {
        "(server imports)": records.loc[records.event == "imports", "cpu_s"].sum(),
        "(workers between jobs)": workers.cpu_s.sum() - pooled.cpu_s.sum(),
        "(snakemake process)": records.loc[records.event == "workflow", "cpu_s"].sum(),
    }
    return pd.concat([per_rule, pd.Series(extra)])


def main(before: str, after: str, *, rest: tuple[str, str] | None = None) -> None:
    """Print both runs' CPU by rule and the ratio of the totals.

    ``rest`` (two finished full runs, before and after) fills in the rules
    that neither run ran, each side from its own full run, marked
    ``(from full runs)``: the side-by-side runs then time what changed and
    the full runs the stages that did not.
    """
    table = pd.DataFrame(
        {"before_cpu_s": costs(Path(before)), "after_cpu_s": costs(Path(after))}
    )
    note = pd.Series("", index=table.index)
    if rest is not None:
        full = pd.DataFrame(
            {"before_cpu_s": costs(Path(rest[0])), "after_cpu_s": costs(Path(rest[1]))}
        )
        absent = full.index.difference(table.index[table.notna().any(axis=1)])
        table = table.combine_first(full.loc[absent])
        note = note.reindex(table.index, fill_value="")
        note[absent] = "(from full runs)"
    missing = table.after_cpu_s.isna() | (
        table.index.isin(["(snakemake process)"]) & (table.after_cpu_s == 0)
    )
    table.loc[missing, "after_cpu_s"] = table.loc[missing, "before_cpu_s"]
    note[missing] = "(from before)"
    table = table.fillna(0.0)
    table["after/before"] = table.after_cpu_s / table.before_cpu_s
    table["note"] = note
    print(table.round(2).to_string())
    total = table[["before_cpu_s", "after_cpu_s"]].sum()
    before_s, after_s = total.before_cpu_s, total.after_cpu_s
    print(f"\ntotal CPU: before {before_s:.1f} s, after {after_s:.1f} s")
    kind = "measured"
    if (note != "").any():
        kind = "extrapolated, see " + ", ".join(sorted(set(note[note != ""])))
    print(f"ratio after/before = {after_s / before_s:.3f} ({kind})")


#: the last commit before the tuning stage (the study of fingerprint c648825696f0...)
BEFORE = "88658e3"
FINGERPRINT = Path("results/report/fingerprint.txt")


def clone(repo: Path, rev: str, dest: Path) -> Path:
    """A fresh clone of ``repo`` at ``rev`` (no results of earlier runs)."""
    sha = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", rev],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", str(repo), str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "--quiet", sha], check=True)
    return dest


def side_by_side(
    out: Path, *, before: str, after: str, nice: int, args, rest=None
) -> None:
    """Clone both revisions, run snakemake in both at once, compare."""
    repo = Path(__file__).resolve().parents[1]
    out.mkdir(parents=True, exist_ok=False)
    dirs = {
        name: clone(repo, rev, out / name)
        for name, rev in [("before", before), ("after", after)]
    }
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    cmd = ["nice", "-n", str(nice), sys.executable, "-m", "snakemake", *args]
    start = time.perf_counter()
    procs = {
        name: subprocess.Popen(
            cmd,
            cwd=path,
            env=env,
            stdout=(out / f"{name}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for name, path in dirs.items()
    }
    walls = {}
    while len(walls) < len(procs):
        for name, proc in procs.items():
            if name not in walls and proc.poll() is not None:
                walls[name] = time.perf_counter() - start
                print(f"{name}: exit {proc.returncode} after {walls[name]:.0f} s wall")
        time.sleep(5)
    for name, path in dirs.items():
        fingerprint = path / FINGERPRINT
        text = fingerprint.read_text().split()[0] if fingerprint.exists() else "-"
        print(f"{name}: {path} fingerprint {text}")
    print()
    main(str(dirs["before"]), str(dirs["after"]), rest=rest)


if __name__ == "__main__":
    if "--run" not in sys.argv[1:]:
        main(*sys.argv[1:])
        sys.exit()
    argv = sys.argv[1:]
    rest = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="new directory")
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--nice", type=int, default=10)
    parser.add_argument(
        "--rest",
        nargs=2,
        metavar=("BEFORE_FULL", "AFTER_FULL"),
        help="finished full runs that give the rules the two runs did not run",
    )
    options = parser.parse_args(own)
    side_by_side(
        options.run,
        before=options.before,
        after=options.after,
        nice=options.nice,
        args=rest,
        rest=options.rest,
    )

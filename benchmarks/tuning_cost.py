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
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ACCOUNTING = Path("logs/jobserver/jobs.jsonl")


def costs(workdir: Path) -> pd.Series:
    """CPU seconds per rule, plus the job server and Snakemake, of one run."""
    records = pd.read_json(workdir / ACCOUNTING, lines=True)
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


def main(before: str, after: str) -> None:
    table = pd.DataFrame(
        {"before_cpu_s": costs(Path(before)), "after_cpu_s": costs(Path(after))}
    )
    missing = table.after_cpu_s.isna() | (
        table.index.isin(["(snakemake process)"]) & (table.after_cpu_s == 0)
    )
    table.loc[missing, "after_cpu_s"] = table.loc[missing, "before_cpu_s"]
    table = table.fillna(0.0)
    table["after/before"] = table.after_cpu_s / table.before_cpu_s
    table["note"] = ["(from before)" if m else "" for m in missing]
    print(table.round(2).to_string())
    total = table[["before_cpu_s", "after_cpu_s"]].sum()
    before_s, after_s = total.before_cpu_s, total.after_cpu_s
    print(f"\ntotal CPU: before {before_s:.1f} s, after {after_s:.1f} s")
    kind = "extrapolated, see (from before)" if missing.any() else "measured"
    print(f"ratio after/before = {after_s / before_s:.3f} ({kind})")


if __name__ == "__main__":
    main(*sys.argv[1:])

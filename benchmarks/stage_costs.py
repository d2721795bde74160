"""Where a study's time goes: per-rule job cost.

With the job server (local runs), each job's own CPU, wall time and peak RSS
are in ``logs/jobserver/jobs.jsonl`` (Snakemake's ``benchmark:`` files then
measure only the thin client that hands the job over). Without it, or on a
cluster, they are in ``benchmarks/rules/<rule>/**/*.tsv``. This reads
whichever the run left (the accounting file first) and prints, per rule, the
number of jobs, the median and total wall seconds, the median CPU seconds,
the peak RSS and the share of the total, the ratio of each rule's median to
training's, and (from the accounting) each rule's CPU by phase: start-up,
loading, tracing, compiling, computing.

    python benchmarks/stage_costs.py [logs/jobserver/jobs.jsonl | benchmarks/rules]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ACCOUNTING = Path("logs/jobserver/jobs.jsonl")
PHASES = (
    "startup_cpu_s",
    "load_cpu_s",
    "trace_cpu_s",
    "compile_cpu_s",
    "compute_cpu_s",
)
BENCHMARKS = Path("benchmarks/rules")


def load(source: Path) -> pd.DataFrame:
    """One row per job: rule, wall_s, cpu_s, max_rss_mb."""
    if source.is_file():
        df = pd.read_json(source, lines=True)
        df = df[(df.get("event", "job") == "job") & (df.exit == 0)]
        phases = [c for c in PHASES if c in df]
        return df[["rule", "wall_s", "cpu_s", "max_rss_mb", *phases]]
    frames = []
    for path in sorted(source.glob("*/**/*.tsv")):
        df = pd.read_csv(path, sep="\t")
        frames.append(
            pd.DataFrame(
                {
                    "rule": path.relative_to(source).parts[0],
                    "wall_s": df.s,
                    "cpu_s": df.cpu_time,
                    "max_rss_mb": df.max_rss,
                }
            )
        )
    if not frames:
        raise SystemExit(f"no job costs under {source}; run the workflow first")
    return pd.concat(frames, ignore_index=True)


def main(source: str | None = None) -> None:
    path = (
        Path(source) if source else (ACCOUNTING if ACCOUNTING.exists() else BENCHMARKS)
    )
    df = load(path)
    print(f"job costs from {path}")
    summary = df.groupby("rule").agg(
        jobs=("wall_s", "size"),
        wall_median_s=("wall_s", "median"),
        wall_total_s=("wall_s", "sum"),
        cpu_median_s=("cpu_s", "median"),
        cpu_total_s=("cpu_s", "sum"),
        max_rss_mb=("max_rss_mb", "max"),
    )
    summary["share_of_cpu"] = summary.cpu_total_s / summary.cpu_total_s.sum()
    print(summary.round(2).sort_values("cpu_total_s", ascending=False).to_string())
    if "train_model" in summary.index:
        base = summary.loc["train_model", "cpu_median_s"]
        print("\nmedian CPU relative to train_model:")
        for rule, row in summary.iterrows():
            print(f"  {rule:20s} {row.cpu_median_s / base:5.2f}x")
    phases = [c for c in PHASES if c in df]
    if phases:
        print("\nCPU seconds by phase, totals per rule (geoctx.accounting):")
        print(df.groupby("rule")[phases].sum().round(1).to_string())
    print(f"\ntotal job CPU seconds: {summary.cpu_total_s.sum():.1f}")


if __name__ == "__main__":
    main(*sys.argv[1:])

"""Where a study's time goes: per-rule job cost from Snakemake's benchmark files.

Reads ``benchmarks/rules/<rule>/**/*.tsv`` (written by every heavy rule) and
prints, per rule, the number of jobs, the median and total wall seconds, the
median CPU seconds and the share of the per-model total, plus the ratio of
each per-model stage to training.

    python benchmarks/stage_costs.py [benchmarks/rules]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def load(root: Path) -> pd.DataFrame:
    frames = []
    for path in sorted(root.glob("*/**/*.tsv")):
        df = pd.read_csv(path, sep="\t")
        frames.append(df.assign(rule=path.relative_to(root).parts[0]))
    if not frames:
        raise SystemExit(f"no benchmark files under {root}; run the workflow first")
    return pd.concat(frames, ignore_index=True)


def main(root: str = "benchmarks/rules") -> None:
    df = load(Path(root))
    summary = df.groupby("rule").agg(
        jobs=("s", "size"),
        wall_median_s=("s", "median"),
        wall_total_s=("s", "sum"),
        cpu_median_s=("cpu_time", "median"),
        max_rss_mb=("max_rss", "max"),
    )
    summary["share_of_total"] = summary.wall_total_s / summary.wall_total_s.sum()
    print(summary.round(2).sort_values("wall_total_s", ascending=False).to_string())
    if "train_model" in summary.index:
        base = summary.loc["train_model", "wall_median_s"]
        print("\nmedian wall time relative to train_model:")
        for rule, row in summary.iterrows():
            print(f"  {rule:20s} {row.wall_median_s / base:5.2f}x")
        per_model = summary.wall_median_s.sum()
        print(f"\nmedian seconds per model, all per-model stages: {per_model:.1f}")


if __name__ == "__main__":
    main(*sys.argv[1:])

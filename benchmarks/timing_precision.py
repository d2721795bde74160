"""How precisely the inference timing measures C9, and how much shorter it may be.

C9's evidence is, per condition (timed cell x batch size), the mean over
timing runs of each run's median over blocks of log2(latency / ReLU's
latency in the same block). This script reads the raw timings of finished
studies (``results/tables/inference.parquet``) and estimates how the
measurement error of a condition's value shrinks with the blocks and runs
timed, against the spread between conditions and C9's smallest effect of
interest d (the scorecard's, ``results/tables/claims.parquet``).

    python benchmarks/timing_precision.py STUDY_DIR [STUDY_DIR ...]
        [--fraction 0.125]

Fewer blocks are read exactly from the runs that were timed: a run's first
k blocks are what a run with ``blocks: k`` and the same time per block
(``min_seconds / blocks``) times, since the order of block b depends only on
the run's seed and b (``geoctx.cost.benchmark_cell``). For each k and number
of runs R it prints the SD of a run's k-block value between runs of the same
condition, pooled over conditions and activations (each condition gives
runs - 1 degrees of freedom), and the SD of a condition's mean over R runs,
s / sqrt(R), also in units of d; and the timing this costs relative to the
study's. With two studies or more that timed the same conditions with the
same code, it also prints the SD of a condition's value between studies (at
different times on the same machine): a shift shared by all runs of one
study, which no number of blocks or runs within a study reduces.

It ends with the cheapest setting with at least two runs (so a study can
still show its own between-run spread) whose condition-mean SD, in the
noisiest study, is at most ``--fraction`` x d (default d/8, so that even a
condition twice as noisy as the pooled one is measured within d/4).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from geoctx.cost import ratio_to
from geoctx.evidence import TIMING_CELL

CONDITION = [*TIMING_CELL, "activation"]


def log2_ratios(study: Path) -> pd.DataFrame:
    """Every block's log2 latency ratio to ReLU of the models timed in
    ``study`` (the activation op alone does not enter C9)."""
    table = pd.read_parquet(study / "results/tables/inference.parquet")
    rows = ratio_to(table[table.op == "mlp_forward"])
    rows = rows[rows.activation != "relu"]
    return rows.assign(value=np.log2(rows.latency_ratio))


def smallest_effect(study: Path) -> float:
    claims = pd.read_parquet(study / "results/tables/claims.parquet")
    c9 = claims[(claims.claim == "C9") & claims.primary & (claims.analysis == "main")]
    return float(c9.smallest_effect.iloc[0])


def run_values(ratios: pd.DataFrame, blocks: int) -> pd.Series:
    """Per condition, activation and run: the median of the first ``blocks``."""
    first = ratios[ratios.block < blocks]
    return first.groupby([*CONDITION, "run"]).value.median()


def between_run_sd(values: pd.Series) -> float:
    """SD of one run's value between runs of a condition, pooled over
    conditions (runs - 1 degrees of freedom each)."""
    groups = values.groupby(CONDITION)
    df = groups.count() - 1
    return float(np.sqrt((groups.var(ddof=1) * df).sum() / df.sum()))


def precision(ratios: pd.DataFrame, d: float) -> pd.DataFrame:
    """SD of a condition's mean for each count of blocks and runs."""
    n_blocks = int(ratios.block.max()) + 1
    n_runs = ratios.run.nunique()
    ks = sorted({k for k in (5, 10, 15, 20, n_blocks) if k <= n_blocks})
    rows = []
    for k, runs in itertools.product(ks, range(1, n_runs + 1)):
        sd_run = between_run_sd(run_values(ratios, k))
        sd_mean = sd_run / np.sqrt(runs)
        rows.append(
            {
                "blocks": k,
                "runs": runs,
                "sd_run": sd_run,
                "sd_condition_mean": sd_mean,
                "in_d": sd_mean / d,
                "timing_cost": k * runs / (n_blocks * n_runs),
            }
        )
    return pd.DataFrame(rows)


def describe(study: Path, ratios: pd.DataFrame) -> str:
    per_block = ratios.groupby([*CONDITION, "run", "block"]).timed_s.first()
    return (
        f"{study}: {ratios.run.nunique()} runs of {int(ratios.block.max()) + 1} "
        f"blocks, {per_block.median():.3f} s per measurement and block (median), "
        f"{ratios.groupby(TIMING_CELL).ngroups} conditions"
    )


def main(studies: list[Path], fraction: float) -> None:
    pd.set_option("display.width", 120)
    d = smallest_effect(studies[0])
    ratios = {study: log2_ratios(study) for study in studies}
    tables = {}
    for study, rows in ratios.items():
        print(describe(study, rows))
        means = run_values(rows, int(rows.block.max()) + 1).groupby(CONDITION).mean()
        spread = means.groupby("activation").std()
        print(
            "  spread between conditions (SD of condition means, vs relu): "
            + ", ".join(f"{a} {s:.3f}" for a, s in spread.items())
        )
        tables[study] = precision(rows, d)
        print(tables[study].round(4).to_string(index=False), "\n")
    print(f"C9's smallest effect of interest d = {d}")

    if len(studies) > 1:
        means = pd.DataFrame(
            {
                str(study): run_values(rows, int(rows.block.max()) + 1)
                .groupby(CONDITION)
                .mean()
                for study, rows in ratios.items()
            }
        ).dropna(thresh=2)
        if len(means):
            # variance between studies of a condition's value, pooled
            between = means.var(axis=1, ddof=1).groupby("activation").mean()
            print(
                f"SD of a condition's value between studies ({len(means)} "
                "condition x activation values timed in two studies or more): "
                + ", ".join(f"{a} {np.sqrt(v):.3f}" for a, v in between.items())
            )

    worst = (
        pd.concat(tables.values())
        .groupby(["blocks", "runs"])
        .agg(
            sd_condition_mean=("sd_condition_mean", "max"),
            timing_cost=("timing_cost", "max"),
        )
    )
    fit = worst[
        (worst.sd_condition_mean <= fraction * d)
        & (worst.index.get_level_values("runs") >= 2)
    ]
    if fit.empty:
        print(f"no setting with 2 runs or more keeps the SD within {fraction} d")
        return
    (blocks, runs), best = next(iter(fit.sort_values("timing_cost").iterrows()))
    print(
        f"cheapest with >= 2 runs and SD <= {fraction} d = {fraction * d:.4f} in "
        f"every study: {blocks} blocks x {runs} runs (same time per block), SD "
        f"{best.sd_condition_mean:.4f} = d/{d / best.sd_condition_mean:.0f}, "
        f"{best.timing_cost:.2f} of the timing"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("studies", nargs="+", type=Path)
    parser.add_argument("--fraction", type=float, default=0.125)
    args = parser.parse_args()
    main(args.studies, args.fraction)

"""Do the study seeds that trail their cell fail at every tuned rate?

The report classifies each trailing (cell, activation) from one tuning seed
per rate and the study seeds at the chosen rate (``geoctx.trailing``), and
the workflow trains a *seed-dependent* or *held-out only* pair's short
seeds again at the other rates (``retry_trailing_seeds``). This script
asks it of every seed of every trailing pair, the chosen rate included.

For every trailing pair of a finished study that does not fit its
training data (not one of ``trailing.HELD_OUT_KINDS``), it trains each
study seed at every rate of the tuning grid, the rates side by side in
one graph as the tuning stage does
(:func:`geoctx.tuning.tune_with_curves` with the study seed as the only
tuning seed, on that seed's own data split), under the study's training
settings. It prints per pair, seed and rate the final training accuracy
(* for the study run's rate: the chosen one, or the one a run that failed
to learn there was kept at), and per pair how many seeds reach the
best activation's mean training accuracy less the margin at some rate.

A stacked run at the chosen rate computes what the study run did up to
float rounding, which on a deep network near a plateau can grow into a
different run; its row is printed beside the study run's own training
accuracy (``study``) so the two can be compared.

    nice -n 10 python benchmarks/trailing_rates.py [--results results]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from geoctx import datasets, tables, trailing, training, tuning  # noqa: E402


def _settings(results: Path) -> training.TrainSettings:
    """The study's training settings, as its runs recorded them."""
    path = next((results / "models").rglob("runs.parquet"))
    return training.TrainSettings(**tables.read_metadata(path)["settings"]["training"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    args = parser.parse_args()
    results = args.results
    runs = pd.read_parquet(results / "tables" / "runs.parquet")
    tuned = pd.read_parquet(results / "tables" / "tuning.parquet")
    settings = _settings(results)
    grid = sorted(tuned["learning_rate"].unique())
    pairs = trailing.classify(runs, tuned)
    pairs = pairs[~pairs["kind"].isin(trailing.HELD_OUT_KINDS)]
    margin = trailing.TRAILING_MARGIN
    summary = []
    for pair in pairs.to_dict("records"):
        cell = tuple(pair[k] for k in trailing.CELL_KEYS)
        best = trailing.rows_of(runs, cell, pair["best_activation"])
        target = best["train_accuracy"].mean() - margin
        keys = {k: pair[k] for k in trailing.CELL_KEYS} | {
            "activation": pair["activation"]
        }
        print(
            f"\n{keys['dataset']} {keys['activation']} {keys['initializer']} "
            f"w{keys['width']} d{keys['depth']} ({pair['kind']}): best "
            f"{pair['best_activation']} trains to {target + margin:.3f}; "
            f"a seed fits at >= {target:.3f}"
        )
        mine = trailing.rows_of(runs, cell, pair["activation"]).sort_values("seed")
        print(
            f"{'seed':>5} {'study':>7} "
            + " ".join(f"{rate:>9g}" for rate in grid)
            + "  (training accuracy; * the study run's rate)"
        )
        fitted = 0
        for run in mine.to_dict("records"):
            data = datasets.load(
                results / "data" / keys["dataset"] / f"s{run['seed']}" / "data.npz"
            )
            start = time.process_time()
            table = tuning.tune(
                data,
                tuning.Cell.of(keys),
                settings,
                learning_rates=grid,
                seeds=[int(run["seed"])],
                criterion="val_loss",
            ).sort_values("learning_rate")
            cpu = time.process_time() - start
            accuracy = table["train_accuracy"].to_numpy()
            cells = [
                f"{a:.3f}{'*' if rate == run['learning_rate'] else ' '}"
                for rate, a in zip(table["learning_rate"], accuracy, strict=True)
            ]
            escaped = bool((accuracy >= target).any())
            fitted += escaped
            print(
                f"{run['seed']:>5} {run['train_accuracy']:>7.3f} "
                + " ".join(f"{c:>9}" for c in cells)
                + f"  {'fits at some rate' if escaped else 'fits at no rate'}"
                f" ({table['epochs_run'].sum()} epochs, {cpu:.0f} s)"
            )
        summary.append({**keys, "kind": pair["kind"], "seeds": len(mine),
                        "fit_at_some_rate": fitted})  # fmt: skip
    print()
    print(pd.DataFrame(summary).to_string(index=False))


if __name__ == "__main__":
    main()

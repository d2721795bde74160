"""Would a longer plateau window let trailing sigmoid models escape?

Retrains the default study's trailing deep-sigmoid cells (every study seed,
at the learning rate the study's tuning chose for the cell) under stopping
rules that differ only in the convergence window, the tolerance and the
epoch cap staying the study's (``study`` is the study's own rule, with its
longer window for runs short of fitting; a number is one fixed window for
every run), and prints per model and per rule: epochs
run, whether it stopped on the rule or at the cap, final train and test
accuracy, whether it escaped the plateau (training accuracy above
``--escaped``), and the CPU seconds of the run. ``cap`` is the cap alone
(a window as long as the cap, so the rule never fires).

Every run is :func:`geoctx.training.train_model` on the study's own data
split of that seed (``RESULTS/data/<dataset>/s<seed>/data.npz``), so the
``study`` rows reproduce the study's runs table and the others differ
only in when training stops: a model's trajectory does not depend on the
rule, so a longer window only extends it.

    nice -n 10 python benchmarks/plateau_window.py \\
        --results results --windows study 50 200 500 cap
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from geoctx import datasets, tables, training, tuning  # noqa: E402
from geoctx.config import resolve_initializer  # noqa: E402

#: (dataset, initializer) of the trailing depth-8 sigmoid cells of the study
CELLS = [
    ("spirals", "glorot_uniform"),
    ("spirals", "he_normal"),
    ("digits", "he_normal"),
    ("circles", "glorot_uniform"),
]


def _settings(results: Path) -> training.TrainSettings:
    """The study's training settings, as its runs recorded them."""
    path = next((results / "models").rglob("runs.parquet"))
    meta = tables.read_metadata(path)["settings"]["training"]
    return training.TrainSettings(**meta)


def _rate(results: Path, dataset: str, initializer: str, width: int, depth: int):
    path = (
        results
        / "tuning"
        / dataset
        / "sigmoid"
        / resolve_initializer(initializer, "sigmoid")
        / f"w{width}_d{depth}"
        / "tuning.parquet"
    )
    return tuning.chosen_rate(pd.read_parquet(path))


def run(results: Path, *, windows, seeds, width: int, depth: int, escaped: float):
    """One row per cell, seed and rule."""
    base = _settings(results)
    rows = []
    for dataset, initializer in CELLS:
        rate = _rate(results, dataset, initializer, width, depth)
        for seed in seeds:
            data = datasets.load(results / "data" / dataset / f"s{seed}" / "data.npz")
            spec = training.ModelSpec(
                dataset, "sigmoid", initializer, width, depth, seed
            )
            for window in windows:
                if window == "study":  # the study's own rule, as configured
                    convergence = dict(base.convergence)
                else:  # one fixed window for every run, fitted or not
                    size = base.epochs if window == "cap" else int(window)
                    convergence = {**base.convergence, "window": size}
                    convergence["fitted_accuracy"] = 0.0
                settings = replace(base, learning_rate=rate, convergence=convergence)
                start = time.process_time()
                result = training.train_model(data, spec, settings, threads=1)
                cpu = time.process_time() - start
                r = result.run
                rows.append(
                    {
                        "dataset": dataset,
                        "initializer": initializer,
                        "seed": seed,
                        "learning_rate": rate,
                        "rule": window
                        if window in ("cap", "study")
                        else f"window {window}",
                        "epochs_run": r["epochs_run"],
                        "hit_cap": r["hit_cap"],
                        "train_accuracy": r["train_accuracy"],
                        "test_accuracy": r["test_accuracy"],
                        "escaped": r["train_accuracy"] > escaped,
                        "cpu_s": cpu,
                    }
                )
                print(pd.DataFrame(rows[-1:]).to_string(header=len(rows) == 1))
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument(
        "--windows", nargs="+", default=["study", "50", "200", "500", "cap"]
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument(
        "--escaped",
        type=float,
        default=0.95,
        help="training accuracy above which a run counts as out of the plateau",
    )
    parser.add_argument("--out", default=None, help="per-run CSV")
    args = parser.parse_args()
    table = run(
        args.results,
        windows=args.windows,
        seeds=args.seeds,
        width=args.width,
        depth=args.depth,
        escaped=args.escaped,
    )
    if args.out:
        table.to_csv(args.out, index=False)
    summary = table.groupby(["dataset", "initializer", "rule"], sort=False).agg(
        escaped=("escaped", "sum"),
        seeds=("seed", "size"),
        train_accuracy=("train_accuracy", "mean"),
        test_accuracy=("test_accuracy", "mean"),
        epochs=("epochs_run", "sum"),
        hit_cap=("hit_cap", "sum"),
        cpu_s=("cpu_s", "sum"),
    )
    print(summary.round(3).to_string())
    print(table.groupby("rule", sort=False)[["epochs_run", "cpu_s"]].sum().round(1))


if __name__ == "__main__":
    main()

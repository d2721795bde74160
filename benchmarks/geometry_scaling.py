"""Seconds per geometry metric at growing probe sizes, and the fitted exponent.

Each metric runs on a probe of ``n`` points (input in 8 dimensions, a
64-unit layer, 4 classes) for n = 250, 500, 1000, 2000, on one thread
(the BLAS and OpenMP pools limited as in the jobs), best CPU time of
``--repeats``. The exponent is the
slope of log(seconds) on log(n) between the two largest sizes; the target is
no metric worse than O(n^2). Betti numbers subsample each class to
``betti_max_points`` (the config's cap), so their cost stops growing. The
last line is the largest exponent.

    python benchmarks/geometry_scaling.py [--sizes 250 500 1000 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from geoctx import geometry
from geoctx.geometry.stage import GeometrySettings

SETTINGS = GeometrySettings()


def metrics(X, H, y) -> dict:
    k = SETTINGS.n_neighbors
    return {
        "distance_spearman": lambda: geometry.distance_spearman(X, H),
        "distance_contrast": lambda: geometry.distance_contrast(H),
        "knn_overlap": lambda: geometry.knn_overlap(X, H, n_neighbors=k),
        "trustworthiness": lambda: geometry.trustworthiness(X, H, n_neighbors=k),
        "continuity": lambda: geometry.continuity(X, H, n_neighbors=k),
        "linear_cka": lambda: geometry.linear_cka(X, H),
        "twonn_dimension": lambda: geometry.twonn_dimension(H),
        "effective_rank": lambda: geometry.effective_rank(H),
        "betti_numbers_per_class": lambda: geometry.betti_numbers_per_class(
            H, y, max_points=SETTINGS.betti_max_points
        ),
        "linear_probe_accuracy": lambda: geometry.linear_probe_accuracy(
            H, y, folds=SETTINGS.probe_folds
        ),
        "all_metrics (shared distances)": lambda: geometry.all_metrics(
            X, H, y, n_neighbors=k, betti_max_points=SETTINGS.betti_max_points
        ),
    }


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    # one thread, as in the jobs (threads: 1): CPU time then counts no
    # BLAS or OpenMP threads that start only above some size
    threadpool_limits(1)
    rng = np.random.default_rng(0)
    table: dict[str, list[float]] = {}
    for n in args.sizes:
        X = rng.normal(size=(n, 8))
        H = np.tanh(X @ rng.normal(size=(8, 64)))
        y = rng.integers(0, 4, size=n)
        for name, fn in metrics(X, H, y).items():
            table.setdefault(name, []).append(best_of(fn, args.repeats))
    header = "metric".ljust(32) + "".join(f"n={n:<8d}" for n in args.sizes) + "exponent"
    print(header)
    worst = -np.inf
    for name, seconds in table.items():
        a, b = seconds[-2], seconds[-1]
        exponent = (
            np.log(b / a) / np.log(args.sizes[-1] / args.sizes[-2]) if a > 0 else 0
        )
        worst = max(worst, exponent)
        cells = "".join(f"{s:<10.3f}" for s in seconds)
        print(f"{name:32s}{cells}{exponent:5.2f}")
    print(f"largest exponent (target <= 2): {worst:.2f}")


if __name__ == "__main__":
    main()

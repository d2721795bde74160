"""What reseeding TensorFlow costs every model a process trains after its first.

``keras.utils.set_random_seed`` sets TensorFlow's global seed, and setting
it clears TensorFlow's kernel cache: every compiled graph of the process
(the training epoch, the layer outputs, the gradient norms) is instantiated
and optimized again for the next model. :func:`geoctx.training.seed_random`
seeds the same generators but TensorFlow's only once per process.

Trains ``--models`` spirals models (width 64, depth 2 and 8, ``--epochs``
epochs each) one after the other in one process, as a job server worker
does, first reseeding with ``keras.utils.set_random_seed`` and then with
``seed_random``, after one untimed model that traces the graphs. Prints the
CPU seconds per model of each and their ratio, and checks that both
seedings trained the same weights, bit for bit.

    python benchmarks/seed_cache.py [--models 6] [--epochs 5]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from geoctx import datasets, training  # noqa: E402
from geoctx.training import ModelSpec, TrainSettings  # noqa: E402


def train_all(data, settings, depth: int, n_models: int, *, seed_with):
    """CPU seconds per model and the models' final weights."""
    original = training.seed_random
    training.seed_random = seed_with
    try:
        spec = ModelSpec("spirals", "tanh", "auto", 64, depth, 0)
        training.train_model(data, spec, settings)  # traces the graphs
        weights = []
        start = time.process_time()
        for seed in range(1, n_models + 1):
            spec = ModelSpec("spirals", "tanh", "auto", 64, depth, seed)
            weights.append(
                training.train_model(data, spec, settings).model.get_weights()
            )
        return (time.process_time() - start) / n_models, weights
    finally:
        training.seed_random = original


def main() -> None:
    import keras

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    data, _ = datasets.make_dataset(
        {"generator": "spirals", "n_samples": 2000},
        test_fraction=0.25,
        validation_fraction=0.2,
        probe_points=256,
    )
    settings = TrainSettings(
        epochs=args.epochs, convergence={"window": args.epochs, "tolerance": 0.001}
    )
    sides = {"set_random_seed": keras.utils.set_random_seed}
    sides["seed_random"] = training.seed_random
    print(
        f"{'depth':>5} " + " ".join(f"{name:>16}" for name in sides) + "  (CPU s/model)"
    )
    totals = dict.fromkeys(sides, 0.0)
    for depth in (2, 8):
        results = {
            name: train_all(data, settings, depth, args.models, seed_with=fn)
            for name, fn in sides.items()
        }
        (_, a), (_, b) = results.values()
        same = all(
            np.array_equal(x, y)
            for wa, wb in zip(a, b, strict=True)
            for x, y in zip(wa, wb, strict=True)
        )
        for name, (cpu, _) in results.items():
            totals[name] += cpu
        cpus = " ".join(f"{cpu:>16.3f}" for cpu, _ in results.values())
        print(f"{depth:>5} {cpus}  weights identical: {same}")
    ratio = totals["seed_random"] / totals["set_random_seed"]
    print(f"seed_random / set_random_seed: {ratio:.2f}")


if __name__ == "__main__":
    main()

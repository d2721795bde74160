"""Training cost against a minimal hand-written compiled loop.

Trains the same MLP (spirals, width 64, depth 2 and 8, batch 128, Adam,
validation accuracy after every epoch, no early stopping) three ways in one
process, one thread, and prints CPU seconds per model:

- ``keras_fit``: ``model.fit`` with validation data, as geoctx trained before;
- ``geoctx``: :func:`geoctx.training._fit` in a new trainer, what
  ``train_model`` runs the first time a process trains the architecture
  (later runs reuse its traced graphs);
- ``hand``: a bare ``tf.function`` over one epoch's batches, nothing else.

Each is timed ``--repeats`` times from a freshly built model (tracing
included, as a job pays it) and the minimum kept. The last line is the
ratio geoctx / hand (target: at most 1.3).

    python benchmarks/training_speed.py [--epochs 30] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from geoctx import datasets, training  # noqa: E402
from geoctx.training import ModelSpec, TrainSettings  # noqa: E402


def keras_fit(model, data, settings, *, seed):
    """The reference: Keras ``fit`` with per-epoch validation."""
    model.fit(
        data["X_train"],
        data["y_train"],
        validation_data=(data["X_val"], data["y_val"]),
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        shuffle=True,
        verbose=0,
    )


def geoctx_fit(model, data, settings, *, seed):
    trainer = training._Trainer.around(model, settings.batch_size)
    training._fit(trainer, data, settings, seed=seed)


def hand(model, data, settings, *, seed):
    """The minimal compiled loop: one ``tf.function`` call per epoch."""
    import tensorflow as tf

    x, y = tf.constant(data["X_train"]), tf.constant(data["y_train"])
    x_val, y_val = tf.constant(data["X_val"]), tf.constant(data["y_val"])
    n, b = int(x.shape[0]), settings.batch_size
    variables = model.trainable_variables
    model.optimizer.build(variables)

    @tf.function
    def epoch(order):
        xs, ys = tf.gather(x, order), tf.gather(y, order)
        for i in tf.range(-(-n // b)):
            xb, yb = xs[i * b : (i + 1) * b], ys[i * b : (i + 1) * b]
            with tf.GradientTape() as tape:
                loss = model.loss(yb, model(xb))
            model.optimizer.apply(tape.gradient(loss, variables), variables)
        return model.loss(y_val, model(x_val))

    rng = np.random.default_rng(seed)
    for _ in range(settings.epochs):
        epoch(tf.constant(rng.permutation(n))).numpy()


def cpu_seconds(train, data, spec, settings, *, repeats):
    best = np.inf
    for _ in range(repeats):
        training.configure_model_run(threads=1, seed=spec.seed)
        model = training._build(spec, settings, data["X_train"].shape[1], 2)
        t0 = time.process_time()
        train(model, data, settings, seed=spec.seed)
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    data, _ = datasets.make_dataset(
        {"generator": "spirals", "n_samples": 2000},
        test_fraction=0.25,
        validation_fraction=0.2,
        probe_points=256,
    )
    # a window as long as the run: every epoch is trained
    settings = TrainSettings(
        epochs=args.epochs, convergence={"window": args.epochs, "tolerance": 0.001}
    )
    sides = {"keras_fit": keras_fit, "geoctx": geoctx_fit, "hand": hand}
    totals = dict.fromkeys(sides, 0.0)
    print(f"{'depth':>5} " + " ".join(f"{name:>10}" for name in sides) + "  (CPU s)")
    for depth in (2, 8):
        spec = ModelSpec("spirals", "tanh", "auto", 64, depth, 0)
        row = {
            name: cpu_seconds(fn, data, spec, settings, repeats=args.repeats)
            for name, fn in sides.items()
        }
        for name, value in row.items():
            totals[name] += value
        print(f"{depth:>5} " + " ".join(f"{v:>10.2f}" for v in row.values()))
    print(f"keras_fit / hand: {totals['keras_fit'] / totals['hand']:.2f}")
    print(f"geoctx / hand: {totals['geoctx'] / totals['hand']:.2f}")


if __name__ == "__main__":
    main()

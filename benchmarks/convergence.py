"""Does a training protocol converge for every activation and depth?

Trains the default study's hardest cells (seed 0) under named protocols and
prints, per model: final test accuracy, best validation accuracy, the epoch
at which validation accuracy plateaued (first epoch within ``--tol`` of its
best), epochs run, whether the learning curve is flat at the end (best
validation accuracy of the last ``--window`` epochs is less than ``--tol``
above the best before them) and the CPU seconds of ``fit``.

Every protocol builds the same model as ``geoctx.training.train_model``
(``build_mlp``, seeded by ``configure_backend``, logits + sparse
cross-entropy) on the same ``geoctx.datasets.make_dataset`` splits; only the
stopping rule, learning-rate schedule, epochs and batch size differ.

    python benchmarks/convergence.py --protocols current proposed \\
        --datasets spirals circles --out convergence.csv

``--histories PATH`` also writes every per-epoch curve (tidy CSV).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from geoctx.datasets import make_dataset  # noqa: E402
from geoctx.training import configure_backend  # noqa: E402

#: The default study's datasets (config/config.yaml) plus MNIST-1D.
DATASETS = {
    "circles": {"generator": "circles", "n_samples": 2000, "noise": 0.05},
    "spirals": {"generator": "spirals", "n_samples": 2000, "noise": 0.05},
    "digits": {"generator": "digits"},
    "mnist1d": {"generator": "mnist1d", "n_samples": 4000},
    "mnist1d_6667": {"generator": "mnist1d", "n_samples": 6670},
}


@dataclass(frozen=True)
class Protocol:
    """One way to train: budget, stopping rule and learning-rate schedule."""

    epochs: int
    batch_size: int
    learning_rate: float
    monitor: str | None = "val_loss"  # early-stopping quantity; None: no stopping
    patience: int = 6
    min_delta: float = 0.0
    restore_best: bool = True
    schedule: str | None = None  # None, "plateau" or "cosine"
    plateau_patience: int = 5
    plateau_factor: float = 0.5
    min_learning_rate: float = 1e-5
    start_from_epoch: int = 0


PROTOCOLS = {
    # the default protocol before this benchmark chose the current one
    "current": Protocol(epochs=40, batch_size=128, learning_rate=0.005),
    # the same budget without early stopping
    "no_stop": Protocol(epochs=40, batch_size=128, learning_rate=0.005, monitor=None),
    "acc_stop": Protocol(
        epochs=150,
        batch_size=128,
        learning_rate=0.005,
        monitor="val_accuracy",
        patience=20,
        min_delta=0.0,
    ),
    "acc_stop_plateau_lr": Protocol(
        epochs=150,
        batch_size=128,
        learning_rate=0.005,
        monitor="val_accuracy",
        patience=20,
        schedule="plateau",
    ),
    "small_batch": Protocol(
        epochs=100,
        batch_size=32,
        learning_rate=0.002,
        monitor="val_accuracy",
        patience=15,
        schedule="plateau",
    ),
    # a fixed long budget at today's settings: the learning curves every
    # stopping rule is simulated on (see ``simulate_stopping``)
    "long": Protocol(epochs=200, batch_size=128, learning_rate=0.005, monitor=None),
    # the recommendation: today's optimizer, a longer ceiling, and stopping
    # once validation accuracy has not improved for 30 epochs, final weights kept
    "proposed": Protocol(
        epochs=150,
        batch_size=128,
        learning_rate=0.005,
        monitor="val_accuracy",
        patience=30,
        restore_best=False,
    ),
    # the candidate's optimizer settings at a fixed budget: rules are replayed on it
    "long64": Protocol(epochs=150, batch_size=64, learning_rate=0.005, monitor=None),
    "long_lr01": Protocol(epochs=100, batch_size=128, learning_rate=0.01, monitor=None),
    "long_lr02": Protocol(epochs=100, batch_size=128, learning_rate=0.02, monitor=None),
    "cosine": Protocol(
        epochs=100,
        batch_size=64,
        learning_rate=0.005,
        monitor=None,
        schedule="cosine",
    ),
}


def _test_log(x, y):
    """A Keras callback adding test loss and accuracy to every epoch's logs."""
    import keras

    class TestLog(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logits = self.model(x, training=False)
            loss = keras.losses.sparse_categorical_crossentropy(
                y, logits, from_logits=True
            )
            logs["test_loss"] = float(np.mean(loss))
            logs["test_accuracy"] = float(np.mean(np.argmax(logits, axis=1) == y))

    return TestLog()


def _callbacks(protocol: Protocol):
    import keras

    callbacks = [keras.callbacks.TerminateOnNaN()]
    if protocol.monitor is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=protocol.monitor,
                mode="max" if "accuracy" in protocol.monitor else "min",
                patience=protocol.patience,
                min_delta=protocol.min_delta,
                restore_best_weights=protocol.restore_best,
                start_from_epoch=protocol.start_from_epoch,
            )
        )
    if protocol.schedule == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss",
                factor=protocol.plateau_factor,
                patience=protocol.plateau_patience,
                min_lr=protocol.min_learning_rate,
            )
        )
    return callbacks


def _learning_rate(protocol: Protocol, steps_per_epoch: int):
    if protocol.schedule != "cosine":
        return protocol.learning_rate
    import keras

    return keras.optimizers.schedules.CosineDecay(
        protocol.learning_rate, decay_steps=protocol.epochs * steps_per_epoch
    )


def fit(data: dict, *, activation: str, depth: int, seed: int, protocol: Protocol):
    """Train one model as ``train_model`` would.

    Returns the per-epoch history (with test loss and accuracy), the final
    test accuracy, and the CPU and wall seconds of ``fit``.
    """
    configure_backend(threads=1, seed=seed)
    import keras

    from geoctx.models import build_mlp

    x, y = data["X_train"], data["y_train"]
    n_classes = int(max(data[f"y_{s}"].max() for s in ("train", "val", "test")) + 1)
    model = build_mlp(
        x.shape[1], n_classes, activation=activation, width=64, depth=depth
    )
    steps = math.ceil(len(y) / protocol.batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(_learning_rate(protocol, steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = model.fit(
        x,
        y,
        validation_data=(data["X_val"], data["y_val"]),
        epochs=protocol.epochs,
        batch_size=protocol.batch_size,
        shuffle=True,
        callbacks=[*_callbacks(protocol), _test_log(data["X_test"], data["y_test"])],
        verbose=0,
    )
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    logits = model.predict(data["X_test"], batch_size=4096, verbose=0)
    test_accuracy = float(np.mean(np.argmax(logits, axis=1) == data["y_test"]))
    history = pd.DataFrame(result.history)
    history.index = pd.RangeIndex(1, len(history) + 1, name="epoch")
    return history, test_accuracy, cpu, wall


def plateau_summary(val_accuracy: np.ndarray, *, window: int, tol: float) -> dict:
    """Where a validation-accuracy curve reached its best, and whether it is flat.

    ``plateau_epoch`` is the first epoch within ``tol`` of the best;
    ``final_gain`` is how far the best of the last ``window`` epochs lies
    above the best before them (NaN when the run is shorter than
    ``window + 1`` epochs); ``plateaued`` is ``final_gain < tol``.

    >>> s = plateau_summary(np.array([0.5, 0.8, 0.9, 0.9, 0.9]), window=2, tol=0.005)
    >>> s["plateau_epoch"], s["plateaued"]
    (3, True)
    """
    best = float(np.max(val_accuracy))
    plateau_epoch = int(np.argmax(val_accuracy >= best - tol)) + 1
    if len(val_accuracy) <= window:
        gain = math.nan
    else:
        gain = float(val_accuracy[-window:].max() - val_accuracy[:-window].max())
    return {
        "best_val_accuracy": best,
        "plateau_epoch": plateau_epoch,
        "final_gain": gain,
        "plateaued": bool(gain < tol),
    }


@dataclass(frozen=True)
class StoppingRule:
    """Keras ``EarlyStopping`` semantics, replayed on a recorded curve.

    ``monitors`` are watched together: an epoch improves when any of them
    beats its own best by more than its ``min_deltas`` entry (accuracies up,
    losses down); ``restore_best`` keeps the epoch where the first monitor
    last improved. ``max_epochs=None`` uses the whole curve.
    """

    max_epochs: int | None = None
    monitors: tuple[str, ...] = ("val_accuracy",)
    min_deltas: tuple[float, ...] = (0.0,)
    patience: int = 20
    restore_best: bool = False
    start_from_epoch: int = 0


def simulate_stopping(history: pd.DataFrame, rule: StoppingRule) -> dict:
    """Replay ``rule`` on a run trained without stopping; what would it keep?

    Follows ``keras.callbacks.EarlyStopping``: epochs before
    ``start_from_epoch`` are ignored; training stops once ``patience``
    epochs in a row have not improved; the kept weights are the best
    epoch's (``restore_best``) or the last epoch's. Valid because callbacks
    that only watch do not change the trajectory.

    >>> h = pd.DataFrame(
    ...     {"val_accuracy": [0.5, 0.9, 0.9, 0.9], "test_accuracy": [0.5, 0.8, 0.8, 1]}
    ... )
    >>> simulate_stopping(h, StoppingRule(patience=2, restore_best=True))
    {'stop_epoch': 4, 'kept_epoch': 2, 'test_accuracy': 0.8}
    """
    curve = history.iloc[: rule.max_epochs]
    signs = np.array([1.0 if "accuracy" in m else -1.0 for m in rule.monitors])
    values = curve[list(rule.monitors)].to_numpy() * signs
    deltas = np.asarray(rule.min_deltas)
    best = np.full(len(signs), -np.inf)
    best_epoch, wait, stop = 1, 0, len(values)
    for epoch, value in enumerate(values, start=1):
        if epoch <= rule.start_from_epoch:
            continue
        wait += 1
        improved = value - deltas > best
        best = np.where(improved, value, best)
        if improved[0]:
            best_epoch = epoch
        if improved.any():
            wait = 0
            continue
        if wait >= rule.patience:
            stop = epoch
            break
    kept = best_epoch if rule.restore_best else stop
    return {
        "stop_epoch": stop,
        "kept_epoch": kept,
        "test_accuracy": float(curve["test_accuracy"].iloc[kept - 1]),
    }


_NEVER = 10**6
#: Stopping rules replayed by ``--simulate`` on curves trained without stopping.
RULES = {
    "loss_p6_restore_40": StoppingRule(
        max_epochs=40, monitors=("val_loss",), patience=6, restore_best=True
    ),
    "fixed40": StoppingRule(max_epochs=40, patience=_NEVER),
    "acc_p20_restore": StoppingRule(patience=20, restore_best=True),
    "acc_p20": StoppingRule(patience=20),
    "acc_p30": StoppingRule(patience=30),
    "acc_p20_from50": StoppingRule(patience=20, start_from_epoch=50),
    "trainloss_p20": StoppingRule(monitors=("loss",), min_deltas=(0.001,), patience=20),
    "acc_or_trainloss_p20": StoppingRule(
        monitors=("val_accuracy", "loss"), min_deltas=(0.0, 0.001), patience=20
    ),
    "acc_or_trainloss_p20_restore": StoppingRule(
        monitors=("val_accuracy", "loss"),
        min_deltas=(0.0, 0.001),
        patience=20,
        restore_best=True,
    ),
    "fixed": StoppingRule(patience=_NEVER),
}


def simulate(histories: pd.DataFrame) -> pd.DataFrame:
    """Every rule of :data:`RULES` on every recorded curve: one row per (cell, rule)."""
    keys = ["dataset", "activation", "depth", "seed"]
    rows = []
    for cell, history in histories.groupby(keys, sort=False):
        history = history.sort_values("epoch")
        for name, rule in RULES.items():
            rows.append(
                {**dict(zip(keys, cell, strict=True)), "rule": name}
                | simulate_stopping(history, rule)
            )
    return pd.DataFrame(rows)


def compare(summary: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Protocols ``a`` and ``b`` side by side, one row per cell, plus CPU totals."""
    columns = ["test_accuracy", "epochs_run", "plateau_epoch", "plateaued", "cpu_s"]
    index = ["dataset", "activation", "depth"]
    both = summary[summary.protocol.isin([a, b])].drop_duplicates(
        [*index, "protocol"], keep="last"
    )
    wide = both.pivot(index=index, columns="protocol", values=columns)
    wide = wide.reindex(columns=[(c, p) for c in columns for p in (a, b)])
    wide.columns = [f"{c}[{p}]" for c, p in wide.columns]
    return wide.round(3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocols", nargs="+", default=["current", "acc_stop"])
    parser.add_argument("--datasets", nargs="+", default=["spirals", "circles"])
    parser.add_argument(
        "--activations", nargs="+", default=["sigmoid", "tanh", "relu", "gelu"]
    )
    parser.add_argument("--depths", nargs="+", type=int, default=[2, 8])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--tol", type=float, default=0.005)
    parser.add_argument("--out", default=None, help="summary CSV (appended)")
    parser.add_argument("--histories", default=None, help="per-epoch CSV (appended)")
    parser.add_argument(
        "--simulate", default=None, help="replay RULES on a --histories CSV and exit"
    )
    parser.add_argument(
        "--compare",
        nargs=3,
        metavar=("SUMMARY", "A", "B"),
        default=None,
        help="print protocols A and B side by side from a --out CSV and exit",
    )
    args = parser.parse_args()

    if args.compare:
        path, a, b = args.compare
        print(compare(pd.read_csv(path), a, b).to_string())
        return

    if args.simulate:
        table = simulate(pd.read_csv(args.simulate))
        index = ["dataset", "activation", "depth"]
        with pd.option_context("display.width", 250, "display.max_columns", 40):
            for value in ("test_accuracy", "stop_epoch"):
                wide = table.pivot_table(index=index, columns="rule", values=value)
                print(f"\n{value}\n{wide[list(RULES)].round(3).to_string()}")
        return

    for dataset in args.datasets:
        data, _ = make_dataset(
            DATASETS[dataset],
            test_fraction=0.25,
            validation_fraction=0.2,
            probe_points=256,
        )
        for name in args.protocols:
            protocol = PROTOCOLS[name]
            for depth in args.depths:
                for activation in args.activations:
                    history, test_acc, cpu, wall = fit(
                        data,
                        activation=activation,
                        depth=depth,
                        seed=args.seed,
                        protocol=protocol,
                    )
                    keys = {
                        "dataset": dataset,
                        "protocol": name,
                        "activation": activation,
                        "depth": depth,
                        "seed": args.seed,
                    }
                    row = {
                        **keys,
                        "test_accuracy": test_acc,
                        "epochs_run": len(history),
                        **plateau_summary(
                            history["val_accuracy"].to_numpy(),
                            window=args.window,
                            tol=args.tol,
                        ),
                        "cpu_s": cpu,
                        "wall_s": wall,
                        "n_train": len(data["y_train"]),
                        **{f"p_{k}": v for k, v in asdict(protocol).items()},
                    }
                    print(
                        f"{dataset:8s} {name:20s} {activation:7s} d{depth} "
                        f"test={test_acc:.3f} best_val={row['best_val_accuracy']:.3f} "
                        f"plateau@{row['plateau_epoch']:3d}/{row['epochs_run']:3d} "
                        f"gain={row['final_gain']:+.3f} cpu={cpu:5.1f}s",
                        flush=True,
                    )
                    if args.out:
                        pd.DataFrame([row]).to_csv(
                            args.out,
                            mode="a",
                            index=False,
                            header=not os.path.exists(args.out),
                        )
                    if args.histories:
                        h = history.reset_index().assign(**keys)
                        h.to_csv(
                            args.histories,
                            mode="a",
                            index=False,
                            header=not os.path.exists(args.histories),
                        )


if __name__ == "__main__":
    main()

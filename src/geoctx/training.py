"""Train one model of the sweep and record what it did to its units.

:func:`train_model` is deterministic given its :class:`ModelSpec` (Keras
and the batch order seeded from ``spec.seed``, TensorFlow op determinism
on): the same config gives identical weights. The model is a compiled
Keras model; each epoch runs as one compiled graph loop over its batches
(``_fit``), which costs about what a hand-written loop does and a quarter
of ``model.fit`` on these small models
(``benchmarks/training_speed.py``). It records

- the per-epoch history and final train/val/test loss and accuracy;
- per-layer unit health at initialization and after training: the
  gradient norm of the loss w.r.t. each layer's kernel on a fixed batch
  (``grad_norm``), the fraction of units that output exactly zero on every
  probe point (``dead_fraction``, ReLU-style death), the fraction whose
  activation derivative is below ``INACTIVE_TOLERANCE`` on every probe
  point (``inactive_fraction``: dead ReLU units and saturated sigmoid units
  alike, comparable across activations), and for bounded activations the
  fraction of unit activations within 0.01 of a bound
  (``saturated_fraction``);
- every layer's representation of the probe points (layer 0 = input), at
  both stages, for the geometry measurements downstream.

A run whose loss becomes NaN or infinite is stopped and returned with
``status = "diverged"``; one whose final training accuracy closed at
most the fraction ``failed_to_learn_margin`` of the gap between chance
and a perfect fit with ``status = "failed_to_learn"`` (see
:func:`geoctx.stopping.run_status`): learning is judged on the data the
model was fit to, so a model that fit its training data but generalizes
badly is not counted as failing to learn. Either way the study carries on.

The stopping rule is convergence, not a budget: training stops when the
training loss has plateaued (:func:`geoctx.stopping.converged`: over the
last ``window`` epochs its best value improved on the best before by less than
``tolerance`` times the first epoch's loss; ``unfitted_window`` epochs
for a run whose training accuracy is still below ``fitted_accuracy``, so
that a plateau short of fitting the data is not taken for the end), or at
the epoch cap ``epochs``. A run records whether the rule fired (``plateaued``) or the
cap stopped it first (``hit_cap``); the final weights are kept.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from geoctx import accounting
from geoctx.config import resolve_initializer
from geoctx.recent import Recent
from geoctx.stopping import best_epoch, converged, run_status
from geoctx.units import activation_derivative, pre_activations, unit_health

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    """The keys that identify one model of the sweep."""

    dataset: str
    activation: str
    initializer: str
    width: int
    depth: int
    seed: int


@dataclass(frozen=True)
class TrainSettings:
    """How a model is trained: the ``training:`` config section and a
    learning rate of its architecture's tuning grid (the chosen one, or
    another if it failed to learn there: :func:`geoctx.tuning.train_at_tuned_rates`)."""

    epochs: int = 3000
    batch_size: int = 128
    learning_rate: float = 0.001
    optimizer: str = "adam"
    validation_fraction: float = 0.2
    convergence: dict = field(
        default_factory=lambda: {
            "window": 50,
            "tolerance": 0.001,
            "fitted_accuracy": 0.9,
            "unfitted_window": 200,
        }
    )
    failed_to_learn_margin: float = 0.2


@dataclass
class TrainResult:
    """Everything one training run produced; :func:`save` persists it."""

    spec: ModelSpec
    settings: TrainSettings
    model: object
    init_model: object
    run: dict
    history: pd.DataFrame
    units: pd.DataFrame
    representations: dict[str, np.ndarray]


def configure_backend(*, threads: int, seed: int) -> None:
    """Seed everything and pin the thread count; make TensorFlow ops deterministic.

    Seeds as ``keras.utils.set_random_seed`` does, TensorFlow's global seed
    included, for code that draws from TensorFlow's seeded ops (Keras
    ``fit``'s shuffling, say). Setting that seed clears TensorFlow's kernel
    cache; the package's own training and evaluation, which draw nothing
    from those ops, use :func:`configure_model_run` instead. Call before
    any model is built: TensorFlow fixes its thread pools on first use.
    """
    _pin_threads(threads)
    import keras

    keras.utils.set_random_seed(seed)


def configure_model_run(*, threads: int, seed: int) -> None:
    """:func:`configure_backend` for one model of the package's training or
    evaluation: the same threads and determinism, seeded by
    :func:`seed_random`, which keeps the process's compiled graphs."""
    _pin_threads(threads)
    seed_random(seed)


def _pin_threads(threads: int) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # already initialised in this process (tests)
            pass
        tf.config.experimental.enable_op_determinism()
        accounting.count_tracing()


def seed_random(seed: int) -> None:
    """Seed Python, numpy and Keras as ``keras.utils.set_random_seed`` does,
    but set TensorFlow's own global seed only once per process.

    Setting TensorFlow's seed clears its kernel cache, so every compiled
    graph of the process would be instantiated and optimized again for the
    next model (0.24 s for a depth-8 training epoch alone:
    ``benchmarks/seed_cache.py``). The package's training and evaluation
    draw nothing from TensorFlow's seeded random ops: Keras initializers
    draw through Keras's seed generator, which this seeds, and batch
    orders, noise and restarts come from numpy generators with their own
    seeds. Code that does draw from them (Keras ``fit``) needs
    :func:`configure_backend`. ``tests/test_training.py``
    checks that a model trained after another is bit for bit the one
    trained first in a fresh process.
    """
    import random

    import keras
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils

    global _TF_SEEDED
    if not _TF_SEEDED and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.random.set_seed(0)
        _TF_SEEDED = True
    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the legacy global, as Keras seeds it)


_TF_SEEDED = False


def layer_representations(model, x: np.ndarray) -> list[np.ndarray]:
    """Representations of ``x`` at layer 0 (input), each hidden layer and the logits."""
    from geoctx.models import layer_outputs_model

    return _forward(layer_outputs_model(model), x)


def _forward(outputs_model, x: np.ndarray) -> list[np.ndarray]:
    from geoctx import autodiff

    outs = autodiff.predict(outputs_model, x, batch_size=4096)
    return [np.asarray(x, dtype=np.float32), *outs]


def _loss_and_accuracy(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean softmax cross-entropy (float64) and accuracy of logits."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -float(np.mean(log_p[np.arange(len(y)), y]))
    return loss, float(np.mean(np.argmax(logits, axis=1) == y))


def _finite(values) -> bool:
    return all(math.isfinite(v) for v in values)


def _build(spec: ModelSpec, settings: TrainSettings, n_features: int, n_classes: int):
    """The compiled MLP of ``spec``, with the optimizer of ``settings``."""
    import keras

    from geoctx.models import build_mlp

    model = build_mlp(
        n_features,
        n_classes,
        activation=spec.activation,
        initializer=spec.initializer,
        width=spec.width,
        depth=spec.depth,
    )
    optimizer = keras.optimizers.get(
        {
            "class_name": settings.optimizer,
            "config": {"learning_rate": settings.learning_rate},
        }
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def class_count(data: dict[str, np.ndarray]) -> int:
    """The number of classes in the splits of ``data`` (labels 0 ... k - 1)."""
    return int(max(data[f"y_{s}"].max() for s in ("train", "val", "test")) + 1)


def initial_weights(
    spec: ModelSpec, settings: TrainSettings, data, *, threads: int = 1
) -> list[np.ndarray]:
    """The weights :func:`train_model` starts ``spec`` from on ``data``."""
    configure_model_run(threads=threads, seed=spec.seed)
    model = _build(spec, settings, data["X_train"].shape[1], class_count(data))
    return model.get_weights()


def _snapshot(model):
    """A copy of ``model`` with its current weights."""
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


@dataclass
class _Trainer:
    """One architecture's compiled model and traced training epoch.

    Built once per process (:func:`_trainer`) and lent to every run of that
    architecture: :meth:`start` gives it the run's initial weights and a
    fresh optimizer, :meth:`finish` hands the trained weights and optimizer
    state back to the run's own model. Its graphs are the same for every
    run, so a run computes what it would with its own graphs, bit for bit,
    without tracing them again.
    """

    model: object
    outputs_model: object
    epoch_function: object
    optimizer_start: list
    # the optimizer's update as one flat vector (None: the optimizer's own)
    flat_adam: object
    # the epoch's graph for each shape of the data it trains on
    graphs: dict = field(default_factory=dict)

    @classmethod
    def around(cls, model, batch_size: int) -> _Trainer:
        """A trainer of the compiled ``model``; its graphs trace on first use."""
        from geoctx.adam import FlatAdam
        from geoctx.models import layer_outputs_model

        flat = FlatAdam.of(model.optimizer, model.trainable_variables)
        epoch = _epoch_function(model, batch_size, flat)  # builds the optimizer
        start = [variable.numpy() for variable in model.optimizer.variables]
        return cls(model, layer_outputs_model(model), epoch, start, flat)

    def epoch(self, arrays):
        """The training epoch compiled for these training and validation
        arrays' shapes: call it with them and a permutation of the training
        points (:func:`_epoch_function`)."""
        import tensorflow as tf

        from geoctx.autodiff import compiled_for

        order = tf.TensorSpec([arrays[0].shape[0]], tf.int64)
        signature = [*map(tf.TensorSpec.from_tensor, arrays), order]
        return compiled_for(self.graphs, self.epoch_function, signature)

    def start(self, model, *, learning_rate: float) -> None:
        self.model.set_weights(model.get_weights())
        optimizer = self.model.optimizer
        for variable, value in zip(
            optimizer.variables, self.optimizer_start, strict=True
        ):
            variable.assign(value)
        if self.flat_adam is not None:
            self.flat_adam.reset()
        # a variable the graphs read, so runs at any rate share them
        optimizer.learning_rate.assign(learning_rate)

    def finish(self, model) -> None:
        if self.flat_adam is not None:
            self.flat_adam.store()
        model.set_weights(self.model.get_weights())
        model.optimizer.build(model.trainable_variables)
        for mine, theirs in zip(
            model.optimizer.variables, self.model.optimizer.variables, strict=True
        ):
            mine.assign(theirs)


# architecture and optimizer -> _Trainer, for this process (the latest used)
_TRAINERS: Recent = Recent()


def _trainer(spec, settings, n_features: int, n_classes: int) -> _Trainer:
    """This process's :class:`_Trainer` for the architecture of ``spec``.

    Keyed by what its graphs depend on: the input and output sizes, the
    activation, width and depth, the optimizer and batch size. Not by the
    initializer or seed, which only set initial weights, nor by the
    learning rate, an optimizer variable that :meth:`_Trainer.start` sets.
    """
    key = (
        n_features,
        n_classes,
        spec.activation,
        spec.width,
        spec.depth,
        settings.optimizer,
        settings.batch_size,
    )
    if key not in _TRAINERS:
        model = _build(spec, settings, n_features, n_classes)
        _TRAINERS[key] = _Trainer.around(model, settings.batch_size)
    return _TRAINERS[key]


def _measure_stage(stage, model, outputs_model, probe, batch, *, activation):
    """Representations of the probe points and unit-health rows at one stage.

    Returns ``({"<stage>/layer_<i>": array}, [(stage, layer, metric, value)])``.
    """
    from geoctx.autodiff import kernel_gradient_norms

    layers = _forward(outputs_model, probe)
    reps = {f"{stage}/layer_{i}": h for i, h in enumerate(layers)}
    derivatives = [
        activation_derivative(z, activation=activation)
        for z in pre_activations(model, layers)
    ]
    health = unit_health(
        layers,
        kernel_gradient_norms(model, *batch),
        activation=activation,
        derivatives=derivatives,
    )
    return reps, [(stage, *row) for row in health]


def _epoch_function(model, batch_size: int, flat_adam=None):
    """One training epoch over the batches of a given order, to compile.

    The returned function takes the training and validation arrays and a
    permutation of the training points, and returns the epoch's
    sample-weighted mean training loss and accuracy and the validation loss
    and accuracy after it. Compiled (:meth:`_Trainer.epoch`), the whole
    epoch is one graph call (a graph loop over the batches), so a small
    model pays Python and Keras dispatch once per epoch, not once per
    batch, and past its first calls it runs as its concrete function
    (:class:`geoctx.autodiff.Compiled`), without ``tf.function``'s dispatch
    on its arguments (a tenth of a width-64 depth-2 epoch). The steps are
    the model's own loss and optimizer (``model.compile``), the optimizer's
    step taken by ``flat_adam`` (a built :class:`geoctx.adam.FlatAdam`) if
    given: the same numbers in a fifth fewer CPU seconds. The data are
    arguments, not captured, so one trace serves every dataset of the same
    shapes.
    """
    import tensorflow as tf

    loss_fn, optimizer = model.loss, model.optimizer
    variables = model.trainable_variables
    optimizer.build(variables)

    def step(grads):
        if flat_adam is None:
            optimizer.apply(grads, variables)
        else:
            flat_adam.apply(grads)

    def correct(logits, labels):
        hits = tf.argmax(logits, axis=1, output_type=labels.dtype) == labels
        return tf.reduce_sum(tf.cast(hits, tf.float32))

    def epoch(x, y, x_val, y_val, order):
        n = int(x.shape[0])
        n_batches = -(-n // batch_size)
        xs, ys = tf.gather(x, order), tf.gather(y, order)
        loss_sum, hits = tf.constant(0.0), tf.constant(0.0)
        for i in tf.range(n_batches):
            xb = xs[i * batch_size : (i + 1) * batch_size]
            yb = ys[i * batch_size : (i + 1) * batch_size]
            with tf.GradientTape() as tape:
                logits = model(xb, training=True)
                loss = loss_fn(yb, logits)
            step(tape.gradient(loss, variables))
            loss_sum += loss * tf.cast(tf.shape(xb)[0], tf.float32)
            hits += correct(logits, yb)
        val_logits = model(x_val, training=False)
        return (
            loss_sum / n,
            hits / n,
            loss_fn(y_val, val_logits),
            correct(val_logits, y_val) / int(x_val.shape[0]),
        )

    return epoch


def _fit(trainer: _Trainer, data, settings: TrainSettings, *, seed: int):
    """Train with per-epoch logging until convergence; history and wall time.

    Batches are drawn in a fresh order every epoch from a generator seeded
    by ``seed``. Training stops at the first non-finite training loss, when
    the training loss has converged (:func:`converged` with
    ``settings.convergence``) or after ``settings.epochs`` epochs.
    The history has one row per epoch run (``epoch`` from 1), ``loss``,
    ``accuracy``, ``val_loss``, ``val_accuracy`` and ``epoch_time_s``.
    """
    import tensorflow as tf

    arrays = [
        tf.constant(data[key]) for key in ("X_train", "y_train", "X_val", "y_val")
    ]
    epoch_graph = trainer.epoch(arrays)
    rng = np.random.default_rng(seed)
    n = len(data["y_train"])
    rows = []
    t0 = time.perf_counter()
    for epoch in range(settings.epochs):
        start = time.perf_counter()
        values = epoch_graph(*arrays, tf.constant(rng.permutation(n)))
        names = ("loss", "accuracy", "val_loss", "val_accuracy")
        logs = dict(zip(names, map(float, values), strict=True))
        logs["epoch_time_s"] = time.perf_counter() - start
        rows.append(logs)
        log.info(
            "epoch %d/%d loss=%.4f acc=%.4f val_loss=%.4f val_acc=%.4f (%.2fs)",
            epoch + 1,
            settings.epochs,
            *(logs[k] for k in ("loss", "accuracy", "val_loss", "val_accuracy")),
            logs["epoch_time_s"],
        )
        if not math.isfinite(logs["loss"]) or converged(
            [row["loss"] for row in rows],
            [row["accuracy"] for row in rows],
            **settings.convergence,
        ):
            break
    wall_time = time.perf_counter() - t0
    history = pd.DataFrame(rows)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    return history, wall_time


def _evaluate(outputs_model, data, *, diverged: bool) -> dict[str, tuple]:
    """``{split: (loss, accuracy)}`` for train, val and test; NaN if diverged."""
    scores = {}
    for split in ("train", "val", "test"):
        if diverged:
            scores[split] = (math.nan, math.nan)
            continue
        logits = _forward(outputs_model, data[f"X_{split}"])[-1]
        scores[split] = _loss_and_accuracy(logits, data[f"y_{split}"])
    return scores


def _run_record(
    spec, model, data, history, scores, *, diverged, n_classes, wall_time, settings
):
    """The one-row summary of a run (the ``runs`` table)."""
    plateaued = not diverged and converged(
        history["loss"], history["accuracy"], **settings.convergence
    )
    return {
        **asdict(spec),
        "status": run_status(
            scores["train"][1],
            n_classes=n_classes,
            diverged=diverged,
            margin=settings.failed_to_learn_margin,
        ),
        "kernel_initializer": resolve_initializer(spec.initializer, spec.activation),
        "n_features": int(data["X_train"].shape[1]),
        "n_classes": n_classes,
        "n_params": int(model.count_params()),
        "learning_rate": settings.learning_rate,
        # the tuned rate, and how many others a run that failed there screened
        # (geoctx.tuning.train_at_tuned_rates)
        "tuned_rate": settings.learning_rate,
        "rates_screened": 0,
        "epochs_run": int(len(history)),
        "best_epoch": best_epoch(history, monitor="val_accuracy"),
        "stopped_early": bool(len(history) < settings.epochs),
        "plateaued": bool(plateaued),
        "hit_cap": bool(len(history) == settings.epochs and not plateaued),
        **{f"{s}_loss": scores[s][0] for s in scores},
        **{f"{s}_accuracy": scores[s][1] for s in scores},
        "generalization_gap": scores["train"][1] - scores["test"][1],
        "wall_time_s": wall_time,
    }


def train_model(
    data: dict[str, np.ndarray],
    spec: ModelSpec,
    settings: TrainSettings,
    *,
    threads: int = 1,
) -> TrainResult:
    """Build, train and evaluate one model; record history and unit health.

    ``data`` holds the arrays of :func:`geoctx.datasets.split_and_standardize`.
    Unit health and representations are measured at initialization and after
    training, on the probe points and the first training batch.
    """
    configure_model_run(threads=threads, seed=spec.seed)

    x_train, y_train = data["X_train"], data["y_train"]
    probe = data["X_test"][data["probe_index"]]
    batch = (x_train[: settings.batch_size], y_train[: settings.batch_size])
    n_classes = class_count(data)

    model = _build(spec, settings, x_train.shape[1], n_classes)
    init_model = _snapshot(model)
    # trains in this architecture's trainer, traced once per process
    trainer = _trainer(spec, settings, x_train.shape[1], n_classes)
    trainer.start(model, learning_rate=settings.learning_rate)
    measure = {
        "model": trainer.model,
        "outputs_model": trainer.outputs_model,
        "probe": probe,
        "batch": batch,
        "activation": spec.activation,
    }
    reps, unit_rows = _measure_stage("init", **measure)
    log.info(
        "training %s: %d parameters, kernel initializer %s",
        model.name,
        model.count_params(),
        resolve_initializer(spec.initializer, spec.activation),
    )
    history, wall_time = _fit(trainer, data, settings, seed=spec.seed)
    diverged = not _finite(history["loss"].fillna(math.inf))
    scores = _evaluate(trainer.outputs_model, data, diverged=diverged)
    diverged = diverged or not _finite([s[0] for s in scores.values()])
    if diverged:
        log.warning("loss became non-finite: run recorded as diverged")
    trained_reps, trained_rows = _measure_stage("trained", **measure)
    reps.update(trained_reps)
    unit_rows += trained_rows
    trainer.finish(model)

    run = _run_record(
        spec,
        model,
        data,
        history,
        scores,
        diverged=diverged,
        n_classes=n_classes,
        wall_time=wall_time,
        settings=settings,
    )
    log.info(
        "done: status=%s test_acc=%.4f epochs=%d wall=%.1fs",
        run["status"],
        run["test_accuracy"],
        run["epochs_run"],
        wall_time,
    )
    keys = asdict(spec)
    units = pd.DataFrame(unit_rows, columns=["stage", "layer", "metric", "value"])
    return TrainResult(
        spec=spec,
        settings=settings,
        model=model,
        init_model=init_model,
        run=run,
        history=history.assign(**keys),
        units=units.assign(**keys),
        representations=reps,
    )


def save(
    result: TrainResult, outputs: dict[str, str], *, inputs: dict | None = None
) -> None:
    """Persist a :class:`TrainResult` to the paths named in ``outputs``, atomically.

    ``inputs`` (``{path: sha256}``, see :func:`geoctx.storage.input_digests`)
    is recorded in the tables' metadata, so aggregation can refuse results
    whose data changed since. Keys: ``model``, ``init_model`` (``.keras``),
    ``run``, ``history``, ``units`` (Parquet), ``representations`` (``.npz``).
    The run table's metadata holds the spec and settings (``settings``) and
    each model file's SHA-256 (``models``, :func:`geoctx.evaluation.check_models`).
    """
    from geoctx import storage, tables

    meta = {"inputs": dict(inputs or {})}
    settings = {"model": asdict(result.spec), "training": asdict(result.settings)}
    models = {}
    for key in ("model", "init_model"):
        models[key] = storage.save_model(getattr(result, key), outputs[key])
    tables.write(
        pd.DataFrame([result.run]),
        outputs["run"],
        "runs",
        metadata={**meta, "settings": settings, "models": models},
    )
    tables.write(result.history, outputs["history"], "history", metadata=meta)
    tables.write(result.units, outputs["units"], "units", metadata=meta)
    storage.save_npz(outputs["representations"], result.representations)

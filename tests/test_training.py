"""Training: determinism, divergence handling, unit health, persisted tables."""

import dataclasses
import inspect
import os
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from geoctx import stopping, tables, training
from geoctx.training import ModelSpec, TrainSettings


@pytest.fixture(scope="module")
def data(small_moons):
    return small_moons


SETTINGS = TrainSettings(
    epochs=3, batch_size=32, convergence={"window": 50, "tolerance": 0.001}
)
SPEC = ModelSpec("moons", "relu", "auto", 8, 2, 0)


def weights(result):
    return [np.asarray(w) for w in result.model.get_weights()]


def test_same_seed_identical_weights_other_seed_different(data):
    a = training.train_model(data, SPEC, SETTINGS)
    b = training.train_model(data, SPEC, SETTINGS)
    c = training.train_model(data, dataclasses.replace(SPEC, seed=1), SETTINGS)
    for wa, wb in zip(weights(a), weights(b), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(weights(a)[0], weights(c)[0])
    assert a.run["test_accuracy"] == b.run["test_accuracy"]


FRESH_RUN = """
import pickle, sys
from geoctx import training
data, spec, settings = pickle.load(open(sys.argv[1], "rb"))
result = training.train_model(data, spec, settings)
pickle.dump(training_outputs(result), open(sys.argv[2], "wb"))
"""


def training_outputs(result):
    """What a run produces, without its timings."""
    return {
        "weights": result.model.get_weights(),
        "init": result.init_model.get_weights(),
        "optimizer": [v.numpy() for v in result.model.optimizer.variables],
        "config": result.model.get_config(),
        "run": {k: v for k, v in result.run.items() if k != "wall_time_s"},
        "history": result.history.drop(columns="epoch_time_s"),
        "units": result.units,
        "representations": result.representations,
    }


def test_a_run_in_a_used_process_is_the_run_in_a_fresh_one(data, tmp_path):
    # the second run borrows the first's traced trainer (same architecture,
    # other initializer, seed and learning rate): its every output must be
    # what a fresh process computes, bit for bit, and its model its own
    settings = dataclasses.replace(SETTINGS, epochs=5)
    spec = dataclasses.replace(SPEC, initializer="glorot_uniform", seed=3)
    before = training.train_model(
        data, SPEC, dataclasses.replace(settings, learning_rate=0.5)
    )
    kept = [w.copy() for w in before.model.get_weights()]
    used = training_outputs(training.train_model(data, spec, settings))
    source = inspect.getsource(training_outputs) + FRESH_RUN
    (tmp_path / "run.py").write_text(source)
    pickle.dump((data, spec, settings), (tmp_path / "in.pkl").open("wb"))
    subprocess.run(
        [
            sys.executable,
            tmp_path / "run.py",
            tmp_path / "in.pkl",
            tmp_path / "out.pkl",
        ],
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    fresh = pickle.load((tmp_path / "out.pkl").open("rb"))
    for key in ("weights", "init", "optimizer"):
        assert len(used[key]) == len(fresh[key])
        for a, b in zip(used[key], fresh[key], strict=True):
            np.testing.assert_array_equal(a, b)
    assert used["config"] == fresh["config"]
    assert (
        used["config"]["layers"][1]["config"]["kernel_initializer"]["class_name"]
        == "GlorotUniform"
    )
    pd.testing.assert_frame_equal(
        pd.DataFrame([used["run"]]), pd.DataFrame([fresh["run"]]), check_exact=True
    )
    pd.testing.assert_frame_equal(used["history"], fresh["history"], check_exact=True)
    pd.testing.assert_frame_equal(used["units"], fresh["units"], check_exact=True)
    assert used["representations"].keys() == fresh["representations"].keys()
    for key, value in used["representations"].items():
        np.testing.assert_array_equal(value, fresh["representations"][key])
    for a, b in zip(before.model.get_weights(), kept, strict=True):
        np.testing.assert_array_equal(a, b)  # the first run's model untouched


def test_the_compiled_epoch_is_the_tf_function_epoch(data):
    # the trainer calls its epoch as a concrete function (no dispatch) past
    # two calls: the same graph as tf.function traced on the same arrays
    import tensorflow as tf

    training.configure_model_run(threads=1, seed=0)
    model = training._build(SPEC, SETTINGS, 2, 2)
    trainer = training._Trainer.around(model, SETTINGS.batch_size)
    initial = training._snapshot(model)
    arrays = [tf.constant(data[k]) for k in ("X_train", "y_train", "X_val", "y_val")]
    orders = [
        tf.constant(np.random.default_rng(k).permutation(len(data["y_train"])))
        for k in range(4)
    ]

    def run(epoch):
        trainer.start(initial, learning_rate=0.05)
        return [[float(v) for v in epoch(*arrays, order)] for order in orders]

    compiled = run(trainer.epoch(arrays))
    plain = run(tf.function(trainer.epoch_function))
    assert compiled == plain
    assert trainer.epoch(arrays).concrete is not None  # past its first calls
    assert trainer.epoch(arrays).function.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("seed", [0, 7])
def test_seed_random_seeds_what_keras_set_random_seed_seeds(seed):
    # seed_random reaches into Keras's global seed state; a Keras upgrade
    # that moves it would change every model's initial weights
    import random

    import keras

    from geoctx.models import build_mlp

    def draws(seed_with):
        seed_with(seed)
        model = build_mlp(3, 2, activation="tanh", width=8, depth=2)
        return model.get_weights(), random.random(), np.random.random()  # noqa: NPY002

    (ours, our_py, our_np), (theirs, their_py, their_np) = (
        draws(training.seed_random),
        draws(keras.utils.set_random_seed),
    )
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (our_py, our_np) == (their_py, their_np)


def test_configure_backend_seeds_tensorflow_for_fits_shuffling():
    # Keras fit shuffles through TensorFlow's seeded ops: code that uses it
    # (tests/test_references.py) needs TensorFlow reseeded every time
    from tensorflow.python.eager import context

    for seed in (3, 5):
        training.configure_backend(threads=1, seed=seed)
        assert context.global_seed() == seed


def test_seed_random_sets_tensorflows_seed_once():
    # setting TensorFlow's seed again would clear its kernel cache (every
    # graph instantiated again for the next model: benchmarks/seed_cache.py)
    from tensorflow.python.eager import context

    training.seed_random(1)
    seed = context.global_seed()
    training.seed_random(2)
    assert seed is not None
    assert context.global_seed() == seed


def test_run_history_and_units_are_complete(data):
    # fast enough for sigmoid to learn moons in 3 epochs
    settings = dataclasses.replace(SETTINGS, learning_rate=0.05)
    result = training.train_model(
        data, dataclasses.replace(SPEC, activation="sigmoid"), settings
    )
    run = result.run
    assert run["status"] == "ok" and run["test_accuracy"] > 0.8
    assert run["epochs_run"] == 3 and len(result.history) == 3
    assert run["kernel_initializer"] == "glorot_uniform"
    assert 0 <= run["test_accuracy"] <= 1
    assert run["generalization_gap"] == pytest.approx(
        run["train_accuracy"] - run["test_accuracy"]
    )
    units = result.units
    assert set(units["stage"]) == {"init", "trained"}
    grad = units[units.metric == "grad_norm"]
    assert sorted(grad.layer.unique()) == [1, 2, 3]  # two hidden + logits
    assert (grad.value > 0).all()
    assert set(units.metric) == {
        "grad_norm",
        "dead_fraction",
        "inactive_fraction",
        "effective_width",
        "saturated_fraction",
        "activation_std",
    }
    # probe representations: input, 2 hidden, logits, at both stages
    assert sorted(result.representations) == sorted(
        f"{s}/layer_{i}" for s in ("init", "trained") for i in range(4)
    )
    np.testing.assert_array_equal(
        result.representations["init/layer_0"], data["X_test"][data["probe_index"]]
    )
    tables.to_table(pd.DataFrame([run]), "runs")
    tables.to_table(result.history, "history")
    tables.to_table(units, "units")


def test_init_model_keeps_the_initial_weights(data):
    result = training.train_model(data, SPEC, SETTINGS)
    probe = data["X_test"][data["probe_index"]]
    init_logits = result.init_model.predict(probe, verbose=0)
    np.testing.assert_allclose(
        init_logits, result.representations["init/layer_3"], rtol=1e-5
    )
    assert not np.allclose(init_logits, result.representations["trained/layer_3"])


def test_divergence_is_recorded_not_raised(data):
    spec = dataclasses.replace(
        SPEC, activation="linear", initializer="ones", width=64, depth=6
    )
    settings = dataclasses.replace(SETTINGS, learning_rate=1e12, optimizer="sgd")
    result = training.train_model(data, spec, settings)
    assert result.run["status"] == "diverged"
    assert np.isnan(result.run["test_accuracy"])
    assert result.run["epochs_run"] <= 3


def test_recorded_losses_match_keras_evaluate(data):
    result = training.train_model(data, SPEC, SETTINGS)
    loss, acc = result.model.evaluate(data["X_test"], data["y_test"], verbose=0)
    assert result.run["test_loss"] == pytest.approx(loss, rel=1e-4)
    assert result.run["test_accuracy"] == pytest.approx(acc, abs=1e-6)


def test_best_epoch_is_the_first_best_for_accuracy_and_for_loss():
    history = pd.DataFrame(
        {"val_accuracy": [0.5, 0.8, 0.8, 0.7], "val_loss": [0.9, 0.4, 0.5, 0.4]}
    )
    assert stopping.best_epoch(history, monitor="val_accuracy") == 2
    assert stopping.best_epoch(history, monitor="val_loss") == 2
    nan = pd.DataFrame({"val_accuracy": [np.nan, np.nan, np.nan]})
    assert stopping.best_epoch(nan) == 3


def test_converged_compares_the_window_with_the_best_before():
    # first loss 1.0, tolerance 0.01: the last 2 epochs must gain 0.01
    # (best before the window 0.4, best in it 0.389 or 0.391)
    assert not stopping.converged(
        [1.0, 0.5, 0.4, 0.395, 0.389], window=2, tolerance=0.01
    )
    assert stopping.converged([1.0, 0.5, 0.4, 0.395, 0.391], window=2, tolerance=0.01)
    # a dip inside the window counts, a later rise does not undo it
    assert not stopping.converged([1.0, 0.5, 0.4, 0.3, 0.6], window=2, tolerance=0.01)
    assert not stopping.converged([1.0, 1.0], window=2, tolerance=0.01)  # too short
    # a rising loss has plateaued too: no improvement at all
    assert stopping.converged([1.0, 0.5, 0.6, 0.7], window=2, tolerance=0.01)


@pytest.mark.parametrize(
    ("train_accuracy", "classes", "diverged", "status"),
    [
        # margin 0.2: 2 classes 0.5 + 0.2 * 0.5 = 0.6; 10 classes 0.28
        (0.6, 2, False, "failed_to_learn"),
        (0.6001, 2, False, "ok"),
        (0.3, 2, False, "failed_to_learn"),  # below chance counts too
        (0.1996, 10, False, "failed_to_learn"),  # the digits model at 0.189 test
        (0.2801, 10, False, "ok"),
        (np.nan, 2, False, "failed_to_learn"),
        (np.nan, 2, True, "diverged"),
        (0.99, 2, True, "diverged"),
    ],
)
def test_run_status(train_accuracy, classes, diverged, status):
    got = stopping.run_status(
        train_accuracy, n_classes=classes, diverged=diverged, margin=0.2
    )
    assert got == status


def test_model_that_cannot_learn_is_failed_to_learn_not_diverged(data):
    # a learning rate of 1e-12 keeps the initial weights: near chance
    settings = dataclasses.replace(SETTINGS, learning_rate=1e-12)
    spec = dataclasses.replace(SPEC, activation="sigmoid", depth=8)
    strict = training.train_model(
        data, spec, dataclasses.replace(settings, failed_to_learn_margin=0.9)
    )
    assert strict.run["status"] == "failed_to_learn"
    lax = training.train_model(
        data, spec, dataclasses.replace(settings, failed_to_learn_margin=0.001)
    )
    assert lax.run["train_accuracy"] == strict.run["train_accuracy"]
    assert lax.run["status"] == (
        "ok" if lax.run["train_accuracy"] > 0.5005 else "failed_to_learn"
    )


def test_a_flat_loss_stops_on_its_plateau_not_at_the_cap(data):
    settings = dataclasses.replace(
        SETTINGS,
        epochs=40,
        learning_rate=1e-12,
        convergence={"window": 2, "tolerance": 0.001},
    )
    run = training.train_model(data, SPEC, settings).run
    # the weights barely move: the loss has plateaued after 2 + 1 epochs
    assert run["epochs_run"] == 3 and run["stopped_early"]
    assert run["plateaued"] and not run["hit_cap"]


def test_a_plateau_short_of_fitting_waits_the_unfitted_window():
    flat = [1.0, 0.5, 0.5, 0.5, 0.5, 0.5]
    rule = {"window": 2, "tolerance": 0.01, "unfitted_window": 5}
    # fitted (last training accuracy 0.95 >= 0.9): the 2-epoch window decides
    assert stopping.converged(flat, [0.95] * 6, fitted_accuracy=0.9, **rule)
    # not fitted: the plateau must last 5 epochs; 6 epochs hold only 5, 7 do
    assert not stopping.converged(flat, [0.6] * 6, fitted_accuracy=0.9, **rule)
    assert stopping.converged(flat + [0.5], [0.6] * 7, fitted_accuracy=0.9, **rule)
    # the last epoch's accuracy decides, and exactly the threshold has fit
    assert stopping.converged(flat, [0.6] * 5 + [0.9], fitted_accuracy=0.9, **rule)
    # a shorter unfitted window never shortens the plateau; 0 turns it off
    assert not stopping.converged(
        [1.0, 0.5, 0.5],
        [0.6] * 3,
        window=2,
        tolerance=0.01,
        unfitted_window=1,
        fitted_accuracy=0.9,
    )
    assert stopping.converged(flat, [0.6] * 6, fitted_accuracy=0.0, **rule)
    # without accuracies, the window alone
    assert stopping.converged(flat, fitted_accuracy=0.9, **rule)


def test_a_run_that_cannot_fit_waits_out_the_longer_plateau(data):
    # the weights barely move, so the accuracy stays where it started, below
    # an unreachable fitted accuracy: 5 + 1 epochs instead of 2 + 1
    settings = dataclasses.replace(
        SETTINGS,
        epochs=40,
        learning_rate=1e-12,
        convergence={
            "window": 2,
            "tolerance": 0.001,
            "fitted_accuracy": 1.01,
            "unfitted_window": 5,
        },
    )
    run = training.train_model(data, SPEC, settings).run
    assert run["epochs_run"] == 6 and run["plateaued"] and not run["hit_cap"]


def test_a_run_still_improving_at_the_cap_is_flagged(data):
    settings = dataclasses.replace(
        SETTINGS,
        epochs=6,
        learning_rate=0.01,
        convergence={"window": 2, "tolerance": 0.001},
    )
    run = training.train_model(data, SPEC, settings).run
    assert run["epochs_run"] == 6 and not run["stopped_early"]
    assert run["hit_cap"] and not run["plateaued"]
    assert run["learning_rate"] == 0.01

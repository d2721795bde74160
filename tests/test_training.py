"""Training: determinism, divergence handling, unit health, persisted tables."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from geoctx import datasets, tables, training
from geoctx.training import ModelSpec, TrainSettings


@pytest.fixture(scope="module")
def data():
    arrays, _ = datasets.make_dataset(
        {"generator": "moons", "n_samples": 300, "noise": 0.1},
        test_fraction=0.25,
        validation_fraction=0.2,
        probe_size=40,
    )
    return arrays


SETTINGS = TrainSettings(epochs=3, batch_size=32, early_stopping={"patience": None})
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


def test_run_history_and_units_are_complete(data):
    result = training.train_model(
        data, dataclasses.replace(SPEC, activation="sigmoid"), SETTINGS
    )
    run = result.run
    assert run["status"] == "ok"
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


def test_unit_health_on_hand_made_representations():
    x = np.zeros((4, 2))
    hidden = np.array(
        [[0.0, 0.5, 0.999], [0.0, 0.2, 0.995], [0.0, 0.7, 0.5], [0.0, 0.1, 0.001]]
    )
    logits = np.zeros((4, 2))
    rows = training.unit_health([x, hidden, logits], [0.5, 2.0], activation="sigmoid")
    values = {(layer, metric): v for layer, metric, v in rows}
    assert values[(1, "dead_fraction")] == pytest.approx(1 / 3)
    # saturated: the dead column (4 zeros) and 0.999, 0.995, 0.001
    assert values[(1, "saturated_fraction")] == pytest.approx(7 / 12)
    assert values[(1, "grad_norm")] == 0.5 and values[(2, "grad_norm")] == 2.0
    relu_rows = training.unit_health([x, hidden, logits], [0.5, 2.0], activation="relu")
    assert "saturated_fraction" not in {m for _, m, _ in relu_rows}


def test_recorded_losses_match_keras_evaluate(data):
    result = training.train_model(data, SPEC, SETTINGS)
    loss, acc = result.model.evaluate(data["X_test"], data["y_test"], verbose=0)
    assert result.run["test_loss"] == pytest.approx(loss, rel=1e-4)
    assert result.run["test_accuracy"] == pytest.approx(acc, abs=1e-6)

"""The geometry parts of a model's evaluation, from representations and models."""

import dataclasses

import keras
import numpy as np
import pandas as pd
import pytest

from geoctx.config import JACOBIAN_METRICS, LAYER_METRICS, load_schema
from geoctx.geometry.stage import (
    GeometrySettings,
    _layer_outputs,
    _shared_runner,
    geometry_table,
    jacobian_table,
    probe_subset,
)
from geoctx.models import layer_outputs_model


def test_settings_are_the_config_sections_names_and_defaults():
    section = load_schema()["properties"]["geometry"]["properties"]
    defaults = {f.name: f.default for f in dataclasses.fields(GeometrySettings)}
    assert defaults == {key: spec["default"] for key, spec in section.items()}


def test_geometry_table_of_an_orthogonal_layer_and_a_collapsed_one(caplog):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    reps = {
        "init/layer_0": X,
        "init/layer_1": X @ Q,
        "init/layer_2": np.ones((80, 4)),
    }
    y = (X[:, 0] > 0).astype(int)
    settings = GeometrySettings(measured_points=80, n_neighbors=5, betti_max_points=40)
    table = geometry_table(reps, y, settings)
    assert "init layer 2: H is constant" in caplog.text
    values = table.set_index(["layer", "metric"]).value
    assert list(table.metric[table.layer == 1]) == list(LAYER_METRICS)
    for metric in ("distance_spearman", "knn_overlap", "trustworthiness", "linear_cka"):
        assert values[(1, metric)] == pytest.approx(1.0)
    assert np.isnan(
        values[(2, "distance_spearman")]
    )  # collapsed: undefined, not a crash


def test_geometry_table_measures_a_repeated_layer_once_with_the_same_rows(caplog):
    # every stage starts from the same input: its rows are computed once,
    # and each stage still gets them and its warnings
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    layers = {"1": np.tanh(X @ rng.normal(size=(3, 3))), "2": np.ones((60, 3))}
    reps = {"init/layer_0": X, "trained/layer_0": X.copy()}
    reps |= {
        f"{stage}/layer_{i}": H
        for stage in ("init", "trained")
        for i, H in layers.items()
    }
    y = (X[:, 0] > 0).astype(int)
    settings = GeometrySettings(measured_points=60, n_neighbors=5, betti_max_points=30)
    table = geometry_table(reps, y, settings).set_index(["stage", "layer", "metric"])
    alone = {
        stage: geometry_table(
            {key: H for key, H in reps.items() if key.startswith(stage)}, y, settings
        ).set_index(["stage", "layer", "metric"])
        for stage in ("init", "trained")
    }
    pd.testing.assert_frame_equal(table, pd.concat(alone.values()))
    for stage in ("init", "trained"):
        assert f"{stage} layer 2: H is constant" in caplog.text


def test_probe_subset_is_fixed_and_sorted():
    a = probe_subset(100, 30, seed=1)
    assert np.array_equal(a, probe_subset(100, 30, seed=1))
    assert np.all(np.diff(a) > 0) and len(a) == 30
    assert np.array_equal(probe_subset(20, 30), np.arange(20))


def test_jacobian_table_of_a_scaling_network():
    from geoctx.models import build_mlp

    model = build_mlp(2, 2, activation="linear", width=2, depth=1)
    model.set_weights([2 * np.eye(2), np.zeros(2), np.eye(2), np.zeros(2)])
    X = np.random.default_rng(0).normal(size=(50, 2)).astype("float32")
    settings = GeometrySettings(jacobian_points=10, curve_points=64)
    table = jacobian_table({"trained": model}, X, settings)
    values = table.set_index(["layer", "metric"]).value
    for layer in (1, 2):  # hidden layer and logits both scale by 2
        assert values[(layer, "trajectory_length_ratio")] == pytest.approx(
            2.0, rel=1e-5
        )
        assert values[(layer, "jacobian_log_sv_mean")] == pytest.approx(
            np.log(2), rel=1e-5
        )
        assert values[(layer, "jacobian_condition")] == pytest.approx(1.0, rel=1e-5)
        assert values[(layer, "jacobian_collapsed_fraction")] == 0.0
        assert values[(layer, "trajectory_length_scaled")] == pytest.approx(1.0)
    assert values[(0, "trajectory_length_ratio")] == pytest.approx(1.0)
    assert list(table.metric[table.layer == 1]) == list(JACOBIAN_METRICS)


def test_jacobian_table_of_two_stages_is_each_stage_alone():
    from geoctx.models import build_mlp
    from geoctx.training import layer_representations

    def pair(seeds, initializer="glorot_uniform"):
        models = {}
        for stage, seed in zip(("init", "trained"), seeds, strict=True):
            keras.utils.set_random_seed(seed)
            models[stage] = build_mlp(
                2, 3, activation="tanh", initializer=initializer, width=8, depth=2
            )
        return models

    def alone(models):
        return pd.concat(
            [jacobian_table({s: m}, X, settings) for s, m in models.items()],
            ignore_index=True,
        )

    models = pair((1, 2))
    X = np.random.default_rng(0).normal(size=(60, 2)).astype("float32")
    settings = GeometrySettings(jacobian_points=12, curve_points=16)
    both = jacobian_table(models, X, settings)
    pd.testing.assert_frame_equal(both, alone(models), check_exact=True)
    assert not np.array_equal(
        both.value[both.stage == "init"], both.value[both.stage == "trained"]
    )
    # a later pair of the architecture runs on the runner the first one left
    later = pair((3, 4))
    again = jacobian_table(later, X, settings)
    pd.testing.assert_frame_equal(again, alone(later), check_exact=True)
    assert not np.array_equal(again.value, both.value)
    # and so does a pair of another initializer, which only drew other weights
    runner = _shared_runner(later.values())
    he = pair((5, 6), initializer="he_normal")
    assert _shared_runner(he.values()) is runner
    pd.testing.assert_frame_equal(
        jacobian_table(he, X, settings), alone(he), check_exact=True
    )
    # the curves are mapped as layer_representations maps them
    outputs = layer_outputs_model(models["trained"])
    for found, expected in zip(
        _layer_outputs(outputs, X),
        layer_representations(models["trained"], X),
        strict=True,
    ):
        np.testing.assert_array_equal(found, expected)


def test_jacobian_table_keeps_the_directions_of_a_dead_relu_unit():
    from geoctx.models import build_mlp

    model = build_mlp(2, 2, activation="relu", width=2, depth=1)
    # Unit 2 has bias -100: dead on every probe point; unit 1 is x1 where x1 > 0.
    weights = [np.eye(2), np.array([0.0, -100.0]), np.eye(2), np.zeros(2)]
    model.set_weights([w.astype("float32") for w in weights])
    X = np.abs(np.random.default_rng(0).normal(size=(50, 2))).astype("float32")
    X[:, 0] += 1.0  # x1 > 0: unit 1 alive everywhere
    settings = GeometrySettings(jacobian_points=10, curve_points=16)
    values = (
        jacobian_table({"trained": model}, X, settings)
        .set_index(["layer", "metric"])
        .value
    )
    floor = 2 * np.finfo(np.float32).eps  # s_max = 1, largest dimension 2
    assert values[(1, "jacobian_collapsed_fraction")] == 0.5
    assert values[(1, "jacobian_log_sv_mean")] == pytest.approx(np.log(floor) / 2)
    assert values[(1, "jacobian_condition")] == pytest.approx(1 / floor)


def test_all_layer_jacobians_equal_the_per_layer_ones():
    import keras

    from geoctx import autodiff
    from geoctx.models import build_mlp

    keras.utils.set_random_seed(3)
    model = build_mlp(3, 2, activation="tanh", width=5, depth=3)
    x = np.random.default_rng(1).normal(size=(7, 3)).astype("float32")
    together = autodiff.all_layer_jacobians(model, x, batch_size=4)
    assert len(together) == 5
    for i, J in enumerate(together):
        np.testing.assert_allclose(
            J, autodiff.layer_jacobians(model, x, layer=i), rtol=1e-5, atol=1e-6
        )


def test_jacobian_table_of_a_diverged_model_is_nan_not_a_crash():
    from geoctx.models import build_mlp

    model = build_mlp(2, 2, activation="relu", width=3, depth=1)
    model.set_weights([np.full(w.shape, np.nan) for w in model.get_weights()])
    X = np.random.default_rng(0).normal(size=(20, 2)).astype("float32")
    settings = GeometrySettings(jacobian_points=5, curve_points=16)
    table = jacobian_table({"trained": model}, X, settings)
    assert table.value.isna().all() and len(table) == 3 * len(JACOBIAN_METRICS)


def test_a_layer_shared_by_models_is_measured_once_per_process(monkeypatch):
    # a cell's models share their input layer (the same probe points): the
    # second model reuses its values, which equal a fresh measurement
    from geoctx.geometry import stage

    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    settings = GeometrySettings(measured_points=40, n_neighbors=4, betti_max_points=20)
    models = [
        {"init/layer_0": X, "init/layer_1": np.tanh(X @ rng.normal(size=(3, 4)))}
        for _ in range(2)
    ]
    fresh = [geometry_table(reps, y, settings) for reps in models]
    measured = []
    all_metrics = stage.geometry.all_metrics
    monkeypatch.setattr(stage, "_MEASURED", stage.Recent(8))
    monkeypatch.setattr(
        stage.geometry,
        "all_metrics",
        lambda X, H, y, **kw: measured.append(H.shape) or all_metrics(X, H, y, **kw),
    )
    for reps, expected in zip(models, fresh, strict=True):
        pd.testing.assert_frame_equal(geometry_table(reps, y, settings), expected)
    assert measured == [(40, 3), (40, 4), (40, 4)]  # the input layer once
    geometry_table(models[0], y, dataclasses.replace(settings, n_neighbors=5))
    assert len(measured) == 5  # other settings: measured again

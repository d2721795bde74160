"""Evidence extractors on hand-made tables with answers known in advance."""

import pandas as pd
import pytest

from geoctx import evidence

KEYS = {"dataset": "d", "initializer": "auto", "width": 16, "seed": 0}


def item(claim, name, stage=None):
    (found,) = [
        e
        for e in evidence.EVIDENCE
        if e.claim == claim and e.name == name and (stage is None or e.stage == stage)
    ]
    return found


def geometry(depth, activation, values, *, stage="trained"):
    """distance_spearman at layers 0 .. depth + 1 (input, hidden, logits)."""
    return pd.DataFrame(
        {
            **KEYS,
            "depth": depth,
            "activation": activation,
            "stage": stage,
            "metric": "distance_spearman",
            "layer": range(len(values)),
            "value": values,
        }
    )


def test_c2_is_the_slope_over_the_hidden_layers_of_one_network():
    geo = pd.concat(
        [
            # input 1.0 and logits 0.0 are not hidden layers: slope -0.1
            geometry(4, "sigmoid", [1.0, 0.9, 0.8, 0.7, 0.6, 0.0]),
            # least squares over (1, 0.5), (2, 0.7), (3, 0.6): slope 0.05
            geometry(3, "relu", [1.0, 0.5, 0.7, 0.6, 0.0]),
            geometry(1, "relu", [1.0, 0.5, 0.0]),  # one hidden layer: no slope
        ]
    )
    rows = item("C2", "distance_spearman_layer_slope", "trained").extract(
        {"geometry": geo}
    )
    slopes = rows.set_index("activation").value
    assert slopes["sigmoid"] == pytest.approx(-0.1)
    assert slopes["relu"] == pytest.approx(0.05)
    assert len(rows) == 2
    init = item("C2", "distance_spearman_layer_slope", "init")
    assert init.at_init and not init.decides


def runs(depths):
    rows = []
    for depth in depths:
        for activation, loss in (("relu", 0.1), ("sigmoid", 0.4)):
            rows.append(
                {
                    **KEYS,
                    "depth": depth,
                    "activation": activation,
                    "train_loss": loss * depth,
                }
            )
    return pd.DataFrame(rows)


def test_c7_trainability_is_the_deepest_training_loss_not_c3_data():
    # no test accuracy or generalization gap in the table: C7 does not read them
    rows = item("C7", "deepest_train_loss").extract({"runs": runs([1, 2, 8])})
    assert set(rows.depth) == {8}
    assert rows.set_index("activation").value.to_dict() == pytest.approx(
        {"relu": 0.8, "sigmoid": 3.2}
    )


def grad_norms(depth, first, last):
    return pd.DataFrame(
        {
            **KEYS,
            "depth": depth,
            "activation": "sigmoid",
            "stage": "init",
            "metric": "grad_norm",
            "layer": [1, depth, depth + 1],
            "value": [first, last, 1.0],
        }
    )


def test_c7_gradients_decide_at_the_deepest_depth_and_show_the_shallowest():
    units = pd.concat(
        [grad_norms(2, 1.0, 10.0), grad_norms(4, 1.0, 100.0), grad_norms(8, 1.0, 1e4)]
    )
    deepest = item("C7", "grad_ratio_log10").extract({"units": units})
    shallow = item("C7", "grad_ratio_log10_shallow").extract({"units": units})
    assert deepest[["depth", "value"]].values.tolist() == [[8, -4.0]]
    assert shallow[["depth", "value"]].values.tolist() == [[2, -1.0]]
    assert item("C7", "grad_ratio_log10").decides
    assert not item("C7", "grad_ratio_log10_shallow").decides
    # one depth of at least 2: the contrast has nothing to show
    only = item("C7", "grad_ratio_log10_shallow").extract(
        {"units": grad_norms(8, 1, 2)}
    )
    assert only.empty


def test_c3_is_led_by_the_generalization_gap():
    c3 = [e for e in evidence.EVIDENCE if e.claim == "C3"]
    assert [e.name for e in c3 if e.decides] == ["generalization_gap"]
    assert {e.name for e in c3 if not e.decides} == {"test_accuracy", "loss_gap"}
    table = pd.DataFrame(
        {**KEYS, "depth": 2, "activation": ["relu"], "train_loss": [0.1]}
    ).assign(test_loss=0.35)
    gap = item("C3", "loss_gap").extract({"runs": table})
    assert gap.value.tolist() == pytest.approx([0.25])


def test_c8_cost_is_the_narrowest_layers_effective_width_over_the_width():
    units = pd.DataFrame(
        {
            **KEYS,
            "depth": 3,
            "activation": "relu",
            "stage": "trained",
            "metric": "effective_width",
            "layer": [1, 2, 3],
            "value": [10.0, 4.0, 8.0],
        }
    )
    rows = item("C8", "narrowest_effective_width").extract({"units": units})
    assert rows.value.tolist() == [4.0 / 16]
    assert item("C8", "narrowest_effective_width").predicted_sign == +1


def test_c1_parts_and_initialization_items():
    c1 = [e for e in evidence.EVIDENCE if e.claim == "C1"]
    parts = {e.name: e.part for e in c1}
    assert parts["distance_contrast"] == "compression"
    assert {
        parts[n] for n in ("distance_spearman", "knn_overlap", "trustworthiness")
    } == {"relative distances"}
    assert {e.name for e in c1 if e.at_init} == set(parts)
    assert all(e.stage == "init" for e in c1 if e.at_init)


def test_c9_conditions_are_cells_with_runs_nested():
    c9 = item("C9", "log2_latency_ratio")
    assert set(c9.condition_on) < set(c9.unit)
    assert set(c9.unit) - set(c9.condition_on) == {"run"}
    assert "batch_size" in c9.breakdown
    # every other item's conditions are its unit without the seed (None)
    assert all(e.condition_on is None or e.claim == "C9" for e in evidence.EVIDENCE)

"""Unit health: dead, inactive and saturated units."""

import numpy as np
import pytest

from geoctx import units


def test_unit_health_on_hand_made_representations():
    x = np.zeros((4, 2))
    hidden = np.array(
        [[0.0, 0.5, 0.999], [0.0, 0.2, 0.995], [0.0, 0.7, 0.5], [0.0, 0.1, 0.001]]
    )
    logits = np.zeros((4, 2))
    # derivative 0 of the first two units on every point, not of the third
    derivatives = [np.array([[0.0, 1e-4, 0.1]] * 4)]
    rows = units.unit_health(
        [x, hidden, logits], [0.5, 2.0], activation="sigmoid", derivatives=derivatives
    )
    values = {(layer, metric): v for layer, metric, v in rows}
    assert values[(1, "dead_fraction")] == pytest.approx(1 / 3)
    assert values[(1, "inactive_fraction")] == pytest.approx(2 / 3)
    # saturated: the dead column (4 zeros) and 0.999, 0.995, 0.001
    assert values[(1, "saturated_fraction")] == pytest.approx(7 / 12)
    assert values[(1, "grad_norm")] == 0.5 and values[(2, "grad_norm")] == 2.0
    relu_rows = units.unit_health(
        [x, hidden, logits], [0.5, 2.0], activation="relu", derivatives=derivatives
    )
    assert "saturated_fraction" not in {m for _, m, _ in relu_rows}


def test_relu_unit_with_only_negative_inputs_is_inactive():
    z = np.array([[-3.0, 0.5], [-0.1, -2.0], [-7.0, -1.0]])
    d = units.activation_derivative(z, activation="relu")
    np.testing.assert_array_equal(d, [[0, 1], [0, 0], [0, 0]])
    assert units.inactive_fraction(d) == 0.5  # unit 2 is active on point 1


def test_saturated_sigmoid_unit_is_inactive_tanh_near_zero_is_not():
    z = np.array([[25.0, 0.1, -21.0], [-30.0, -0.2, 40.0]])
    d = units.activation_derivative(z, activation="sigmoid")
    # sigmoid'(z) = s (1 - s) < 1e-9 beyond |z| = 21
    assert (d[:, [0, 2]] < 1e-9).all() and d[0, 1] == pytest.approx(0.25, abs=1e-3)
    assert units.inactive_fraction(d) == pytest.approx(2 / 3)
    tanh = units.activation_derivative(z[:, [1]], activation="tanh")
    np.testing.assert_allclose(tanh, 1 - np.tanh(z[:, [1]]) ** 2, rtol=1e-6)
    assert units.inactive_fraction(tanh) == 0.0


def test_a_tolerance_just_above_the_derivative_makes_the_unit_inactive():
    d = np.array([[0.002], [0.003]])
    assert units.inactive_fraction(d, tolerance=0.002) == 0.0
    assert units.inactive_fraction(d, tolerance=0.0031) == 1.0

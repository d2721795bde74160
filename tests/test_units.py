"""Unit health: inactive units by one relative definition, and what they cost."""

import numpy as np
import pytest
from scipy.stats import norm

from geoctx import units


@pytest.mark.parametrize(
    ("activation", "peak"),
    [
        ("relu", 1.0),
        ("tanh", 1.0),
        ("sigmoid", 0.25),
        # GELU'(z) = Phi(z) + z phi(z) peaks at z = sqrt(2)
        ("gelu", norm.cdf(np.sqrt(2)) + np.sqrt(2) * norm.pdf(np.sqrt(2))),
    ],
)
def test_derivative_peak_matches_the_calculus(activation, peak):
    assert units.derivative_peak(activation) == pytest.approx(peak, rel=1e-5)


# Relative derivative |phi'(z)| / max|phi'| on either side of 1e-2, by hand:
# sigmoid 4 s(1 - s): 0.0120 at 5.8, 0.0089 at 6.1; tanh 1 - tanh^2: 0.0121 at
# 2.9, 0.0081 at 3.1; GELU: 0.0138 at -2.9 (/1.129), 0.0038 at -3.3.
@pytest.mark.parametrize(
    ("activation", "active_z", "inactive_z"),
    [
        ("relu", 0.01, -0.01),
        ("sigmoid", 5.8, 6.1),
        ("sigmoid", -5.8, -6.1),
        ("tanh", 2.9, 3.1),
        ("gelu", -2.9, -3.3),
    ],
)
def test_one_relative_tolerance_for_every_activation(activation, active_z, inactive_z):
    z = np.array([[active_z, inactive_z]] * 20)
    d = units.activation_derivative(z, activation=activation)
    peak = units.derivative_peak(activation)
    assert units.inactive_units(d, peak=peak).tolist() == [False, True]


def test_a_unit_is_inactive_on_more_than_the_share_of_points():
    # 100 points; unit 0 off on 95 (not more than 95%), unit 1 off on 96
    d = np.ones((100, 2))
    d[:95, 0] = 0.0
    d[:96, 1] = 0.0
    assert units.inactive_units(d).tolist() == [False, True]
    assert units.inactive_fraction(d) == 0.5
    # the former definition (off on every point) counted neither
    assert units.inactive_fraction(d, share=0.999) == 0.0


def test_relu_unit_alive_on_one_point_in_a_hundred_is_inactive():
    z = np.full((100, 1), -1.0)
    z[0] = 2.0
    d = units.activation_derivative(z, activation="relu")
    assert units.inactive_fraction(d, peak=1.0) == 1.0


def test_unit_health_on_hand_made_representations():
    x = np.zeros((4, 2))
    hidden = np.array(
        [[0.0, 0.5, 0.999], [0.0, 0.2, 0.995], [0.0, 0.7, 0.5], [0.0, 0.1, 0.001]]
    )
    logits = np.zeros((4, 2))
    # relative to sigmoid's peak 0.25: unit 1 at 0, unit 2 at 0.004 / 0.25 =
    # 0.016, unit 3 at 0.4; only unit 1 is below 1e-2
    derivatives = [np.array([[0.0, 0.004, 0.1]] * 4)]
    rows = units.unit_health(
        [x, hidden, logits], [0.5, 2.0], activation="sigmoid", derivatives=derivatives
    )
    values = {(layer, metric): v for layer, metric, v in rows}
    assert values[(1, "dead_fraction")] == pytest.approx(1 / 3)
    assert values[(1, "inactive_fraction")] == pytest.approx(1 / 3)
    assert values[(1, "effective_width")] == 2
    # saturated: the dead column (4 zeros) and 0.999, 0.995, 0.001
    assert values[(1, "saturated_fraction")] == pytest.approx(7 / 12)
    assert values[(1, "grad_norm")] == 0.5 and values[(2, "grad_norm")] == 2.0
    # the same derivatives relative to ReLU's peak 1: unit 2 (0.004) is off too
    relu_rows = units.unit_health(
        [x, hidden, logits], [0.5, 2.0], activation="relu", derivatives=derivatives
    )
    relu = {(layer, metric): v for layer, metric, v in relu_rows}
    assert relu[(1, "inactive_fraction")] == pytest.approx(2 / 3)
    assert relu[(1, "effective_width")] == 1
    assert "saturated_fraction" not in {m for _, m, _ in relu_rows}


@pytest.mark.parametrize(
    ("derivative", "options", "message"),
    [
        (np.ones(3), {}, "shape"),
        (np.ones((0, 3)), {}, "shape"),
        (np.ones((2, 3)), {"peak": 0.0}, "peak"),
        (np.ones((2, 3)), {"share": 1.0}, "share"),
    ],
)
def test_bad_input_names_the_value(derivative, options, message):
    with pytest.raises(ValueError, match=message):
        units.inactive_units(derivative, **options)

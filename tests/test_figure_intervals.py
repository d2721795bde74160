"""The bands of the study's line figures: Student-t intervals of the mean over
the runs behind each point, checked against scipy.stats.t.interval."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from geoctx import plots


def scipy_interval(values, level=0.95):
    values = np.asarray(values, dtype=float)
    return stats.t.interval(
        level, values.size - 1, loc=values.mean(), scale=stats.sem(values)
    )


@pytest.mark.parametrize(
    "values", [[1.0, 2.0, 3.0], [0.91, 0.95, 0.97, 0.99], [0.2, 0.9]]
)
def test_the_interval_is_scipys_student_t_interval(values):
    assert plots.t_interval(values) == pytest.approx(
        scipy_interval(values), rel=1e-12, abs=1e-12
    )


def test_one_value_is_its_own_interval_and_nans_are_left_out():
    assert plots.t_interval([0.7]) == (0.7, 0.7)
    # no spread, no width (scipy's interval is NaN there)
    assert plots.t_interval([5.0, 5.0]) == (5.0, 5.0)
    assert plots.t_interval([1.0, np.nan, 2.0, 3.0]) == pytest.approx(
        scipy_interval([1.0, 2.0, 3.0])
    )


def test_the_log_interval_is_the_geometric_means_interval():
    values = [1e-3, 2e-3, 8e-3]
    low, high = scipy_interval(np.log(values))
    assert plots.log_t_interval(values) == pytest.approx((np.exp(low), np.exp(high)))
    assert plots.geometric_mean(values) == pytest.approx(np.exp(np.log(values).mean()))
    # the interval holds the geometric mean and stays positive on a log axis
    low, high = plots.log_t_interval(values)
    assert 0 < low < plots.geometric_mean(values) < high


def test_an_accuracy_interval_stays_in_zero_one_and_is_the_t_interval_inside():
    values = [1.0, 1.0, 0.5]  # t-interval [0.116, 1.551]
    low, high = scipy_interval(values)
    assert plots.accuracy_interval(values) == pytest.approx((low, 1.0))
    assert plots.accuracy_interval([0.0, 0.0, 0.5]) == pytest.approx(
        (0.0, scipy_interval([0.0, 0.0, 0.5])[1])
    )
    inside = [0.90, 0.92, 0.93]  # [0.879, 0.955]
    assert plots.accuracy_interval(inside) == pytest.approx(scipy_interval(inside))


def test_three_seeds_get_the_t_width_a_bootstrap_does_not_reach():
    # three seeds: the t-interval is wider than their range, which is all a
    # bootstrap of three values can span
    values = [0.90, 0.95, 0.97]
    low, high = plots.t_interval(values)
    assert low < min(values) and high > max(values)


def test_the_figure_draws_that_band_around_the_mean():
    runs = pd.DataFrame(
        {
            "activation": "relu",
            "depth": [2, 2, 2, 8, 8, 8],
            "seed": [0, 1, 2] * 2,
            "test_accuracy": [0.90, 0.92, 0.93, 0.80, 0.85, 0.88],
            # every interval inside [0, 1], so the band is the t-interval
        }
    )
    _, ax = plots.plt.subplots()
    plots.accuracy_vs_depth(runs, ax=ax)
    (band,) = ax.collections
    vertices = band.get_paths()[0].vertices
    for depth, values in runs.groupby("depth")["test_accuracy"]:
        at = vertices[np.isclose(vertices[:, 0], depth), 1]
        assert sorted({round(v, 9) for v in at}) == pytest.approx(
            sorted(scipy_interval(values.to_numpy()))
        )
    (line,) = [line for line in ax.get_lines() if len(line.get_xdata()) == 2]
    assert line.get_ydata() == pytest.approx([0.91667, 0.84333], abs=1e-5)

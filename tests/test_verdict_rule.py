"""The decision rule: its properties, claim combination, and its error rates
by simulation at the study's design."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from geoctx import stats
from geoctx.stats import simulation
from geoctx.stats.simulation import error_rates, simulate_verdicts

finite = st.floats(-10, 10, allow_nan=False)
p_value = st.one_of(st.floats(0, 1), st.just(math.nan))


@given(
    effect=finite,
    bounds=st.tuples(finite, finite).map(sorted),
    p=st.tuples(p_value, p_value, p_value),
    sign=st.sampled_from([1, -1]),
    smallest=st.floats(0, 2),
    n_conditions=st.integers(0, 20),
)
def test_verdict_is_sign_symmetric(effect, bounds, p, sign, smallest, n_conditions):
    """Mirroring the data and the predicted sign gives the same verdict (the
    p-values are those of the predicted side, so they do not change)."""
    low, high = bounds
    opts = {"smallest_effect": smallest, "n_pairs": 3 * n_conditions,
            "n_conditions": n_conditions}  # fmt: skip
    v = stats.verdict(effect, low, high, *p, predicted_sign=sign, **opts)
    mirror = stats.verdict(-effect, -high, -low, *p, predicted_sign=-sign, **opts)
    assert v == mirror
    assert v in stats.VERDICTS
    if v == "supported":  # the whole interval clears d on the predicted side
        assert min(sign * low, sign * high) > smallest
    if v == "no effect":
        assert -smallest < low and high < smallest


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    sign=st.sampled_from([1, -1]),
    shifts=st.lists(st.floats(0, 0.3), min_size=2, max_size=4).map(sorted),
)
def test_rows_are_sign_symmetric_and_monotone_in_the_effect(seed, sign, shifts):
    """From data to verdict: flipping the data and the predicted sign
    mirrors the row; adding a growing constant on the predicted side never
    moves the verdict down the order contradicted < (inconclusive, no
    effect) < supported."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0.0, 0.05, 36)
    labels = np.repeat(np.arange(12), 3)
    rank = {"contradicted": 0, "no effect": 1, "inconclusive": 1, "supported": 2}

    def scored(x, s):
        row = stats.summarise(
            x, labels, predicted_sign=s, smallest_effect=0.05, n_resamples=300
        )
        row |= {"predicted_sign": s, "smallest_effect": 0.05}
        return stats.score_table([row]).iloc[0]

    out = scored(sign * base, sign)
    mirror = scored(-sign * base, -sign)
    assert out.verdict == mirror.verdict
    assert (out.ci_low, out.ci_high) == pytest.approx(
        (-mirror.ci_high, -mirror.ci_low), rel=1e-9, abs=1e-12
    )
    verdicts = [scored(sign * (base + shift), sign).verdict for shift in shifts]
    ranks = [rank[v] for v in verdicts]
    assert ranks == sorted(ranks), verdicts


def test_relabelling_units_leaves_the_row_unchanged():
    rng = np.random.default_rng(3)
    x = rng.normal(0.08, 0.03, 36)
    labels = np.repeat(np.arange(12), 3)
    order = rng.permutation(36)
    names = np.array([f"cond{k}" for k in rng.permutation(12)])
    kw = {"predicted_sign": 1, "smallest_effect": 0.02, "n_resamples": 500}
    first = stats.summarise(x, labels, **kw)
    again = stats.summarise(x[order], names[labels][order], **kw)
    assert first == pytest.approx(again, nan_ok=True)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["supported", "supported", "supported", "supported"], "supported"),
        (["supported", "not measured"], "supported"),
        (["supported", "contradicted", "contradicted", "no effect"], "mixed"),
        (["supported", "no effect"], "mixed"),
        (["supported", "inconclusive", "contradicted"], "mixed"),
        (["supported", "inconclusive"], "inconclusive"),
        (["contradicted", "inconclusive"], "inconclusive"),
        (["no effect", "no effect"], "no effect"),
        (["no effect", "contradicted"], "contradicted"),
        (["contradicted", "not measured"], "contradicted"),
        (["inconclusive", "not measured"], "inconclusive"),
        (["not measured", "not measured"], "not measured"),
        ([], "not measured"),
    ],
)
def test_combine(items, expected):
    assert stats.combine(items) == expected
    assert stats.combine(reversed(items)) == expected


def test_combine_rejects_unknown_verdicts():
    with pytest.raises(ValueError, match="'mixed'"):
        stats.combine(["supported", "mixed"])


def test_every_verdict_has_a_stance_and_words():
    assert set(stats.VERDICTS) <= set(stats.CLAIM_VERDICTS)
    assert set(stats.STANCE) == set(stats.MEANING) == set(stats.CLAIM_VERDICTS)
    assert stats.MEANING["no effect"].startswith("no effect of practical size")
    assert {v for v, s in stats.STANCE.items() if s == "against"} == stats.AGAINST
    for word in ("supported", "contradicted", "no effect"):
        assert "Holm over the family" in stats.MEANING[word]


# ---------------------------------------------------------------- simulation

# The default study's deciding family: 12 conditions (3 datasets x 2 depths
# x 2 initializers), 3 seeds each, 18 deciding rows.
DESIGN = {"n_conditions": 12, "n_seeds": 3, "n_rows": 18}


def test_simulation_small_design_separates_null_and_planted_effects():
    """Fast version: 30 families of 4 rows; noise 0.25 d per condition and
    per seed. Nulls are never supported; 4d is supported in nearly every
    family; the 2-of-12-at-3d row is never called "no effect" (its
    interval is too wide)."""
    out = error_rates(
        n_conditions=12, n_seeds=3, n_rows=4, sd_condition=0.25, sd_seed=0.25,
        n_families=30, n_resamples=300,
        scenarios=["null", "margin d (all rows)", "2 of the conditions at 3d"],
    ).set_index("scenario")  # fmt: skip
    assert out.loc["null", "any_false_supported"] == 0.0
    assert out.loc["null", "no effect"] >= 0.9
    assert out.loc["margin d (all rows)", "any_false_no_effect"] <= 0.1
    assert out.loc["2 of the conditions at 3d", "no effect"] == 0.0
    planted = simulate_verdicts(
        [4.0, -4.0], predicted_signs=[1, -1], n_families=30, n_conditions=12,
        n_seeds=3, sd_condition=0.25, sd_seed=0.25, smallest_effect=1.0,
        n_resamples=300,
    )  # fmt: skip
    assert planted.verdict.eq("supported").mean() >= 0.9


@pytest.mark.slow
def test_family_wise_error_at_the_real_design():
    """Every verdict kind's family-wise error at the study's design, normal
    noise of 1 d per condition and per seed: the count of families with any
    false "supported", "contradicted" or, with every row at the margin, any
    false "no effect" may not exceed the 99.9% quantile of Binomial(200,
    0.05) (18), so a rule whose true rate is 5% fails with probability
    under 0.1%."""
    n = 200
    out = error_rates(
        **DESIGN, sd_condition=1.0, sd_seed=1.0, n_families=n,
        n_resamples=500, scenarios=["null", "margin d (all rows)"], seed=11,
    )  # fmt: skip
    limit = sps.binom.ppf(0.999, n, 0.05) / n
    null, margin = out.iloc[0], out.iloc[1]
    assert null.any_false_supported <= limit
    assert null.any_false_contradicted <= limit
    assert margin.any_false_no_effect <= limit


@pytest.mark.slow
def test_skewed_noise_at_the_study_noise():
    """The full-size simulation of the report's skewed rows, at the default
    study's noise (5.9 d between conditions, 3.4 d between seeds; 400
    families): false "supported" and "no effect" stay under the binomial
    limit of a 5% rate; the t-tests' lower tail is liberal under right skew
    (skewness about 1.7 in the condition means), so false "contradicted"
    reaches about 0.06 (observed 0.049-0.062 over 1,000 families): bounded
    here at 0.1."""
    n = 400
    out = error_rates(
        **DESIGN, sd_condition=5.9, sd_seed=3.4, n_families=n, n_resamples=500,
        scenarios=["null, skewed", "d, skewed", "margin d (all rows), skewed"],
        seed=3,
    )  # fmt: skip
    limit = sps.binom.ppf(0.999, n, 0.05) / n
    assert (out.any_false_supported <= limit).all()
    assert (out.any_false_no_effect <= limit).all()
    assert (out.any_false_contradicted <= 0.1).all()
    assert (out.coverage >= 0.91).all()


@pytest.mark.slow
def test_power_and_heterogeneity_at_the_real_design():
    """At noise 0.5 d per condition and per seed: a row of 3d among 17 null
    rows is supported in at least 80% of families; when 2 of 12 conditions
    carry 3d (mean 0.5 d) "no effect" comes out in at most 5% of them."""
    out = error_rates(
        **DESIGN, sd_condition=0.5, sd_seed=0.5, n_families=100,
        n_resamples=500, scenarios=["3d", "2 of the conditions at 3d"], seed=5,
    ).set_index("scenario")  # fmt: skip
    assert out.loc["3d", "supported"] >= 0.8
    assert out.loc["2 of the conditions at 3d", "no effect"] <= 0.05


def test_simulated_rows_follow_holm_and_the_rule_of_the_scorecard():
    """The vectorized simulation scores rows as score_table does: each
    family's adjusted p-values are holm() of its raw ones, each verdict is
    verdict() of the row, and the raw p-values are effect_tests' of a
    sample with the row's mean (checked through the two-sided p's sign)."""
    out = simulate_verdicts(
        [2.0, 0.0, -1.0], predicted_signs=[1, -1, 1], n_families=20,
        n_conditions=6, n_seeds=2, sd_condition=0.5, sd_seed=0.5,
        smallest_effect=1.0, n_resamples=200, seed=4,
    )  # fmt: skip
    for _, family in out.groupby("family"):
        raw = family[list(stats.TESTS)].to_numpy().ravel()
        adjusted = family[[f"{t}_holm" for t in stats.TESTS]].to_numpy().ravel()
        assert adjusted == pytest.approx(stats.holm(raw), rel=1e-12)
        again = stats.score_table(family.drop(columns=[
            "verdict", *(f"{t}_holm" for t in stats.TESTS)]))  # fmt: skip
        assert again.verdict.tolist() == family.verdict.tolist()
    assert set(out.verdict) >= {"supported", "inconclusive"}


def test_holm_per_family_matches_holm_with_nans():
    rng = np.random.default_rng(2)
    p = rng.uniform(0, 0.1, (5, 9))
    p[1, [0, 4]] = np.nan
    p[3] = np.nan
    from geoctx.stats.multiplicity import _holm

    got = _holm(p)
    for row, expected in zip(got, p, strict=True):
        assert row == pytest.approx(stats.holm(expected), nan_ok=True)


@pytest.mark.parametrize("n_conditions", [2, 3])
def test_a_small_studys_simulation_runs_the_scenarios_its_design_carries(
    n_conditions,
):
    # a 2-cell study (6 models) scores rows of 2 conditions: "2 of the
    # conditions at 3d" would be every condition, so it is left out, not
    # an error that stops the study's summary
    rows = pd.DataFrame(
        {
            "n_conditions": [n_conditions] * 2,
            "n_pairs": [n_conditions * 3] * 2,
            "effect": [0.02, -0.01],
            "effect_size_dz": [1.0, -0.5],
            "smallest_effect": [0.05, 0.05],
        }
    )
    rates = simulation.study_error_rates(rows, n_families=2, n_resamples=20)
    heterogeneous = "2 of the conditions at 3d"
    expected = set(simulation.SCENARIOS) - (
        {heterogeneous} if n_conditions < 3 else set()
    )
    assert set(rates.scenario) == expected
    assert (rates.n_conditions == n_conditions).all()

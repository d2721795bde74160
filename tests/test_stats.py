"""Tests for geoctx.stats: answers computed by hand or planted in the data."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from geoctx import stats

MATCH_ON = ["dataset", "depth", "seed"]


def tidy_frame(diffs, rng):
    """Tidy table whose relu - sigmoid difference per unit is ``diffs``.

    Units are dataset x depth x seed; a tanh level is present as a distractor
    and every relu observation is split into two duplicates that average to
    the planted value.
    """
    diffs = np.asarray(diffs, dtype=np.float64)
    n = diffs.size
    units = pd.DataFrame(
        {
            "dataset": np.resize(["moons", "circles"], n),
            "depth": np.resize([2, 4, 8], n),
            "seed": np.arange(n),
        }
    )
    base = rng.normal(0.7, 0.05, n)
    jitter = rng.normal(0.0, 0.01, n)
    parts = [
        units.assign(activation="relu", acc=base + diffs + jitter),
        units.assign(activation="relu", acc=base + diffs - jitter),
        units.assign(activation="sigmoid", acc=base),
        units.assign(activation="tanh", acc=base + 10.0),
    ]
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=0)


def scored(df, *, predicted_sign, smallest_effect, seed=0, n_resamples=2000):
    row = stats.compare(
        df,
        value="acc",
        factor="activation",
        a="relu",
        b="sigmoid",
        match_on=MATCH_ON,
        predicted_sign=predicted_sign,
        smallest_effect=smallest_effect,
        n_resamples=n_resamples,
        seed=seed,
    )
    return stats.score_table([row]).iloc[0]


def holm_reference(p):
    """statsmodels' multipletests(method="holm") formula, NaNs removed first."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    keep = np.flatnonzero(~np.isnan(p))
    ps = p[keep]
    order = np.argsort(ps)
    m = ps.size
    corrected = np.maximum.accumulate(ps[order] * np.arange(m, 0, -1))
    corrected = np.clip(corrected, 0, 1)
    back = np.empty(m)
    back[order] = corrected
    out[keep] = back
    return out


# ---------------------------------------------------------------- pairing


def test_paired_differences_matches_units_and_averages_duplicates():
    df = pd.DataFrame(
        {
            "dataset": ["moons"] * 6 + ["circles"] * 4,
            "seed": [0, 0, 0, 1, 1, 2, 0, 0, 1, 1],
            "activation": [
                "relu",
                "relu",
                "sigmoid",
                "relu",
                "sigmoid",
                "relu",
                "relu",
                "sigmoid",
                "sigmoid",
                "tanh",
            ],  # fmt: skip
            "acc": [0.9, 0.7, 0.6, 0.5, 0.45, 0.99, 0.8, np.nan, 0.3, 0.1],
        }
    )
    out = stats.paired_differences(
        df,
        value="acc",
        factor="activation",
        a="relu",
        b="sigmoid",
        match_on=["dataset", "seed"],
    )
    # moons/0: mean(0.9, 0.7) - 0.6 = 0.2; moons/1: 0.5 - 0.45 = 0.05.
    # moons/2 has relu only, circles/0 has a NaN sigmoid, circles/1 sigmoid only.
    assert list(out.columns) == ["dataset", "seed", "a", "b", "diff"]
    assert out["dataset"].tolist() == ["moons", "moons"]
    assert out["seed"].tolist() == [0, 1]
    np.testing.assert_allclose(out["a"], [0.8, 0.5])
    np.testing.assert_allclose(out["b"], [0.6, 0.45])
    np.testing.assert_allclose(out["diff"], [0.2, 0.05])
    assert out.attrs == {
        "n_unmatched": 3,
        "n_only_a": 2,
        "n_only_b": 1,
        "n_missing": 1,
    }


def test_paired_differences_swapping_levels_negates_diff():
    df = tidy_frame(np.linspace(-1, 1, 12), np.random.default_rng(0))
    kw = {"value": "acc", "factor": "activation", "match_on": MATCH_ON}
    ab = stats.paired_differences(df, a="relu", b="sigmoid", **kw)
    ba = stats.paired_differences(df, a="sigmoid", b="relu", **kw)
    np.testing.assert_allclose(ab["diff"], -ba["diff"])
    np.testing.assert_allclose(ab["diff"].sort_values(), np.linspace(-1, 1, 12))


def test_paired_differences_missing_level_warns_and_is_empty():
    df = tidy_frame(np.ones(4), np.random.default_rng(0))
    with pytest.warns(UserWarning, match="'gelu'"):
        out = stats.paired_differences(
            df, value="acc", factor="activation", a="gelu", b="relu", match_on=["seed"]
        )
    assert out.empty
    assert list(out.columns) == ["seed", "a", "b", "diff"]
    assert out.attrs["n_unmatched"] == 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"value": "nope"}, "'nope'"),
        ({"factor": "nope"}, "'nope'"),
        ({"value": "dataset"}, "numeric"),
        ({"b": "relu"}, "'relu'"),
        ({"match_on": []}, "at least one"),
        ({"match_on": "seed"}, "'seed'"),
        ({"match_on": ["seed", "seed"]}, "repeated"),
        ({"match_on": ["seed", "activation"]}, "'activation'"),
        ({"match_on": ["nope"]}, "'nope'"),
    ],
)
def test_paired_differences_rejects_bad_arguments(kwargs, match):
    df = tidy_frame(np.ones(4), np.random.default_rng(0))
    args = {
        "value": "acc",
        "factor": "activation",
        "a": "relu",
        "b": "sigmoid",
        "match_on": MATCH_ON,
    } | kwargs
    with pytest.raises(ValueError, match=match):
        stats.paired_differences(df, **args)


def test_paired_differences_rejects_missing_unit_keys():
    df = tidy_frame(np.ones(4), np.random.default_rng(0))
    df.loc[df.index[0], "dataset"] = None
    with pytest.raises(ValueError, match="must not be missing"):
        stats.paired_differences(
            df, value="acc", factor="activation", a="relu", b="sigmoid",
            match_on=MATCH_ON,
        )  # fmt: skip


# ---------------------------------------------------------------- bootstrap


def test_bootstrap_ci_covers_true_mean_about_95_percent():
    # Observed: 182/200 = 91%; BCa intervals under-cover slightly at n = 30.
    true_mean, hits = 0.3, 0
    for rep in range(200):
        x = np.random.default_rng([7, rep]).normal(true_mean, 1.0, 30)
        low, high = stats.bootstrap_ci(x, n_resamples=1000, seed=rep)
        hits += low <= true_mean <= high
    assert 0.88 <= hits / 200 <= 0.99


def test_bootstrap_ci_is_seeded_and_brackets_the_mean():
    x = np.random.default_rng(1).normal(0.0, 1.0, 20)
    first = stats.bootstrap_ci(x, n_resamples=500, seed=3)
    assert stats.bootstrap_ci(x, n_resamples=500, seed=3) == first
    assert stats.bootstrap_ci(x, n_resamples=500, seed=4) != first
    assert first[0] < x.mean() < first[1]
    wider = stats.bootstrap_ci(x, n_resamples=500, confidence=0.99, seed=3)
    assert wider[0] < first[0] and first[1] < wider[1]


@pytest.mark.parametrize("n", [5, 12, 40])
def test_one_seed_per_condition_is_scipys_bca_bootstrap(n):
    """Known answer: with one unit per condition the cluster bootstrap is the
    plain BCa bootstrap, exactly scipy's on the same generator (the units in
    the order the cluster bootstrap sets: by size; these are all positive)."""
    x = np.random.default_rng(n).exponential(1.0, n)
    got = stats.cluster_bootstrap_ci(x, np.arange(n)[::-1], n_resamples=999, seed=5)
    ref = sps.bootstrap(
        (np.sort(x),), np.mean, method="BCa", n_resamples=999, batch=None,
        rng=np.random.default_rng(5),
    ).confidence_interval  # fmt: skip
    assert got == pytest.approx((ref.low, ref.high), rel=1e-12)
    assert stats.bootstrap_ci(x, n_resamples=999, seed=5) == got


def test_identical_seeds_give_the_condition_level_interval():
    """Known answer: when every seed of a condition is the same, resampling
    seeds changes nothing and the interval is the plain BCa bootstrap of the
    condition means."""
    means = np.random.default_rng(2).normal(0.1, 0.05, 12)
    diffs = np.repeat(means, 3)
    labels = np.repeat([f"c{i}" for i in range(12)], 3)
    got = stats.cluster_bootstrap_ci(diffs, labels, n_resamples=999, seed=8)
    assert got == pytest.approx(
        stats.bootstrap_ci(means, n_resamples=999, seed=8), rel=1e-12
    )


def test_seeds_are_not_counted_as_independent_units():
    # 4 conditions far apart, 10 near-identical seeds each: the cluster
    # interval is as wide as the conditions' spread, the pseudo-replicated
    # one (every seed a unit) about sqrt(10) times narrower.
    rng = np.random.default_rng(4)
    means = np.array([-0.3, 0.0, 0.2, 0.5])
    diffs = np.repeat(means, 10) + rng.normal(0, 0.001, 40)
    labels = np.repeat(np.arange(4), 10)
    low, high = stats.cluster_bootstrap_ci(diffs, labels, n_resamples=2000)
    naive_low, naive_high = stats.bootstrap_ci(diffs, n_resamples=2000)
    assert (high - low) > 2.5 * (naive_high - naive_low)


def test_relabelling_conditions_changes_nothing():
    rng = np.random.default_rng(6)
    diffs = rng.normal(0, 1, 36)
    labels = np.repeat(np.arange(12), 3)
    order = rng.permutation(36)
    relabel = rng.permutation(12)
    first = stats.cluster_bootstrap_ci(diffs, labels, n_resamples=500, seed=1)
    again = stats.cluster_bootstrap_ci(
        diffs[order], relabel[labels][order], n_resamples=500, seed=1
    )
    assert again == first


def test_bootstrap_ci_degenerate_inputs():
    assert stats.bootstrap_ci([0.25] * 5, n_resamples=200) == (0.25, 0.25)
    with pytest.warns(RuntimeWarning, match="at least 2"):
        low, high = stats.bootstrap_ci([0.5])
    assert math.isnan(low) and math.isnan(high)
    with pytest.warns(RuntimeWarning, match="at least 2 conditions"):
        low, _ = stats.cluster_bootstrap_ci([0.5, 0.6], ["x", "x"])
    assert math.isnan(low)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"diffs": [0.1, np.nan, 0.3]}, r"diffs\[1\] = nan"),
        ({"diffs": [[0.1, 0.2]]}, "1-D"),
        ({"diffs": ["a", "b"]}, "numeric"),
        ({"confidence": 1.5}, "confidence"),
        ({"n_resamples": 0}, "n_resamples"),
    ],
)
def test_bootstrap_ci_rejects_bad_arguments(kwargs, match):
    args = {"diffs": [0.1, 0.2, 0.3]} | kwargs
    diffs = args.pop("diffs")
    with pytest.raises(ValueError, match=match):
        stats.bootstrap_ci(diffs, **args)


def test_condition_labels_must_match_the_differences():
    with pytest.raises(ValueError, match="one label per difference"):
        stats.cluster_bootstrap_ci([0.1, 0.2, 0.3], ["x", "y"])


# ---------------------------------------------------------------- sign flips


def test_sign_flip_p_hand_values():
    # 3 positive values: only the identity pattern reaches the observed mean.
    assert stats.sign_flip_p([0.3, 0.1, 0.2]) == 0.125
    # Shifted by 0.25: y = (0.05, -0.15, -0.05); the sign patterns whose
    # sum reaches -0.15 are all but (-, -, -): 7 of 8.
    assert stats.sign_flip_p([0.3, 0.1, 0.2], shift=0.25) == 0.875
    assert stats.min_p(12) == 2.0**-12 and stats.min_p(1) == 1.0


@pytest.mark.parametrize("n", [6, 10, 13])
def test_sign_flip_p_of_symmetric_data_is_uniform_enough(n):
    """Under a symmetric null the exact test's rejection rate at 5% is at
    most 5% (it is exact up to the discreteness of 2**n patterns): the count
    of 400 may not exceed the 99.9% quantile of Binomial(400, 0.05)."""
    rejections = sum(
        stats.sign_flip_p(np.random.default_rng([n, rep]).normal(0, 1, n)) <= 0.05
        for rep in range(400)
    )
    assert rejections <= sps.binom.ppf(0.999, 400, 0.05)


def test_sign_flip_two_sided_hand_value():
    # 3 positive values: 1 of 8 patterns each side, doubled.
    assert stats.sign_flip_two_sided([0.3, 0.1, 0.2]) == 0.25
    assert stats.sign_flip_two_sided([0.3, -0.3]) == 1.0


# ---------------------------------------------------------------- t-tests


@pytest.mark.parametrize(("n", "rep"), [(2, 0), (6, 1), (12, 2), (16, 3)])
def test_effect_tests_are_scipys_one_sample_t_tests(n, rep):
    """Known answer: each p-value is scipy.stats.ttest_1samp's on the
    condition means (df = n - 1), on the predicted side's scale."""
    means = np.random.default_rng([n, rep]).normal(0.05, 0.1, n)
    d = 0.03
    for sign in (1, -1):
        out = stats.effect_tests(means, predicted_sign=sign, smallest_effect=d)
        y = sign * means
        ref = {
            "p_supported": sps.ttest_1samp(y, d, alternative="greater").pvalue,
            "p_contradicted": sps.ttest_1samp(y, -d, alternative="less").pvalue,
            "p_no_effect": max(
                sps.ttest_1samp(y, -d, alternative="greater").pvalue,
                sps.ttest_1samp(y, d, alternative="less").pvalue,
            ),
            "p_value": sps.ttest_1samp(y, 0.0).pvalue,
        }
        assert out == pytest.approx(ref, rel=1e-9, abs=1e-15)


def test_effect_tests_are_sign_symmetric_and_hand_checked():
    x = [0.5, 0.4, 0.6, 0.5, 0.45, 0.55]
    out = stats.effect_tests(x, predicted_sign=1, smallest_effect=0.1)
    # mean 0.5, sd sqrt(0.005), t = 0.4 / (sqrt(0.005) / sqrt(6)) = 13.856 on
    # 5 df; upper tail of Student's t (tables: t_{0.9999, 5} = 9.68).
    assert out["p_supported"] == pytest.approx(1.7583e-05, rel=1e-4)
    mirrored = stats.effect_tests(
        [-v for v in x], predicted_sign=-1, smallest_effect=0.1
    )
    assert mirrored == out
    assert stats.t_greater([1.0, 2.0, 3.0]) == pytest.approx(0.03709, abs=1e-5)


def test_t_tests_have_no_resolution_floor():
    """The finding that retired the sign-flip test: 6 conditions far beyond
    d, all on one side, could not pass Holm over 54 tests (2**-6 > 0.05/54);
    the t-test can (C7's gradient ratio: mean -3.97, SD 0.91, d = 0.1)."""
    means = -3.97 + 0.91 * np.array([-1.2, -0.6, -0.2, 0.2, 0.6, 1.2]) / 0.8602
    out = stats.effect_tests(means, predicted_sign=-1, smallest_effect=0.1)
    assert stats.min_p(6) > 0.05 / 54 > out["p_supported"]
    assert out["p_supported"] < 1e-4


def test_t_tests_of_a_sample_without_spread():
    beyond = stats.effect_tests([0.5] * 4, predicted_sign=1, smallest_effect=0.1)
    assert (beyond["p_supported"], beyond["p_no_effect"]) == (0.0, 1.0)
    zero = stats.effect_tests([0.0] * 4, predicted_sign=1, smallest_effect=0.1)
    assert (zero["p_no_effect"], zero["p_supported"], zero["p_value"]) == (0, 1, 1)
    at_d = stats.effect_tests([0.1] * 4, predicted_sign=1, smallest_effect=0.1)
    assert at_d["p_supported"] == 1.0 and at_d["p_no_effect"] == 1.0


def test_t_tests_of_symmetric_data_hold_their_level():
    """Under a normal null the 5% test rejects at most as often as the 99.9%
    quantile of Binomial(400, 0.05) allows."""
    rejections = sum(
        stats.t_greater(np.random.default_rng([9, rep]).normal(0, 1, 12)) <= 0.05
        for rep in range(400)
    )
    assert 8 <= rejections <= sps.binom.ppf(0.999, 400, 0.05)


# ---------------------------------------------------------------- studentized


@pytest.mark.parametrize("n", [3, 6, 12])
def test_studentized_ci_is_the_bootstrap_t_formula(n):
    """Known answer: the interval is mean - t*_q * se with t*_q numpy's
    (linear) quantiles of (mean* - mean) / se* over the same resamples,
    resamples without spread left out (the means in the order the function
    resamples them: by distance from their mean)."""
    x = np.random.default_rng(n).exponential(1.0, n)
    x = x[np.argsort(np.abs(x - x.mean()))]
    picks = np.random.default_rng(5).integers(0, n, (1, 999, n))[0]
    draws = x[picks]
    keep = draws.std(-1, ddof=1) > 0
    se = x.std(ddof=1) / np.sqrt(n)
    boot = draws[keep]
    t = (boot.mean(-1) - x.mean()) / (boot.std(-1, ddof=1) / np.sqrt(n))
    q_low, q_high = np.quantile(t, [0.025, 0.975])
    got = stats.studentized_ci(x[::-1], n_resamples=999, seed=5)
    assert got == pytest.approx((x.mean() - q_high * se, x.mean() - q_low * se))


def test_studentized_ci_small_and_degenerate_samples():
    # Two conditions: the t interval on 1 df, mean 0.2 -+ 12.706 * 0.1.
    assert stats.studentized_ci([0.1, 0.3]) == pytest.approx(
        (0.2 - 1.27062, 0.2 + 1.27062), abs=1e-5
    )
    assert stats.studentized_ci([0.25] * 5, n_resamples=200) == (0.25, 0.25)
    with pytest.warns(RuntimeWarning, match="at least 2 conditions"):
        low, high = stats.studentized_ci([0.5])
    assert math.isnan(low) and math.isnan(high)


def test_studentized_ci_is_mirrored_shifted_and_seeded():
    x = np.random.default_rng(3).normal(0.2, 0.3, 12)
    first = stats.studentized_ci(x, n_resamples=500, seed=2)
    low, high = stats.studentized_ci(-x, n_resamples=500, seed=2)
    assert (-high, -low) == pytest.approx(first, rel=1e-12)
    shifted = stats.studentized_ci(x + 0.7, n_resamples=500, seed=2)
    assert shifted == pytest.approx((first[0] + 0.7, first[1] + 0.7), rel=1e-9)
    assert stats.studentized_ci(x[::-1], n_resamples=500, seed=2) == first
    assert stats.studentized_ci(x, n_resamples=500, seed=3) != first


@pytest.mark.parametrize("n_conditions", [6, 12])
def test_studentized_ci_keeps_coverage_under_skew(n_conditions):
    """The reason it replaced the cluster BCa interval: with skewed noise at
    the study's design (condition SD 5.9, seed SD 3.4, 3 seeds) it keeps
    95% coverage near 0.93-0.94 where the t interval falls to about 0.90
    (observed: 0.94 vs 0.90 at 6 conditions, 0.94 vs 0.92 at 12).
    The bound allows 3 Monte-Carlo SEs of 1,000 samples."""
    from geoctx.stats.simulation import interval_coverage

    out = interval_coverage(
        n_conditions=n_conditions, n_seeds=3, sd_condition=5.9, sd_seed=3.4,
        distribution="skewed", n_samples=1000, n_resamples=500, bca=False,
    ).set_index("method").coverage  # fmt: skip
    assert out["studentized bootstrap"] >= 0.91
    assert out["studentized bootstrap"] > out["t"]


# ---------------------------------------------------------------- heterogeneity


def test_heterogeneity_known_answers():
    out = stats.heterogeneity([1.0, 1.2, 3.0, 3.2], ["a", "a", "b", "b"])
    # within variance 0.02, Q = 4 / 0.02 = 200, I^2 = 199 / 200
    assert out["i2"] == pytest.approx(0.995)
    assert out["between_dataset_sd"] == pytest.approx(np.sqrt(2))
    same = stats.heterogeneity([1.0, 3.0, 1.0, 3.0], ["a", "a", "b", "b"])
    assert same == {"i2": 0.0, "between_dataset_sd": 0.0}
    assert math.isnan(stats.heterogeneity([1.0, 2.0], ["a", "a"])["i2"])


# ---------------------------------------------------------------- Holm


def test_holm_hand_example():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06,
    # 0.04 -> running max 0.02, 0.03, 0.06, 0.06.
    got = stats.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(got, [0.03, 0.06, 0.06, 0.02])


def test_holm_nan_ties_and_clipping():
    # m = 4 (NaN excluded): 0.01 x4 = 0.04, 0.01 x3 = 0.03 -> 0.04,
    # 0.2 x2 = 0.4, 0.5 x1 = 0.5.
    got = stats.holm([0.2, np.nan, 0.01, 0.5, 0.01])
    np.testing.assert_allclose(got, [0.4, np.nan, 0.04, 0.5, 0.04])
    np.testing.assert_allclose(stats.holm([0.6, 0.9]), [1.0, 1.0])
    assert stats.holm([]).shape == (0,)
    assert np.isnan(stats.holm([np.nan, np.nan])).all()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(st.floats(0.0, 1.0), st.just(math.nan)), min_size=1, max_size=12)
)
def test_holm_matches_statsmodels_formula(p):
    got = stats.holm(p)
    np.testing.assert_allclose(got, holm_reference(p), equal_nan=True)
    finite = ~np.isnan(np.asarray(p))
    assert np.all(got[finite] >= np.asarray(p)[finite])
    assert np.all(got[finite] <= 1.0)


@pytest.mark.parametrize("p", [[0.1, 1.2], [-0.1], [0.1, np.inf]])
def test_holm_rejects_invalid_p_values(p):
    with pytest.raises(ValueError, match=r"p_values\["):
        stats.holm(p)


# ---------------------------------------------------------------- effect size


def test_effect_size_hand_example_and_t_statistic():
    assert stats.effect_size([1.0, 2.0, 3.0]) == pytest.approx(2.0)
    x = np.random.default_rng(2).normal(0.3, 1.0, 25)
    t = sps.ttest_1samp(x, 0.0).statistic
    assert stats.effect_size(x) * np.sqrt(25) == pytest.approx(t)


def test_effect_size_zero_spread():
    assert stats.effect_size([0.3, 0.3, 0.3]) == math.inf
    assert stats.effect_size([-0.1, -0.1]) == -math.inf
    assert stats.effect_size([0.0, 0.0, 0.0]) == 0.0
    with pytest.warns(RuntimeWarning, match="at least 2"):
        assert math.isnan(stats.effect_size([1.0]))


# ---------------------------------------------------------------- verdict

DECIDE = {"predicted_sign": 1, "smallest_effect": 0.1, "n_pairs": 36,
          "n_conditions": 12}  # fmt: skip


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((0.5, 0.4, 0.6, 0.001, 1, 1), {}, "supported"),
        ((0.5, 0.4, 0.6, 1, 0.001, 1), {"predicted_sign": -1}, "contradicted"),
        ((-0.5, -0.6, -0.4, 0.001, 1, 1), {"predicted_sign": -1}, "supported"),
        # The interval does not clear d: not supported, however small p.
        ((0.5, 0.05, 0.95, 0.001, 1, 1), {}, "inconclusive"),
        ((0.5, 0.4, 0.6, 0.001, 1, 1), {"smallest_effect": 0.45}, "inconclusive"),
        # The interval clears d but the family-wise test does not.
        ((0.5, 0.4, 0.6, 0.06, 1, 1), {}, "inconclusive"),
        ((0.5, 0.4, 0.6, math.nan, 1, 1), {}, "inconclusive"),
        ((0.01, -0.05, 0.07, 1, 1, 0.01), {}, "no effect"),
        ((0.01, -0.05, 0.07, 1, 1, 0.2), {}, "inconclusive"),
        ((0.01, -0.05, 0.1, 1, 1, 0.01), {}, "inconclusive"),  # touches +d
        ((0.0, -0.01, 0.01, 1, 1, 0.0), {"smallest_effect": 0.0}, "inconclusive"),
        ((0.5, 0.4, 0.6, 0.001, 1, 1), {"n_pairs": 2}, "not measured"),
        ((0.5, 0.4, 0.6, 0.001, 1, 1), {"n_conditions": 1}, "not measured"),
        ((math.nan,) * 3 + (1, 1, 1), {}, "not measured"),
        ((0.5, 0.4, 0.6, 0.04, 1, 1), {"alpha": 0.01}, "inconclusive"),
    ],
)
def test_verdict_rule(args, kwargs, expected):
    assert stats.verdict(*args, **(DECIDE | kwargs)) == expected


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"predicted_sign": 0}, "predicted_sign"),
        ({"smallest_effect": -0.1}, "smallest_effect"),
        ({"alpha": 1.5}, "alpha"),
        ({"min_pairs": 1}, "min_pairs"),
        ({"n_pairs": -1}, "n_pairs"),
        ({"p_no_effect": 2.0}, "p_no_effect"),
        ({"ci_low": 0.7}, "ci_low"),
    ],
)
def test_verdict_rejects_bad_arguments(kwargs, match):
    args = {
        "effect": 0.5,
        "ci_low": 0.4,
        "ci_high": 0.6,
        "p_supported": 0.001,
        "p_contradicted": 1.0,
        "p_no_effect": 1.0,
    } | DECIDE | kwargs  # fmt: skip
    with pytest.raises(ValueError, match=match):
        stats.verdict(**args)


# ---------------------------------------------------------------- compare


def test_planted_positive_effect_is_supported_or_contradicted():
    rng = np.random.default_rng(11)
    df = tidy_frame(rng.normal(0.5, 0.1, 36), rng)
    row = scored(df, predicted_sign=1, smallest_effect=0.1)
    assert row["verdict"] == "supported"
    assert row["n_pairs"] == 36 and row["n_unmatched"] == 0
    assert row["n_conditions"] == 6  # 2 datasets x 3 depths, seeds nested
    assert 0.4 < row["ci_low"] < row["effect"] < row["ci_high"] < 0.6
    assert row["p_supported"] < 1e-4  # a t-test: no floor at 2**-6
    assert row["p_floor"] == 2.0**-6 and row["p_sign_flip"] == 2 * 2.0**-6
    flipped = scored(df, predicted_sign=-1, smallest_effect=0.1)
    assert flipped["verdict"] == "contradicted"


def test_effect_below_smallest_effect_is_no_effect():
    rng = np.random.default_rng(12)
    df = tidy_frame(rng.normal(0.05, 0.01, 36), rng)
    row = scored(df, predicted_sign=1, smallest_effect=0.1)
    assert row["verdict"] == "no effect"
    # Smaller than the interval's upper end: nothing is shown.
    assert scored(df, predicted_sign=1, smallest_effect=0.05)["verdict"] == (
        "inconclusive"
    )
    assert scored(df, predicted_sign=1, smallest_effect=0.01)["verdict"] == (
        "supported"
    )


def test_missing_level_or_too_few_conditions_is_not_measured():
    rng = np.random.default_rng(13)
    df = tidy_frame(rng.normal(0.5, 0.1, 36), rng)
    with (
        pytest.warns(UserWarning, match="'gelu'"),
        pytest.warns(RuntimeWarning, match="0 condition"),
    ):
        row = stats.compare(
            df, value="acc", factor="activation", a="gelu", b="sigmoid",
            match_on=MATCH_ON, predicted_sign=1, smallest_effect=0.1,
            n_resamples=200,
        )  # fmt: skip
    assert row["n_pairs"] == 0 and math.isnan(row["effect"])
    assert stats.score_table([row])["verdict"].iloc[0] == "not measured"


@pytest.mark.parametrize("n", [3, 4, 5])
def test_few_conditions_decide_a_large_consistent_effect(n):
    # A huge, consistent effect on n <= 5 conditions: the sign-flip test's
    # floor 2**-n would exceed 0.05 / 3 (Holm over the row's three tests),
    # the t-test has none; a wide spread around the same mean stays open.
    rng = np.random.default_rng(n)
    x = rng.normal(0.5, 0.01, n)
    row = stats.summarise(x, np.arange(n), predicted_sign=1, smallest_effect=0.1,
                          n_resamples=500)  # fmt: skip
    row |= {"predicted_sign": 1, "smallest_effect": 0.1}
    out = stats.score_table([row]).iloc[0]
    assert out["ci_low"] > 0.4 and out["p_floor"] == 2.0**-n > 0.05 / 3
    assert out["verdict"] == "supported"
    wide = x + 0.4 * np.linspace(-1, 1, n)
    row = stats.summarise(wide, np.arange(n), predicted_sign=1, smallest_effect=0.1,
                          n_resamples=500)  # fmt: skip
    row |= {"predicted_sign": 1, "smallest_effect": 0.1}
    assert stats.score_table([row]).verdict.iloc[0] == "inconclusive"


# ---------------------------------------------------------------- score table


def _row(p, **extra):
    return {
        "n_pairs": 36,
        "n_conditions": 12,
        "effect": 0.5,
        "ci_low": 0.4,
        "ci_high": 0.6,
        "p_supported": p,
        "p_contradicted": 1.0,
        "p_no_effect": 1.0,
        "predicted_sign": 1,
        "smallest_effect": 0.1,
    } | extra


def test_score_table_adjusts_every_test_of_the_family():
    alone = stats.score_table([_row(0.01, claim="C1")])
    # three tests per row: 0.01 * 3
    assert alone["p_supported_holm"].tolist() == pytest.approx([0.03])
    assert alone["verdict"].tolist() == ["supported"]
    table = stats.score_table([_row(0.01, claim=c) for c in ("C1", "C2", "C3")])
    np.testing.assert_allclose(table["p_supported_holm"], [0.09, 0.09, 0.09])
    assert table["verdict"].tolist() == ["inconclusive"] * 3
    # A not-measured row does not count towards the family.
    mixed = stats.score_table([_row(0.001), _row(0.001, n_conditions=1)])
    np.testing.assert_allclose(mixed["p_supported_holm"], [0.003, np.nan])
    assert mixed["verdict"].tolist() == ["supported", "not measured"]


def test_score_table_validates_rows():
    with pytest.raises(ValueError, match="p_no_effect"):
        stats.score_table([{k: v for k, v in _row(0.1).items() if k != "p_no_effect"}])
    with pytest.raises(ValueError, match="verdict"):
        stats.score_table([_row(0.1, verdict="supported")])
    empty = stats.score_table([])
    assert empty.empty
    assert {"p_supported_holm", "verdict"} <= set(empty.columns)


# Each setting's message as the single validator of every setting wrote it
# before the checks were split by kind of input; a value of the wrong kind,
# and one of the right kind out of range.
SETTING_MESSAGES = [
    ("n_resamples", "x", "n_resamples must be a positive integer, got 'x'"),
    ("n_resamples", 0, "n_resamples must be a positive integer, got 0"),
    ("confidence", "x", "confidence must lie in (0, 1), got 'x'"),
    ("confidence", 1.0, "confidence must lie in (0, 1), got 1.0"),
    ("alpha", "x", "alpha must lie in (0, 1), got 'x'"),
    ("alpha", 0, "alpha must lie in (0, 1), got 0"),
    ("predicted_sign", "x", "predicted_sign must be +1 or -1, got 'x'"),
    ("predicted_sign", True, "predicted_sign must be +1 or -1, got True"),
    ("smallest_effect", "x", "smallest_effect must be a finite number >= 0, got 'x'"),
    ("smallest_effect", -0.1, "smallest_effect must be a finite number >= 0, got -0.1"),
    ("n_pairs", "x", "n_pairs must be an integer >= 0, got 'x'"),
    ("n_pairs", 2.5, "n_pairs must be an integer >= 0, got 2.5"),
    ("min_pairs", "x", "min_pairs must be an integer >= 2, got 'x'"),
    ("min_pairs", 1, "min_pairs must be an integer >= 2, got 1"),
    *(
        (p, value, f"{p} must lie in [0, 1] or be NaN, got {value!r}")
        for p in ("p_supported", "p_contradicted", "p_no_effect")
        for value in ("x", 1.5)
    ),
]


def test_every_setting_has_a_message():
    from geoctx.stats._common import SETTINGS

    assert {name for name, _, _ in SETTING_MESSAGES} == set(SETTINGS)


@pytest.mark.parametrize(("name", "value", "message"), SETTING_MESSAGES)
def test_every_setting_names_itself_and_its_value(name, value, message):
    from geoctx.stats._common import _check_settings

    with pytest.raises(ValueError) as raised:
        _check_settings(**{name: value})
    assert str(raised.value) == message

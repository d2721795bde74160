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
    # Observed: 183/200 = 91.5% (2000 repetitions: 94.5%); percentile
    # intervals under-cover slightly at n = 30.
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


def test_bootstrap_ci_of_three_units_is_their_range():
    # P(a resample is all the minimum) = 1/27 > 2.5%, so both percentiles
    # sit on the extremes: the documented small-n weakness.
    assert stats.bootstrap_ci([0.2, 0.5, 0.3], seed=0) == pytest.approx((0.2, 0.5))


def test_bootstrap_ci_degenerate_inputs():
    assert stats.bootstrap_ci([0.25] * 5, n_resamples=200) == (0.25, 0.25)
    with pytest.warns(RuntimeWarning, match="at least 2"):
        low, high = stats.bootstrap_ci([0.5])
    assert math.isnan(low) and math.isnan(high)


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


# ---------------------------------------------------------------- Wilcoxon


def test_wilcoxon_p_all_zero_is_one():
    assert stats.wilcoxon_p([0.0, 0.0, 0.0, 0.0]) == 1.0


@pytest.mark.parametrize("n", range(2, 11))
def test_wilcoxon_p_floor_is_reached_by_one_signed_samples(n):
    x = np.arange(1.0, n + 1)
    assert stats.wilcoxon_p(x) == pytest.approx(2.0 / 2**n)
    assert stats.wilcoxon_p(-x) == pytest.approx(stats.wilcoxon_min_p(n))


def test_wilcoxon_min_p_hand_values():
    assert stats.wilcoxon_min_p(3) == 0.25
    assert stats.wilcoxon_min_p(5) == 0.0625
    assert stats.wilcoxon_min_p(6) == 0.03125
    assert stats.wilcoxon_min_p(0) == stats.wilcoxon_min_p(1) == 1.0


def test_wilcoxon_p_ties_at_small_n_respect_the_floor():
    # Five equal positive differences: exact sign-flip p = 2/32, not the
    # normal approximation's 0.043 that would wrongly pass alpha = 0.05.
    assert stats.wilcoxon_p([0.1] * 5) == pytest.approx(0.0625)


def test_wilcoxon_p_fewer_than_two_units_is_nan():
    with pytest.warns(RuntimeWarning, match="at least 2"):
        assert math.isnan(stats.wilcoxon_p([0.3]))


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


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((0.5, 0.4, 0.6, 0.001), {}, "supported"),
        ((0.5, 0.4, 0.6, 0.001), {"predicted_sign": -1}, "contradicted"),
        ((-0.5, -0.6, -0.4, 0.001), {"predicted_sign": -1}, "supported"),
        ((0.5, 0.4, 0.6, 0.001), {"smallest_effect": 0.6}, "inconclusive"),
        ((0.5, 0.4, 0.6, 0.06), {}, "inconclusive"),
        ((0.5, 0.4, 0.6, math.nan), {}, "inconclusive"),
        ((0.5, -0.1, 1.1, 0.001), {}, "inconclusive"),
        ((0.5, 0.4, 0.6, 0.001), {"n_pairs": 2}, "not measured"),
        ((0.5, 0.4, 0.6, 0.001), {"n_pairs": 4, "min_pairs": 5}, "not measured"),
        ((math.nan, math.nan, math.nan, math.nan), {}, "not measured"),
        ((0.5, 0.4, 0.6, 0.04), {"alpha": 0.01}, "inconclusive"),
    ],
)
def test_verdict_rule(args, kwargs, expected):
    opts = {"predicted_sign": 1, "smallest_effect": 0.1, "n_pairs": 30} | kwargs
    assert stats.verdict(*args, **opts) == expected


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"predicted_sign": 0}, "predicted_sign"),
        ({"smallest_effect": -0.1}, "smallest_effect"),
        ({"alpha": 1.5}, "alpha"),
        ({"min_pairs": 1}, "min_pairs"),
        ({"n_pairs": -1}, "n_pairs"),
        ({"p_holm": 2.0}, "p_holm"),
        ({"ci_low": 0.7}, "ci_low"),
    ],
)
def test_verdict_rejects_bad_arguments(kwargs, match):
    args = {
        "effect": 0.5,
        "ci_low": 0.4,
        "ci_high": 0.6,
        "p_holm": 0.001,
        "predicted_sign": 1,
        "smallest_effect": 0.1,
        "n_pairs": 30,
    } | kwargs
    with pytest.raises(ValueError, match=match):
        stats.verdict(**args)


# ---------------------------------------------------------------- compare


def test_planted_positive_effect_is_supported_or_contradicted():
    rng = np.random.default_rng(11)
    df = tidy_frame(rng.normal(0.5, 0.1, 30), rng)
    row = scored(df, predicted_sign=1, smallest_effect=0.1)
    assert row["verdict"] == "supported"
    assert row["n_pairs"] == 30 and row["n_unmatched"] == 0
    assert 0.4 < row["ci_low"] < row["effect"] < row["ci_high"] < 0.6
    assert row["p_value"] < 1e-6
    assert row["effect_size_dz"] > 3
    flipped = scored(df, predicted_sign=-1, smallest_effect=0.1)
    assert flipped["verdict"] == "contradicted"


def test_effect_below_smallest_effect_is_no_effect():
    # 0.05 +- 0.01 over 30 units: the interval lies well inside +-0.1.
    rng = np.random.default_rng(12)
    df = tidy_frame(rng.normal(0.05, 0.01, 30), rng)
    row = scored(df, predicted_sign=1, smallest_effect=0.1)
    assert row["verdict"] == "no effect"
    # A smallest effect inside the interval, above the effect: neither an
    # effect of that size nor its absence is established.
    between = (row["effect"] + row["ci_high"]) / 2
    assert scored(df, predicted_sign=1, smallest_effect=between)["verdict"] == (
        "inconclusive"
    )
    assert scored(df, predicted_sign=1, smallest_effect=0.01)["verdict"] == (
        "supported"
    )


def test_pure_noise_is_mostly_inconclusive():
    # Observed with these seeds: 193/200 inconclusive (2 supported,
    # 5 contradicted), i.e. a 3.5% two-sided false-decision rate at
    # alpha = 0.05 with no smallest-effect guard.
    verdicts = []
    for rep in range(200):
        rng = np.random.default_rng([2024, rep])
        df = tidy_frame(rng.normal(0.0, 1.0, 30), rng)
        row = scored(
            df, predicted_sign=1, smallest_effect=0.0, seed=rep, n_resamples=500
        )
        verdicts.append(row["verdict"])
    rate = np.mean(np.asarray(verdicts) == "inconclusive")
    assert rate >= 0.9


def test_missing_level_or_too_few_units_is_not_measured():
    rng = np.random.default_rng(13)
    df = tidy_frame(rng.normal(0.5, 0.1, 30), rng)
    with (
        pytest.warns(UserWarning, match="'gelu'"),
        pytest.warns(RuntimeWarning, match="0 matched"),
    ):
        row = stats.compare(
            df, value="acc", factor="activation", a="gelu", b="sigmoid",
            match_on=MATCH_ON, predicted_sign=1, smallest_effect=0.1,
            n_resamples=200,
        )  # fmt: skip
    assert row["n_pairs"] == 0 and math.isnan(row["effect"])
    assert stats.score_table([row])["verdict"].iloc[0] == "not measured"

    two_seeds = scored(df[df["seed"] < 2], predicted_sign=1, smallest_effect=0.1)
    assert two_seeds["n_pairs"] == 2
    assert two_seeds["verdict"] == "not measured"


@pytest.mark.parametrize("n", [3, 4, 5])
def test_few_units_cannot_be_decisive(n):
    # A huge, perfectly consistent effect on n <= 5 units still cannot pass
    # alpha = 0.05: the Wilcoxon floor 2 / 2**n is above it.
    rng = np.random.default_rng(n)
    df = tidy_frame(rng.normal(0.5, 0.01, n), rng)
    row = scored(df, predicted_sign=1, smallest_effect=0.1)
    assert row["ci_low"] > 0.4
    assert row["p_floor"] == pytest.approx(2.0 / 2**n) and row["p_floor"] > 0.05
    assert row["verdict"] == "inconclusive"


# ---------------------------------------------------------------- score table


def _row(p, **extra):
    return {
        "n_pairs": 30,
        "effect": 0.5,
        "ci_low": 0.4,
        "ci_high": 0.6,
        "p_value": p,
        "predicted_sign": 1,
        "smallest_effect": 0.1,
    } | extra


def test_score_table_adjusts_over_all_rows():
    alone = stats.score_table([_row(0.03, claim="C1")])
    assert alone["verdict"].tolist() == ["supported"]
    table = stats.score_table([_row(0.03, claim=c) for c in ("C1", "C2", "C3")])
    np.testing.assert_allclose(table["p_holm"], [0.09, 0.09, 0.09])
    assert table["verdict"].tolist() == ["inconclusive"] * 3
    assert table["claim"].tolist() == ["C1", "C2", "C3"]
    mixed = stats.score_table([_row(0.001), _row(0.04), _row(math.nan, n_pairs=1)])
    np.testing.assert_allclose(mixed["p_holm"], [0.002, 0.04, np.nan])
    assert mixed["verdict"].tolist() == ["supported", "supported", "not measured"]


def test_score_table_validates_rows():
    with pytest.raises(ValueError, match="p_value"):
        stats.score_table([{k: v for k, v in _row(0.1).items() if k != "p_value"}])
    with pytest.raises(ValueError, match="verdict"):
        stats.score_table([_row(0.1, verdict="supported")])
    empty = stats.score_table([])
    assert empty.empty
    assert {"p_holm", "p_floor", "verdict"} <= set(empty.columns)

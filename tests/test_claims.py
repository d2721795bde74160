"""The claims scorecard on synthetic tables with known answers."""

import numpy as np
import pandas as pd
import pytest

from geoctx import claims, stats, tables

DATASETS = ["a", "b", "c"]
DEPTHS = [2, 8]
SEEDS = range(5)


def empty(name):
    return tables.SCHEMAS[name].empty_table().to_pandas()


def runs_with(effect, *, gap_effect=None, noise=0.01, depths=DEPTHS, seed=0):
    """Runs whose sigmoid test accuracy is relu's plus ``effect`` (plus noise).

    Sigmoid's generalization gap is relu's plus ``gap_effect`` (default
    ``-effect``: the accuracy lost is lost to overfitting, so both C3 items
    point the same way).
    """
    gap_effect = -effect if gap_effect is None else gap_effect
    rng = np.random.default_rng(seed)
    rows = []
    for dataset in DATASETS:
        for depth in depths:
            for s in SEEDS:
                base = rng.uniform(0.7, 0.9)
                for activation, shift, gap in (
                    ("relu", 0.0, 0.0),
                    ("sigmoid", effect, gap_effect),
                ):
                    rows.append(
                        {
                            "dataset": dataset,
                            "activation": activation,
                            "initializer": "auto",
                            "width": 32,
                            "depth": depth,
                            "seed": s,
                            "status": "ok",
                            "test_accuracy": base + shift + rng.normal(0, noise),
                            "generalization_gap": gap + rng.normal(0, noise),
                        }
                    )
    return pd.DataFrame(rows)


def scorecard(runs):
    t = {name: empty(name) for name in claims.TABLES}
    t["runs"] = runs
    return claims.score_claims(t, activations=["sigmoid", "relu"], n_resamples=500)


def overall(scores, evidence):
    row = scores[
        (scores.evidence == evidence)
        & scores.primary
        & (scores.dataset == "all")
        & (scores.condition == "all")
    ]
    assert len(row) == 1
    return row.iloc[0]


def test_planted_effect_is_supported():
    scores = scorecard(runs_with(-0.1))
    row = overall(scores, "test_accuracy")
    assert row.verdict == "supported"
    assert row.n_pairs == len(DATASETS) * len(DEPTHS) * len(SEEDS)
    assert row.effect == pytest.approx(-0.1, abs=0.01)
    assert row.ci_low < row.effect < row.ci_high < -0.09
    verdicts = claims.claim_verdicts(scores).set_index("claim").verdict
    assert verdicts["C3"] == "supported"


def test_planted_opposite_effect_is_contradicted():
    scores = scorecard(runs_with(+0.1))
    assert overall(scores, "test_accuracy").verdict == "contradicted"
    assert (
        claims.claim_verdicts(scores).set_index("claim").verdict["C3"] == "contradicted"
    )


def test_pure_noise_is_inconclusive_at_the_stated_rate():
    decided = 0
    for seed in range(40):
        scores = scorecard(runs_with(0.0, noise=0.05, seed=seed))
        decided += overall(scores, "test_accuracy").verdict != "inconclusive"
    assert decided <= 4  # Holm at alpha 0.05 plus the smallest effect: rarely decisive


def test_effect_below_the_smallest_of_interest_is_no_effect():
    # Real (the interval excludes 0) but smaller than 0.02 with its whole
    # interval inside +-0.02: no effect of practical size, against C3.
    scores = scorecard(runs_with(-0.01, noise=0.001))
    row = overall(scores, "test_accuracy")
    assert row.ci_low > -0.02 and row.ci_high < 0 and row.verdict == "no effect"
    claim = claims.claim_verdicts(scores).set_index("claim").loc["C3"]
    assert claim.verdict == "no effect"
    assert claim.note.startswith("no effect of practical size")


def test_an_imprecise_small_effect_is_inconclusive():
    # Mean -0.01 but noise 0.05 over 30 pairs: the interval reaches past
    # -0.02 and the test is far from significant.
    scores = scorecard(runs_with(-0.01, noise=0.05))
    row = overall(scores, "test_accuracy")
    assert row.ci_low < -0.02 and row.verdict == "inconclusive"


def test_items_that_disagree_make_the_claim_mixed():
    # Accuracy: sigmoid 0.1 lower (supports C3); gap: no difference at all
    # (no effect of practical size, against C3).
    scores = scorecard(runs_with(-0.1, gap_effect=0.0))
    assert overall(scores, "test_accuracy").verdict == "supported"
    assert overall(scores, "generalization_gap").verdict == "no effect"
    claim = claims.claim_verdicts(scores).set_index("claim").loc["C3"]
    assert claim.verdict == "mixed"
    assert "items: 1 supported, 1 no effect" in claim.note


def test_claim_verdicts_take_their_names_from_stats():
    assert claims.VERDICT_ORDER == stats.CLAIM_VERDICTS


def test_missing_factors_are_not_measured():
    scores = scorecard(runs_with(-0.1, depths=[4]))
    verdicts = claims.claim_verdicts(scores).set_index("claim").verdict
    assert verdicts["C2"] == "not measured"  # one depth: no depth trend
    assert verdicts["C9"] == "not measured"  # no inference table
    assert verdicts["C3"] == "supported"


def test_a_comparison_outside_the_sweep_is_not_measured():
    t = {name: empty(name) for name in claims.TABLES}
    t["runs"] = runs_with(-0.1)
    scores = claims.score_claims(t, activations=["tanh", "relu"], n_resamples=200)
    assert set(scores.comparison) == {"tanh vs relu"}
    assert set(claims.claim_verdicts(scores).verdict) == {"not measured"}


def test_conditions_and_flips():
    runs = runs_with(-0.1)
    flip = (runs.dataset == "c") & (runs.activation == "sigmoid")
    runs.loc[flip, "test_accuracy"] += 0.2  # on dataset c sigmoid is better
    scores = scorecard(runs)
    per_dataset = scores[
        (scores.evidence == "test_accuracy") & scores.primary & (scores.dataset == "c")
    ]
    assert per_dataset.verdict.iloc[0] == "contradicted"
    row = claims.claim_verdicts(scores).set_index("claim").loc["C3"]
    assert "dataset=c" in row.flips


def test_comparisons_include_controls():
    pairs = claims.comparisons(["sigmoid", "tanh", "relu", "gelu"])
    assert pairs[0] == ("sigmoid", "relu")
    assert ("tanh", "relu") in pairs and ("gelu", "relu") in pairs
    assert ("sigmoid", "tanh") in pairs


def test_scorecard_fits_the_table_schema():
    tables.to_table(scorecard(runs_with(-0.1)), "claims")


def test_diverged_models_are_left_out_of_every_comparison():
    runs = runs_with(-0.1)
    keys = ["dataset", "activation", "initializer", "width", "depth", "seed"]
    geometry = runs[keys].assign(
        stage="trained", layer=runs.depth, metric="distance_spearman", value=0.5
    )
    diverged = (runs.dataset == "a") & (runs.depth == 2) & (runs.seed == 0)
    runs.loc[diverged & (runs.activation == "sigmoid"), "status"] = "diverged"
    t = {name: empty(name) for name in claims.TABLES}
    t["runs"], t["geometry"] = runs, geometry
    scores = claims.score_claims(t, activations=["sigmoid", "relu"], n_resamples=200)
    n_units = len(DATASETS) * len(DEPTHS) * len(SEEDS)
    assert overall(scores, "test_accuracy").n_pairs == n_units - 1
    assert overall(scores, "distance_spearman").n_pairs == n_units - 1


def test_claims_table_allows_only_the_stats_verdicts():
    field = tables.SCHEMAS["claims"].field("verdict")
    assert tables.allowed_values(field) == list(stats.VERDICTS)
    scores = scorecard(runs_with(-0.1))
    scores.loc[scores.index[0], "verdict"] = "mixed"  # a claim-level word only
    with pytest.raises(ValueError, match=r"claims.verdict has values \['mixed'\]"):
        tables.to_table(scores, "claims")

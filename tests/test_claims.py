"""The claims scorecard on synthetic tables with known answers."""

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from geoctx import claims, evidence, names, stats, tables

SCHEMA = Path(__file__).parents[1] / "workflow/schemas/config.schema.yaml"
DATASETS = ["a", "b", "c", "d", "e", "f"]
DEPTHS = [2, 8]
SEEDS = range(3)


def empty(name):
    return tables.SCHEMAS[name].empty_table().to_pandas()


def runs_with(
    effect, *, gap_effect=None, noise=0.01, depths=DEPTHS, datasets=DATASETS, seed=0
):
    """Runs whose sigmoid test accuracy is relu's plus ``effect`` (plus noise).

    Sigmoid's generalization gap is relu's plus ``gap_effect`` (default
    ``-effect``: the accuracy lost is lost to overfitting, so both C3 items
    point the same way).
    """
    gap_effect = -effect if gap_effect is None else gap_effect
    rng = np.random.default_rng(seed)
    rows = []
    for dataset in datasets:
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
                            "train_loss": 0.2 + rng.normal(0, noise),
                            "test_loss": 0.3 + rng.normal(0, noise),
                        }
                    )
    return pd.DataFrame(rows)


def scorecard(runs):
    t = {name: empty(name) for name in claims.TABLES}
    t["runs"] = runs
    return claims.score_claims(t, activations=["sigmoid", "relu"], n_resamples=500)


def overall(scores, evidence, *, stage=None, analysis="main"):
    row = scores[
        (scores.evidence == evidence)
        & scores.primary
        & (scores.analysis == analysis)
        & (scores.dataset == "all")
        & (scores.condition == "all")
        & ((scores.stage == stage) if stage else True)
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


def test_c3_is_decided_by_the_generalization_gap_not_test_accuracy():
    # Accuracy: sigmoid 0.1 lower (would support C3); gap: no difference at
    # all. Lower accuracy alone is not worse generalization: no effect.
    scores = scorecard(runs_with(-0.1, gap_effect=0.0))
    accuracy = overall(scores, "test_accuracy")
    assert accuracy.verdict == "supported" and not accuracy.decides
    assert overall(scores, "generalization_gap").verdict == "no effect"
    claim = claims.claim_verdicts(scores).set_index("claim").loc["C3"]
    assert claim.verdict == "no effect"
    assert claim.evidence == "generalization_gap (no effect)"


def test_claim_verdicts_take_their_names_from_stats():
    assert claims.VERDICT_ORDER == stats.CLAIM_VERDICTS


def test_missing_factors_are_not_measured():
    # One depth: 12 datasets keep 12 conditions for C3.
    scores = scorecard(runs_with(-0.1, depths=[4], datasets=list("abcdefghijkl")))
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


def test_breakdowns_are_estimates_with_each_datasets_effect():
    runs = runs_with(-0.1)
    flip = (runs.dataset == "c") & (runs.activation == "sigmoid")
    runs.loc[flip, "generalization_gap"] -= 0.2  # on dataset c sigmoid is better
    scores = scorecard(runs)
    lead = overall(scores, "generalization_gap")
    per_dataset = claims.breakdown(scores, lead).set_index("dataset")
    assert list(per_dataset.index) == DATASETS
    assert per_dataset.effect["c"] == pytest.approx(-0.1, abs=0.01)
    assert per_dataset.effect["a"] == pytest.approx(0.1, abs=0.01)
    # Breakdowns decide nothing: no family, no verdict, so no "flip" can
    # come from adjusting them differently from the overall rows.
    rest = scores[(scores.dataset != "all") | (scores.condition != "all")]
    assert set(rest.family) == {""} and rest.verdict.isna().all()
    # One dataset of six disagrees, the conditions within each agree: I^2 ~ 1.
    assert lead.i2 > 0.9
    assert lead.between_dataset_sd == pytest.approx(
        np.std([0.1] * 5 + [-0.1], ddof=1), abs=0.01
    )
    row = claims.claim_verdicts(scores).set_index("claim").loc["C3"]
    assert "c -0.1" in row.datasets and row.n_conditions == 12


def test_only_deciding_rows_share_the_deciding_family():
    scores = scorecard(runs_with(-0.1))
    deciding = scores[scores.family == "decides"]
    assert deciding.decides.all() and deciding.primary.all()
    assert set(deciding.analysis) == {"main"} and set(deciding.dataset) == {"all"}
    assert (deciding.condition == "all").all()
    assert len(deciding) == sum(e.decides for e in evidence.EVIDENCE)
    init = scores[scores.family == "initialization"]
    assert set(init.stage) == {"init"} and not init.decides.any()


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
    assert overall(scores, "distance_spearman", stage="trained").n_pairs == n_units - 1


def test_claims_table_allows_only_the_stats_verdicts():
    field = tables.SCHEMAS["claims"].field("verdict")
    assert tables.allowed_values(field) == list(stats.VERDICTS)
    scores = scorecard(runs_with(-0.1))
    scores.loc[scores.index[0], "verdict"] = "mixed"  # a claim-level word only
    with pytest.raises(ValueError, match=r"claims.verdict has values \['mixed'\]"):
        tables.to_table(scores, "claims")


KEYS = ["dataset", "activation", "initializer", "width", "depth", "seed"]
EPSILONS = [0.0, 0.1, 0.2]


def robustness_with(runs, *, flip_effect, noise=0.01, seed=0):
    """Robustness rows whose sigmoid flip rates are relu's plus ``flip_effect``.

    Every per-(attack, epsilon > 0) metric is drawn around its base; raw
    accuracy under attack is set far lower for sigmoid so that evidence
    reading it would see an effect where the flip rates see ``flip_effect``.
    """
    rng = np.random.default_rng(seed)
    other = {"sigmoid": "relu", "relu": "sigmoid"}
    rows = []
    for model in runs[KEYS].itertuples(index=False):
        m = model._asdict()
        shift = flip_effect if m["activation"] == "sigmoid" else 0.0
        attacks = ("pgd_linf", "worst_case_linf", "gaussian")
        for attack in (*attacks, f"transfer_from_{other[m['activation']]}"):
            for eps in EPSILONS:
                flip = 0.0 if eps == 0 else 0.3 + shift + rng.normal(0, noise)
                raw = 0.9 - flip - (0.3 if m["activation"] == "sigmoid" else 0.0)
                for metric, value in (
                    ("flip_rate", flip),
                    ("accuracy_drop", flip),
                    ("accuracy", raw),
                ):
                    rows.append(
                        {
                            **m,
                            "attack": attack,
                            "epsilon": eps,
                            "metric": metric,
                            "value": value,
                        }
                    )
        for metric, value in (
            ("min_adv_distance_median", 1.0 - 5 * shift + rng.normal(0, noise)),
            ("error_near_minus_far", 0.2 + shift + rng.normal(0, noise)),
        ):
            rows.append(
                {
                    **m,
                    "attack": "none",
                    "epsilon": np.nan,
                    "metric": metric,
                    "value": value,
                }
            )
    return pd.DataFrame(rows)


def study(runs, **others):
    t = {name: empty(name) for name in claims.TABLES}
    t["runs"] = runs
    t.update(others)
    return t


def score(t, **options):
    return claims.score_claims(
        t, activations=["sigmoid", "relu"], n_resamples=300, **options
    )


C4_ITEMS = [e.name for e in evidence.EVIDENCE if e.claim == "C4"]


def test_c4_reads_flip_rates_not_raw_accuracy():
    runs = runs_with(-0.1)
    scores = score(study(runs, robustness=robustness_with(runs, flip_effect=0.1)))
    for name in C4_ITEMS:
        assert overall(scores, name).verdict == "supported", name
    assert overall(scores, "pgd_linf_flip_rate").effect == pytest.approx(0.1, abs=0.01)
    assert overall(scores, "transfer_flip_rate").effect == pytest.approx(0.1, abs=0.01)
    # Raw accuracy 0.3 lower for sigmoid, same flip rates: no effect on C4.
    scores = score(study(runs, robustness=robustness_with(runs, flip_effect=0.0)))
    verdicts = claims.claim_verdicts(scores).set_index("claim").verdict
    assert verdicts["C4"] == "no effect"


def test_transfer_pairs_each_side_with_the_other_sides_examples():
    runs = runs_with(-0.1)
    rob = robustness_with(runs, flip_effect=0.1)
    # Examples crafted on a third activation must not enter sigmoid vs relu.
    decoy = rob[rob.attack == "transfer_from_relu"].assign(
        attack="transfer_from_tanh", value=5.0
    )
    scores = score(study(runs, robustness=pd.concat([rob, decoy])))
    row = overall(scores, "transfer_flip_rate")
    assert row.n_pairs == len(runs) // 2
    assert row.effect == pytest.approx(0.1, abs=0.01)


def test_failed_to_learn_models_leave_c4_and_c6_but_stay_in_c3():
    runs = runs_with(-0.1)
    rob = robustness_with(runs, flip_effect=0.1)
    failed = (runs.dataset == "a") & (runs.activation == "sigmoid")
    runs.loc[failed, "status"] = "failed_to_learn"
    scores = score(study(runs, robustness=rob))
    n_units = len(runs) // 2
    n_failed = int(failed.sum())
    assert overall(scores, "test_accuracy").n_pairs == n_units
    for name in (*C4_ITEMS, "error_near_minus_far"):
        assert overall(scores, name).n_pairs == n_units - n_failed, name
    learning = {e.claim for e in evidence.EVIDENCE if e.needs_learning}
    assert learning == {"C4", "C6"}


def test_c6_is_the_near_minus_far_error_difference():
    runs = runs_with(-0.1)
    scores = score(study(runs, robustness=robustness_with(runs, flip_effect=0.1)))
    row = overall(scores, "error_near_minus_far")
    assert row.effect == pytest.approx(0.1, abs=0.01) and row.verdict == "supported"


def units_with(runs, *, inactive_effect, dead_effect, width_effect=0.0):
    """Units rows, relu's inactive/dead fractions above sigmoid's by the
    effects, its effective width (of 32 units) below by ``width_effect`` x 32."""
    rows = []
    for model in runs[KEYS].itertuples(index=False):
        m = model._asdict()
        relu = m["activation"] == "relu"
        for layer in range(1, m["depth"] + 1):
            for metric, base, effect in (
                ("inactive_fraction", 0.1, inactive_effect),
                ("dead_fraction", 0.1, dead_effect),
                ("effective_width", 28.0, -32 * width_effect),
            ):
                value = base + (effect if relu else 0.0) + 0.001 * layer * m["seed"]
                rows.append(
                    {
                        **m,
                        "stage": "trained",
                        "layer": layer,
                        "metric": metric,
                        "value": value,
                    }
                )
    return pd.DataFrame(rows)


def test_c8_is_decided_by_inactive_fraction_and_what_it_costs():
    runs = runs_with(-0.1)
    units = units_with(runs, inactive_effect=0.2, dead_effect=-0.2, width_effect=0.2)
    scores = score(study(runs, units=units))
    assert overall(scores, "inactive_fraction").verdict == "supported"
    # the narrowest layer: 28 - 6.4 - 0.001 x depth x seed units of 32 for relu
    width = overall(scores, "narrowest_effective_width")
    assert width.effect == pytest.approx(0.2, abs=0.001)
    assert width.verdict == "supported"
    dead = overall(scores, "dead_fraction")
    assert dead.verdict == "contradicted" and not dead.decides
    claim = claims.claim_verdicts(scores).set_index("claim").loc["C8"]
    assert claim.verdict == "supported"
    assert claim.evidence == (
        "inactive_fraction (supported), narrowest_effective_width (supported)"
    )


def test_c8_items_that_disagree_make_the_claim_mixed():
    # more inactive ReLU units that cost no width: one item supports C8, the
    # other shows no effect of practical size
    runs = runs_with(-0.1)
    units = units_with(runs, inactive_effect=0.2, dead_effect=0.0, width_effect=0.0)
    scores = score(study(runs, units=units))
    assert overall(scores, "narrowest_effective_width").verdict == "no effect"
    claim = claims.claim_verdicts(scores).set_index("claim").loc["C8"]
    assert claim.verdict == "mixed"
    assert "items: 1 supported, 1 no effect" in claim.note


def probe_rows(model, accuracies):
    return [
        {
            **model,
            "stage": "trained",
            "layer": layer,
            "metric": "linear_probe_accuracy",
            "value": value,
        }
        for layer, value in enumerate(accuracies)
    ]


def test_c5_is_the_last_layer_minus_the_best_earlier_hidden_layer():
    model = dict(dataset="a", activation="relu", initializer="auto", width=8, seed=0)
    geometry = pd.DataFrame(
        # layer 0 (input) 0.99 is not a hidden layer; layer 4 = logits
        probe_rows({**model, "depth": 3}, [0.99, 0.6, 0.9, 0.7, 0.5])
        + probe_rows({**model, "depth": 1}, [0.99, 0.8, 0.5])
    )
    gain = evidence._probe_gain({"geometry": geometry})
    assert gain.depth.tolist() == [3]  # one hidden layer: nothing earlier
    assert gain.value.tolist() == pytest.approx([0.7 - 0.9])


def test_c5_scorecard_on_planted_waste():
    runs = runs_with(-0.1)
    rows = []
    for model in runs[KEYS].itertuples(index=False):
        m = model._asdict()
        last = 0.8 if m["activation"] == "sigmoid" else 0.9
        hidden = [0.9] * (m["depth"] - 1) + [last + 0.001 * m["seed"]]
        rows += probe_rows(m, [0.99, *hidden])
    scores = score(study(runs, geometry=pd.DataFrame(rows)))
    row = overall(scores, "linear_probe_gain_last_layer")
    assert row.effect == pytest.approx(-0.1) and row.verdict == "supported"


def test_c1_reports_init_and_trained_rows_and_their_origin():
    runs = runs_with(-0.1)
    rows = []
    for model in runs[KEYS].itertuples(index=False):
        m = model._asdict()
        sigmoid = m["activation"] == "sigmoid"
        jitter = 0.001 * m["seed"]
        for stage, value in (
            ("init", (0.3 if sigmoid else 0.4) + jitter),  # supports C1
            ("trained", (0.5 if sigmoid else 0.35) + jitter),  # contradicts C1
        ):
            rows.append(
                {
                    **m,
                    "stage": stage,
                    "layer": m["depth"],
                    "metric": "distance_spearman",
                    "value": value,
                }
            )
    scores = score(study(runs, geometry=pd.DataFrame(rows)))
    assert overall(scores, "distance_spearman", stage="init").verdict == "supported"
    trained = overall(scores, "distance_spearman", stage="trained")
    assert trained.verdict == "contradicted" and trained.decides
    claim = claims.claim_verdicts(scores).set_index("claim").loc["C1"]
    assert claim.verdict == "contradicted"
    assert claim.init_verdict == "supported"
    assert claim.origin == (
        "supported at initialization, contradicted after training: training changes it"
    )
    assert claims.claim_verdicts(scores).set_index("claim").init_verdict["C3"] == ""
    # The other C1 items are not measured here.
    assert claim.init_note == "items: 1 supported, 3 not measured"


def test_an_item_contradicted_at_initialization_shows_beside_the_claim():
    scores = pd.DataFrame(
        {
            "claim": "C1",
            "evidence": ["distance_spearman", "knn_overlap"],
            "comparison": "sigmoid vs relu",
            "analysis": "main",
            "stage": "init",
            "family": "initialization",
            "part": "relative distances",
            "dataset": "all",
            "condition": "all",
            "verdict": ["contradicted", "inconclusive"],
        }
    )
    claim = claims.claim_verdicts(scores).set_index("claim").loc["C1"]
    assert claim.init_verdict == "inconclusive"
    assert claim.init_note == "items: 1 contradicted, 1 inconclusive"


def init_geometry(runs, shift):
    """C1's four metrics at initialization, last hidden layer: sigmoid's
    value is relu's plus ``shift[metric]`` (plus noise)."""
    rng = np.random.default_rng(0)
    rows = []
    for model in runs[KEYS].itertuples(index=False):
        m = model._asdict()
        for metric, effect in shift.items():
            base = 0.5 + 0.01 * m["depth"] + rng.normal(0, 0.01)
            value = base + (effect if m["activation"] == "sigmoid" else 0.0)
            rows.append(
                {**m, "stage": "init", "layer": m["depth"], "metric": metric}
                | {"value": value}
            )
    return pd.DataFrame(rows)


def test_a_part_contradicted_at_initialization_shows_in_the_init_verdict():
    # Sigmoid keeps relative distances better at initialization (against
    # C1's predicted sign, -1) and its distance contrast matches relu's.
    runs = runs_with(-0.1)
    shift = dict(
        distance_spearman=0.1, knn_overlap=0.1, trustworthiness=0.1, distance_contrast=0
    )
    scores = score(study(runs, geometry=init_geometry(runs, shift)))
    init = scores[(scores.family == "initialization") & (scores.claim == "C1")]
    assert init.set_index("evidence").verdict.to_dict() == {
        "distance_spearman": "contradicted",
        "knn_overlap": "contradicted",
        "trustworthiness": "contradicted",
        "distance_contrast": "no effect",
    }
    claim = claims.claim_verdicts(scores).set_index("claim").loc["C1"]
    # Combined by the rule of every combination: all against, one contradicted.
    assert claim.init_verdict == "contradicted"
    assert claim.init_parts == [
        ("relative distances", "contradicted"),
        ("compression", "no effect"),
    ]
    # Trained rows are not measured here.
    assert claim.origin == (
        "contradicted at initialization; after training the data do not decide"
    )


def test_c7_gets_no_initialization_verdict_from_its_shallow_contrast():
    scores = scorecard(runs_with(-0.1))
    shallow = overall(scores, "grad_ratio_log10_shallow")
    assert shallow.stage == "init" and not shallow.at_init
    assert shallow.family == "controls"
    assert set(scores[scores.family == "initialization"].evidence) == {
        e.name for e in evidence.EVIDENCE if e.at_init
    }
    verdicts = claims.claim_verdicts(scores).set_index("claim")
    assert verdicts.init_verdict["C7"] == "" and verdicts.origin["C7"] == ""
    assert verdicts.init_verdict["C2"] != ""


def timing_with(log2_effect, *, runs=3, blocks=3, seed=0):
    """mlp_forward timings: per depth x width x batch size cell, timing run
    and block, sigmoid's latency is relu's times 2 ** log2_effect[batch_size]."""
    rng = np.random.default_rng(seed)
    keys = ["depth", "width", "batch_size", "run", "block"]
    grid = pd.MultiIndex.from_product(
        [(1, 4), (8, 64), list(log2_effect), range(runs), range(blocks)], names=keys
    ).to_frame(index=False)
    relu = grid.assign(
        activation="relu", latency_ms_median=rng.uniform(1, 2, len(grid))
    )
    power = grid.batch_size.map(log2_effect) + rng.normal(0, 0.01, len(grid))
    sigmoid = relu.assign(
        activation="sigmoid", latency_ms_median=relu.latency_ms_median * 2**power
    )
    return pd.concat([relu, sigmoid], ignore_index=True).assign(op="mlp_forward")


def test_c9_conditions_are_timing_cells_and_every_batch_size_is_reported():
    t = study(runs_with(-0.1), inference=timing_with({1: 0.0, 256: 0.3}))
    scores = score(t)
    lead = overall(scores, "log2_latency_ratio")
    # 2 depths x 2 widths x 2 batch sizes = 8 cells, 3 timing runs in each.
    assert (lead.n_conditions, lead.n_pairs) == (8, 24)
    assert lead.effect == pytest.approx(0.15, abs=0.01)
    by = claims.breakdown(scores, lead, "batch_size").set_index("condition")
    assert by.effect.to_dict() == pytest.approx(
        {"batch_size=1": 0.0, "batch_size=256": 0.3}, abs=0.01
    )
    assert (by.n_conditions == 4).all() and by.verdict.isna().all()
    for column in ("depth", "width"):
        assert len(claims.breakdown(scores, lead, column)) == 2
    # The scorecard shows C9's estimates per batch size (it has no datasets).
    shown = claims.claim_verdicts(scores).set_index("claim").datasets["C9"]
    estimates = dict(item.split(" ") for item in shown.split(", "))
    assert {k: float(v) for k, v in estimates.items()} == pytest.approx(
        {"batch_size=1": 0.0, "batch_size=256": 0.3}, abs=0.01
    )


def test_sensitivity_keeps_pairs_where_both_models_reached_the_threshold():
    runs = runs_with(-0.1, noise=0.0)
    # Exactly the pairs of dataset "a" fall short: relu at 0.5, sigmoid 0.4.
    low = runs.dataset == "a"
    runs.loc[low, "test_accuracy"] -= 0.4
    scores = score(study(runs), min_test_accuracy=0.55)
    n_units = len(runs) // 2
    sens = overall(scores, "test_accuracy", analysis="sensitivity")
    assert sens.n_pairs == n_units - int(low.sum()) // 2
    assert overall(scores, "test_accuracy").n_pairs == n_units
    claim = claims.claim_verdicts(scores).set_index("claim").loc["C3"]
    assert claim.sensitivity_pairs == sens.n_pairs
    assert claim.sensitivity_verdict == "supported"
    # Sensitivity rows are the overall rows only.
    rows = scores[scores.analysis == "sensitivity"]
    assert set(rows.condition) == {"all"} and set(rows.dataset) == {"all"}


def test_per_initializer_breakdown_shows_opposite_effects():
    auto = runs_with(-0.1)
    glorot = runs_with(+0.1, seed=1).assign(initializer="glorot_uniform")
    scores = score(study(pd.concat([auto, glorot], ignore_index=True)))
    lead = overall(scores, "test_accuracy")
    by = claims.breakdown(scores, lead, "initializer").set_index("condition")
    assert by.effect.to_dict() == pytest.approx(
        {"initializer=auto": -0.1, "initializer=glorot_uniform": 0.1}, abs=0.01
    )
    assert by.verdict.isna().all()
    timing = scores[scores.claim == "C9"]
    assert not timing.condition.str.startswith("initializer=").any()


def test_a_column_typo_raises_instead_of_becoming_not_measured():
    runs = runs_with(-0.1)
    rob = robustness_with(runs, flip_effect=0.1).rename(columns={"metric": "metrik"})
    with pytest.raises(AttributeError, match="metric"):
        score(study(runs, robustness=rob))
    with pytest.raises(KeyError, match="test_accuracy"):
        score(study(runs.drop(columns="test_accuracy")))


def test_empty_tables_are_not_measured_without_warnings(recwarn):
    scores = score(study(empty("runs")))
    assert set(scores.verdict.dropna()) == {"not measured"}
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("ev", evidence.EVIDENCE, ids=lambda e: f"{e.claim}-{e.name}")
def test_every_item_reads_empty_tables_as_no_rows(ev):
    rows = ev.extract({name: empty(name) for name in claims.TABLES})
    assert len(rows) == 0
    assert {*ev.unit, "activation", "value"} <= set(rows.columns)


def test_items_are_unique_by_claim_name_and_stage():
    keys = [(e.claim, e.name, e.stage) for e in evidence.EVIDENCE]
    assert len(keys) == len(set(keys))
    assert {e.stage for e in evidence.EVIDENCE} <= set(names.STAGES)
    at_init = {e.claim for e in evidence.EVIDENCE if e.at_init}
    assert at_init == {"C1", "C2"}
    # an item at initialization is a deciding item's counterpart, or decides
    # itself (C7's gradients), or is only shown (C7's shallow contrast)
    assert all(
        e.stage == "init" and not e.decides for e in evidence.EVIDENCE if e.at_init
    )


def test_score_claims_defaults_are_the_config_schema_defaults():
    schema = yaml.safe_load(SCHEMA.read_text())["properties"]["claims"]["properties"]
    signature = inspect.signature(claims.score_claims).parameters
    for name, prop in schema.items():
        default = signature[name].default
        assert (list(default) if isinstance(default, tuple) else default) == prop[
            "default"
        ], name

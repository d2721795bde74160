"""The report's methods: how each number was measured and how it became words.

Metric definitions (formulas and references, with the values the config
or the package sets formatted in), the decision rule, the controls of the
design and the limitations, for :func:`geoctx.report.render`.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import pandas as pd

from geoctx import evidence, geometry, names, tuning
from geoctx.config import SATURATION_TOLERANCE
from geoctx.units import INACTIVE_SHARE, INACTIVE_TOLERANCE


def _default(function, name: str):
    """The default of one keyword of a package function: the value the
    workflow runs, stated in the report without being written twice."""
    return inspect.signature(function).parameters[name].default


def metric_definitions(config: Mapping) -> list[tuple[str, str, str]]:
    """Every metric, its formula and its reference (the report's methods).

    Values the config or the package sets (PGD steps and restarts, the
    transfer source, the TwoNN trim, the Betti graph, the saturation
    tolerance) are formatted in, not written out.
    """
    rob = config["robustness"]
    primary = config["claims"]["primary"]
    discard = _default(geometry.twonn_dimension, "discard_fraction")
    neighbours = _default(geometry.betti_numbers, "graph_neighbors")
    hops = _default(geometry.betti_numbers, "scale")
    return [
        (
            "distance_spearman",
            "Spearman rank correlation between the condensed pairwise "
            "Euclidean distances of the input and of the layer",
            "—",
        ),
        (
            "distance_contrast",
            "std / mean of the layer's pairwise distances; a collapse "
            "that keeps the ranks shows here",
            "—",
        ),
        (
            "knn_overlap",
            "mean fraction of each point's k input neighbours that remain "
            "among its k layer neighbours",
            "—",
        ),
        (
            "trustworthiness",
            "1 − 2/(nk(2n−3k−1)) Σᵢ Σ_{j∈U_k(i)} (r(i,j) − k), U_k the "
            "layer neighbours not among the input ones, r the input rank",
            "Venna & Kaski 2001",
        ),
        (
            "continuity",
            "trustworthiness with the roles of input and layer swapped",
            "Venna & Kaski 2006",
        ),
        (
            "linear_cka",
            "‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F) on centred representations",
            "Kornblith et al. 2019",
        ),
        (
            "twonn_dimension",
            "slope of −log(1−F(μ)) against log μ, μ = r₂/r₁ the ratio of "
            f"the two nearest-neighbour distances (top {discard:.0%} of μ discarded)",
            "Facco et al. 2017; Ansuini et al. 2019",
        ),
        (
            "effective_rank",
            "exp of the Shannon entropy of the normalised singular values "
            "of the centred representation",
            "Roy & Vetterli 2007",
        ),
        (
            "betti_0, betti_1",
            "Vietoris–Rips persistent homology (ripser) per class on a "
            f"farthest-point subsample, bars alive at {hops} hops of the "
            f"{neighbours}-NN graph, "
            "summed over classes",
            "Naitzat, Zhitnikov & Lim 2020",
        ),
        (
            "linear_probe_accuracy",
            f"{config['geometry']['probe_folds']}-fold cross-validated "
            "logistic-regression accuracy on the standardized layer features",
            "Alain & Bengio 2016",
        ),
        (
            "trajectory_length_ratio, trajectory_length_scaled",
            "length of a circle in the input's top-2 principal plane after mapping "
            "to the layer, over its input length (points doubled from "
            f"{config['geometry']['curve_points']} until the length changes by under "
            f"{config['geometry']['curve_rtol']:.0%}); scaled: each length over its "
            "curve's RMS radius, free of the layer's output scale",
            "Raghu et al. 2017",
        ),
        (
            "jacobian_log_sv_mean, jacobian_condition, jacobian_collapsed_fraction",
            "mean log singular value and median condition number of the "
            "input-to-layer Jacobian at probe points, singular values below "
            "largest × dimension × machine epsilon raised to that floor; the "
            "fraction of singular values at the floor",
            "Pennington et al. 2017",
        ),
        (
            "grad_norm",
            "‖∂loss/∂W_l‖ of each layer's kernel on a fixed training batch",
            "Glorot & Bengio 2010",
        ),
        (
            "dead_fraction",
            "fraction of a layer's units that output exactly 0 on every probe point "
            "(ReLU-style death; descriptive)",
            "Lu et al. 2019",
        ),
        (
            "inactive_fraction",
            "fraction of a layer's units whose activation derivative, relative to "
            f"the activation's own maximum |φ′|, is below {INACTIVE_TOLERANCE:g} on "
            f"more than {INACTIVE_SHARE:.0%} of probe points: dead ReLU units "
            "(z < 0) and saturated sigmoid (|z| > 5.99) or tanh (|z| > 2.99) units "
            "by one definition (decides C8)",
            "Glorot & Bengio 2010; Lu et al. 2019",
        ),
        (
            "effective_width",
            "units of a layer that are not inactive: the width it uses; the "
            "narrowest hidden layer's, over the width, is C8's cost of inactive "
            "units",
            "Lu et al. 2019",
        ),
        (
            "saturated_fraction",
            f"fraction of unit activations within {SATURATION_TOLERANCE} of a bound "
            "(bounded activations)",
            "Glorot & Bengio 2010",
        ),
        (
            "linear_probe_gain_last_layer",
            "linear-probe accuracy of the last hidden layer minus the best earlier "
            "hidden layer's: negative when depth discards usable information",
            "Alain & Bengio 2016",
        ),
        (
            "PGD / FGSM accuracy",
            "accuracy on worst-case perturbations of L-inf or L2 radius ε·std (·√d for "
            f"L2); PGD: {rob['pgd_restarts']} random restart(s) of {rob['pgd_steps']} "
            f"steps of size {rob['pgd_step_size_factor']}·ε/steps, on the "
            "cross-entropy and on the logit margin",
            "Madry et al. 2018; Carlini & Wagner 2017",
        ),
        (
            "worst_case_linf, worst_case_l2",
            "per point, robust only if it survives every attack of that norm run at "
            "that radius",
            "Croce & Hein 2020",
        ),
        (
            "flip_rate, accuracy_drop",
            "fraction of the clean-correct attacked points misclassified after the "
            "attack; clean minus attacked accuracy on the same points (so a model at "
            "chance does not look robust)",
            "—",
        ),
        (
            "transfer_from_<activation>",
            "PGD L-inf examples crafted on the matched model with that activation, "
            f"evaluated on this one; within the primary pair ({' and '.join(primary)}) "
            "in both directions; immune to gradient masking",
            "Papernot et al. 2016",
        ),
        (
            "min_adv_distance",
            "per-point minimal L2 adversarial distance (DeepFool bound, "
            "then PGD-L2 bisection), median and quartiles over probe points",
            "Moosavi-Dezfooli et al. 2016",
        ),
        (
            "lipschitz_max / mean",
            "spectral norm of the input-to-logit Jacobian at probe points",
            "—",
        ),
        (
            "error_near_minus_far",
            "test error rate in the bin of points closest to the decision boundary "
            "minus that of the farthest bin",
            "—",
        ),
        (
            "ece",
            f"Σ_b (n_b/n) |acc_b − conf_b| over {rob['ece_bins']} equal-width "
            "confidence bins, before and after temperature scaling on the "
            "validation split",
            "Guo et al. 2017",
        ),
    ]


VERDICT_RULE = (
    "Each evidence row compares matched pairs of models that differ only in "
    "activation. The unit of inference is the condition (dataset × depth × "
    "initializer × width, the matched unit without its seed; for inference cost the"
    " timed cell, depth × width × batch size, without its timing run): the "
    "replicates of one condition are averaged first. Effect = mean over conditions "
    "of the paired difference a − b; interval = 95% studentized (bootstrap-t) "
    "interval of the condition means (Efron & Tibshirani 1993, 12.5; Davison & "
    "Hinkley 1997, 5.2), chosen because in simulation with skewed noise at 6 and 12"
    " conditions it kept coverage at about 0.93 (0.92-0.94), where the t interval "
    "fell to 0.90-0.91 and the cluster BCa bootstrap to 0.85-0.90. Tests = "
    "one-sample t-tests on the condition means (n − 1 degrees of freedom), three "
    "per row as in Lakens, Scheel & Isager (2018): two minimal-effect tests (H0 "
    "effect ≤ d on the predicted side; H0 effect ≥ −d) and an equivalence test "
    "(TOST, H0 |effect| ≥ d), d the smallest effect of interest; unlike a "
    "permutation test they have no smallest attainable p-value. An exact sign-flip "
    "test of effect = 0 is kept beside them as a robustness column (p_sign_flip, "
    "with its floor 2^−n as p_floor); no verdict reads it. Holm's correction runs "
    "over all three tests of every row of a family; the families are the deciding "
    "rows (primary comparison, all models), the initialization counterparts of "
    "deciding items, the control comparisons and descriptive rows, and the "
    "sensitivity re-analysis; breakdowns by dataset, depth and initializer "
    "(inference cost: depth, width and batch size) are estimates with no verdict. A"
    " row is supported when its whole interval lies beyond +d on the predicted side"
    " and its Holm-adjusted minimal-effect p ≤ α; contradicted when the same holds "
    "beyond −d on the opposite side; no effect (no effect of practical size) when "
    "the whole interval lies within ±d and the Holm-adjusted equivalence p ≤ α, "
    "which counts against a claim that predicts an effect; not measured with fewer "
    "than 2 conditions or {min_pairs} matched pairs; inconclusive otherwise. So "
    "every verdict kind is under the same family-wise control: the chance of any "
    "wrong verdict in a family is at most α when the condition means are normal; "
    "with strongly skewed condition means the one-sided t-tests are liberal in one "
    "tail (the simulated rates at this design, skewed noise included, are under "
    "Error rates). A claim combines its deciding rows and is credited only when "
    "they agree: supported when every measured row is supported, no effect when "
    "every one shows no effect, contradicted when every one goes against the claim "
    "(contradicted or no effect), mixed when some support it and others go against "
    "it, inconclusive otherwise."
)

LIMITATIONS = [
    "Small MLPs on small datasets: conclusions about large networks or "
    "convolutions do not follow. Only the learning rate is tuned; batch size, "
    "optimizer and width are shared by every activation.",
    "Convergence is a plateau of the training loss over a fixed window: a run "
    "on a saddle plateau longer than the window stops there, and the tuning "
    "grid is the only way out of it.",
    "Geometry is measured on a fixed probe subset of the test split; metrics that "
    "need many points (TwoNN, Betti numbers) are noisy on small probes.",
    "The verdict's t-tests assume roughly normal condition means: with few "
    "conditions and strong skew (skewness near 2) they are liberal in one tail, "
    "and the simulated family-wise error rates under Error rates exceed α "
    "there. Breakdowns (a few conditions each) are estimates only.",
    "Latencies come from one machine, one thread, float32; only their ratios are "
    "meant to carry over, and even those depend on the kernels the backend uses.",
    "Robustness is measured with first-order attacks; margin-loss PGD, transfer "
    "attacks between the matched models and the worst case over the attacks run "
    "are the checks against gradient masking, not a proof of robustness.",
]


def training_methods(config: Mapping) -> str:
    """How every model was trained, in one paragraph written from the config.

    >>> config = {"training": {"optimizer": "adam", "batch_size": 128,
    ...     "epochs": 3000, "convergence": {"window": 100, "tolerance": 0.001},
    ...     "failed_to_learn_margin": 0.2}, "tuning": {"learning_rates":
    ...     [0.001, 0.01], "seeds": [1000], "criterion": "val_loss"}}
    >>> text = training_methods(config)
    >>> "cap of 3000 epochs" in text and "learning rates 0.001, 0.01 are" in text
    True
    >>> config["splits"] = {"per_seed": True}
    >>> "tuning seed 1000 (on its own split of" in training_methods(config)
    True
    >>> config["tuning"]["seeds"] = [1000, 1001]
    >>> "tuning seeds 1000, 1001 (each on its own split" in training_methods(config)
    True
    >>> config["training"]["convergence"].update(fitted_accuracy=0.9,
    ...     unfitted_window=200)
    >>> text = training_methods(config)
    >>> "over the last 200 epochs while" in text and "is below 0.9:" in text
    True
    >>> "starts again" in text  # a grid of one rate has no other to try
    True
    >>> config["tuning"]["learning_rates"] = [0.001]
    >>> "starts again" in training_methods(config)
    False
    """
    train, tune = config["training"], config["tuning"]
    rule = train["convergence"]
    window, tolerance = rule["window"], rule["tolerance"]
    fitted, unfitted = rule.get("fitted_accuracy", 0), rule.get("unfitted_window", 0)
    longer = (
        f" (over the last {unfitted} epochs while its training accuracy, over "
        f"the last epoch's batches, is below {fitted:g}: a plateau short of "
        "fitting the data is waited out)"
        if fitted > 0 and unfitted > window
        else ""
    )
    seeds = tune["seeds"]
    named = f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
    if config.get("splits", {}).get("per_seed"):
        each = "each on its own split" if len(seeds) > 1 else "on its own split"
        named += f" ({each} of the data, as a study seed is)"
    criterion = tuning.CRITERION_WORDS[tune["criterion"]]
    margin = train["failed_to_learn_margin"]
    restart = (
        " A study run that fails to learn (or diverges) at its chosen rate "
        "starts again from the same initial weights: the grid's other rates are "
        "screened on its training data, and the first of them in the tuning "
        "criterion's order that learns is kept (the runs table's tuned_rate and "
        "rates_screened; such runs are named below); if none learns, the run at "
        "the chosen rate is kept, failed at every tuned rate."
        if len(tune["learning_rates"]) > 1
        else ""
    )
    return (
        f"Every model trains with {train['optimizer']} on minibatches of "
        f"{train['batch_size']} until its training loss has converged: it stops "
        f"when the best loss of the last {window} epochs{longer} improved on the "
        f"best before them by less than {tolerance:g} times the first epoch's loss, "
        f"or at the cap of {train['epochs']} epochs (such runs are flagged "
        "hit_cap and named below). The final weights are kept. Each "
        "architecture (dataset, activation, initializer, width, depth) trains "
        "with its own learning rate: models at each of the learning rates "
        f"{', '.join(f'{r:g}' for r in tune['learning_rates'])} are trained the "
        f"same way on tuning {named}, which no study model uses, and the rate "
        f"with {criterion} over them is chosen. A run "
        f"failed to learn when its final training accuracy closed at most "
        f"{margin:g} of the gap between chance and a perfect fit.{restart}"
    )


def chosen_rates(tuning: pd.DataFrame) -> pd.DataFrame:
    """The learning rate chosen for each architecture: a row per dataset,
    initializer, width and depth, a column per activation.

    >>> tuning = pd.DataFrame({"dataset": "moons", "initializer": "he_normal",
    ...     "width": 8, "depth": 2, "activation": ["relu", "relu", "tanh"],
    ...     "learning_rate": [0.01, 0.001, 0.001], "chosen": [True, False, True]})
    >>> chosen_rates(tuning).to_dict("records")
    [{'dataset': 'moons', 'initializer': 'he_normal', 'width': 8, 'depth': 2, \
'relu': 0.01, 'tanh': 0.001}]
    """
    keys = ["dataset", "initializer", "width", "depth"]
    chosen = tuning[tuning["chosen"]].drop_duplicates([*keys, "activation"])
    table = chosen.pivot(index=keys, columns="activation", values="learning_rate")
    table.columns.name = None
    return table.reset_index()


def rates_markdown(tuning: pd.DataFrame) -> str:
    """:func:`chosen_rates` as the Markdown table ``config/README.md`` shows
    (one width: the width column left out when the study has one).

    >>> tuning = pd.DataFrame({"dataset": "moons", "initializer": "he_normal",
    ...     "width": 8, "depth": 2, "activation": ["relu", "tanh"],
    ...     "learning_rate": [0.01, 0.0003], "chosen": True})
    >>> print(rates_markdown(tuning))
    | dataset | depth | initializer | relu | tanh |
    |---|---|---|---|---|
    | moons | 2 | he_normal | 0.01 | 0.0003 |
    """
    table = chosen_rates(tuning)
    keys = ["dataset", "depth", "initializer"]
    if table["width"].nunique() > 1:
        keys.append("width")
    table = table.sort_values(keys)[
        keys + [c for c in table.columns if c not in (*keys, "width")]
    ]
    lines = [
        "| " + " | ".join(table.columns) + " |",
        "|" + "---|" * len(table.columns),
    ]
    for row in table.itertuples(index=False):
        cells = [f"{v:g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def capped_runs(runs: pd.DataFrame) -> list[str]:
    """The models that stopped at the epoch cap before converging.

    >>> runs = pd.DataFrame({"dataset": "moons", "activation": "relu",
    ...     "initializer": "auto", "width": 8, "depth": 2, "seed": [0, 1],
    ...     "hit_cap": [False, True]})
    >>> capped_runs(runs)
    ['moons/relu/auto/w8_d2_s1']
    """
    from geoctx.config import MODEL_KEYS, MODEL_PATH

    capped = runs[runs["hit_cap"]]
    return [
        MODEL_PATH.format(**{key: row[key] for key in MODEL_KEYS})
        for _, row in capped.iterrows()
    ]


def restarted_runs(runs: pd.DataFrame) -> list[str]:
    """The study runs that failed to learn at their chosen rate and were
    started again at the grid's other rates
    (:func:`geoctx.tuning.train_at_tuned_rates`), each with what came of it.

    >>> runs = pd.DataFrame({"dataset": "moons", "activation": "tanh",
    ...     "initializer": "auto", "width": 8, "depth": 2, "seed": [0, 1, 2],
    ...     "status": ["ok", "ok", "failed_to_learn"],
    ...     "learning_rate": [0.01, 0.003, 0.01], "tuned_rate": 0.01,
    ...     "rates_screened": [0, 3, 3]})
    >>> for line in restarted_runs(runs):
    ...     print(line)
    moons/tanh/auto/w8_d2_s1 (learned at 0.003, not at 0.01)
    moons/tanh/auto/w8_d2_s2 (learned at none of 4 rates)
    """
    from geoctx.config import MODEL_KEYS, MODEL_PATH

    lines = []
    for _, row in runs[runs["rates_screened"] > 0].iterrows():
        path = MODEL_PATH.format(**{key: row[key] for key in MODEL_KEYS})
        if row["status"] != names.OK:
            what = f"learned at none of {int(row['rates_screened']) + 1} rates"
        else:
            what = f"learned at {row['learning_rate']:g}, not at {row['tuned_rate']:g}"
        lines.append(f"{path} ({what})")
    return lines


def failed_at_every_rate(tuning_table: pd.DataFrame) -> list[str]:
    """The architectures no tuning run learned at any rate of the grid
    (:func:`geoctx.tuning.failed_everywhere`), as ``dataset/activation/
    initializer/w<width>_d<depth>``.

    >>> table = pd.DataFrame({"dataset": "moons", "activation": "sigmoid",
    ...     "initializer": "auto", "width": 8, "depth": 2,
    ...     "status": ["failed_to_learn", "diverged"]})
    >>> failed_at_every_rate(table)
    ['moons/sigmoid/auto/w8_d2']
    """
    from geoctx.tuning import failed_everywhere

    return [
        "{dataset}/{activation}/{initializer}/w{width}_d{depth}".format(**row)
        for row in failed_everywhere(tuning_table).to_dict("records")
    ]


def failed_to_learn_note(claim: str, n_failed: int) -> str:
    """What happens to the runs that failed to learn in one claim's evidence.

    Examples
    --------
    >>> failed_to_learn_note("C4", 2)
    '2 run(s) failed to learn: left out of every item (they need a working classifier).'
    >>> failed_to_learn_note("C3", 2)
    '2 run(s) failed to learn: kept (failing to learn is part of what is measured).'
    >>> failed_to_learn_note("C3", 0)
    'No run failed to learn.'
    """
    if not n_failed:
        return "No run failed to learn."
    items = [e for e in evidence.EVIDENCE if e.claim == claim]
    left_out = [e.name for e in items if e.needs_learning]
    head = f"{n_failed} run(s) failed to learn: "
    if not left_out:
        return head + "kept (failing to learn is part of what is measured)."
    if len(left_out) == len(items):
        return head + "left out of every item (they need a working classifier)."
    return head + f"left out of {', '.join(left_out)} (they need a working classifier)."


def controls(config: Mapping, runs: pd.DataFrame) -> list[str]:
    """The study's controls, one sentence each, written from the config."""
    a, b = config["claims"]["primary"]
    initializers = config["initializers"]
    activations = config["activations"]
    rob = config["robustness"]
    margin = config["training"].get("failed_to_learn_margin")
    chance = f"within {margin} of chance" if margin is not None else "near chance"
    needs = sorted({e.claim for e in evidence.EVIDENCE if e.needs_learning})
    kept = sorted({e.claim for e in evidence.EVIDENCE} - set(needs))
    n_failed = int((runs["status"] == names.FAILED_TO_LEARN).sum())
    lines = [
        (
            f"Initializer: every activation is trained with each of "
            f"{', '.join(initializers)} (auto = He-normal for the ReLU family, "
            "Glorot-uniform otherwise); the initializer is part of each condition, "
            "and each item's estimate per initializer is in claims.parquet."
            if len(initializers) > 1
            else f"Initializer: only {initializers[0]} in this sweep, so no estimate "
            "can be read per initializer."
        ),
        f"Controls beside {a} vs {b}: every other activation of the sweep vs {b}"
        + (
            ", and sigmoid vs tanh (both bounded, only sigmoid off-centre: a "
            "difference there comes from sigmoid's 0.5 mean, not from boundedness)."
            if {"sigmoid", "tanh"} <= set(activations)
            else "."
        ),
        "Initialization vs training: the geometry evidence of "
        + ", ".join(sorted({e.claim for e in evidence.EVIDENCE if e.at_init}))
        + " is scored at initialization and after training; only the trained rows "
        "decide, the initialization rows say whether the activation alone makes the "
        "difference (per part of the claim when its parts' verdicts differ).",
        f"Runs that failed to learn (test accuracy {chance}; {n_failed} in this "
        f"study) are left out of the evidence that needs a working classifier "
        f"({', '.join(needs)}) and kept in the rest ({', '.join(kept)}).",
        "Sensitivity: the overall verdicts are recomputed on the pairs where both "
        f"models reached test accuracy {config['claims']['min_test_accuracy']}, "
        "shown beside the main verdicts.",
        "Attacks: robust accuracy is the worst case, per point, over the attacks "
        f"run at each radius; PGD runs {rob['pgd_restarts']} random restart(s) of "
        f"{rob['pgd_steps']} steps; transfer attacks run both ways within the "
        f"matched {a}/{b} pairs.",
    ]
    return lines

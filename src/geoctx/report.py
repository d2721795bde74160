"""The study report: one self-contained HTML file (figures embedded), its
PDF, the study fingerprint and a citation.

Every string that comes from the config or a table is HTML-escaped by
Jinja2's autoescaping; nothing is marked safe except the base64 images
this module encodes itself. The summary is written from the claims table:
no finding is hard-coded.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import inspect
import platform
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import yaml

from geoctx import __version__, claims, cost, evidence, geometry, names, stats
from geoctx.config import MODEL_KEYS, MODEL_PATH, SATURATION_TOLERANCE
from geoctx.tables import cpu_name, package_versions

#: Caption of each figure, by file stem (``robustness_*``, ``geometry_*`` and
#: ``projections_*`` share one caption per family).
CAPTIONS = {
    "accuracy_vs_depth": (
        "Test accuracy against the number of hidden layers, one line per activation, "
        "with the 95% bootstrap confidence interval over seeds; one panel per dataset. "
        "Diverged runs are left out."
    ),
    "learning_curves": (
        "Validation accuracy after every epoch, one thin line per model (seed and "
        "initializer) coloured by activation, drawn to the epoch where it stopped; "
        "rows are depths, columns datasets. Early stopping watches validation "
        "accuracy; a flat end shows the run had converged (the runs table's "
        "plateaued column says so per model)."
    ),
    "grad_norm_by_layer": (
        "Norm of the loss gradient with respect to each layer's kernel on a fixed "
        "training batch (log scale), for the deepest models of each dataset, at "
        "initialization and after training; 95% CI over seeds. Gradients that shrink "
        "towards the first layers are vanishing gradients (C7)."
    ),
    "geometry": (
        "{metric} of the probe points' representation against relative depth "
        "(0 = input, 1 = logits) for the deepest models; one line per activation, "
        "95% CI over seeds; left at initialization, right after training."
    ),
    "projections": (
        "What the network does to the data ({dataset}): the probe points coloured by "
        "class, projected on their top-2 principal components at every layer "
        "(columns) of the trained model of each activation (rows)."
    ),
    "robustness": (
        "Accuracy under {attack} against its strength (epsilon or sigma, in units of "
        "the data's standard deviation); one line per activation, 95% CI over seeds; "
        "rows are datasets, columns depths."
    ),
    "boundary_accuracy": (
        "Clean test accuracy by distance to the decision boundary (exact for circles "
        "and nested spheres, else distance to the nearest test point of another "
        "class), in quantile bins; 95% CI over seeds."
    ),
    "latency_ratio": (
        "Forward-pass latency (one thread, float32, median of repeated calls) over "
        "the ReLU model's at the same depth, width and batch size, timed in the "
        "same block (all activations of a cell interleaved in random order); "
        "median and interquartile range over blocks. Absolute times depend on the "
        "machine; the ratios are the finding."
    ),
}

#: The figures that carry each claim's evidence (file stems).
CLAIM_FIGURES = {
    "C1": ["geometry_distance_spearman", "geometry_distance_contrast"],
    "C2": ["geometry_knn_overlap", "geometry_trajectory_length_ratio"],
    "C3": ["accuracy_vs_depth"],
    "C4": ["robustness_pgd_linf", "robustness_transfer_pgd_linf"],
    "C5": ["geometry_linear_probe_accuracy"],
    "C6": ["boundary_accuracy"],
    "C7": ["grad_norm_by_layer"],
    "C8": [],
    "C9": ["latency_ratio"],
}


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
    neighbours = _default(geometry.betti_numbers, "n_neighbors")
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
            "fraction of a layer's units whose activation derivative is below a "
            "tolerance on every probe point: dead ReLU units and fully saturated "
            "sigmoid or tanh units alike (comparable across activations; decides C8)",
            "Glorot & Bengio 2010; Lu et al. 2019",
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
    "activation. Effect = mean paired difference a − b with a 95% percentile "
    "bootstrap interval over matched units; p = two-sided Wilcoxon signed-rank test, "
    "Holm-corrected within three families: the overall rows (every claim, evidence "
    "item and comparison over all models), the per-condition rows (each dataset, "
    "depth, initializer) and the sensitivity rows (the overall rows on the models "
    "that reached the accuracy threshold). With d the smallest effect of interest, "
    "a row is supported when the effect lies at least d from 0 on the predicted "
    "side, the Holm p ≤ α and the "
    "interval's bound nearest 0 is on the predicted side too (the interval excludes "
    "0, whichever sign the claim predicts); contradicted when the same holds on the "
    "opposite side; no effect (no effect of practical size) when the effect and the "
    "whole interval lie strictly within ±d and there are enough pairs for the test to "
    "reach α (two one-sided tests at 2.5% per side, per row), which counts against a "
    "claim that predicts an effect; not measured with fewer than {min_pairs} matched "
    "pairs; inconclusive otherwise. A claim combines its deciding rows (primary "
    "comparison, all models; rows at initialization and descriptive rows are shown "
    "beside it) and is credited only when they agree: supported when every measured "
    "row is supported, no effect when every one shows no effect, contradicted when "
    "every one goes against the claim (contradicted or no effect), mixed when some "
    "support it and others go against it, inconclusive otherwise."
)

LIMITATIONS = [
    "Small MLPs on small datasets, trained for a short, fixed budget: conclusions "
    "about large networks, convolutions or long training do not follow.",
    "Geometry is measured on a fixed probe subset of the test split; metrics that "
    "need many points (TwoNN, Betti numbers) are noisy on small probes.",
    "The verdict rule needs enough matched pairs: with few seeds per cell the "
    "Wilcoxon test cannot reach significance and per-cell rows stay inconclusive.",
    "Latencies come from one machine, one thread, float32; only their ratios are "
    "meant to carry over, and even those depend on the kernels the backend uses.",
    "Robustness is measured with first-order attacks; margin-loss PGD, transfer "
    "attacks between the matched models and the worst case over the attacks run "
    "are the checks against gradient masking, not a proof of robustness.",
]


def model_id(row: Mapping) -> str:
    """The path-like name of one model, as in ``results/models/``."""
    return MODEL_PATH.format(**{key: row[key] for key in MODEL_KEYS})


def accuracy_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd of test accuracy over seeds by dataset × activation and depth
    (runs that failed to learn included; diverged runs left out)."""
    ok = runs[runs["status"] != names.DIVERGED]
    keys = ["dataset", "activation", "initializer", "width"]
    agg = ok.groupby([*keys, "depth"])["test_accuracy"].agg(["mean", "std", "count"])
    cells = agg.apply(
        lambda s: (
            f"{s['mean']:.3f} ± {s['std']:.3f}"
            if s["count"] > 1
            else f"{s['mean']:.3f}"
        ),
        axis=1,
    )
    table = cells.unstack("depth").fillna("—")
    table.columns = [f"depth {d}" for d in table.columns]
    return table.reset_index()


def unit_table(units: pd.DataFrame) -> pd.DataFrame:
    """Dead and saturated fractions of the last hidden layer, mean over seeds."""
    hidden = units[units["metric"].isin(["dead_fraction", "saturated_fraction"])]
    last = hidden[hidden["layer"] == hidden["depth"]]
    table = (
        last.groupby(["dataset", "activation", "depth", "stage", "metric"])["value"]
        .mean()
        .unstack(["stage", "metric"])
    )
    table.columns = [f"{metric} ({stage})" for stage, metric in table.columns]
    return table.sort_index(axis=1).round(3).reset_index()


def robustness_table(robustness: pd.DataFrame) -> pd.DataFrame:
    """Clean accuracy next to every robustness summary, mean over seeds."""
    if robustness.empty:
        return pd.DataFrame()
    rob = robustness
    attacked = rob.epsilon > 0
    summary = {
        "clean accuracy": rob[(rob.attack == "clean") & (rob.metric == "accuracy")],
        "PGD L-inf flip rate (mean over ε>0)": rob[
            (rob.attack == "pgd_linf") & (rob.metric == "flip_rate") & attacked
        ],
        "worst-case L-inf accuracy (mean over ε>0)": rob[
            (rob.attack == "worst_case_linf") & (rob.metric == "accuracy") & attacked
        ],
        **{
            f"{attack} flip rate (mean over ε>0)": rob[
                (rob.attack == attack) & (rob.metric == "flip_rate") & attacked
            ]
            for attack in sorted(
                a for a in rob.attack.unique() if a.startswith(names.TRANSFER_PREFIX)
            )
        },
        "Gaussian noise accuracy drop (mean over σ>0)": rob[
            (rob.attack == "gaussian") & (rob.metric == "accuracy_drop") & attacked
        ],
        "min adversarial distance (median)": rob[
            rob.metric == "min_adv_distance_median"
        ],
        "near − far boundary error": rob[rob.metric == "error_near_minus_far"],
        "ECE": rob[rob.metric == "ece"],
    }
    keys = ["dataset", "activation", "depth"]
    columns = {
        name: part.groupby([*keys, "seed"]).value.mean().groupby(keys).mean()
        for name, part in summary.items()
        if len(part)
    }
    return pd.DataFrame(columns).round(3).reset_index()


def worst_case_table(robustness: pd.DataFrame) -> pd.DataFrame:
    """Worst-case L-inf robust accuracy by dataset × activation (rows) and
    epsilon (columns), mean over models.

    Examples
    --------
    >>> rob = pd.DataFrame({
    ...     "dataset": "d", "activation": ["relu", "relu", "sigmoid", "sigmoid"],
    ...     "attack": "worst_case_linf", "metric": "accuracy",
    ...     "epsilon": [0.0, 0.1, 0.0, 0.1], "value": [0.9, 0.5, 0.8, 0.2],
    ... })
    >>> worst_case_table(rob).to_dict("list")
    {'dataset': ['d', 'd'], 'activation': ['relu', 'sigmoid'], 'ε=0': [0.9, 0.8], \
'ε=0.1': [0.5, 0.2]}
    """
    rows = robustness[
        (robustness.attack == "worst_case_linf") & (robustness.metric == "accuracy")
    ]
    if rows.empty:
        return pd.DataFrame()
    table = rows.pivot_table(
        index=["dataset", "activation"], columns="epsilon", values="value"
    )
    table.columns = [f"ε={e:g}" for e in table.columns]
    return table.round(3).reset_index()


def latency_table(inference: pd.DataFrame) -> pd.DataFrame:
    """Latency ratio to ReLU for every op, depth, width and batch size: the
    median over blocks of the ratio within each block (:func:`cost.ratio_to`).

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "activation": ["relu", "sigmoid"] * 3, "op": "mlp_forward",
    ...     "depth": 2, "width": 8, "batch_size": 1, "block": [0, 0, 1, 1, 2, 2],
    ...     "latency_ms_median": [1.0, 1.5, 2.0, 2.4, 1.0, 1.1]})
    >>> latency_table(df).loc[0, ["relu", "sigmoid"]].tolist()
    [1.0, 1.2]
    """
    if inference.empty:
        return pd.DataFrame()
    ratios = cost.ratio_to(inference)
    table = ratios.pivot_table(
        index=["op", "depth", "width", "batch_size"],
        columns="activation",
        values="latency_ratio",
        aggfunc="median",
    )
    table.columns.name = None
    return table.round(3).reset_index()


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
            "Glorot-uniform otherwise); each claim's verdict is shown per "
            "initializer, flagged where it flips."
            if len(initializers) > 1
            else f"Initializer: only {initializers[0]} in this sweep, so no verdict "
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
        + ", ".join(
            sorted(
                {
                    e.claim
                    for e in evidence.EVIDENCE
                    if e.stage == "init" and not e.decides
                }
            )
        )
        + " is scored at initialization and after training; only the trained rows "
        "decide, the initialization rows say whether the activation alone makes the "
        "difference.",
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


def summary_sentences(verdicts: pd.DataFrame, scores: pd.DataFrame) -> list[str]:
    """The report's summary, written from the claim verdicts."""
    counts = verdicts.verdict.value_counts()
    parts = [
        f"{counts.get(v, 0)} {v}" for v in claims.VERDICT_ORDER if counts.get(v, 0)
    ]
    primary = (
        scores[scores.primary].comparison.iloc[0] if scores.primary.any() else None
    )
    lines = [
        f"Of the argument's {len(verdicts)} claims, this study finds "
        + ", ".join(parts)
        + (f" (primary comparison: {primary})." if primary else ".")
    ]
    for row in verdicts.itertuples():
        if row.verdict in stats.DECISIVE | {stats.MIXED}:
            lines.append(
                f"{row.claim} ({row.verdict}): {stats.MEANING[row.verdict]}. "
                f"Evidence: {row.evidence}; lead effect "
                f"{row.effect:+.3g} [{row.ci_low:+.3g}, {row.ci_high:+.3g}] over "
                f"{row.n_pairs} matched pairs."
                + (f" It flips under: {row.flips}." if row.flips else "")
            )
    for row in verdicts.itertuples():
        if getattr(row, "origin", ""):
            lines.append(f"{row.claim} at initialization: {row.origin}.")
    undecided = verdicts[verdicts.verdict == stats.INCONCLUSIVE].claim.tolist()
    if undecided:
        lines.append(f"Inconclusive on this sweep: {', '.join(undecided)}.")
    missing = verdicts[verdicts.verdict == stats.NOT_MEASURED].claim.tolist()
    if missing:
        lines.append(
            f"Not measured (the sweep lacks what they need): {', '.join(missing)}."
        )
    return lines


def sha256_file(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def bibtex(
    study: Mapping, *, fingerprint: str, date: datetime.date, version: str = __version__
) -> str:
    """A BibTeX entry for the report; every value is plain text."""
    key = "geoctx_" + re.sub(r"\W", "", date.isoformat()) + "_" + fingerprint[:8]
    authors = " and ".join(a["name"] for a in study["authors"])

    def clean(text: str) -> str:
        return re.sub(r"[{}\\]", "", str(text))

    return (
        f"@techreport{{{key},\n"
        f"  title = {{{clean(study['title'])}}},\n"
        f"  author = {{{clean(authors)}}},\n"
        f"  year = {{{date.year}}},\n"
        f"  month = {{{date.month}}},\n"
        f"  institution = {{geoctx study report}},\n"
        f"  type = {{Study report}},\n"
        f"  note = {{Generated by the geoctx workflow version {version}; study "
        f"fingerprint sha256:{fingerprint}}}\n"
        "}\n"
    )


def _figure(path: str) -> dict:
    stem = Path(path).stem
    family, _, rest = stem.partition("_")
    if stem in CAPTIONS:
        caption = CAPTIONS[stem]
    elif family in CAPTIONS:
        caption = CAPTIONS[family].format(metric=rest, dataset=rest, attack=rest)
    else:
        caption = ""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return {"name": stem, "caption": caption, "data": data}


def _records(df: pd.DataFrame) -> list[dict]:
    return df.replace({np.nan: None}).to_dict("records")


def render(
    *,
    tables: Mapping[str, pd.DataFrame],
    figures: Sequence[str],
    study: Mapping,
    config: Mapping,
    fingerprint: str,
    table_files: Mapping[str, str],
    commit: str,
    min_pairs: int = 3,
    date: datetime.date | None = None,
) -> str:
    """Render the report as a string of HTML."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("geoctx", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    date = date or datetime.date.today()
    runs = tables["runs"].sort_values(list(MODEL_KEYS)).reset_index(drop=True)
    scores = tables["claims"]
    verdicts = claims.claim_verdicts(scores)
    models = runs.assign(model=runs.apply(model_id, axis=1))
    figs = {f["name"]: f for f in map(_figure, figures)}
    by_initializer = claims.claim_verdicts_by(scores, "initializer")
    n_failed = int((runs["status"] == names.FAILED_TO_LEARN).sum())
    claim_sections = []
    for row in verdicts.itertuples():
        rows = scores[scores.claim == row.claim]
        main = rows[rows.analysis == names.MAIN]
        overall = (main.dataset == "all") & (main.condition == "all")
        claim_sections.append(
            {
                "summary": row._asdict(),
                "primary": _records(main[main.primary]),
                "controls": _records(main[~main.primary & overall]),
                "sensitivity": _records(
                    rows[(rows.analysis == names.SENSITIVITY) & rows.primary]
                ),
                "by_initializer": _records(
                    by_initializer[by_initializer.claim == row.claim]
                ),
                "failed": failed_to_learn_note(row.claim, n_failed),
                "worst_case": (
                    worst_case_table(tables["robustness"])
                    if row.claim == "C4"
                    else pd.DataFrame()
                ),
                "figures": [figs[n] for n in CLAIM_FIGURES[row.claim] if n in figs],
            }
        )
    shown = {n for c in CLAIM_FIGURES.values() for n in c}
    geometry_figs = [
        f for n, f in figs.items() if n.startswith("geometry_") and n not in shown
    ]
    axes = {key: sorted(runs[key].unique().tolist()) for key in MODEL_KEYS}
    return env.get_template("report.html.j2").render(
        study=study,
        date=date.isoformat(),
        version=__version__,
        axes=axes,
        n_models=len(runs),
        n_diverged=int((runs["status"] == names.DIVERGED).sum()),
        n_failed=n_failed,
        min_test_accuracy=config["claims"]["min_test_accuracy"],
        initializers=sorted(by_initializer.value.unique().tolist()),
        controls=controls(config, runs),
        saturation_tolerance=SATURATION_TOLERANCE,
        summary=summary_sentences(verdicts, scores),
        verdicts=_records(verdicts),
        claim_sections=claim_sections,
        evidence=[
            {
                "claim": e.claim,
                "name": e.name,
                "description": e.description,
                "sign": "a < b" if e.predicted_sign < 0 else "a > b",
                "stage": e.stage or "—",
                "role": "decides" if e.decides else "shown beside",
                "needs_learning": "yes" if e.needs_learning else "no",
            }
            for e in evidence.EVIDENCE
        ],
        verdict_rule=VERDICT_RULE.format(min_pairs=min_pairs),
        stance=stats.STANCE,
        meaning=stats.MEANING,
        metrics=metric_definitions(config),
        limitations=LIMITATIONS,
        accuracy=accuracy_table(runs),
        units=unit_table(tables["units"]),
        robustness=robustness_table(tables["robustness"]),
        worst_case=worst_case_table(tables["robustness"]),
        has_transfer=bool(
            tables["robustness"].attack.str.startswith(names.TRANSFER_PREFIX).any()
        ),
        primary=config["claims"]["primary"],
        latency=latency_table(tables["inference"]),
        training_figures=[
            figs[n]
            for n in ("accuracy_vs_depth", "learning_curves", "grad_norm_by_layer")
            if n in figs
        ],
        projection_figures=[f for n, f in figs.items() if n.startswith("projections_")],
        geometry_figures=geometry_figs,
        robustness_figures=[
            f
            for n, f in figs.items()
            if (n.startswith("robustness_") or n == "boundary_accuracy")
            and n not in shown
        ],
        models=_records(
            models[
                [
                    "model",
                    "status",
                    "test_accuracy",
                    "generalization_gap",
                    "epochs_run",
                    "wall_time_s",
                ]
            ]
        ),
        versions=package_versions(),
        machine=f"{cpu_name()} ({platform.machine()}, {platform.system()})",
        commit=commit,
        table_files={name: sha256_file(path) for name, path in table_files.items()},
        fingerprint=fingerprint,
        bibtex=bibtex(study, fingerprint=fingerprint, version=__version__, date=date),
        config_yaml=yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True),
    )


def write_pdf(html_path, pdf_path) -> None:
    """Print the HTML report to PDF with WeasyPrint (needs the Pango library)."""
    import weasyprint

    weasyprint.HTML(filename=str(html_path)).write_pdf(str(pdf_path))

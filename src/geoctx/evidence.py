"""The evidence of each claim: which number, from which table, predicts what.

Each claim C1-C9 of the argument under test (STUDY.md) is tied to explicit
evidence (:data:`EVIDENCE`): one number per trained model (or per timed
cell, for C9) drawn from a study table, and the sign the claim predicts for
``a - b`` when ``a`` is the activation the argument says loses geometry
(sigmoid) and ``b`` the one it says keeps it (ReLU). Every extractor takes
the mapping of study tables and returns one row per model with the unit
columns, ``activation`` and ``value``; an empty table gives no rows. How the
rows become verdicts is :mod:`geoctx.claims`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoctx.names import TRANSFER_PREFIX

UNIT = ["dataset", "initializer", "width", "depth", "seed"]
#: A timed cell (its conditions) and the timing run (fresh process) inside it.
TIMING_CELL = ["depth", "width", "batch_size"]
TIMING_UNIT = [*TIMING_CELL, "run"]
MODEL = [*UNIT, "activation"]


STATEMENTS = {
    "C1": "Sigmoid compresses the input space into a bounded range and loses "
    "information about relative distances.",
    "C2": "ReLU preserves the magnitude of positive inputs and so keeps spatial "
    "relationships better, especially in deeper layers.",
    "C3": "Losing geometric context reduces generalization.",
    "C4": "Losing geometric context makes a model more sensitive to input "
    "perturbations (noise, adversarial).",
    "C5": "Losing geometric context wastes the information carried by deeper layers.",
    "C6": "Sigmoid models misclassify points close to decision boundaries more often.",
    "C7": "Sigmoid suffers vanishing gradients in deep networks.",
    "C8": "ReLU suffers dead neurons (units whose input is always negative).",
    "C9": "ReLU reduces inference cost.",
}


@dataclass(frozen=True)
class Evidence:
    """One measurable consequence of a claim.

    ``extract(tables)`` returns one row per model with the unit columns,
    ``activation`` and ``value`` (and, for transfer attacks, ``source``: the
    activation the attack was crafted on); ``predicted_sign`` is the sign
    the claim predicts for ``value(a) - value(b)``; the smallest effect of
    interest is ``claims.smallest_effect * scale`` in the value's units.

    ``stage`` is when the quantity is measured (``"init"``, ``"trained"``,
    or ``""`` for the run as a whole). ``decides`` is False for rows shown
    beside the verdict but not entering it (geometry at initialization,
    whose verdict says whether a trained difference was already there, and
    descriptive rows). ``needs_learning`` is True for evidence that only
    means something for a working classifier: models that failed to learn
    are left out of it.

    ``condition_on`` are the columns of ``unit`` that make a condition, the
    unit of inference, whose replicates (seeds, timing runs) are nested in
    it; None means ``unit`` without ``"seed"``. ``breakdown`` are the
    columns each of whose values gets its own row beside the overall one
    (the dataset always does, when ``unit`` has it).

    ``at_init`` marks the initialization counterparts of deciding items (C1,
    C2): the claim's verdict at initialization combines these, and no other
    item measured at initialization (C7's gradients decide; a contrast at
    another depth is only shown). ``part`` names the part of a claim's
    statement the item tests when the statement has more than one (C1:
    ``"compression"``, the distance contrast, and ``"relative distances"``,
    the rank and neighbourhood measures), so a verdict can be read per part:
    three contradicted items of one part are not hidden by an undecided item
    of the other.
    """

    claim: str
    name: str
    description: str
    extract: Callable[[Mapping[str, pd.DataFrame]], pd.DataFrame]
    predicted_sign: int
    scale: float = 1.0
    unit: tuple[str, ...] = tuple(UNIT)
    stage: str = ""
    decides: bool = True
    needs_learning: bool = False
    condition_on: tuple[str, ...] | None = None
    breakdown: tuple[str, ...] = ("depth", "initializer")
    at_init: bool = False
    part: str = ""


def _last_hidden(geometry: pd.DataFrame, metric: str, stage: str) -> pd.DataFrame:
    rows = geometry[
        (geometry.metric == metric)
        & (geometry.stage == stage)
        & (geometry.layer == geometry.depth)
    ]
    return rows[[*MODEL, "value"]]


def _geometry(metric: str, stage: str) -> Callable:
    return lambda t: _last_hidden(t["geometry"], metric, stage)


def _runs(column: str) -> Callable:
    def extract(t):
        runs = t["runs"]
        return runs[MODEL].assign(value=runs[column].to_numpy())

    return extract


def _depth_slope(stage: str) -> Callable:
    """Per model with at least two hidden layers: the least-squares slope of
    distance_spearman over its hidden layers 1 .. depth (change per layer)."""

    def extract(t):
        geo = t["geometry"]
        rows = geo[
            (geo.metric == "distance_spearman")
            & (geo.stage == stage)
            & (geo.depth >= 2)
            & (geo.layer >= 1)
            & (geo.layer <= geo.depth)
        ]
        keys = [rows[c] for c in MODEL]
        dx = rows.layer - rows.layer.groupby(keys).transform("mean")
        dy = rows.value - rows.value.groupby(keys).transform("mean")
        terms = rows[MODEL].assign(xy=dx * dy, xx=dx * dx)
        sums = terms.groupby(MODEL, as_index=False)[["xy", "xx"]].sum()
        return sums[MODEL].assign(value=sums.xy / sums.xx)

    return extract


def _attacked(attack: str, metric: str) -> Callable:
    """A per-(attack, epsilon) robustness metric, mean over epsilon > 0."""

    def extract(t):
        rob = t["robustness"]
        rows = rob[
            (rob.attack == attack) & (rob.metric == metric) & (rob.epsilon > 0)
        ].dropna(subset=["value"])
        return rows.groupby(MODEL, as_index=False).value.mean()

    return extract


def _transfer_flip_rate(t) -> pd.DataFrame:
    """Flip rate under each transfer attack, mean over epsilon > 0; ``source``
    is the activation of the model the examples were crafted on."""
    rob = t["robustness"]
    rows = rob[
        rob.attack.str.startswith(TRANSFER_PREFIX)
        & (rob.metric == "flip_rate")
        & (rob.epsilon > 0)
    ].dropna(subset=["value"])
    rows = rows.assign(source=rows.attack.str.removeprefix(TRANSFER_PREFIX))
    return rows.groupby([*MODEL, "source"], as_index=False).value.mean()


def _summary(metric: str) -> Callable:
    """A per-model robustness summary; infinite values (no adversarial
    example found, e.g. a constant network) are left out, not averaged."""

    def extract(t):
        rob = t["robustness"]
        rows = rob[
            (rob.attack == "none") & (rob.metric == metric) & np.isfinite(rob.value)
        ]
        return rows[[*MODEL, "value"]]

    return extract


def _probe_gain(t) -> pd.DataFrame:
    """Linear-probe accuracy of the last hidden layer minus the best earlier
    hidden layer's (trained; models with at least two hidden layers)."""
    geo = t["geometry"]
    rows = geo[
        (geo.metric == "linear_probe_accuracy")
        & (geo.stage == "trained")
        & (geo.layer >= 1)
        & (geo.layer <= geo.depth)
    ]
    last = rows[rows.layer == rows.depth].set_index(MODEL).value
    earlier = rows[rows.layer < rows.depth].groupby(MODEL).value.max()
    gain = last.sub(earlier.reindex(last.index))
    return gain.dropna().rename("value").reset_index()


def _gradient_ratio(t) -> pd.DataFrame:
    """log10 of first-layer over last-hidden-layer gradient norm at init."""
    units = t["units"]
    grad = units[
        (units.metric == "grad_norm") & (units.stage == "init") & (units.depth >= 2)
    ]
    first = grad[grad.layer == 1].set_index(MODEL).value
    last = grad[grad.layer == grad.depth].set_index(MODEL).value
    ratio = np.log10(first / last)
    return (
        ratio.replace([np.inf, -np.inf], np.nan).dropna().rename("value").reset_index()
    )


def _at_depth(extract: Callable, which: str) -> Callable:
    """``extract``'s rows at the deepest depth they have (``which="deepest"``),
    or at the shallowest depth of at least 2 when that is not the deepest
    (``"shallow"``, a contrast; no rows when there is one such depth)."""

    def restricted(t):
        rows = extract(t)
        depths = sorted(d for d in rows.depth.unique() if d >= 2)
        if which == "deepest":
            keep = depths[-1:]
        else:
            keep = depths[:1] if len(depths) > 1 else []
        return rows[rows.depth.isin(keep)]

    return restricted


def _difference(first: str, second: str) -> Callable:
    """``runs[first] - runs[second]`` per model."""

    def extract(t):
        runs = t["runs"]
        return runs[MODEL].assign(value=(runs[first] - runs[second]).to_numpy())

    return extract


def _unit_mean(metric: str) -> Callable:
    """A unit-health metric after training, mean over hidden layers."""

    def extract(t):
        units = t["units"]
        rows = units[(units.metric == metric) & (units.stage == "trained")]
        return rows.groupby(MODEL, as_index=False).value.mean()

    return extract


def _narrowest_width(t) -> pd.DataFrame:
    """The smallest effective width over a model's hidden layers, as a
    fraction of its width (trained)."""
    units = t["units"]
    rows = units[(units.metric == "effective_width") & (units.stage == "trained")]
    narrowest = rows.groupby(MODEL, as_index=False).value.min()
    return narrowest.assign(value=narrowest.value / narrowest.width)


def _latency(t) -> pd.DataFrame:
    """Per timed cell, batch size and timing run: the median over blocks of
    log2(latency / the reference's latency in the same block), so a - b
    compares activations timed moments apart (the reference's value is 0)."""
    from geoctx.cost import ratio_to

    inf = t["inference"]
    rows = inf[inf.op == "mlp_forward"]
    if "run" not in rows:
        rows = rows.assign(run=0)
    rows = ratio_to(rows)
    return (
        rows.assign(value=np.log2(rows.latency_ratio))
        .groupby([*TIMING_UNIT, "activation"], as_index=False)
        .value.median()
    )


_C1_METRICS = (
    (
        "distance_spearman",
        "Spearman of pairwise distances, input vs layer",
        "relative distances",
    ),
    (
        "distance_contrast",
        "coefficient of variation of pairwise distances",
        "compression",
    ),
    ("knn_overlap", "k-NN overlap with the input", "relative distances"),
    ("trustworthiness", "trustworthiness", "relative distances"),
)


def _c1(stage: str) -> tuple[Evidence, ...]:
    """C1's geometry items at one stage; the trained ones decide, the ones at
    initialization give the claim's verdict there."""
    return tuple(
        Evidence(
            "C1",
            metric,
            f"{words}, last hidden layer ({stage})",
            _geometry(metric, stage),
            -1,
            stage=stage,
            decides=stage == "trained",
            at_init=stage == "init",
            part=part,
        )
        for metric, words, part in _C1_METRICS
    )


def _c2(stage: str) -> Evidence:
    """C2's trend over the layers of each network at one stage; only the
    trained one decides."""
    return Evidence(
        "C2",
        "distance_spearman_layer_slope",
        "least-squares slope of distance Spearman over the hidden layers of "
        f"each network with at least two (change per layer, {stage})",
        _depth_slope(stage),
        -1,
        stage=stage,
        decides=stage == "trained",
        at_init=stage == "init",
    )


#: Every evidence item of every claim, in report order.
EVIDENCE: tuple[Evidence, ...] = (
    *_c1("trained"),
    *_c1("init"),
    _c2("trained"),
    _c2("init"),
    Evidence(
        "C3",
        "generalization_gap",
        "train minus test accuracy (the lead: what generalization is)",
        _runs("generalization_gap"),
        +1,
        stage="trained",
    ),
    Evidence(
        "C3",
        "loss_gap",
        "test minus train cross-entropy; descriptive",
        _difference("test_loss", "train_loss"),
        +1,
        stage="trained",
        decides=False,
    ),
    Evidence(
        "C3",
        "test_accuracy",
        "test accuracy; descriptive (accuracy, not generalization: a model can "
        "fit worse and generalize as well)",
        _runs("test_accuracy"),
        -1,
        stage="trained",
        decides=False,
    ),
    Evidence(
        "C4",
        "pgd_linf_flip_rate",
        "fraction of clean-correct points misclassified under PGD L-inf, "
        "mean over epsilon > 0",
        _attacked("pgd_linf", "flip_rate"),
        +1,
        stage="trained",
        needs_learning=True,
    ),
    Evidence(
        "C4",
        "worst_case_linf_flip_rate",
        "fraction of clean-correct points misclassified by at least one L-inf "
        "attack (worst case over the attacks run), mean over epsilon > 0",
        _attacked("worst_case_linf", "flip_rate"),
        +1,
        stage="trained",
        needs_learning=True,
    ),
    Evidence(
        "C4",
        "gaussian_accuracy_drop",
        "accuracy lost to Gaussian input noise on the same points (clean minus "
        "noisy accuracy), mean over sigma > 0",
        _attacked("gaussian", "accuracy_drop"),
        +1,
        stage="trained",
        needs_learning=True,
    ),
    Evidence(
        "C4",
        "min_adv_distance_median",
        "median minimal adversarial L2 distance over clean-correct probe points "
        "(data std units)",
        _summary("min_adv_distance_median"),
        -1,
        scale=5,
        stage="trained",
        needs_learning=True,
    ),
    Evidence(
        "C4",
        "transfer_flip_rate",
        "flip rate under PGD L-inf examples crafted on the matched model of the "
        "other activation (a attacked with b's examples, b with a's), mean over "
        "epsilon > 0",
        _transfer_flip_rate,
        +1,
        stage="trained",
        needs_learning=True,
    ),
    Evidence(
        "C5",
        "linear_probe_gain_last_layer",
        "linear-probe accuracy of the last hidden layer minus the best earlier "
        "hidden layer (trained, depth >= 2)",
        _probe_gain,
        -1,
        stage="trained",
    ),
    Evidence(
        "C6",
        "error_near_minus_far",
        "test error rate in the bin closest to the decision boundary minus the "
        "farthest bin",
        _summary("error_near_minus_far"),
        +1,
        stage="trained",
        needs_learning=True,
    ),
    Evidence(
        "C7",
        "grad_ratio_log10",
        "log10 of first- over last-hidden-layer gradient norm at initialization, "
        "deepest depth",
        _at_depth(_gradient_ratio, "deepest"),
        -1,
        scale=5,
        stage="init",
    ),
    Evidence(
        "C7",
        "grad_ratio_log10_shallow",
        "the same at the shallowest depth of at least 2, a contrast; descriptive",
        _at_depth(_gradient_ratio, "shallow"),
        -1,
        scale=5,
        stage="init",
        decides=False,
    ),
    Evidence(
        "C7",
        "deepest_train_loss",
        "training cross-entropy at the end of training, deepest depth "
        "(trainability: how well the deep network fits its own training data)",
        _at_depth(_runs("train_loss"), "deepest"),
        +1,
        stage="trained",
    ),
    Evidence(
        "C8",
        "inactive_fraction",
        "fraction of hidden units whose activation derivative, relative to the "
        "activation's own maximum, is below a tolerance on most probe points "
        "(dead or saturated alike; trained), mean over hidden layers",
        _unit_mean("inactive_fraction"),
        -1,
        stage="trained",
    ),
    Evidence(
        "C8",
        "narrowest_effective_width",
        "effective width (units not inactive) of the narrowest hidden layer, over "
        "the width: what inactive units cost (trained)",
        _narrowest_width,
        +1,
        stage="trained",
    ),
    Evidence(
        "C8",
        "dead_fraction",
        "fraction of hidden units that output exactly 0 on every probe point "
        "(ReLU-style death; trained), mean over hidden layers; descriptive",
        _unit_mean("dead_fraction"),
        -1,
        stage="trained",
        decides=False,
    ),
    Evidence(
        "C9",
        "log2_latency_ratio",
        "log2 forward-pass latency over ReLU's timed in the same block, median "
        "over blocks, per timed cell, batch size and timing run",
        _latency,
        +1,
        scale=5,
        unit=tuple(TIMING_UNIT),
        condition_on=tuple(TIMING_CELL),
        breakdown=("depth", "width", "batch_size"),
    ),
)

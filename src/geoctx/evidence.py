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
TIMING_UNIT = ["depth", "width", "batch_size"]
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


def _depth_change(stage: str) -> Callable:
    """distance_spearman at the deepest minus the shallowest depth, per unit."""

    def extract(t):
        rows = _last_hidden(t["geometry"], "distance_spearman", stage)
        depths = sorted(rows.depth.unique())
        if len(depths) < 2:
            return rows.iloc[0:0].drop(columns="depth")
        keys = ["dataset", "initializer", "width", "seed", "activation"]
        deep = rows[rows.depth == depths[-1]].set_index(keys).value
        shallow = rows[rows.depth == depths[0]].set_index(keys).value
        return (deep - shallow).dropna().rename("value").reset_index()

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


def _deepest_accuracy(t) -> pd.DataFrame:
    rows = _runs("test_accuracy")(t)
    return rows[rows.depth == rows.depth.max()]


def _unit_mean(metric: str) -> Callable:
    """A unit-health metric after training, mean over hidden layers."""

    def extract(t):
        units = t["units"]
        rows = units[(units.metric == metric) & (units.stage == "trained")]
        return rows.groupby(MODEL, as_index=False).value.mean()

    return extract


def _latency(t) -> pd.DataFrame:
    """Per depth x width cell at the largest batch size: the median over blocks
    of log2(latency / the reference's latency in the same block), so a - b
    compares activations timed moments apart (the reference's value is 0)."""
    from geoctx.cost import ratio_to

    inf = t["inference"]
    rows = inf[inf.op == "mlp_forward"]
    rows = ratio_to(rows[rows.batch_size == rows.batch_size.max()])
    return (
        rows.assign(value=np.log2(rows.latency_ratio))
        .groupby([*TIMING_UNIT, "activation"], as_index=False)
        .value.median()
    )


_C1_METRICS = (
    ("distance_spearman", "Spearman of pairwise distances, input vs layer"),
    ("distance_contrast", "coefficient of variation of pairwise distances"),
    ("knn_overlap", "k-NN overlap with the input"),
    ("trustworthiness", "trustworthiness"),
)


def _c1(stage: str) -> tuple[Evidence, ...]:
    """C1's geometry items at one stage; only the trained ones decide."""
    return tuple(
        Evidence(
            "C1",
            metric,
            f"{words}, last hidden layer ({stage})",
            _geometry(metric, stage),
            -1,
            stage=stage,
            decides=stage == "trained",
        )
        for metric, words in _C1_METRICS
    )


def _c2(stage: str) -> Evidence:
    """C2's depth trend at one stage; only the trained one decides."""
    return Evidence(
        "C2",
        "distance_spearman_depth_change",
        "change of last-layer distance Spearman from the shallowest to the "
        f"deepest depth ({stage})",
        _depth_change(stage),
        -1,
        unit=("dataset", "initializer", "width", "seed"),
        stage=stage,
        decides=stage == "trained",
    )


#: Every evidence item of every claim, in report order.
EVIDENCE: tuple[Evidence, ...] = (
    *_c1("trained"),
    *_c1("init"),
    _c2("trained"),
    _c2("init"),
    Evidence(
        "C3",
        "test_accuracy",
        "test accuracy",
        _runs("test_accuracy"),
        -1,
        stage="trained",
    ),
    Evidence(
        "C3",
        "generalization_gap",
        "train minus test accuracy",
        _runs("generalization_gap"),
        +1,
        stage="trained",
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
        "log10 of first- over last-hidden-layer "
        "gradient norm at initialization (depth >= 2)",
        _gradient_ratio,
        -1,
        scale=5,
        stage="init",
    ),
    Evidence(
        "C7",
        "deepest_test_accuracy",
        "test accuracy at the deepest depth (trainability)",
        _deepest_accuracy,
        -1,
        stage="trained",
    ),
    Evidence(
        "C8",
        "inactive_fraction",
        "fraction of hidden units whose activation derivative is below a "
        "tolerance on every probe point (dead or fully saturated; trained), mean "
        "over hidden layers",
        _unit_mean("inactive_fraction"),
        -1,
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
        "over blocks, largest batch size",
        _latency,
        +1,
        scale=5,
        unit=tuple(TIMING_UNIT),
    ),
)

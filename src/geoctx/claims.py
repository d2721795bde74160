"""The claims scorecard: each claim of the argument mapped to evidence.

The argument under test (STUDY.md) makes nine claims, C1-C9. Here each is
tied to explicit evidence (:data:`EVIDENCE`): one number per trained model
(or per timed model, for C9) drawn from a study table, and the sign the
claim predicts for ``a - b`` when ``a`` is the activation the argument
says loses geometry (sigmoid) and ``b`` the one it says keeps it (ReLU).

Every comparison is made on matched pairs: models that differ only in
activation (same dataset, initializer setting, width, depth and seed; for
C9 the same depth, width and batch size). :func:`score_claims` runs
:func:`geoctx.stats.compare` for every evidence item, comparison and
condition (all models; each dataset; each depth; each initializer setting),
then :func:`geoctx.stats.score_table` applies Holm's correction and the
verdict rule within two families: the overall rows (every claim, evidence
item and comparison over all models), which carry the verdicts, and the
per-condition rows, which show where a verdict holds or flips.
:func:`claim_verdicts` reduces the
primary comparison's overall rows to one verdict per claim with
:func:`geoctx.stats.combine`: a claim is supported only when every measured
item is, and "mixed" when some items support it and others go against it.

Comparisons: the primary one (``claims.primary``, sigmoid vs relu by
default), every other activation of the sweep vs the primary's ``b``, and
sigmoid vs tanh (bounded both; a difference there comes from sigmoid's
0.5 mean, not from boundedness). All use the claim's predicted sign.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoctx import stats
from geoctx.config import STUDY_TABLES

#: The study tables the scorecard reads.
TABLES = STUDY_TABLES

UNIT = ["dataset", "initializer", "width", "depth", "seed"]
TIMING_UNIT = ["depth", "width", "batch_size"]

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

#: Claim verdicts in report order (names defined in :mod:`geoctx.stats`).
VERDICT_ORDER = stats.CLAIM_VERDICTS


@dataclass(frozen=True)
class Evidence:
    """One measurable consequence of a claim.

    ``extract(tables)`` returns one row per model with the unit columns,
    ``activation`` and ``value``; ``predicted_sign`` is the sign the claim
    predicts for ``value(a) - value(b)``; the smallest effect of interest
    is ``claims.smallest_effect * scale`` in the value's units.
    """

    claim: str
    name: str
    description: str
    extract: Callable[[Mapping[str, pd.DataFrame]], pd.DataFrame]
    predicted_sign: int
    scale: float = 1.0
    unit: tuple[str, ...] = tuple(UNIT)


def _last_hidden(
    geometry: pd.DataFrame, metric: str, stage: str = "trained"
) -> pd.DataFrame:
    rows = geometry[
        (geometry.metric == metric)
        & (geometry.stage == stage)
        & (geometry.layer == geometry.depth)
    ]
    return rows[[*UNIT, "activation", "value"]]


def _geometry(metric: str) -> Callable:
    return lambda t: _last_hidden(t["geometry"], metric)


def _runs(column: str) -> Callable:
    def extract(t):
        runs = t["runs"][t["runs"].status == "ok"]
        return runs[[*UNIT, "activation"]].assign(value=runs[column].to_numpy())

    return extract


def _depth_change(t) -> pd.DataFrame:
    """distance_spearman at the deepest minus the shallowest depth, per unit."""
    rows = _last_hidden(t["geometry"], "distance_spearman")
    depths = sorted(rows.depth.unique())
    if len(depths) < 2:
        return rows.iloc[0:0].drop(columns="depth")
    keys = ["dataset", "initializer", "width", "seed", "activation"]
    deep = rows[rows.depth == depths[-1]].set_index(keys).value
    shallow = rows[rows.depth == depths[0]].set_index(keys).value
    return (deep - shallow).dropna().rename("value").reset_index()


def _mean_over_strength(attack: str) -> Callable:
    def extract(t):
        rob = t["robustness"]
        rows = rob[
            (rob.attack == attack) & (rob.metric == "accuracy") & (rob.epsilon > 0)
        ]
        return rows.groupby([*UNIT, "activation"], as_index=False).value.mean()

    return extract


def _summary(metric: str) -> Callable:
    """A per-model robustness summary; infinite values (no adversarial
    example found, e.g. a constant network) are left out, not averaged."""

    def extract(t):
        rob = t["robustness"]
        rows = rob[
            (rob.attack == "none") & (rob.metric == metric) & np.isfinite(rob.value)
        ]
        return rows[[*UNIT, "activation", "value"]]

    return extract


def _nearest_boundary_bin(t) -> pd.DataFrame:
    rob = t["robustness"]
    rows = rob[rob.metric == "accuracy_boundary_bin"]
    first = rows.epsilon == rows.groupby([*UNIT, "activation"]).epsilon.transform("min")
    return rows[first][[*UNIT, "activation", "value"]]


def _gradient_ratio(t) -> pd.DataFrame:
    """log10 of first-layer over last-hidden-layer gradient norm at init."""
    units = t["units"]
    grad = units[
        (units.metric == "grad_norm") & (units.stage == "init") & (units.depth >= 2)
    ]
    first = grad[grad.layer == 1].set_index([*UNIT, "activation"]).value
    last = grad[grad.layer == grad.depth].set_index([*UNIT, "activation"]).value
    ratio = np.log10(first / last)
    return (
        ratio.replace([np.inf, -np.inf], np.nan).dropna().rename("value").reset_index()
    )


def _deepest_accuracy(t) -> pd.DataFrame:
    rows = _runs("test_accuracy")(t)
    return rows[rows.depth == rows.depth.max()]


def _dead_fraction(t) -> pd.DataFrame:
    units = t["units"]
    dead = units[(units.metric == "dead_fraction") & (units.stage == "trained")]
    return dead.groupby([*UNIT, "activation"], as_index=False).value.mean()


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


#: Every evidence item of every claim, in report order.
EVIDENCE: tuple[Evidence, ...] = (
    Evidence(
        "C1",
        "distance_spearman",
        "Spearman of pairwise distances, input vs last hidden layer (trained)",
        _geometry("distance_spearman"),
        -1,
    ),
    Evidence(
        "C1",
        "distance_contrast",
        "coefficient of variation of pairwise distances, last hidden layer (trained)",
        _geometry("distance_contrast"),
        -1,
    ),
    Evidence(
        "C1",
        "knn_overlap",
        "k-NN overlap with the input, last hidden layer (trained)",
        _geometry("knn_overlap"),
        -1,
    ),
    Evidence(
        "C1",
        "trustworthiness",
        "trustworthiness, last hidden layer (trained)",
        _geometry("trustworthiness"),
        -1,
    ),
    Evidence(
        "C2",
        "distance_spearman_depth_change",
        "change of last-layer distance "
        "Spearman from the shallowest to the deepest depth",
        _depth_change,
        -1,
        unit=("dataset", "initializer", "width", "seed"),
    ),
    Evidence("C3", "test_accuracy", "test accuracy", _runs("test_accuracy"), -1),
    Evidence(
        "C3",
        "generalization_gap",
        "train minus test accuracy",
        _runs("generalization_gap"),
        +1,
    ),
    Evidence(
        "C4",
        "pgd_linf_accuracy",
        "PGD L-inf accuracy, mean over epsilon > 0",
        _mean_over_strength("pgd_linf"),
        -1,
    ),
    Evidence(
        "C4",
        "gaussian_accuracy",
        "accuracy under Gaussian noise, mean over sigma > 0",
        _mean_over_strength("gaussian"),
        -1,
    ),
    Evidence(
        "C4",
        "min_adv_distance_median",
        "median minimal adversarial L2 distance (data std units)",
        _summary("min_adv_distance_median"),
        -1,
        scale=5,
    ),
    Evidence(
        "C5",
        "linear_probe_accuracy",
        "linear-probe accuracy on the last hidden layer (trained)",
        _geometry("linear_probe_accuracy"),
        -1,
    ),
    Evidence(
        "C6",
        "near_boundary_accuracy",
        "test accuracy in the bin of points closest to the decision boundary",
        _nearest_boundary_bin,
        -1,
    ),
    Evidence(
        "C7",
        "grad_ratio_log10",
        "log10 of first- over last-hidden-layer "
        "gradient norm at initialization (depth >= 2)",
        _gradient_ratio,
        -1,
        scale=5,
    ),
    Evidence(
        "C7",
        "deepest_test_accuracy",
        "test accuracy at the deepest depth (trainability)",
        _deepest_accuracy,
        -1,
    ),
    Evidence(
        "C8",
        "dead_fraction",
        "fraction of dead hidden units (trained), mean over hidden layers",
        _dead_fraction,
        -1,
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


def comparisons(activations, primary=("sigmoid", "relu")) -> list[tuple[str, str]]:
    """The (a, b) pairs compared: the primary first, then the controls."""
    a, b = primary
    pairs = [(a, b)] if a in activations and b in activations else []
    pairs += [(x, b) for x in activations if x not in (a, b) and b in activations]
    if "sigmoid" in activations and "tanh" in activations:
        pairs.append(("sigmoid", "tanh"))
    return list(dict.fromkeys(pairs))


def _conditions(obs: pd.DataFrame, unit) -> list[tuple[str, str, pd.DataFrame]]:
    """(dataset, condition, rows): all, then each dataset / depth / initializer."""
    out = [("all", "all", obs)]
    if obs.empty:
        return out
    if "dataset" in unit and obs.dataset.nunique() > 1:
        out += [(d, "all", obs[obs.dataset == d]) for d in sorted(obs.dataset.unique())]
    for column in ("depth", "initializer"):
        if column in unit and obs[column].nunique() > 1:
            out += [
                ("all", f"{column}={v}", obs[obs[column] == v])
                for v in sorted(obs[column].unique())
            ]
    return out


def score_claims(
    tables: Mapping[str, pd.DataFrame],
    *,
    activations,
    primary=("sigmoid", "relu"),
    smallest_effect: float = 0.02,
    alpha: float = 0.05,
    min_pairs: int = 3,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """The scorecard: one row per claim x evidence x comparison x condition.

    ``tables`` maps ``runs``, ``units``, ``geometry``, ``robustness`` and
    ``inference`` to the study tables. Evidence whose table is empty, or a
    comparison whose activations are not in the sweep, gives
    ``not measured`` rows rather than an error.
    """
    pairs = comparisons(activations, primary) or [tuple(primary)]
    tables = _without_diverged(tables)
    rows = []
    for ev in EVIDENCE:
        try:
            obs = ev.extract(tables)
        except (KeyError, AttributeError, ValueError):
            obs = pd.DataFrame(columns=[*ev.unit, "activation", "value"])
        for a, b in pairs:
            subset = obs[obs.activation.isin([a, b])]
            for dataset, condition, part in _conditions(subset, ev.unit):
                rows.append(
                    {
                        "claim": ev.claim,
                        "statement": STATEMENTS[ev.claim],
                        "evidence": ev.name,
                        "evidence_description": ev.description,
                        "comparison": f"{a} vs {b}",
                        "primary": (a, b) == tuple(primary),
                        "dataset": dataset,
                        "condition": condition,
                        **_compare(part, ev, a, b, smallest_effect, n_resamples, seed),
                    }
                )
    # Two Holm families: the overall rows, which carry the verdicts, and the
    # per-condition rows, which show where a verdict holds or flips.
    rows = pd.DataFrame(rows)
    overall = (rows.dataset == "all") & (rows.condition == "all")
    scored = pd.concat(
        [
            stats.score_table(rows[overall], alpha=alpha, min_pairs=min_pairs),
            stats.score_table(rows[~overall], alpha=alpha, min_pairs=min_pairs),
        ]
    ).sort_index()
    return scored.rename(columns={"effect_size_dz": "effect_size"})


def _without_diverged(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The per-model tables restricted to models whose run is ``ok``."""
    runs = tables["runs"]
    keys = [*UNIT, "activation"]
    ok = runs.loc[runs.status == "ok", keys].drop_duplicates()
    out = dict(tables)
    for name in ("units", "geometry", "robustness"):
        if name in tables and len(tables[name]):
            out[name] = tables[name].merge(ok, on=keys, how="inner")
    return out


def _compare(part, ev, a, b, smallest_effect, n_resamples, seed) -> dict:
    empty = {
        "n_pairs": 0,
        "effect": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_value": np.nan,
        "effect_size_dz": np.nan,
        "predicted_sign": ev.predicted_sign,
        "smallest_effect": smallest_effect * ev.scale,
    }
    if len(part) == 0 or not {a, b} <= set(part.activation):
        return empty
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.compare(
            part,
            value="value",
            factor="activation",
            a=a,
            b=b,
            match_on=list(ev.unit),
            predicted_sign=ev.predicted_sign,
            smallest_effect=smallest_effect * ev.scale,
            n_resamples=n_resamples,
            seed=seed,
        )
    keys = ("n_pairs", "effect", "ci_low", "ci_high", "p_value", "effect_size_dz")
    return {**empty, **{k: result[k] for k in keys}}


def claim_verdicts(scores: pd.DataFrame) -> pd.DataFrame:
    """One verdict per claim from the primary comparison over all models.

    The claim's evidence items (primary comparison, all models) combine by
    :func:`geoctx.stats.combine`: ``supported`` only when every measured item
    is supported, ``no effect`` when every one shows no effect of practical
    size, ``contradicted`` when every one goes against the claim, ``mixed``
    when some support it and others go against it, ``not measured`` when
    none is measured, ``inconclusive`` otherwise. ``note`` counts the item
    verdicts when they are not all the same (and says the claim's meaning
    for ``not measured``, ``no effect`` and ``mixed``); ``flips`` lists the
    conditions (dataset, depth, initializer) whose decisive verdict differs
    from the claim's.
    """
    out = []
    for claim, statement in STATEMENTS.items():
        rows = scores[(scores.claim == claim) & scores.primary]
        overall = rows[(rows.dataset == "all") & (rows.condition == "all")]
        verdict = stats.combine(overall.verdict)
        sub = rows[(rows.dataset != "all") | (rows.condition != "all")]
        decisive = sub[sub.verdict.isin(stats.DECISIVE) & (sub.verdict != verdict)]
        flips = sorted(
            {
                f"{r.evidence}: {r.verdict} for "
                + (f"dataset={r.dataset}" if r.dataset != "all" else r.condition)
                for r in decisive.itertuples()
            }
        )
        agreeing = overall[overall.verdict == verdict]
        lead = (
            (agreeing if len(agreeing) else overall).iloc[0] if len(overall) else None
        )
        out.append(
            {
                "claim": claim,
                "statement": statement,
                "verdict": verdict,
                "note": _note(verdict, overall.verdict),
                "evidence": ", ".join(
                    f"{r.evidence} ({r.verdict})" for r in overall.itertuples()
                ),
                "effect": np.nan if lead is None else lead.effect,
                "ci_low": np.nan if lead is None else lead.ci_low,
                "ci_high": np.nan if lead is None else lead.ci_high,
                "n_pairs": 0 if lead is None else int(lead.n_pairs),
                "flips": "; ".join(flips),
            }
        )
    return pd.DataFrame(out)


def _note(verdict: str, items: pd.Series) -> str:
    """The claim's meaning where the word alone is not enough, then the counts."""
    parts = []
    if verdict in (stats.NOT_MEASURED, stats.NO_EFFECT, stats.MIXED):
        parts.append(stats.MEANING[verdict])
    counts = items.value_counts()
    if len(counts) > 1:
        parts.append(
            "items: "
            + ", ".join(f"{counts[v]} {v}" for v in stats.VERDICTS if v in counts)
        )
    return "; ".join(parts)

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
verdict rule within three families: the overall rows (every claim, evidence
item and comparison over all models), which carry the verdicts; the
per-condition rows, which show where a verdict holds or flips; and the
sensitivity rows (overall, on the models that reached
``min_test_accuracy``). :func:`claim_verdicts` reduces the primary
comparison's deciding rows to one verdict per claim with
:func:`geoctx.stats.combine`: a claim is supported only when every measured
item is, and "mixed" when some items support it and others go against it.

Which models enter: diverged runs never; runs that failed to learn (test
accuracy near chance, ``runs.status == "failed_to_learn"``) only in the
evidence that does not need a working classifier
(:attr:`Evidence.needs_learning` is False: accuracy, trainability,
gradients, representation geometry, unit health), never in the
robustness and boundary evidence.

Comparisons: the primary one (``claims.primary``, sigmoid vs relu by
default), every other activation of the sweep vs the primary's ``b``, and
sigmoid vs tanh (bounded both; a difference there comes from sigmoid's
0.5 mean, not from boundedness). All use the claim's predicted sign.
"""

from __future__ import annotations

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
MODEL = [*UNIT, "activation"]

#: ``runs.status`` of a run that trained and learned, one whose loss became
#: NaN or infinite, and one whose test accuracy stayed near chance.
OK, DIVERGED, FAILED_TO_LEARN = "ok", "diverged", "failed_to_learn"

#: The two analyses of the scorecard (``claims.analysis``): every model, and
#: only the models that reached ``min_test_accuracy``.
MAIN, SENSITIVITY = "main", "sensitivity"
ANALYSES = (MAIN, SENSITIVITY)

#: Stages an evidence item is measured at (``claims.stage``); "" for
#: quantities of the whole run (accuracy) or of untrained timed models.
STAGES = ("init", "trained", "")

#: Robustness attacks crafted on another model: ``transfer_from_<activation>``.
TRANSFER_PREFIX = "transfer_from_"

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
    min_test_accuracy: float = 0.8,
) -> pd.DataFrame:
    """The scorecard: one row per analysis x claim x evidence x comparison x
    condition.

    ``tables`` maps ``runs``, ``units``, ``geometry``, ``robustness`` and
    ``inference`` to the study tables. Evidence whose table is empty, or a
    comparison whose activations are not in the sweep, gives
    ``not measured`` rows; anything else wrong with a table (a missing
    column) raises.

    The ``main`` analysis uses every model that did not diverge (minus
    those that failed to learn, for evidence that needs learning) and is
    broken down by condition; the ``sensitivity`` analysis repeats the
    overall rows on the models whose test accuracy is at least
    ``min_test_accuracy``, so a pair enters only when both models reached it.
    """
    pairs = comparisons(activations, primary) or [tuple(primary)]
    runs = tables["runs"]
    reached = runs[runs["test_accuracy"] >= min_test_accuracy]
    settings = dict(smallest_effect=smallest_effect, n_resamples=n_resamples, seed=seed)
    main = _rows(tables, runs, pairs, primary, by_condition=True, **settings)
    sens = _rows(tables, reached, pairs, primary, by_condition=False, **settings)
    # Three Holm families: the overall rows, which carry the verdicts; the
    # per-condition rows, which show where a verdict holds or flips; the
    # sensitivity rows, a re-analysis on the models that learned well.
    overall = (main.dataset == "all") & (main.condition == "all")
    scored = pd.concat(
        [
            stats.score_table(part, alpha=alpha, min_pairs=min_pairs)
            for part in (main[overall], main[~overall], sens)
        ],
        ignore_index=True,
    )
    return scored.rename(columns={"effect_size_dz": "effect_size"})


def _rows(
    tables, runs, pairs, primary, *, by_condition, smallest_effect, n_resamples, seed
) -> pd.DataFrame:
    """Unscored rows of one analysis, on the models of ``runs``."""
    views = {
        learning: _models(tables, runs, learning=learning) for learning in (False, True)
    }
    rows = []
    for ev in EVIDENCE:
        obs = ev.extract(views[ev.needs_learning])
        for a, b in pairs:
            subset = _pair(obs, a, b)
            parts = (
                _conditions(subset, ev.unit)
                if by_condition
                else [("all", "all", subset)]
            )
            for dataset, condition, part in parts:
                rows.append(
                    {
                        "analysis": MAIN if by_condition else SENSITIVITY,
                        "claim": ev.claim,
                        "statement": STATEMENTS[ev.claim],
                        "evidence": ev.name,
                        "evidence_description": ev.description,
                        "stage": ev.stage,
                        "decides": ev.decides,
                        "comparison": f"{a} vs {b}",
                        "primary": (a, b) == tuple(primary),
                        "dataset": dataset,
                        "condition": condition,
                        **_compare(part, ev, a, b, smallest_effect, n_resamples, seed),
                    }
                )
    return pd.DataFrame(rows)


def _models(
    tables: Mapping[str, pd.DataFrame], runs: pd.DataFrame, *, learning: bool
) -> dict[str, pd.DataFrame]:
    """The per-model tables restricted to the models of ``runs`` that did not
    diverge and, with ``learning``, did not fail to learn either."""
    left_out = {DIVERGED, FAILED_TO_LEARN} if learning else {DIVERGED}
    runs = runs[~runs.status.isin(left_out)]
    keep = runs[MODEL].drop_duplicates()
    out = {**tables, "runs": runs}
    for name in ("units", "geometry", "robustness"):
        out[name] = tables[name].merge(keep, on=MODEL, how="inner")
    return out


def _pair(obs: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """The rows of ``a`` and ``b``; for transfer attacks (a ``source``
    column) a's rows under b's examples and b's under a's."""
    rows = obs[obs.activation.isin([a, b])]
    if "source" in rows.columns:
        other = rows.activation.map({a: b, b: a})
        rows = rows[rows.source == other].drop(columns="source")
    return rows


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
    # Fewer than two matched units: not measured, without asking stats.compare
    # (which would warn for the same reason).
    measured = part.dropna(subset=["value"])
    levels = measured.groupby(list(ev.unit)).activation.nunique()
    n_pairs = int((levels == 2).sum())
    if n_pairs < 2:
        return {**empty, "n_pairs": n_pairs}
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


def _overall(scores: pd.DataFrame, analysis: str = MAIN) -> pd.DataFrame:
    """The primary comparison's rows over all models in one analysis."""
    return scores[
        scores.primary
        & (scores.analysis == analysis)
        & (scores.dataset == "all")
        & (scores.condition == "all")
    ]


def claim_verdicts(scores: pd.DataFrame) -> pd.DataFrame:
    """One verdict per claim from the primary comparison over all models.

    The claim's deciding evidence items (primary comparison, all models,
    main analysis) combine by :func:`geoctx.stats.combine`: ``supported``
    only when every measured item is supported, ``no effect`` when every one
    shows no effect of practical size, ``contradicted`` when every one goes
    against the claim, ``mixed`` when some support it and others go against
    it, ``not measured`` when none is measured, ``inconclusive`` otherwise.
    ``note`` counts the item verdicts when they are not all the same (and
    says the claim's meaning for ``not measured``, ``no effect`` and
    ``mixed``); ``flips`` lists the conditions (dataset, depth, initializer)
    whose decisive item verdict differs from the claim's.

    Beside it: ``init_verdict``, the same combination of the claim's items
    measured at initialization that do not decide (C1, C2; "" for the
    others), and ``origin``, what the two together say (:func:`origin`);
    ``sensitivity_verdict`` and ``sensitivity_pairs``, the verdict and lead
    pair count on the models that reached ``claims.min_test_accuracy``.
    """
    out = []
    main, sens = _overall(scores), _overall(scores, SENSITIVITY)
    for claim, statement in STATEMENTS.items():
        rows = main[(main.claim == claim) & main.decides]
        verdict = stats.combine(rows.verdict)
        init = main[(main.claim == claim) & ~main.decides & (main.stage == "init")]
        init_verdict = stats.combine(init.verdict) if len(init) else ""
        sens_rows = sens[(sens.claim == claim) & sens.decides]
        sens_verdict = stats.combine(sens_rows.verdict)
        lead = _lead(rows, verdict)
        sens_lead = _lead(sens_rows, sens_verdict)
        out.append(
            {
                "claim": claim,
                "statement": statement,
                "verdict": verdict,
                "note": _note(verdict, rows.verdict),
                "evidence": ", ".join(
                    f"{r.evidence} ({r.verdict})" for r in rows.itertuples()
                ),
                "effect": np.nan if lead is None else lead.effect,
                "ci_low": np.nan if lead is None else lead.ci_low,
                "ci_high": np.nan if lead is None else lead.ci_high,
                "n_pairs": 0 if lead is None else int(lead.n_pairs),
                "flips": "; ".join(_flips(scores, claim, verdict)),
                "init_verdict": init_verdict,
                "origin": origin(init_verdict, verdict) if init_verdict else "",
                "sensitivity_verdict": sens_verdict,
                "sensitivity_pairs": 0 if sens_lead is None else int(sens_lead.n_pairs),
            }
        )
    return pd.DataFrame(out)


def _lead(rows: pd.DataFrame, verdict: str):
    """The first row agreeing with the claim's verdict, else the first row."""
    if not len(rows):
        return None
    agreeing = rows[rows.verdict == verdict]
    return (agreeing if len(agreeing) else rows).iloc[0]


def _flips(scores: pd.DataFrame, claim: str, verdict: str) -> list[str]:
    """Per-condition deciding items whose decisive verdict differs."""
    rows = scores[
        (scores.claim == claim)
        & scores.primary
        & scores.decides
        & (scores.analysis == MAIN)
        & ((scores.dataset != "all") | (scores.condition != "all"))
    ]
    decisive = rows[rows.verdict.isin(stats.DECISIVE) & (rows.verdict != verdict)]
    return sorted(
        {
            f"{r.evidence}: {r.verdict} for "
            + (f"dataset={r.dataset}" if r.dataset != "all" else r.condition)
            for r in decisive.itertuples()
        }
    )


def claim_verdicts_by(scores: pd.DataFrame, column: str) -> pd.DataFrame:
    """Each claim's verdict within each value of a condition column.

    The deciding items' per-condition rows (primary comparison, main
    analysis) with ``condition == f"{column}={value}"`` combine as in
    :func:`claim_verdicts`. A claim whose evidence has no such rows (its
    unit lacks ``column``, or the sweep has one value) gets none.

    Returns
    -------
    pandas.DataFrame
        Columns ``claim``, ``column``'s values as ``value``, ``verdict`` and
        ``flips`` (True when the verdict is decisive or mixed and differs
        from the claim's overall verdict).

    Examples
    --------
    >>> scores = pd.DataFrame({
    ...     "claim": ["C3"] * 3, "primary": True, "decides": True,
    ...     "analysis": "main", "dataset": "all",
    ...     "condition": ["all", "initializer=auto", "initializer=glorot_uniform"],
    ...     "verdict": ["supported", "supported", "contradicted"],
    ... })
    >>> claim_verdicts_by(scores, "initializer").to_dict("list")
    {'claim': ['C3', 'C3'], 'value': ['auto', 'glorot_uniform'], \
'verdict': ['supported', 'contradicted'], 'flips': [False, True]}
    """
    prefix = f"{column}="
    rows = scores[
        scores.primary
        & scores.decides
        & (scores.analysis == MAIN)
        & (scores.dataset == "all")
        & scores.condition.str.startswith(prefix)
    ]
    overall = _overall(scores)
    out = []
    for (claim, condition), part in rows.groupby(["claim", "condition"], sort=False):
        verdict = stats.combine(part.verdict)
        main = overall[(overall.claim == claim) & overall.decides]
        claim_verdict = stats.combine(main.verdict)
        out.append(
            {
                "claim": claim,
                "value": condition.removeprefix(prefix),
                "verdict": verdict,
                "flips": verdict != claim_verdict
                and verdict in stats.DECISIVE | {stats.MIXED},
            }
        )
    return pd.DataFrame(out, columns=["claim", "value", "verdict", "flips"])


def origin(init_verdict: str, trained_verdict: str) -> str:
    """What a claim's verdicts at initialization and after training say.

    Examples
    --------
    >>> origin("supported", "supported")
    'supported at initialization too: the activation, not training, sets it'
    >>> origin("inconclusive", "supported")
    'inconclusive at initialization, supported after training: training makes it'
    >>> origin("supported", "no effect")
    'supported at initialization, no effect after training: training changes it'
    >>> origin("inconclusive", "inconclusive")
    ''
    """
    decided = stats.DECISIVE | {stats.MIXED}
    if init_verdict not in decided and trained_verdict not in decided:
        return ""
    if init_verdict == trained_verdict:
        return (
            f"{init_verdict} at initialization too: the activation, not training, "
            "sets it"
        )
    change = "makes it" if init_verdict not in decided else "changes it"
    return (
        f"{init_verdict} at initialization, {trained_verdict} after training: "
        f"training {change}"
    )


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

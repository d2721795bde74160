"""The claims scorecard: each claim of the argument mapped to evidence.

The argument under test (STUDY.md) makes nine claims, C1-C9. Here each is
tied to explicit evidence (:data:`geoctx.evidence.EVIDENCE`): one number
per trained model (or per timed model, for C9) drawn from a study table, and
the sign the claim predicts for ``a - b`` when ``a`` is the activation the argument
says loses geometry (sigmoid) and ``b`` the one it says keeps it (ReLU).

Every comparison is made on matched pairs: models that differ only in
activation (same dataset, initializer setting, width, depth and seed; for
C9 the same depth, width, batch size and timing run). The unit of inference
is the *condition*: the item's :attr:`~geoctx.evidence.Evidence.condition_on`
columns, else the matched unit without its replicates (:data:`REPLICATES`:
seeds, timing runs). Replicates of one condition are averaged first, and the effect,
its studentized bootstrap interval and the t-tests are on the
condition means (:func:`geoctx.stats.compare`). :func:`score_claims` runs it
for every evidence item, comparison and breakdown (all models; each
dataset; each value of the item's
:attr:`~geoctx.evidence.Evidence.breakdown` columns: depth and initializer
setting, for C9 depth, width and batch size), then
:func:`geoctx.stats.score_table` adjusts and decides within separate
families (:data:`FAMILIES`): only the rows that decide a claim share the
family that carries the scorecard; the initialization counterparts of
deciding items (:attr:`~geoctx.evidence.Evidence.at_init`), control
comparisons and the sensitivity re-analysis are families of their own; the
breakdowns are estimates (effect and interval, no verdict), so nothing is
ever called a flip because it was adjusted differently.
:func:`claim_verdicts` reduces each claim's deciding rows to one verdict
with :func:`geoctx.stats.combine`: a claim is supported only when every
measured item is, and "mixed" when some items support it and others go
against it.

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

from collections.abc import Mapping

import numpy as np
import pandas as pd

from geoctx import stats
from geoctx.config import STUDY_TABLES
from geoctx.evidence import EVIDENCE, MODEL, STATEMENTS
from geoctx.names import DIVERGED, FAILED_TO_LEARN, FAMILY_NAMES, MAIN, SENSITIVITY

#: The study tables the scorecard reads.
TABLES = STUDY_TABLES

#: Claim verdicts in report order (names defined in :mod:`geoctx.stats`).
VERDICT_ORDER = stats.CLAIM_VERDICTS

#: Unit columns that replicate a condition (left out of the condition unless
#: the item names its condition, :attr:`Evidence.condition_on`): the seeds of
#: a trained condition, the timing runs (fresh processes) of a timed cell.
REPLICATES = ("seed", "run")

DECIDES, INITIALIZATION, CONTROLS, SENSITIVITY_FAMILY = FAMILY_NAMES
#: The Holm families, each adjusted on its own. Rows outside them (the
#: breakdowns by dataset, depth and initializer, and the sensitivity rows
#: that decide nothing) are estimates: ``family`` is "" and the verdict null.
FAMILIES = {
    DECIDES: "primary comparison, all models: the rows that decide the claims",
    INITIALIZATION: "primary comparison, all models: the initialization "
    "counterparts of deciding items (they give each claim's initialization verdict)",
    CONTROLS: "every other comparison, and descriptive rows, over all models",
    SENSITIVITY_FAMILY: "the deciding rows again, on the models that reached the "
    "accuracy threshold",
}


def comparisons(activations, primary=("sigmoid", "relu")) -> list[tuple[str, str]]:
    """The (a, b) pairs compared: the primary first, then the controls."""
    a, b = primary
    pairs = [(a, b)] if a in activations and b in activations else []
    pairs += [(x, b) for x in activations if x not in (a, b) and b in activations]
    if "sigmoid" in activations and "tanh" in activations:
        pairs.append(("sigmoid", "tanh"))
    return list(dict.fromkeys(pairs))


def _conditions(obs: pd.DataFrame, ev) -> list[tuple[str, str, pd.DataFrame]]:
    """(dataset, condition, rows): all, then each dataset, then each value of
    each of the item's breakdown columns (:attr:`Evidence.breakdown`) that
    takes more than one value."""
    out = [("all", "all", obs)]
    if obs.empty:
        return out
    if "dataset" in ev.unit and obs.dataset.nunique() > 1:
        out += [(d, "all", obs[obs.dataset == d]) for d in sorted(obs.dataset.unique())]
    for column in ev.breakdown:
        if column in ev.unit and obs[column].nunique() > 1:
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
    rows = pd.concat([main, sens], ignore_index=True)
    rows["family"] = family(rows)
    parts = [
        stats.score_table(rows[rows.family == name], alpha=alpha, min_pairs=min_pairs)
        for name in FAMILIES
    ]
    estimates = rows[rows.family == ""]
    adjusted = [f"{t}_holm" for t in stats.TESTS]
    parts.append(estimates.assign(**dict.fromkeys(adjusted, np.nan), verdict=None))
    scored = pd.concat([p for p in parts if len(p)], ignore_index=True)
    return scored.rename(columns={"effect_size_dz": "effect_size"})


def family(rows: pd.DataFrame) -> pd.Series:
    """The Holm family of each scorecard row (:data:`FAMILIES`), "" for the
    estimates that decide nothing.

    Examples
    --------
    Only the items marked :attr:`~geoctx.evidence.Evidence.at_init` form
    the initialization family; another row measured at initialization that
    decides nothing (C7's shallow contrast) is a control.

    >>> rows = pd.DataFrame({
    ...     "analysis": ["main"] * 5 + ["sensitivity"], "primary": True,
    ...     "decides": [True, True, False, True, False, True],
    ...     "at_init": [False, False, True, False, False, False],
    ...     "stage": ["trained", "trained", "init", "trained", "init", "trained"],
    ...     "dataset": ["all", "a", "all", "all", "all", "all"], "condition": "all"})
    >>> rows.loc[3, "primary"] = False
    >>> family(rows).tolist()
    ['decides', '', 'initialization', 'controls', 'controls', 'sensitivity']
    """
    overall = (rows.dataset == "all") & (rows.condition == "all")
    main = rows.analysis == MAIN
    deciding = rows.primary & rows.decides
    out = pd.Series("", index=rows.index, dtype=object)
    out[main & overall] = CONTROLS
    out[main & overall & rows.primary & rows.at_init] = INITIALIZATION
    out[main & overall & deciding] = DECIDES
    out[(rows.analysis == SENSITIVITY) & deciding] = SENSITIVITY_FAMILY
    return out


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
                _conditions(subset, ev) if by_condition else [("all", "all", subset)]
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
                        "at_init": ev.at_init,
                        "part": ev.part,
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


def condition_columns(ev) -> list[str]:
    """The columns that make one of the item's conditions: its
    :attr:`~geoctx.evidence.Evidence.condition_on`, else its unit without
    the :data:`REPLICATES`.

    >>> from geoctx.evidence import EVIDENCE
    >>> [condition_columns(e) for e in EVIDENCE if e.claim in ("C3", "C9")][::3]
    [['dataset', 'initializer', 'width', 'depth'], ['depth', 'width', 'batch_size']]
    """
    if ev.condition_on is not None:
        return list(ev.condition_on)
    return [c for c in ev.unit if c not in REPLICATES]


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
        "n_conditions": 0,
        "effect": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        **dict.fromkeys(("p_value", *stats.TESTS, "p_sign_flip"), np.nan),
        "p_floor": 1.0,
        "effect_size_dz": np.nan,
        "i2": np.nan,
        "between_dataset_sd": np.nan,
        "predicted_sign": ev.predicted_sign,
        "smallest_effect": smallest_effect * ev.scale,
    }
    condition_on = condition_columns(ev)
    # Fewer than two conditions: not measured, without asking stats.compare
    # (which would warn for the same reason).
    measured = part.dropna(subset=["value"])
    levels = measured.groupby(list(ev.unit)).activation.nunique()
    matched = levels[levels == 2].reset_index()
    n_pairs = len(matched)
    n_conditions = (
        len(matched.drop_duplicates(condition_on)) if condition_on else n_pairs
    )
    if n_conditions < 2:
        return {**empty, "n_pairs": n_pairs, "n_conditions": n_conditions}
    result = stats.compare(
        part,
        value="value",
        factor="activation",
        a=a,
        b=b,
        match_on=list(ev.unit),
        condition_on=condition_on,
        predicted_sign=ev.predicted_sign,
        smallest_effect=smallest_effect * ev.scale,
        n_resamples=n_resamples,
        seed=seed,
    )
    return {**empty, **{k: result[k] for k in empty if k in result}}


def claim_verdicts(scores: pd.DataFrame) -> pd.DataFrame:
    """One verdict per claim from its deciding rows.

    The claim's deciding evidence items (family ``decides``: primary
    comparison, all models, main analysis) combine by
    :func:`geoctx.stats.combine`: ``supported`` only when every measured
    item is supported, ``no effect`` when every one shows no effect of
    practical size, ``contradicted`` when every one goes against the claim,
    ``mixed`` when some support it and others go against it, ``not
    measured`` when none is measured, ``inconclusive`` otherwise. ``note``
    counts the item verdicts when they are not all the same (and says the
    claim's meaning for ``not measured``, ``no effect`` and ``mixed``).

    The lead item (the first agreeing with the claim's verdict) gives
    ``effect``, its interval, ``n_pairs``, ``n_conditions``, ``i2`` and
    ``between_dataset_sd``, and ``datasets``: each dataset's estimate of it,
    for C9 each batch size's (:func:`estimates`; an estimate, not a verdict).

    Beside it: ``init_verdict``, the combination of the claim's rows in the
    ``initialization`` family by the same rule, :func:`geoctx.stats.combine`
    ("" when it has none); ``init_parts``, each part's combination by that
    rule when the claim's parts disagree (:func:`_by_part`, e.g.
    ``[("relative distances", "contradicted"), ("compression", "no
    effect")]`` beside an init verdict "contradicted"), so one part's
    contradictions are not hidden by the other's; ``init_note``, the item
    verdict counts when they differ; and ``origin``, what the
    initialization verdict and the trained one together say
    (:func:`origin`); ``sensitivity_verdict`` and
    ``sensitivity_pairs``, the verdict and lead pair count on the models
    that reached ``claims.min_test_accuracy``.
    """
    out = []
    deciding = scores[scores.family == DECIDES]
    init_rows = scores[scores.family == INITIALIZATION]
    sens = scores[scores.family == SENSITIVITY_FAMILY]
    for claim, statement in STATEMENTS.items():
        rows = deciding[deciding.claim == claim]
        verdict = stats.combine(rows.verdict)
        init = init_rows[init_rows.claim == claim]
        init_verdict = stats.combine(init.verdict) if len(init) else ""
        init_parts = _by_part(init)
        sens_rows = sens[sens.claim == claim]
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
                **{
                    key: np.nan if lead is None else getattr(lead, key)
                    for key in (
                        "effect",
                        "ci_low",
                        "ci_high",
                        "i2",
                        "between_dataset_sd",
                    )
                },
                "n_pairs": 0 if lead is None else int(lead.n_pairs),
                "n_conditions": 0 if lead is None else int(lead.n_conditions),
                "datasets": "" if lead is None else _per_dataset(scores, lead),
                "init_verdict": init_verdict,
                "init_note": _note(init_verdict, init.verdict) if len(init) else "",
                "init_parts": init_parts,
                "origin": origin(init_verdict, verdict) if init_verdict else "",
                "sensitivity_verdict": sens_verdict,
                "sensitivity_pairs": 0 if sens_lead is None else int(sens_lead.n_pairs),
            }
        )
    return pd.DataFrame(out)


def _by_part(rows: pd.DataFrame) -> list[tuple[str, str]]:
    """(part, verdict) of each part of a claim's rows (:attr:`Evidence.part`),
    in order, each part combined by :func:`geoctx.stats.combine` -- the rule
    of every other combination: a part is supported (contradicted) only when
    every measured item of it is supported (goes against the claim), so an
    undecided item leaves its part inconclusive. Empty when the claim has one
    part, or its measured parts agree.

    >>> rows = pd.DataFrame({"part": ["distances", "compression", "distances"],
    ...     "verdict": ["contradicted", "no effect", "contradicted"]})
    >>> _by_part(rows)
    [('distances', 'contradicted'), ('compression', 'no effect')]
    >>> _by_part(rows.assign(verdict=["contradicted", "no effect", "inconclusive"]))
    [('distances', 'inconclusive'), ('compression', 'no effect')]
    >>> _by_part(rows.assign(verdict="supported"))
    []
    >>> _by_part(rows.assign(verdict=["supported", "not measured", "supported"]))
    []
    """
    if not len(rows) or "part" not in rows:
        return []
    parts = rows.part.fillna("")
    verdicts = [
        (p, stats.combine(r.verdict)) for p, r in rows.groupby(parts, sort=False)
    ]
    if len({v for _, v in verdicts if v != stats.NOT_MEASURED}) <= 1:
        return []
    return verdicts


def _lead(rows: pd.DataFrame, verdict: str):
    """The first row agreeing with the claim's verdict, else the first row."""
    if not len(rows):
        return None
    agreeing = rows[rows.verdict == verdict]
    return (agreeing if len(agreeing) else rows).iloc[0]


def breakdown(scores: pd.DataFrame, row, kind: str = "dataset") -> pd.DataFrame:
    """The estimates of one overall row within each dataset (``kind =
    "dataset"``) or each value of a condition column (``"depth"``,
    ``"initializer"``): same evidence, comparison, analysis and stage.

    Examples
    --------
    >>> scores = pd.DataFrame({
    ...     "claim": "C3", "evidence": "acc", "comparison": "s vs r",
    ...     "analysis": "main", "stage": "trained",
    ...     "dataset": ["all", "x", "y", "all"],
    ...     "condition": ["all", "all", "all", "depth=2"],
    ...     "effect": [0.1, 0.3, -0.1, 0.2]})
    >>> breakdown(scores, scores.iloc[0]).effect.tolist()
    [0.3, -0.1]
    >>> breakdown(scores, scores.iloc[0], "depth").condition.tolist()
    ['depth=2']
    """
    same = (
        (scores.claim == row.claim)
        & (scores.evidence == row.evidence)
        & (scores.comparison == row.comparison)
        & (scores.analysis == row.analysis)
        & (scores.stage == row.stage)
    )
    if kind == "dataset":
        return scores[same & (scores.dataset != "all") & (scores.condition == "all")]
    return scores[
        same & (scores.dataset == "all") & scores.condition.str.startswith(f"{kind}=")
    ]


def forest_rows(scores: pd.DataFrame) -> pd.DataFrame:
    """The rows of the forest plot: every deciding row (``dataset == "all"``)
    and the per-dataset estimates of the same items, in scorecard order.

    Examples
    --------
    >>> scores = pd.DataFrame({
    ...     "claim": "C3", "evidence": "acc", "comparison": "s vs r",
    ...     "analysis": "main", "stage": "trained", "primary": True,
    ...     "decides": True, "family": ["decides", "", "", "controls"],
    ...     "dataset": ["all", "x", "all", "all"],
    ...     "condition": ["all", "all", "depth=2", "all"]})
    >>> forest_rows(scores).dataset.tolist()
    ['all', 'x']
    """
    deciding = scores[scores.family == DECIDES]
    parts = [deciding]
    for row in deciding.itertuples():
        parts.append(breakdown(scores, row))
    return pd.concat(parts).drop_duplicates()


#: Each item's breakdown columns, by (claim, evidence name).
_BREAKDOWN = {(e.claim, e.name): e.breakdown for e in EVIDENCE}


def estimates(scores: pd.DataFrame, row) -> pd.DataFrame:
    """The estimates shown beside an overall row: each dataset's; for an
    item without datasets (C9), each value of its last breakdown column
    (C9: each batch size). ``label`` names the dataset or the value.

    Examples
    --------
    >>> scores = pd.DataFrame({
    ...     "claim": "C9", "evidence": "log2_latency_ratio", "comparison": "s vs r",
    ...     "analysis": "main", "stage": "", "dataset": "all",
    ...     "condition": ["all", "depth=1", "batch_size=1", "batch_size=256"],
    ...     "effect": [0.1, 0.3, 0.0, 0.2]})
    >>> estimates(scores, scores.iloc[0]).label.tolist()
    ['batch_size=1', 'batch_size=256']
    """
    rows = breakdown(scores, row)
    columns = _BREAKDOWN.get((row.claim, row.evidence), ())
    if rows.empty and columns:
        rows = breakdown(scores, row, columns[-1])
    label = rows.dataset.where(rows.dataset != "all", rows.condition)
    return rows.assign(label=label)


def _per_dataset(scores: pd.DataFrame, row) -> str:
    parts = estimates(scores, row).dropna(subset=["effect"])
    return ", ".join(f"{r.label} {r.effect:+.3g}" for r in parts.itertuples())


def origin(init_verdict: str, trained_verdict: str) -> str:
    """What a claim's verdicts at initialization and after training say; only
    a decided verdict is read as a finding.

    Examples
    --------
    >>> origin("supported", "supported")
    'supported at initialization too: present before training'
    >>> origin("inconclusive", "supported")
    'not decided at initialization, supported after training'
    >>> origin("contradicted", "inconclusive")
    'contradicted at initialization; after training the data do not decide'
    >>> origin("supported", "no effect")
    'supported at initialization, no effect after training: training changes it'
    >>> origin("inconclusive", "inconclusive")
    ''
    """
    decided = stats.DECISIVE | {stats.MIXED}
    init_decided = init_verdict in decided
    trained_decided = trained_verdict in decided
    if not init_decided and not trained_decided:
        return ""
    if init_verdict == trained_verdict:
        return f"{init_verdict} at initialization too: present before training"
    if not init_decided:
        return f"not decided at initialization, {trained_verdict} after training"
    if not trained_decided:
        return (
            f"{init_verdict} at initialization; after training the data do not decide"
        )
    return (
        f"{init_verdict} at initialization, {trained_verdict} after training: "
        "training changes it"
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

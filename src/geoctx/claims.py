"""The claims scorecard: each claim of the argument mapped to evidence.

The argument under test (STUDY.md) makes nine claims, C1-C9. Here each is
tied to explicit evidence (:data:`geoctx.evidence.EVIDENCE`): one number
per trained model (or per timed model, for C9) drawn from a study table, and
the sign the claim predicts for ``a - b`` when ``a`` is the activation the argument
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

from collections.abc import Mapping

import numpy as np
import pandas as pd

from geoctx import stats
from geoctx.config import STUDY_TABLES
from geoctx.evidence import EVIDENCE, MODEL, STATEMENTS
from geoctx.names import DIVERGED, FAILED_TO_LEARN, MAIN, SENSITIVITY

#: The study tables the scorecard reads.
TABLES = STUDY_TABLES

#: Claim verdicts in report order (names defined in :mod:`geoctx.stats`).
VERDICT_ORDER = stats.CLAIM_VERDICTS


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

"""The decision rule: from condition-level summaries to the claims' verdicts.

- :data:`VERDICTS`        the verdicts of one comparison (one scorecard row)
- :data:`CLAIM_VERDICTS`  the verdicts of a claim (its rows combined)
- :data:`STANCE`          what each verdict says about the claim
- :data:`MEANING`         each verdict in words, for the report
- :func:`verdict`         the decision rule (documented there)
- :func:`combine`         the claim-level rule: items -> one verdict
- :func:`compare`         one comparison -> one scorecard row (a dict)
- :func:`score_table`     rows -> Holm within each family, then verdicts

The rule is a minimal-effect test and an equivalence test -- one-sample
t-tests on the condition means, as Lakens, Scheel & Isager (2018,
"Equivalence testing for psychological research", AMPPS 1:259-269) use them
(Murphy & Myors 1999 for minimal-effect tests) -- on one studentized
bootstrap interval and one family-wise error control. Every other module
(claims, report, tables, the report template) takes the verdict names from
here.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from geoctx.stats._common import _check_settings
from geoctx.stats.heterogeneity import heterogeneity
from geoctx.stats.multiplicity import holm
from geoctx.stats.permutation import min_p, sign_flip_two_sided
from geoctx.stats.resampling import (
    _effect_size,
    condition_means,
    paired_differences,
    studentized_ci,
)
from geoctx.stats.ttests import effect_tests

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
NO_EFFECT = "no effect"
MIXED = "mixed"
INCONCLUSIVE = "inconclusive"
NOT_MEASURED = "not measured"

#: Verdicts of one comparison, in report order.
VERDICTS = (SUPPORTED, CONTRADICTED, NO_EFFECT, INCONCLUSIVE, NOT_MEASURED)
#: Verdicts of a claim: those of a comparison plus "mixed".
CLAIM_VERDICTS = (SUPPORTED, CONTRADICTED, NO_EFFECT, MIXED, INCONCLUSIVE, NOT_MEASURED)
#: Verdicts that count against a claim that predicts an effect.
AGAINST = frozenset({CONTRADICTED, NO_EFFECT})
#: Verdicts that decide a comparison one way or the other.
DECISIVE = AGAINST | {SUPPORTED}
#: What each verdict says about the claim: for, against, split, open or missing.
STANCE = {
    SUPPORTED: "for",
    CONTRADICTED: "against",
    NO_EFFECT: "against",
    MIXED: "split",
    INCONCLUSIVE: "open",
    NOT_MEASURED: "missing",
}
#: Each verdict in words: what the rule checked, nothing more.
MEANING = {
    SUPPORTED: "the whole interval lies beyond the smallest effect of interest d "
    "on the predicted side, and the minimal-effect test rejects 'effect <= d' "
    "under Holm over the family",
    CONTRADICTED: "the whole interval lies beyond d on the opposite side, and the "
    "minimal-effect test rejects 'effect >= -d' under Holm over the family",
    NO_EFFECT: "no effect of practical size: the whole interval lies within ±d "
    "and the equivalence test (TOST) rejects '|effect| >= d' under Holm over the "
    "family",
    MIXED: "the claim's evidence items disagree: some support it, some go against it",
    INCONCLUSIVE: "no test decides at the family-wise level: the effect may be 0, "
    "smaller than d, or of practical size",
    NOT_MEASURED: "fewer than 2 conditions or too few matched pairs, or the sweep "
    "lacks what it needs",
}

#: The three tests of a row, each Holm-adjusted within its family.
TESTS = ("p_supported", "p_contradicted", "p_no_effect")

# Columns a scorecard row must carry for score_table to decide its verdict.
_ROW_COLUMNS = (
    "n_pairs",
    "n_conditions",
    "effect",
    "ci_low",
    "ci_high",
    *TESTS,
    "predicted_sign",
    "smallest_effect",
)


def verdict(
    effect: float,
    ci_low: float,
    ci_high: float,
    p_supported: float,
    p_contradicted: float,
    p_no_effect: float,
    *,
    predicted_sign: int,
    smallest_effect: float,
    alpha: float = 0.05,
    n_pairs: int,
    n_conditions: int,
    min_pairs: int = 3,
) -> str:
    """Decide one comparison's verdict from its summary and adjusted p-values.

    Write ``s = predicted_sign``, ``d = smallest_effect`` and ``[lo, hi] =
    s * [ci_low, ci_high]`` (the interval on the predicted side's scale);
    the p-values are Holm-adjusted over the family (:func:`score_table`).

    1. **"not measured"** if ``n_pairs < min_pairs``, fewer than 2
       conditions, or the effect or interval is NaN.
    2. **"supported"** if ``lo > d`` and ``p_supported <= alpha``: the
       interval clears the smallest effect of interest on the predicted side
       and the minimal-effect test rejects "effect <= d".
    3. **"contradicted"** if ``hi < -d`` and ``p_contradicted <= alpha``: the
       same on the opposite side.
    4. **"no effect"** if ``-d < lo`` and ``hi < d`` and ``p_no_effect <=
       alpha``: the interval lies within the equivalence bounds and the
       equivalence test (TOST) rejects "|effect| >= d". Impossible when
       ``d = 0``.
    5. Everything else is **"inconclusive"**.

    Each decisive verdict needs its test, so the family-wise error rate of
    every verdict kind is at most ``alpha`` (Holm over all three tests of
    every row of the family), and its interval, so the words "the interval
    clears d" are true of every decisive row. The rule is sign-symmetric
    (mirroring the data and the prediction gives the same verdict) and
    monotone: moving the effect and its interval towards the predicted
    side, with p-values to match, never turns "supported" into anything
    else.

    Examples
    --------
    >>> verdict(0.5, 0.45, 0.55, 0.001, 1.0, 1.0, predicted_sign=1,
    ...         smallest_effect=0.1, n_pairs=36, n_conditions=12)
    'supported'
    >>> verdict(0.5, 0.05, 0.95, 0.001, 1.0, 1.0, predicted_sign=1,
    ...         smallest_effect=0.1, n_pairs=36, n_conditions=12)
    'inconclusive'
    >>> verdict(0.01, -0.05, 0.07, 1.0, 1.0, 0.01, predicted_sign=-1,
    ...         smallest_effect=0.1, n_pairs=36, n_conditions=12)
    'no effect'
    """
    _check_settings(
        p_supported=p_supported,
        p_contradicted=p_contradicted,
        p_no_effect=p_no_effect,
        predicted_sign=predicted_sign,
        smallest_effect=smallest_effect,
        alpha=alpha,
        n_pairs=n_pairs,
        min_pairs=min_pairs,
    )
    _check_settings(n_pairs=n_conditions)
    summary = np.array([effect, ci_low, ci_high], dtype=np.float64)
    if n_pairs < min_pairs or n_conditions < 2 or np.isnan(summary).any():
        return NOT_MEASURED
    if ci_low > ci_high:
        raise ValueError(f"ci_low must be <= ci_high, got ({ci_low!r}, {ci_high!r})")
    return str(
        _decide(
            ci_low,
            ci_high,
            p_supported,
            p_contradicted,
            p_no_effect,
            predicted_sign=predicted_sign,
            smallest_effect=smallest_effect,
            alpha=alpha,
        )
    )


def _decide(
    ci_low,
    ci_high,
    p_supported,
    p_contradicted,
    p_no_effect,
    *,
    predicted_sign,
    smallest_effect,
    alpha: float,
) -> np.ndarray:
    """Steps 2-5 of :func:`verdict` on arrays of measured rows (broadcast
    together), without validation; the simulation calls it directly."""
    s = np.asarray(predicted_sign, dtype=np.float64)
    lo = np.minimum(s * ci_low, s * ci_high)
    hi = np.maximum(s * ci_low, s * ci_high)
    d = np.asarray(smallest_effect, dtype=np.float64)
    return np.select(
        [
            (lo > d) & (np.asarray(p_supported) <= alpha),
            (hi < -d) & (np.asarray(p_contradicted) <= alpha),
            (-d < lo) & (hi < d) & (np.asarray(p_no_effect) <= alpha),
        ],
        [SUPPORTED, CONTRADICTED, NO_EFFECT],
        INCONCLUSIVE,
    )


def combine(verdicts: Iterable[str]) -> str:
    """Combine the verdicts of a claim's evidence items into the claim's.

    A claim predicts every one of its evidence items, so it is credited
    only when its measured items agree (an intersection-union test: each
    item is already decided at family-wise level ``alpha``, so requiring
    all of them keeps that level without further correction):

    - **"not measured"** if no item is measured;
    - **"supported"** if every measured item is supported;
    - **"no effect"** if every measured item is "no effect";
    - **"contradicted"** if every measured item is against the claim
      (contradicted or no effect) and at least one is contradicted;
    - **"mixed"** if some items support the claim and others go against it;
    - **"inconclusive"** otherwise (some items undecided, none disagreeing).

    Parameters
    ----------
    verdicts : iterable of str
        Item verdicts, each one of :data:`VERDICTS`.

    Returns
    -------
    str
        One of :data:`CLAIM_VERDICTS`.

    Examples
    --------
    >>> combine(["supported", "supported", "not measured"])
    'supported'
    >>> combine(["supported", "inconclusive"])
    'inconclusive'
    >>> combine(["supported", "no effect", "contradicted", "contradicted"])
    'mixed'
    >>> combine(["no effect", "contradicted"])
    'contradicted'
    """
    counts = Counter(verdicts)
    unknown = set(counts) - set(VERDICTS)
    if unknown:
        raise ValueError(f"verdicts must be among {VERDICTS}, got {sorted(unknown)}")
    measured = {v for v in counts if v != NOT_MEASURED}
    if not measured:
        return NOT_MEASURED
    if measured == {SUPPORTED}:
        return SUPPORTED
    if measured == {NO_EFFECT}:
        return NO_EFFECT
    if measured <= AGAINST:
        return CONTRADICTED
    if SUPPORTED in measured and measured & AGAINST:
        return MIXED
    return INCONCLUSIVE


def compare(
    df: pd.DataFrame,
    *,
    value: str,
    factor: str,
    a,
    b,
    match_on: Sequence[str],
    predicted_sign: int,
    smallest_effect: float,
    condition_on: Sequence[str] | None = None,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed=0,
) -> dict:
    """Summarise one paired comparison as one scorecard row.

    Pairs the two levels on ``match_on`` (:func:`paired_differences`), then
    groups the pairs by condition -- the ``condition_on`` columns, by default
    ``match_on`` without ``"seed"`` -- and works on the condition means
    (:func:`condition_means`): the effect is their mean, the interval is the
    studentized bootstrap of the condition means (:func:`studentized_ci`),
    the p-values are the t-tests of :func:`effect_tests`. The Holm adjustment and
    the verdict need the whole family, so they are left to
    :func:`score_table`.

    Returns
    -------
    dict
        ``value``, ``factor``, ``a``, ``b``, ``predicted_sign``,
        ``smallest_effect``, ``n_pairs``, ``n_conditions``, ``n_unmatched``,
        ``effect`` (mean of the condition means), ``ci_low``, ``ci_high``,
        ``p_value`` (two-sided, effect = 0), ``p_supported``,
        ``p_contradicted``, ``p_no_effect`` (raw), ``p_sign_flip`` (the
        exact sign-flip test of effect = 0, two-sided: a robustness check
        that needs no normality) and ``p_floor`` (the smallest one-sided
        p-value a sign-flip test on these conditions allows; the verdict's
        t-tests have none), ``effect_size_dz``
        (mean / SD of the condition means), ``i2`` and
        ``between_dataset_sd`` (:func:`heterogeneity`, when ``"dataset"`` is
        a condition column). Numbers are NaN below 2 conditions (with one
        warning).

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "dataset": ["x", "x", "y", "y", "z", "z"] * 2,
    ...     "seed": [0, 1] * 6,
    ...     "act": ["relu"] * 6 + ["sigmoid"] * 6,
    ...     "acc": [0.9, 0.8, 0.85, 0.85, 0.9, 0.9, 0.7, 0.7, 0.75, 0.7, 0.7, 0.8],
    ... })
    >>> row = compare(df, value="acc", factor="act", a="relu", b="sigmoid",
    ...               match_on=["dataset", "seed"], predicted_sign=1,
    ...               smallest_effect=0.01, n_resamples=1000)
    >>> row["n_pairs"], row["n_conditions"], round(row["effect"], 3)
    (6, 3, 0.142)
    """
    _check_settings(
        n_resamples=n_resamples,
        confidence=confidence,
        predicted_sign=predicted_sign,
        smallest_effect=smallest_effect,
    )
    paired = paired_differences(
        df, value=value, factor=factor, a=a, b=b, match_on=match_on
    )
    if condition_on is None:
        condition_on = [c for c in match_on if c != "seed"]
    unknown = [c for c in condition_on if c not in match_on]
    if unknown:
        raise ValueError(f"condition_on columns {unknown} are not in match_on")
    x = paired["diff"].to_numpy(dtype=np.float64)
    labels = (
        list(paired[list(condition_on)].itertuples(index=False, name=None))
        if condition_on
        else list(range(x.size))
    )
    datasets = paired["dataset"].to_numpy() if "dataset" in condition_on else None
    summary = summarise(
        x,
        labels,
        datasets=datasets,
        predicted_sign=predicted_sign,
        smallest_effect=smallest_effect,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )
    if summary["n_conditions"] < 2:
        warnings.warn(
            f"{value}: {a!r} vs {b!r} has {summary['n_conditions']} condition(s) "
            f"on {list(condition_on)}; the comparison is not measured",
            RuntimeWarning,
            stacklevel=2,
        )
    return {
        "value": value,
        "factor": factor,
        "a": a,
        "b": b,
        "predicted_sign": int(predicted_sign),
        "smallest_effect": float(smallest_effect),
        "n_unmatched": int(paired.attrs["n_unmatched"]),
        **summary,
    }


def summarise(
    diffs,
    conditions,
    *,
    datasets=None,
    predicted_sign: int,
    smallest_effect: float,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed=0,
) -> dict:
    """The numbers of one scorecard row from paired differences and their
    conditions (the part of :func:`compare` after the pairing).
    ``datasets`` (one label per unit,
    constant within a condition) adds :func:`heterogeneity`."""
    x = np.asarray(diffs, dtype=np.float64)
    means, groups = condition_means(x, conditions)
    spread = {"i2": math.nan, "between_dataset_sd": math.nan}
    if datasets is not None and len(groups) >= 2:
        frame = pd.DataFrame(
            {"c": pd.factorize(pd.Series(list(conditions), dtype=object))[0]}
        ).assign(x=x, dataset=np.asarray(datasets, dtype=object))
        per = frame.groupby("c").agg(x=("x", "mean"), dataset=("dataset", "first"))
        spread = heterogeneity(per["x"].to_numpy(), per["dataset"].to_numpy())
    return {
        "n_pairs": int(x.size),
        "n_conditions": len(groups),
        "effect": float(np.mean(means)) if len(groups) else math.nan,
        **dict(
            zip(
                ("ci_low", "ci_high"),
                studentized_ci(
                    means, n_resamples=n_resamples, confidence=confidence, seed=seed
                )
                if len(groups) >= 2
                else (math.nan, math.nan),
                strict=True,
            )
        ),
        **effect_tests(
            means, predicted_sign=predicted_sign, smallest_effect=smallest_effect
        ),
        "p_sign_flip": sign_flip_two_sided(means) if len(groups) else math.nan,
        "p_floor": min_p(len(groups)),
        "effect_size_dz": _effect_size(means),
        **spread,
    }


def score_table(
    rows: Iterable[Mapping] | pd.DataFrame,
    *,
    alpha: float = 0.05,
    min_pairs: int = 3,
) -> pd.DataFrame:
    """Adjust the tests of every row for multiplicity and decide its verdict.

    The rows passed together are one family: Holm's adjustment (:func:`holm`)
    runs over all three tests (:data:`TESTS`) of every measured row at once,
    so the probability of any wrong verdict of any kind in the family is at
    most ``alpha``. Pass exactly the rows that decide something together;
    other rows belong in their own family or are estimates only.

    Parameters
    ----------
    rows : iterable of dict or pandas.DataFrame, length n_rows
        Rows as returned by :func:`compare`; extra keys (e.g. ``claim``) are
        kept.
    alpha : float, default 0.05
        Family-wise significance level.
    min_pairs : int, default 3
        Fewer matched pairs than this means "not measured".

    Returns
    -------
    pandas.DataFrame, shape (n_rows, n_input_columns + 4)
        The rows plus ``p_supported_holm``, ``p_contradicted_holm``,
        ``p_no_effect_holm`` and ``verdict`` (rule in :func:`verdict`).

    Examples
    --------
    >>> row = {"n_pairs": 36, "n_conditions": 12, "effect": 0.5, "ci_low": 0.4,
    ...        "ci_high": 0.6, "p_supported": 0.001, "p_contradicted": 1.0,
    ...        "p_no_effect": 1.0, "predicted_sign": 1, "smallest_effect": 0.1}
    >>> score_table([row, row])[["p_supported_holm", "verdict"]].to_dict("list")
    {'p_supported_holm': [0.006, 0.006], 'verdict': ['supported', 'supported']}
    """
    _check_settings(alpha=alpha, min_pairs=min_pairs)
    table = pd.DataFrame(rows).reset_index(drop=True)
    missing = [c for c in _ROW_COLUMNS if c not in table.columns]
    if missing and len(table):
        raise ValueError(f"rows lack the columns {missing}")
    adjusted = [f"{t}_holm" for t in TESTS]
    for col in (*adjusted, "verdict"):
        if col in table.columns:
            raise ValueError(f"rows already have a {col!r} column")
    if not len(table):
        return table.assign(
            **{c: pd.Series(dtype=np.float64) for c in adjusted},
            verdict=pd.Series(dtype=object),
        )
    measured = (table["n_pairs"] >= min_pairs) & (table["n_conditions"] >= 2)
    raw = table[list(TESTS)].to_numpy(dtype=np.float64).copy()
    raw[~measured.to_numpy()] = np.nan
    table[adjusted] = holm(raw.ravel()).reshape(raw.shape)
    table["verdict"] = [
        verdict(
            float(r.effect),
            float(r.ci_low),
            float(r.ci_high),
            *map(float, p),
            predicted_sign=int(r.predicted_sign),
            smallest_effect=float(r.smallest_effect),
            alpha=alpha,
            n_pairs=int(r.n_pairs),
            n_conditions=int(r.n_conditions),
            min_pairs=min_pairs,
        )
        for r, p in zip(
            table.itertuples(index=False), table[adjusted].to_numpy(), strict=True
        )
    ]
    return table

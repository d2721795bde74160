"""The decision rule: from paired summaries to the claims' verdicts.

- :data:`VERDICTS`        the verdicts of one comparison (one scorecard row)
- :data:`CLAIM_VERDICTS`  the verdicts of a claim (its rows combined)
- :data:`STANCE`          what each verdict says about the claim
- :data:`MEANING`         each verdict in words, for the report
- :func:`verdict`         the decision rule (documented there)
- :func:`combine`         the claim-level rule: items -> one verdict
- :func:`compare`         one comparison -> one scorecard row (a dict)
- :func:`score_table`     rows -> table with ``p_holm``, ``p_floor``, verdict

Every other module (claims, report, tables, the report template) takes the
verdict names from here.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from geoctx.stats._common import _check_inputs
from geoctx.stats.multiplicity import holm
from geoctx.stats.resampling import (
    _bootstrap_ci,
    _effect_size,
    _wilcoxon_p,
    paired_differences,
    wilcoxon_min_p,
)

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
#: Each verdict in words.
MEANING = {
    SUPPORTED: "an effect of practical size in the predicted direction",
    CONTRADICTED: "an effect of practical size in the opposite direction",
    NO_EFFECT: "no effect of practical size (the effect and its whole interval "
    "lie within ± the smallest effect of interest)",
    MIXED: "the claim's evidence items disagree: some support it, some go against it",
    INCONCLUSIVE: "the data cannot decide at the stated error rates",
    NOT_MEASURED: "too few matched pairs, or the sweep lacks what it needs",
}

# Columns a scorecard row must carry for score_table to decide its verdict.
_ROW_COLUMNS = (
    "n_pairs",
    "effect",
    "ci_low",
    "ci_high",
    "p_value",
    "predicted_sign",
    "smallest_effect",
)


def verdict(
    effect: float,
    ci_low: float,
    ci_high: float,
    p_holm: float,
    *,
    predicted_sign: int,
    smallest_effect: float,
    alpha: float = 0.05,
    n_pairs: int,
    min_pairs: int = 3,
) -> str:
    """Decide one comparison's verdict from its paired summary.

    The rule, applied in order. Write ``s = predicted_sign`` and ``d =
    smallest_effect``; ``effect`` is the mean paired difference ``a - b`` in
    the units of the compared quantity, ``[ci_low, ci_high]`` its interval.

    1. **"not measured"** if ``n_pairs < min_pairs``, or any of ``effect``,
       ``ci_low``, ``ci_high`` is NaN (e.g. a factor level is absent).
    2. **"supported"** if the effect is of practical size on the predicted
       side (``s * effect >= d``), significant (``p_holm <= alpha``) and the
       interval clears 0 on that side: its bound nearest 0 is beyond 0
       (``ci_low > 0`` when ``s = +1``, ``ci_high < 0`` when ``s = -1``).
    3. **"contradicted"**: the same on the opposite side (``s * effect <=
       -d``, ``p_holm <= alpha``, the interval clears 0 on the opposite side).
    4. **"no effect"** (no effect of practical size: equivalence) if the
       whole interval and the effect lie strictly inside ``(-d, +d)`` and
       there are enough pairs for the test to reach ``alpha``
       (:func:`wilcoxon_min_p` ``(n_pairs) <= alpha``, i.e. ``n_pairs >= 6``
       at ``alpha = 0.05``). With a 95% interval this is the two one-sided
       tests (TOST) procedure at 2.5% per side. It counts against a claim
       that predicts an effect. Impossible when ``d = 0``.
    5. Everything else is **"inconclusive"**.

    The rule is sign-symmetric: mirroring the data (``effect -> -effect``,
    ``[ci_low, ci_high] -> [-ci_high, -ci_low]``) and the prediction
    (``s -> -s``) leaves the verdict unchanged.

    Both the test and the interval are required for an effect: the Wilcoxon
    test controls the family-wise error across claims but is two-sided and
    concerns the pseudo-median, while the interval gives the direction and is
    about the mean, the same quantity ``d`` is stated in. The percentile
    interval alone is too permissive with few units (see
    :func:`bootstrap_ci`). The equivalence outcome is decided per row at
    the interval's level, not Holm-adjusted; its error rate for a true
    effect exactly at ``+-d`` is measured in
    ``benchmarks/verdict_simulation.py``.

    Consequence for few units: the Wilcoxon p-value cannot go below
    ``2 / 2**n`` (:func:`wilcoxon_min_p`), so with ``n <= 5`` matched units --
    e.g. one dataset/depth cell with 3 seeds -- the verdict is always
    "inconclusive" at ``alpha = 0.05``, for an effect and, by rule 4, for
    its absence alike. Three seeds cannot establish a claim under
    family-wise control. Headline verdicts should therefore pool the matched
    units over the conditions the claim ranges over (``match_on`` includes
    dataset, initializer, width, depth and seed, so ``n`` is the number of
    cells times seeds); finer breakdowns are read through their effect and
    interval, with ``p_floor`` in :func:`score_table` showing when a
    decisive verdict was out of reach.

    Parameters
    ----------
    effect : float
        Mean paired difference ``a - b``.
    ci_low, ci_high : float
        Confidence interval of ``effect``; ``ci_low <= ci_high``.
    p_holm : float
        Holm-adjusted p-value, in [0, 1] or NaN (never significant).
    predicted_sign : {+1, -1}
        Sign of ``a - b`` the claim predicts.
    smallest_effect : float
        Smallest ``|effect|`` that counts, >= 0, in the units of the compared
        quantity.
    alpha : float, default 0.05
        Family-wise significance level.
    n_pairs : int
        Number of matched units behind the summary.
    min_pairs : int, default 3
        Fewer matched units than this means "not measured".

    Returns
    -------
    str
        One of :data:`VERDICTS`.

    Examples
    --------
    >>> verdict(0.5, 0.45, 0.55, 0.001, predicted_sign=1, smallest_effect=0.1,
    ...         n_pairs=30)
    'supported'
    >>> verdict(0.5, 0.45, 0.55, 0.001, predicted_sign=-1, smallest_effect=0.1,
    ...         n_pairs=30)
    'contradicted'
    >>> verdict(-0.5, -1.1, 0.1, 0.001, predicted_sign=-1, smallest_effect=0.1,
    ...         n_pairs=30)
    'inconclusive'
    >>> verdict(0.01, -0.05, 0.07, 0.6, predicted_sign=-1, smallest_effect=0.1,
    ...         n_pairs=30)
    'no effect'
    """
    _check_inputs(
        predicted_sign=predicted_sign,
        smallest_effect=smallest_effect,
        alpha=alpha,
        n_pairs=n_pairs,
        min_pairs=min_pairs,
        p_holm=p_holm,
    )
    summary = np.array([effect, ci_low, ci_high], dtype=np.float64)
    if n_pairs < min_pairs or np.isnan(summary).any():
        return NOT_MEASURED
    if ci_low > ci_high:
        raise ValueError(f"ci_low must be <= ci_high, got ({ci_low!r}, {ci_high!r})")
    # In the predicted direction: the interval's near and far bounds from 0.
    s = float(predicted_sign)
    toward = s * effect
    near, far = sorted((s * ci_low, s * ci_high))
    significant = p_holm <= alpha
    if significant and toward >= smallest_effect and near > 0:
        return SUPPORTED
    if significant and toward <= -smallest_effect and far < 0:
        return CONTRADICTED
    inside = -smallest_effect < near and far < smallest_effect
    if inside and abs(effect) < smallest_effect and wilcoxon_min_p(n_pairs) <= alpha:
        return NO_EFFECT
    return INCONCLUSIVE


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
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed=0,
) -> dict:
    """Summarise one paired comparison as one scorecard row.

    Runs :func:`paired_differences`, then :func:`bootstrap_ci`,
    :func:`wilcoxon_p` and :func:`effect_size` on the differences. The
    Holm adjustment and the verdict need every test of the scorecard, so
    they are left to :func:`score_table`.

    Parameters
    ----------
    df : pandas.DataFrame, shape (n_rows, n_columns)
        Tidy table, one row per observation.
    value, factor, a, b, match_on
        As in :func:`paired_differences`; the effect is ``a - b``.
    predicted_sign : {+1, -1}
        Sign of ``a - b`` the claim predicts.
    smallest_effect : float
        Smallest relevant ``|a - b|``, in the units of ``value``.
    n_resamples : int, default 10_000
        Bootstrap resamples.
    confidence : float, default 0.95
        Confidence level of the interval.
    seed : int or numpy.random.SeedSequence, default 0
        Seed of the bootstrap generator.

    Returns
    -------
    dict
        ``value``, ``factor``, ``a``, ``b``, ``predicted_sign``,
        ``smallest_effect`` (what was compared), ``n_pairs``,
        ``n_unmatched``, ``effect`` (mean paired difference), ``ci_low``,
        ``ci_high``, ``p_value`` (raw two-sided Wilcoxon) and
        ``effect_size_dz``. Numbers are NaN when fewer than 2 units match
        (with one warning).

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "seed": [0, 1, 2, 0, 1, 2],
    ...     "act": ["relu"] * 3 + ["sigmoid"] * 3,
    ...     "acc": [0.9, 0.8, 0.85, 0.7, 0.75, 0.7],
    ... })
    >>> row = compare(df, value="acc", factor="act", a="relu", b="sigmoid",
    ...               match_on=["seed"], predicted_sign=1, smallest_effect=0.01,
    ...               n_resamples=1000)
    >>> row["n_pairs"], round(row["effect"], 3), row["p_value"]
    (3, 0.133, 0.25)
    """
    _check_inputs(
        n_resamples=n_resamples,
        confidence=confidence,
        predicted_sign=predicted_sign,
        smallest_effect=smallest_effect,
    )
    paired = paired_differences(
        df, value=value, factor=factor, a=a, b=b, match_on=match_on
    )
    x = paired["diff"].to_numpy(dtype=np.float64)
    if x.size < 2:
        warnings.warn(
            f"{value}: {a!r} vs {b!r} has {x.size} matched unit(s) on "
            f"{list(match_on)}; the comparison is not measured",
            RuntimeWarning,
            stacklevel=2,
        )
    ci_low, ci_high = _bootstrap_ci(x, n_resamples, confidence, seed)
    return {
        "value": value,
        "factor": factor,
        "a": a,
        "b": b,
        "predicted_sign": int(predicted_sign),
        "smallest_effect": float(smallest_effect),
        "n_pairs": int(x.size),
        "n_unmatched": int(paired.attrs["n_unmatched"]),
        "effect": float(np.mean(x)) if x.size else math.nan,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "p_value": _wilcoxon_p(x),
        "effect_size_dz": _effect_size(x),
    }


def score_table(
    rows: Iterable[Mapping] | pd.DataFrame,
    *,
    alpha: float = 0.05,
    min_pairs: int = 3,
) -> pd.DataFrame:
    """Adjust every row's p-value for multiplicity and decide its verdict.

    Holm's adjustment (:func:`holm`) runs over all rows at once: the rows
    passed together are the family whose error rate is controlled, so pass
    the whole scorecard, not one claim at a time.

    Parameters
    ----------
    rows : iterable of dict or pandas.DataFrame, length n_rows
        Rows as returned by :func:`compare`; extra keys (e.g. ``claim``) are
        kept. Needs ``n_pairs``, ``effect``, ``ci_low``, ``ci_high``,
        ``p_value``, ``predicted_sign`` and ``smallest_effect``.
    alpha : float, default 0.05
        Family-wise significance level.
    min_pairs : int, default 3
        Fewer matched units than this means "not measured".

    Returns
    -------
    pandas.DataFrame, shape (n_rows, n_input_columns + 3)
        The rows plus ``p_holm``, ``p_floor`` (:func:`wilcoxon_min_p` of
        ``n_pairs``: when it exceeds ``alpha`` no decisive verdict was
        possible) and ``verdict`` (rule in :func:`verdict`).

    Examples
    --------
    >>> rows = [
    ...     {"claim": "C1", "n_pairs": 30, "effect": 0.5, "ci_low": 0.4,
    ...      "ci_high": 0.6, "p_value": 0.001, "predicted_sign": 1,
    ...      "smallest_effect": 0.1},
    ...     {"claim": "C9", "n_pairs": 3, "effect": 0.2, "ci_low": 0.1,
    ...      "ci_high": 0.3, "p_value": 0.25, "predicted_sign": 1,
    ...      "smallest_effect": 0.1},
    ... ]
    >>> score_table(rows)[["claim", "p_holm", "verdict"]].to_dict("list")
    {'claim': ['C1', 'C9'], 'p_holm': [0.002, 0.25], 'verdict': ['supported', 'inconclusive']}
    """  # noqa: E501
    _check_inputs(alpha=alpha, min_pairs=min_pairs)
    table = pd.DataFrame(rows).reset_index(drop=True)
    missing = [c for c in _ROW_COLUMNS if c not in table.columns]
    if missing and len(table):
        raise ValueError(f"rows lack the columns {missing}")
    for col in ("p_holm", "p_floor", "verdict"):
        if col in table.columns:
            raise ValueError(f"rows already have a {col!r} column")
    if not len(table):
        return table.assign(
            p_holm=pd.Series(dtype=np.float64),
            p_floor=pd.Series(dtype=np.float64),
            verdict=pd.Series(dtype=object),
        )
    p_holm = holm(table["p_value"].to_numpy(dtype=np.float64))
    table["p_holm"] = p_holm
    table["p_floor"] = [wilcoxon_min_p(int(n)) for n in table["n_pairs"]]
    table["verdict"] = [
        verdict(
            float(r.effect),
            float(r.ci_low),
            float(r.ci_high),
            float(p),
            predicted_sign=int(r.predicted_sign),
            smallest_effect=float(r.smallest_effect),
            alpha=alpha,
            n_pairs=int(r.n_pairs),
            min_pairs=min_pairs,
        )
        for r, p in zip(table.itertuples(index=False), p_holm, strict=True)
    ]
    return table

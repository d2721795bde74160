"""The decision rule: from paired summaries to the claims' verdicts.

- :data:`VERDICTS`     the verdict names
- :func:`verdict`      the decision rule (documented there)
- :func:`compare`      one comparison -> one scorecard row (a dict)
- :func:`score_table`  rows -> table with ``p_holm``, ``p_floor``, verdict
"""

from __future__ import annotations

import math
import warnings
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

VERDICTS = ("supported", "contradicted", "inconclusive", "not measured")

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
    """Decide a claim's verdict from its paired summary.

    The rule, applied in order (``s = predicted_sign``; ``effect`` is the mean
    paired difference ``a - b`` in the units of the compared quantity):

    1. **"not measured"** if ``n_pairs < min_pairs``, or any of ``effect``,
       ``ci_low``, ``ci_high`` is NaN (e.g. a factor level is absent).
    2. A result is *decisive* only if all of

       - ``|effect| >= smallest_effect`` (practically relevant), and
       - ``p_holm <= alpha`` (the two-sided Wilcoxon signed-rank p-value,
         Holm-adjusted over every test of the scorecard; a NaN ``p_holm``
         never counts as significant), and
       - the bootstrap interval excludes 0 on the same side as ``effect``.

    3. A decisive result is **"supported"** if that side is the predicted
       one (``s * ci_low > 0`` and ``s * effect > 0``) and **"contradicted"**
       if it is the opposite one (``s * ci_high < 0`` and ``s * effect < 0``).
    4. Everything else is **"inconclusive"**.

    Both the test and the interval are required: the Wilcoxon test controls
    the family-wise error across claims but is two-sided and concerns the
    pseudo-median, while the interval gives the direction and is about the
    mean, the same quantity ``smallest_effect`` is stated in. The percentile
    interval alone is too permissive with few units (see
    :func:`bootstrap_ci`).

    Consequence for few units: the Wilcoxon p-value cannot go below
    ``2 / 2**n`` (:func:`wilcoxon_min_p`), so with ``n <= 5`` matched units --
    e.g. one dataset/depth cell with 3 seeds -- the verdict is always
    "inconclusive" at ``alpha = 0.05``. This is deliberate: three seeds
    cannot establish a claim under family-wise control. Headline verdicts
    should therefore pool the matched units over the conditions the claim
    ranges over (``match_on`` includes dataset, initializer, width, depth
    and seed, so ``n`` is the number of cells times seeds); finer breakdowns
    are read through their effect and interval, with ``p_floor`` in
    :func:`score_table` showing when a decisive verdict was out of reach.

    Parameters
    ----------
    effect : float
        Mean paired difference ``a - b``.
    ci_low, ci_high : float
        Confidence interval of ``effect``; ``ci_low <= ci_high``.
    p_holm : float
        Holm-adjusted p-value, in [0, 1] or NaN.
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
    >>> verdict(0.5, 0.3, 0.7, 0.25, predicted_sign=1, smallest_effect=0.1,
    ...         n_pairs=3)
    'inconclusive'
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
        return "not measured"
    if ci_low > ci_high:
        raise ValueError(f"ci_low must be <= ci_high, got ({ci_low!r}, {ci_high!r})")
    s = float(predicted_sign)
    decisive = abs(effect) >= smallest_effect and p_holm <= alpha
    if decisive and s * ci_low > 0 and s * effect > 0:
        return "supported"
    if decisive and s * ci_high < 0 and s * effect < 0:
        return "contradicted"
    return "inconclusive"


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

"""How much the datasets disagree about one effect.

- :func:`heterogeneity`  condition means grouped by dataset -> I^2, between SD

Each dataset's estimate is the mean of its condition means. Cochran's Q
weighs each dataset by its number of conditions over the pooled
within-dataset variance of the condition means (a one-way analysis of
variance: ``Q = (k - 1) F``); ``I^2 = max(0, (Q - (k - 1)) / Q)`` is the
share of the spread between datasets beyond what the spread within them
explains (Higgins & Thompson 2002). Neither is a verdict: both are shown
beside one.
"""

from __future__ import annotations

import math

import numpy as np

from geoctx.stats._common import _check_values


def heterogeneity(means, datasets) -> dict[str, float]:
    """I^2 and the between-dataset SD of the per-dataset estimates.

    Parameters
    ----------
    means : array_like, shape (n_conditions,)
        One mean difference per condition.
    datasets : array_like, shape (n_conditions,)
        The dataset of each condition.

    Returns
    -------
    dict
        ``i2`` in [0, 1] (1 when the datasets differ and the conditions
        within each agree exactly; NaN with fewer than 2 datasets or no
        dataset with 2 conditions) and ``between_dataset_sd`` (SD, ``ddof=1``,
        of the per-dataset estimates; NaN with fewer than 2 datasets).

    Examples
    --------
    >>> out = heterogeneity([1.0, 1.2, 3.0, 3.2], ["a", "a", "b", "b"])
    >>> round(out["i2"], 4), round(out["between_dataset_sd"], 4)
    (0.995, 1.4142)
    >>> heterogeneity([1.0, 3.0, 1.0, 3.0], ["a", "a", "b", "b"])["i2"]
    0.0
    """
    x = _check_values(means, name="means")
    labels = np.asarray(datasets, dtype=object)
    if labels.shape != x.shape:
        raise ValueError(
            f"datasets must have one label per mean, got {labels.shape} for {x.shape}"
        )
    names = sorted(set(labels.tolist()), key=str)
    k = len(names)
    if k < 2:
        return {"i2": math.nan, "between_dataset_sd": math.nan}
    groups = [x[labels == name] for name in names]
    est = np.array([g.mean() for g in groups])
    sizes = np.array([g.size for g in groups], dtype=np.float64)
    between_sd = float(np.std(est, ddof=1))
    dof_within = x.size - k
    if dof_within < 1:
        return {"i2": math.nan, "between_dataset_sd": between_sd}
    within = sum(float(np.sum((g - g.mean()) ** 2)) for g in groups) / dof_within
    spread = float(np.sum(sizes * (est - np.average(est, weights=sizes)) ** 2))
    if within == 0.0:
        i2 = 1.0 if spread > 0 else 0.0
    else:
        q = spread / within
        i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    return {"i2": i2, "between_dataset_sd": between_sd}

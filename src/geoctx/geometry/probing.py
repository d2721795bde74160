"""Usable information: cross-validated linear-probe accuracy per layer."""

from __future__ import annotations

import numbers

import numpy as np
import sklearn
from numpy.typing import ArrayLike
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from geoctx.geometry._common import _check_inputs


def linear_probe_accuracy(
    H: ArrayLike,
    y: ArrayLike,
    *,
    folds: int = 5,
    seed: int = 0,
    max_iter: int = 1000,
) -> float:
    """Cross-validated accuracy of a linear probe on the layer's features.

    A scikit-learn pipeline of :class:`~sklearn.preprocessing.StandardScaler`
    and :class:`~sklearn.linear_model.LogisticRegression` (default L2
    penalty) is scored by :class:`~sklearn.model_selection.StratifiedKFold`
    with ``shuffle=True, random_state=seed``; every point is predicted once
    by the probe that did not see it and the fraction correct is returned.
    Points are put in a canonical order (by label, then features) before
    splitting, so the folds, and the result, do not depend on point order.

    Parameters
    ----------
    H : array-like of shape (n, d)
        Layer representation.
    y : array-like of shape (n,)
        Class labels, at least 2 classes with ``folds`` points each.
    folds : int, default=5
        Number of cross-validation folds, >= 2.
    seed : int, default=0
        Seed of the fold shuffle.
    max_iter : int, default=1000
        Iteration cap of the logistic regression solver.

    Returns
    -------
    float
        In [0, 1]. A constant ``H`` is well defined (the probe can only use
        its intercept and scores about the majority-class rate): no warning.

    Examples
    --------
    >>> H = np.repeat([[0.0], [1.0]], 10, axis=0)
    >>> linear_probe_accuracy(H, np.repeat(["cat", "dog"], 10))
    1.0
    """
    H, y = _check_inputs({"H": H}, y=y, min_points=2)
    if not isinstance(folds, numbers.Integral) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2, got {folds!r}")
    if not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    classes, counts = np.unique(y, return_counts=True)
    if classes.size < 2:
        only = classes.tolist()[0]
        raise ValueError(f"y has a single class ({only!r}); a probe needs 2")
    if counts.min() < folds:
        rare = classes.tolist()[np.argmin(counts)]
        raise ValueError(
            f"class {rare!r} has {counts.min()} point(s), fewer than folds={folds}"
        )
    order = np.lexsort((*H.T[::-1], y))
    H, y = H[order], y[order]
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = np.empty_like(y)
    # what cross_val_predict over make_pipeline(StandardScaler(),
    # LogisticRegression()) computes, fold by fold, without validating the
    # parameters (checked above) again for each fit: a deep model's layers
    # make a hundred fits
    with sklearn.config_context(skip_parameter_validation=True):
        for train, test in cv.split(H, y):
            scaler = StandardScaler().fit(H[train])
            probe = LogisticRegression(max_iter=max_iter)
            probe.fit(scaler.transform(H[train]), y[train])
            predicted[test] = probe.predict(scaler.transform(H[test]))
    return float(np.mean(predicted == y))

"""Global distance preservation: distance Spearman and distance contrast."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.distance import pdist
from scipy.stats import rankdata

from geoctx.geometry._common import _check_inputs, _degenerate


def _spearman_from_condensed(
    dx: np.ndarray, dh: np.ndarray, rank_x: np.ndarray | None = None
) -> float:
    """:func:`scipy.stats.spearmanr` ``(dx, dh).statistic``, computed as it
    does (average ranks, then :func:`numpy.corrcoef`), with the ranks of
    ``dx`` given if already known (``rankdata(dx)``) and no p-value."""
    if np.ptp(dx) == 0 or np.ptp(dh) == 0:
        return _degenerate("all pairwise distances are equal in X or H")
    if rank_x is None:
        rank_x = rankdata(dx)
    ranks = np.column_stack((rank_x, rankdata(dh)))
    return float(np.corrcoef(ranks, rowvar=False)[1, 0])


def distance_spearman(X: ArrayLike, H: ArrayLike) -> float:
    """Spearman correlation between input and layer pairwise distances.

    Rank correlation of the ``n (n - 1) / 2`` Euclidean distances
    (:func:`scipy.spatial.distance.pdist`): exactly
    :func:`scipy.stats.spearmanr` of them (ties get average ranks), whose
    arithmetic it repeats so that the input's ranks can be shared.

    Parameters
    ----------
    X : array-like of shape (n, d_in)
        Input representation.
    H : array-like of shape (n, d_layer)
        Layer representation of the same points, same order.

    Returns
    -------
    float
        In [-1, 1]; 1 when the layer orders all distances as the input does.
        NaN with a ``RuntimeWarning`` if all distances are equal in ``X`` or
        ``H`` (e.g. a constant representation).

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [3.0]])
    >>> distance_spearman(X, np.exp(X))
    1.0
    """
    X, H = _check_inputs({"X": X, "H": H}, min_points=3)
    return _spearman_from_condensed(pdist(X), pdist(H))


def _contrast_from_condensed(dh: np.ndarray) -> float:
    mean = dh.mean(dtype=np.float64)
    if mean == 0:
        return _degenerate("all points of H are identical")
    return float(dh.std(dtype=np.float64) / mean)


def distance_contrast(H: ArrayLike) -> float:
    """Coefficient of variation (std / mean) of the pairwise distances.

    Rank- and centring-based metrics can stay high while every distance is
    squeezed towards the same value; the contrast falls to 0 then. The
    population standard deviation (``ddof=0``) of the distances from
    :func:`scipy.spatial.distance.pdist` is used. Invariant to rotation,
    translation and scaling of ``H``.

    Parameters
    ----------
    H : array-like of shape (n, d)
        Representation, n >= 2.

    Returns
    -------
    float
        In [0, inf). NaN with a ``RuntimeWarning`` if all points coincide.

    Examples
    --------
    Three points on a line have distances 1, 1 and 2:

    >>> round(distance_contrast([[0.0], [1.0], [2.0]]), 6)  # 1 / (2 sqrt 2)
    0.353553
    """
    (H,) = _check_inputs({"H": H}, min_points=2)
    return _contrast_from_condensed(pdist(H))

"""Local neighbourhoods: k-NN overlap, trustworthiness and continuity.

Tied distances give fractional neighbour membership (see the package
docstring), so every metric is a function of the point set alone.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.distance import pdist

from geoctx.geometry._common import _check_inputs, _degenerate, _square


def _neighbour_weights(d: np.ndarray, k: int) -> np.ndarray:
    """Fractional membership of each point in each row's k nearest neighbours.

    ``d`` is a square distance matrix with ``+inf`` on the diagonal. Points
    strictly closer than the k-th smallest distance get 1; the ``m`` points
    tied at that distance share the ``s`` remaining places, ``s / m`` each,
    which is the membership probability under random tie-breaking. Each row
    sums to ``k``.
    """
    kth = np.partition(d, k - 1, axis=1)[:, k - 1 : k]
    closer = d < kth
    tied = d == kth
    share = (k - closer.sum(axis=1, keepdims=True)) / tied.sum(axis=1, keepdims=True)
    return np.where(closer, 1.0, np.where(tied, share, 0.0))


class _RankOrder(NamedTuple):
    """What :func:`_rank_penalty` needs of ``d_rank``: each row's sorted order
    and tie groups. It depends on ``d_rank`` and ``k`` only, so one serves
    every ``weights`` (the trustworthiness of every layer against one input).
    """

    order: np.ndarray  # argsort of each row
    first: np.ndarray  # first sorted position of each position's tie group
    last: np.ndarray  # last sorted position of each position's tie group
    offset: np.ndarray  # position - first
    excess: np.ndarray  # max(0, rank - k) of each position


def _rank_order(d_rank: np.ndarray, k: int) -> _RankOrder:
    n = d_rank.shape[0]
    order = np.argsort(d_rank, axis=1, kind="stable")
    dist = np.take_along_axis(d_rank, order, axis=1)
    pos = np.broadcast_to(np.arange(n), (n, n))
    # first/last: positions spanned by each point's tie group in its sorted row
    starts = np.ones((n, n), dtype=bool)
    starts[:, 1:] = dist[:, 1:] != dist[:, :-1]
    ends = np.ones((n, n), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, pos, n)[:, ::-1], axis=1)[:, ::-1]
    return _RankOrder(order, first, last, pos - first, np.maximum(0, pos + 1 - k))


def _rank_penalty(
    d_rank: np.ndarray, weights: np.ndarray, k: int, order: _RankOrder | None = None
) -> float:
    """Sum over rows of ``weight * max(0, rank - k)``, ranks taken in ``d_rank``.

    Within a group of points tied in ``d_rank`` the group's neighbour mass is
    given the group's best ranks, so that ties present in both spaces (an
    isometry) are never penalised. Without ties this is exactly the
    trustworthiness penalty of Venna & Kaski. ``order`` is
    ``_rank_order(d_rank, k)``, if already known.
    """
    if order is None:
        order = _rank_order(d_rank, k)
    w = np.take_along_axis(weights, order.order, axis=1)
    # the neighbour weight in each tie group, poured into the group's best ranks
    cum = np.cumsum(w, axis=1)
    before = cum - w
    mass = np.take_along_axis(cum, order.last, axis=1) - np.take_along_axis(
        before, order.first, axis=1
    )
    filled = np.clip(mass - order.offset, 0.0, 1.0)
    return float(np.sum(filled * order.excess, dtype=np.float64))


def _knn_overlap_from_weights(wx: np.ndarray, wh: np.ndarray, k: int) -> float:
    return float(np.minimum(wx, wh).sum(dtype=np.float64) / (wx.shape[0] * k))


def _trust_from_penalty(penalty: float, n: int, k: int) -> float:
    return 1.0 - penalty * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))


def knn_overlap(X: ArrayLike, H: ArrayLike, *, n_neighbors: int = 10) -> float:
    """Mean fraction of each point's n_neighbors nearest neighbours kept by the layer.

    ``|N_X(i) ∩ N_H(i)| / n_neighbors`` averaged over points, where ``N(i)`` are the
    ``n_neighbors`` nearest other points in Euclidean distance
    (:func:`scipy.spatial.distance.pdist`). Points tied with the n_neighbors-th
    neighbour share the remaining places fractionally and the intersection of
    these fractional sets is taken with ``min``; without ties this is the
    usual count. So inputs glued together by a layer (duplicate rows of
    ``H``) are neighbours at chance level, never by point order.

    Parameters
    ----------
    X : array-like of shape (n, d_in)
        Input representation.
    H : array-like of shape (n, d_layer)
        Layer representation of the same points, same order.
    n_neighbors : int, default=10
        Neighbourhood size, ``1 <= n_neighbors < n``.

    Returns
    -------
    float
        In [0, 1]; 1 when every neighbourhood is kept. NaN with a
        ``RuntimeWarning`` if all points of ``X`` or ``H`` coincide.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> knn_overlap(X, 2 * X, n_neighbors=1)
    1.0
    """
    X, H = _check_inputs({"X": X, "H": H}, min_points=2, n_neighbors=n_neighbors)
    dx, dh = pdist(X), pdist(H)
    if not dx.any() or not dh.any():
        return _degenerate("all points of X or H are identical")
    return _knn_overlap_from_weights(
        _neighbour_weights(_square(dx), n_neighbors),
        _neighbour_weights(_square(dh), n_neighbors),
        n_neighbors,
    )


def trustworthiness(X: ArrayLike, H: ArrayLike, *, n_neighbors: int = 10) -> float:
    """Trustworthiness of the layer's neighbourhoods (Venna & Kaski 2001).

    Penalises points that are among a point's ``k = n_neighbors`` nearest
    neighbours in ``H`` but not in ``X``, in proportion to their rank in ``X``:
    ``1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in N_H(i)} max(0, r_X(i, j) - k)``.
    Without tied distances this equals
    :func:`sklearn.manifold.trustworthiness` ``(X, H, n_neighbors=n_neighbors)``; the
    computation here is vectorised numpy on distances from
    :func:`scipy.spatial.distance.pdist` so they can be shared. Tied
    distances in ``H`` give fractional membership in ``N_H(i)`` (the
    probability under random tie-breaking); the neighbour mass inside a group
    of points tied in ``X`` takes the group's best ranks, so ties shared by
    both spaces cost nothing.

    Parameters
    ----------
    X : array-like of shape (n, d_in)
        Input representation.
    H : array-like of shape (n, d_layer)
        Layer representation of the same points, same order.
    n_neighbors : int, default=10
        Neighbourhood size, ``1 <= n_neighbors < n / 2`` (needed for the normalisation
        to keep the value in [0, 1]).

    Returns
    -------
    float
        In [0, 1]; 1 when no false neighbours appear, about 0.5 for a random
        map. NaN with a ``RuntimeWarning`` if all points of ``X`` or ``H``
        coincide.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0], [15.0]])
    >>> trustworthiness(X, -X, n_neighbors=1)
    1.0
    """
    X, H = _check_inputs(
        {"X": X, "H": H},
        min_points=3,
        n_neighbors=n_neighbors,
        neighbors_below_half=True,
    )
    dx, dh = pdist(X), pdist(H)
    if not dx.any() or not dh.any():
        return _degenerate("all points of X or H are identical")
    penalty = _rank_penalty(
        _square(dx), _neighbour_weights(_square(dh), n_neighbors), n_neighbors
    )
    return _trust_from_penalty(penalty, X.shape[0], n_neighbors)


def continuity(X: ArrayLike, H: ArrayLike, *, n_neighbors: int = 10) -> float:
    """Continuity of the layer's neighbourhoods (Venna & Kaski 2006).

    Trustworthiness with the roles swapped: penalises input neighbours that
    the layer moves away, in proportion to their rank in ``H``.
    ``continuity(X, H) == trustworthiness(H, X)`` exactly, ties included.

    Parameters
    ----------
    X : array-like of shape (n, d_in)
        Input representation.
    H : array-like of shape (n, d_layer)
        Layer representation of the same points, same order.
    n_neighbors : int, default=10
        Neighbourhood size, ``1 <= n_neighbors < n / 2``.

    Returns
    -------
    float
        In [0, 1]; 1 when every input neighbourhood stays together. NaN with
        a ``RuntimeWarning`` if all points of ``X`` or ``H`` coincide.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0], [15.0]])
    >>> continuity(X, X**3, n_neighbors=2)
    1.0
    """
    return trustworthiness(H, X, n_neighbors=n_neighbors)

"""Every per-layer representation metric at once, sharing distance work."""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.distance import pdist
from scipy.stats import rankdata

from geoctx.config import LAYER_METRICS
from geoctx.geometry._common import _check_inputs, _degenerate, _square
from geoctx.geometry.dimension import (
    _DISCARD_FRACTION,
    _twonn_from_radii,
    effective_rank,
)
from geoctx.geometry.distances import _contrast_from_condensed, _spearman_from_condensed
from geoctx.geometry.neighbourhoods import (
    _knn_overlap_from_weights,
    _neighbour_weights,
    _rank_order,
    _rank_penalty,
    _RankOrder,
    _trust_from_penalty,
)
from geoctx.geometry.probing import linear_probe_accuracy
from geoctx.geometry.similarity import linear_cka
from geoctx.geometry.topology import MAX_POINTS, betti_numbers_per_class
from geoctx.recent import Recent


class _Input(NamedTuple):
    """What every layer's metrics need of the input ``X``, computed once."""

    dx: np.ndarray  # condensed pairwise distances
    rank_dx: np.ndarray  # their average ranks
    sx: np.ndarray | None  # square distances, None if all points coincide
    wx: np.ndarray | None  # k-nearest-neighbour weights
    order_x: _RankOrder | None  # sorted rows of sx, for trustworthiness


#: The latest input's :class:`_Input`, keyed by its bytes and ``k``: a model's
#: layers are all measured against the same input, one after the other.
_LATEST_INPUT = Recent(1)


def _input(X: np.ndarray, n_neighbors: int) -> _Input:
    key = (X.shape, X.dtype.str, n_neighbors, hashlib.blake2b(X.tobytes()).digest())
    if key not in _LATEST_INPUT:
        dx = pdist(X)
        sx = _square(dx) if dx.any() else None
        found = _Input(
            dx,
            rankdata(dx),
            sx,
            None if sx is None else _neighbour_weights(sx, n_neighbors),
            None if sx is None else _rank_order(sx, n_neighbors),
        )
        shared = [found.dx, found.rank_dx, found.sx, found.wx, *(found.order_x or ())]
        for array in shared:
            if array is not None:
                array.setflags(write=False)
        _LATEST_INPUT[key] = found
    return _LATEST_INPUT[key]


def _summed_betti(
    H: ArrayLike, y: ArrayLike, *, max_points: int = MAX_POINTS
) -> tuple[int, int]:
    per_class = betti_numbers_per_class(H, y, max_points=max_points)
    b0, b1 = np.sum(list(per_class.values()), axis=0)
    return int(b0), int(b1)


def all_metrics(
    X: ArrayLike,
    H: ArrayLike,
    y: ArrayLike,
    *,
    n_neighbors: int = 10,
    betti_max_points: int = MAX_POINTS,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """Every per-layer representation metric, sharing distance computations.

    Computes the pairwise distances of ``X`` and ``H`` once
    (:func:`scipy.spatial.distance.pdist`) and derives the distance, neighbour
    and TwoNN metrics from them; the other metrics call the public functions,
    and each value equals the one its own function returns. What depends on
    ``X`` alone (its distances, their ranks, its neighbours and their order)
    is kept for the next call with the same ``X`` and ``n_neighbors``, as when every
    layer of a model is measured against its input.

    Parameters
    ----------
    X : array-like of shape (n, d_in)
        Input representation.
    H : array-like of shape (n, d_layer)
        Layer representation of the same points, same order.
    y : array-like of shape (n,)
        Class labels (for the per-class Betti numbers and the linear probe).
    n_neighbors : int, default=10
        Neighbourhood size of :func:`~geoctx.geometry.knn_overlap`,
        :func:`~geoctx.geometry.trustworthiness` and
        :func:`~geoctx.geometry.continuity`, ``1 <= n_neighbors < n / 2``.
    betti_max_points : int, default=MAX_POINTS (150)
        Subsample size per class for :func:`~geoctx.geometry.betti_numbers_per_class`.
    folds, seed : int
        Passed to :func:`~geoctx.geometry.linear_probe_accuracy`.

    Returns
    -------
    dict of str to float
        Keys in the order of :data:`geoctx.config.LAYER_METRICS`:
        ``distance_spearman``,
        ``distance_contrast``, ``knn_overlap``, ``trustworthiness``,
        ``continuity``, ``linear_cka``, ``twonn_dimension``,
        ``effective_rank``, ``betti_0``, ``betti_1`` (sums over classes of
        :func:`~geoctx.geometry.betti_numbers_per_class`) and ``linear_probe_accuracy``.
        Degenerate input gives NaN entries with ``RuntimeWarning``, as the
        individual functions do.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2))
    >>> scores = all_metrics(X, np.tanh(X @ rng.normal(size=(2, 8))), X[:, 0] > 0)
    >>> scores["trustworthiness"] > 0.9
    True
    """
    X, H, y = _check_inputs(
        {"X": X, "H": H},
        y=y,
        min_points=3,
        n_neighbors=n_neighbors,
        neighbors_below_half=True,
    )
    n = X.shape[0]
    given = _input(X, n_neighbors)
    dx, dh = given.dx, pdist(H)
    results = {
        "distance_spearman": _spearman_from_condensed(dx, dh, given.rank_dx),
        "distance_contrast": _contrast_from_condensed(dh),
    }
    sx, wx = given.sx, given.wx
    sh = _square(dh) if dh.any() else None
    if sx is not None and sh is not None:
        wh = _neighbour_weights(sh, n_neighbors)
        results["knn_overlap"] = _knn_overlap_from_weights(wx, wh, n_neighbors)
        results["trustworthiness"] = _trust_from_penalty(
            _rank_penalty(sx, wh, n_neighbors, given.order_x), n, n_neighbors
        )
        results["continuity"] = _trust_from_penalty(
            _rank_penalty(sh, wx, n_neighbors), n, n_neighbors
        )
    else:
        nan = _degenerate("all points of X or H are identical")
        results.update(knn_overlap=nan, trustworthiness=nan, continuity=nan)
    results["linear_cka"] = linear_cka(X, H)
    _, first = np.unique(H, axis=0, return_index=True)
    if first.size >= 3:
        radii = np.partition(sh[np.ix_(first, first)], 1, axis=1)[:, :2]
        radii.sort(axis=1)
        results["twonn_dimension"] = _twonn_from_radii(
            radii[:, 0], radii[:, 1], _DISCARD_FRACTION
        )
    else:
        results["twonn_dimension"] = _degenerate(
            f"H has {first.size} distinct point(s), TwoNN needs 3"
        )
    results["effective_rank"] = effective_rank(H)
    b0, b1 = _summed_betti(H, y, max_points=betti_max_points)
    results["betti_0"], results["betti_1"] = float(b0), float(b1)
    results["linear_probe_accuracy"] = linear_probe_accuracy(
        H, y, folds=folds, seed=seed
    )
    return {name: results[name] for name in LAYER_METRICS}

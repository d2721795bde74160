"""Topology: Betti numbers from persistent homology (Naitzat et al. 2020)."""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike
from ripser import ripser
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path
from scipy.spatial.distance import pdist

from geoctx.geometry._common import _check_inputs, _square

#: Default subsample size per point cloud (ripser's cost grows quickly with it).
MAX_POINTS = 150


def _farthest_point_indices(points: np.ndarray, m: int) -> np.ndarray:
    """Greedy farthest-point sample of ``m`` rows from row 0, in index order."""
    n = points.shape[0]
    if n <= m:
        return np.arange(n)
    chosen = np.empty(m, dtype=np.intp)
    chosen[0] = 0
    gap = np.linalg.norm(points - points[0], axis=1)
    for i in range(1, m):
        chosen[i] = j = int(np.argmax(gap))
        np.minimum(gap, np.linalg.norm(points - points[j], axis=1), out=gap)
    return np.sort(chosen)


def _betti_of_cloud(
    points: np.ndarray,
    *,
    max_points: int,
    graph_neighbors: int,
    scale: int,
    rng: np.random.Generator | None,
) -> tuple[int, int]:
    # np.unique sorts rows, so everything below depends on the point set only.
    unique = np.unique(points, axis=0)
    if rng is None:
        idx = _farthest_point_indices(unique, max_points)
    else:
        size = min(max_points, unique.shape[0])
        idx = np.sort(rng.choice(unique.shape[0], size=size, replace=False))
    sample = unique[idx]
    m = sample.shape[0]
    if m == 1:
        return 1, 0
    d = _square(pdist(sample))
    kk = min(graph_neighbors, m - 1)
    nearest = np.argpartition(d, kk - 1, axis=1)[:, :kk]
    adjacency = np.zeros((m, m), dtype=bool)
    adjacency[np.arange(m)[:, None], nearest] = True
    adjacency |= adjacency.T
    hops = shortest_path(csr_matrix(adjacency), unweighted=True, directed=False)
    diagrams = ripser(hops, distance_matrix=True, maxdim=1, thresh=scale)["dgms"]
    b0, b1 = (
        int(np.count_nonzero((dgm[:, 0] <= scale) & (dgm[:, 1] > scale)))
        for dgm in diagrams
    )
    return b0, b1


def _check_betti_options(
    max_points: int, graph_neighbors: int, scale: int, subsample: str, rng: object
) -> np.random.Generator | None:
    for name, value in (
        ("max_points", max_points),
        ("graph_neighbors", graph_neighbors),
    ):
        if not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(scale, numbers.Integral) or scale < 1:
        raise ValueError(
            f"scale must be a positive number of graph hops, got {scale!r}"
        )
    if subsample == "farthest":
        return None
    if subsample == "random":
        if rng is None:
            raise ValueError("subsample='random' needs rng (a Generator or a seed)")
        return np.random.default_rng(rng)
    raise ValueError(f"subsample must be 'farthest' or 'random', got {subsample!r}")


def betti_numbers(
    H: ArrayLike,
    *,
    max_points: int = MAX_POINTS,
    graph_neighbors: int = 14,
    scale: int = 2,
    subsample: str = "farthest",
    rng: np.random.Generator | int | None = None,
) -> tuple[int, int]:
    """Betti-0 and Betti-1 of a point cloud at a fixed, density-adaptive scale.

    In the spirit of Naitzat, Zhitnikov & Lim (2020), who count bars of the
    Vietoris–Rips persistent homology of a k-nearest-neighbour graph metric
    at one fixed scale:

    1. duplicate rows are removed and at most ``max_points`` points are kept
       by greedy farthest-point sampling from the lexicographically smallest
       point (deterministic and independent of point order), or uniformly at
       random with ``rng`` if ``subsample="random"``;
    2. the symmetrised ``graph_neighbors``-nearest-neighbour graph is built and
       its unit-weight shortest-path (hop) distances computed with
       :func:`scipy.sparse.csgraph.shortest_path`;
    3. :func:`ripser.ripser` computes the Vietoris–Rips persistence of that
       hop metric up to ``scale`` and the bars alive at ``scale``
       (``birth <= scale < death``) are counted.

    Being built from neighbour ranks, the scale adapts to the sampling
    density (an outlier is linked to its neighbours, not counted as a
    component) and the result does not change when ``H`` is scaled,
    rotated or translated, exactly so when no subsampling is needed (a
    rotation can move the farthest-point start). A loop is seen when
    roughly ``3 * graph_neighbors`` or more sample points lie along it; fewer,
    and it is filled in. Two pieces count as one component as soon as one
    point's ``graph_neighbors`` nearest neighbours reach across.

    Parameters
    ----------
    H : array-like of shape (n, d)
        Point cloud, n >= 1.
    max_points : int, default=MAX_POINTS (150)
        Subsample size (ripser's cost grows quickly with it).
    graph_neighbors : int, default=14
        Neighbours per point in the graph (capped at the number of distinct
        points minus one).
    scale : int, default=2
        Filtration value, in graph hops, at which bars are counted.
    subsample : {"farthest", "random"}, default="farthest"
        How to choose the subsample when there are more than ``max_points``
        distinct points.
    rng : numpy.random.Generator or int, optional
        Source of randomness for ``subsample="random"`` (required then,
        unused otherwise).

    Returns
    -------
    tuple of int
        ``(b0, b1)``: connected components and independent loops. A constant
        ``H`` is one point, ``(1, 0)``: no warning, it is well defined.

    Examples
    --------
    >>> t = np.linspace(0, 2 * np.pi, 100, endpoint=False)
    >>> betti_numbers(np.c_[np.cos(t), np.sin(t)])
    (1, 1)
    """
    (H,) = _check_inputs({"H": H}, min_points=1)
    generator = _check_betti_options(max_points, graph_neighbors, scale, subsample, rng)
    return _betti_of_cloud(
        H,
        max_points=max_points,
        graph_neighbors=graph_neighbors,
        scale=scale,
        rng=generator,
    )


def betti_numbers_per_class(
    H: ArrayLike,
    y: ArrayLike,
    *,
    max_points: int = MAX_POINTS,
    graph_neighbors: int = 14,
    scale: int = 2,
    subsample: str = "farthest",
    rng: np.random.Generator | int | None = None,
) -> dict[object, tuple[int, int]]:
    """Betti numbers of each class's points, as in Naitzat et al. (2020).

    Applies :func:`betti_numbers` to ``H[y == c]`` for every class ``c`` in
    sorted order (each class is subsampled to ``max_points`` separately;
    with ``subsample="random"`` one generator is used for all classes in
    that order). :func:`geoctx.geometry.all_metrics` reports the sums over classes.

    Parameters
    ----------
    H : array-like of shape (n, d)
        Representation.
    y : array-like of shape (n,)
        Class labels.
    max_points, graph_neighbors, scale, subsample, rng
        As in :func:`betti_numbers`.

    Returns
    -------
    dict
        Class label (a Python scalar) -> ``(b0, b1)``.

    Examples
    --------
    >>> t = np.linspace(0, 2 * np.pi, 100, endpoint=False)
    >>> ring = np.c_[np.cos(t), np.sin(t)]
    >>> betti_numbers_per_class(np.r_[ring, 0.3 * ring], np.repeat([0, 1], 100))
    {0: (1, 1), 1: (1, 1)}
    """
    H, y = _check_inputs({"H": H}, y=y, min_points=1)
    generator = _check_betti_options(max_points, graph_neighbors, scale, subsample, rng)
    return {
        label: _betti_of_cloud(
            H[y == label],
            max_points=max_points,
            graph_neighbors=graph_neighbors,
            scale=scale,
            rng=generator,
        )
        for label in np.unique(y).tolist()
    }

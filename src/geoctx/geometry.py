"""Geometry of a layer's representation compared with the input.

Every function is pure: arrays in, numbers out, nothing persisted. ``X`` of
shape ``(n, d_in)`` is the input representation and ``H`` of shape
``(n, d_layer)`` a layer's representation of the *same* ``n`` points in the
*same* order. The heavy lifting is done by maintained libraries (scipy,
scikit-learn, ripser); each docstring says which.

Naming: the study's convention is that ``*_score`` is higher-is-better and
``*_error``/``*_loss`` lower-is-better. The names here are fixed by the study
design and carry no suffix, so each docstring states what is returned and its
range. In short:

=============================  ================  ==============================
function                       range             reading
=============================  ================  ==============================
``distance_spearman``          [-1, 1]           higher: global distances kept
``distance_contrast``          [0, inf)          near 0: distances concentrated
``knn_overlap``                [0, 1]            higher: neighbourhoods kept
``trustworthiness``            [0, 1]            higher: no false neighbours
``continuity``                 [0, 1]            higher: no torn neighbourhoods
``linear_cka``                 [0, 1]            higher: similar to the input
``twonn_dimension``            (0, inf)          intrinsic dimension
``effective_rank``             [1, min(n-1, d)]  number of used directions
``betti_numbers``              ints              components (>= 1), loops
``trajectory_length_ratio``    [0, inf)          > 1 stretches, < 1 contracts
``jacobian_spectrum``          dict              0 and 1 for an isometry
``linear_probe_accuracy``      [0, 1]            higher: labels linearly decodable
=============================  ================  ==============================

Validation happens at the boundary: bad input (wrong number of dimensions,
mismatched ``n``, NaN/inf, too few points, ``k`` too large, ...) raises
``ValueError`` naming the bad value. Degenerate but valid input (a constant
representation, all points identical) emits a ``RuntimeWarning`` and returns
NaN; the docstrings list the exceptions (Betti numbers and the linear probe
are well defined on a constant representation).

Distances tie when a layer maps several inputs to the same vector (dead ReLU
regions, saturated sigmoids). The neighbourhood metrics then use fractional
neighbour membership instead of breaking ties by point order, so that every
metric is a function of the point set alone: permuting the points never
changes a result.

:func:`all_metrics` computes every per-layer metric at once, sharing the
pairwise distance matrices; :data:`METRICS` maps the same names to
single-metric callables.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike
from ripser import ripser
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = [
    "METRICS",
    "all_metrics",
    "betti_numbers",
    "betti_numbers_per_class",
    "continuity",
    "distance_contrast",
    "distance_spearman",
    "effective_rank",
    "input_circle",
    "jacobian_spectrum",
    "knn_overlap",
    "linear_cka",
    "linear_probe_accuracy",
    "trajectory_length_ratio",
    "trustworthiness",
    "twonn_dimension",
]


# ---------------------------------------------------------------------------
# validation and degenerate input
# ---------------------------------------------------------------------------


def _check_inputs(
    arrays: Mapping[str, ArrayLike],
    *,
    ndim: int = 2,
    min_points: int = 1,
    y: ArrayLike | None = None,
    k: int | None = None,
    k_below_half: bool = False,
) -> list[np.ndarray]:
    """Validate arrays that describe the same points; return them as float64.

    Each array must have ``ndim`` dimensions, at least one column, the same
    number of rows ``n >= min_points`` as the others and only finite values.
    ``y``, when given, must be one label per point and is appended to the
    result. ``k``, when given, must be an integer with ``1 <= k < n`` (or
    ``k < n / 2`` if ``k_below_half``).
    """
    checked = []
    n = None
    first = None
    for name, value in arrays.items():
        a = np.asarray(value, dtype=np.float64)
        if a.ndim != ndim:
            raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
        if a.size == 0 or 0 in a.shape[1:]:
            raise ValueError(f"{name} is empty (shape {a.shape})")
        if n is None:
            n, first = a.shape[0], name
        elif a.shape[0] != n:
            raise ValueError(
                f"{name} has {a.shape[0]} points but {first} has {n}; "
                "they must describe the same points in the same order"
            )
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        if bad:
            raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")
        checked.append(a)
    if n < min_points:
        raise ValueError(f"{first} has {n} point(s); at least {min_points} needed")
    if k is not None:
        if not isinstance(k, numbers.Integral) or isinstance(k, bool):
            raise ValueError(f"k must be an integer, got {k!r}")
        limit = (n - 1) / 2 if k_below_half else n - 1
        if not 1 <= k <= limit:
            rule = "k < n/2" if k_below_half else "k < n"
            raise ValueError(
                f"k={k} is out of range for n={n} points (need 1 <= {rule})"
            )
    if y is not None:
        labels = np.asarray(y)
        if labels.ndim != 1 or labels.shape[0] != n:
            raise ValueError(
                f"y must be 1-D with one label per point ({n}), got shape "
                f"{labels.shape}"
            )
        if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
            raise ValueError("y contains NaN or infinite labels")
        checked.append(labels)
    return checked


def _degenerate(message: str) -> float:
    warnings.warn(f"{message}; returning NaN", RuntimeWarning, stacklevel=3)
    return float("nan")


def _is_constant(a: np.ndarray) -> bool:
    """True if all rows of ``a`` are identical (zero spread in every column)."""
    return not np.any(a != a[0])


def _square(condensed: np.ndarray) -> np.ndarray:
    """Square distance matrix with ``+inf`` on the diagonal (excludes self)."""
    d = squareform(condensed)
    np.fill_diagonal(d, np.inf)
    return d


# ---------------------------------------------------------------------------
# global distance preservation
# ---------------------------------------------------------------------------


def _spearman_from_condensed(dx: np.ndarray, dh: np.ndarray) -> float:
    if np.ptp(dx) == 0 or np.ptp(dh) == 0:
        return _degenerate("all pairwise distances are equal in X or H")
    return float(spearmanr(dx, dh).statistic)


def distance_spearman(X: ArrayLike, H: ArrayLike) -> float:
    """Spearman correlation between input and layer pairwise distances.

    Rank correlation of the ``n (n - 1) / 2`` Euclidean distances, computed
    with :func:`scipy.spatial.distance.pdist` and
    :func:`scipy.stats.spearmanr` (ties get average ranks).

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


# ---------------------------------------------------------------------------
# local neighbourhoods
# ---------------------------------------------------------------------------


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


def _rank_penalty(d_rank: np.ndarray, weights: np.ndarray, k: int) -> float:
    """Sum over rows of ``weight * max(0, rank - k)``, ranks taken in ``d_rank``.

    Within a group of points tied in ``d_rank`` the group's neighbour mass is
    given the group's best ranks, so that ties present in both spaces (an
    isometry) are never penalised. Without ties this is exactly the
    trustworthiness penalty of Venna & Kaski.
    """
    n = d_rank.shape[0]
    order = np.argsort(d_rank, axis=1, kind="stable")
    dist = np.take_along_axis(d_rank, order, axis=1)
    w = np.take_along_axis(weights, order, axis=1)
    pos = np.broadcast_to(np.arange(n), (n, n))
    # first/last: positions spanned by each point's tie group in its sorted row;
    # mass: the neighbour weight in that group, poured into its best ranks.
    starts = np.ones((n, n), dtype=bool)
    starts[:, 1:] = dist[:, 1:] != dist[:, :-1]
    ends = np.ones((n, n), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, pos, n)[:, ::-1], axis=1)[:, ::-1]
    cum = np.cumsum(w, axis=1)
    before = cum - w
    mass = np.take_along_axis(cum, last, axis=1) - np.take_along_axis(
        before, first, axis=1
    )
    filled = np.clip(mass - (pos - first), 0.0, 1.0)
    excess = np.maximum(0, pos + 1 - k)
    return float(np.sum(filled * excess, dtype=np.float64))


def _knn_overlap_from_weights(wx: np.ndarray, wh: np.ndarray, k: int) -> float:
    return float(np.minimum(wx, wh).sum(dtype=np.float64) / (wx.shape[0] * k))


def _trust_from_penalty(penalty: float, n: int, k: int) -> float:
    return 1.0 - penalty * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))


def knn_overlap(X: ArrayLike, H: ArrayLike, *, k: int = 10) -> float:
    """Mean fraction of each point's k nearest neighbours kept by the layer.

    ``|N_X(i) ∩ N_H(i)| / k`` averaged over points, where ``N(i)`` are the
    ``k`` nearest other points in Euclidean distance
    (:func:`scipy.spatial.distance.pdist`). Points tied with the k-th
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
    k : int, default=10
        Neighbourhood size, ``1 <= k < n``.

    Returns
    -------
    float
        In [0, 1]; 1 when every neighbourhood is kept. NaN with a
        ``RuntimeWarning`` if all points of ``X`` or ``H`` coincide.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> knn_overlap(X, 2 * X, k=1)
    1.0
    """
    X, H = _check_inputs({"X": X, "H": H}, min_points=2, k=k)
    dx, dh = pdist(X), pdist(H)
    if not dx.any() or not dh.any():
        return _degenerate("all points of X or H are identical")
    return _knn_overlap_from_weights(
        _neighbour_weights(_square(dx), k), _neighbour_weights(_square(dh), k), k
    )


def trustworthiness(X: ArrayLike, H: ArrayLike, *, k: int = 10) -> float:
    """Trustworthiness of the layer's neighbourhoods (Venna & Kaski 2001).

    Penalises points that are among a point's ``k`` nearest neighbours in
    ``H`` but not in ``X``, in proportion to their rank in ``X``:
    ``1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in N_H(i)} max(0, r_X(i, j) - k)``.
    Without tied distances this equals
    :func:`sklearn.manifold.trustworthiness` ``(X, H, n_neighbors=k)``; the
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
    k : int, default=10
        Neighbourhood size, ``1 <= k < n / 2`` (needed for the normalisation
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
    >>> trustworthiness(X, -X, k=1)
    1.0
    """
    X, H = _check_inputs({"X": X, "H": H}, min_points=3, k=k, k_below_half=True)
    dx, dh = pdist(X), pdist(H)
    if not dx.any() or not dh.any():
        return _degenerate("all points of X or H are identical")
    penalty = _rank_penalty(_square(dx), _neighbour_weights(_square(dh), k), k)
    return _trust_from_penalty(penalty, X.shape[0], k)


def continuity(X: ArrayLike, H: ArrayLike, *, k: int = 10) -> float:
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
    k : int, default=10
        Neighbourhood size, ``1 <= k < n / 2``.

    Returns
    -------
    float
        In [0, 1]; 1 when every input neighbourhood stays together. NaN with
        a ``RuntimeWarning`` if all points of ``X`` or ``H`` coincide.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0], [15.0]])
    >>> continuity(X, X**3, k=2)
    1.0
    """
    return trustworthiness(H, X, k=k)


# ---------------------------------------------------------------------------
# representational similarity, dimension and rank
# ---------------------------------------------------------------------------


def _linear_cka_centred(xc: np.ndarray, hc: np.ndarray) -> float:
    n, dx = xc.shape
    dh = hc.shape[1]
    if dx * dx + dh * dh + dx * dh <= n * (dx + dh):
        num = np.sum((hc.T @ xc) ** 2)
        den = np.linalg.norm(xc.T @ xc) * np.linalg.norm(hc.T @ hc)
    else:
        kx, kh = xc @ xc.T, hc @ hc.T
        num = np.sum(kx * kh)
        den = np.linalg.norm(kx) * np.linalg.norm(kh)
    return float(np.clip(num / den, 0.0, 1.0))


def linear_cka(X: ArrayLike, H: ArrayLike) -> float:
    """Linear centred kernel alignment (Kornblith et al. 2019).

    ``||Hc^T Xc||_F^2 / (||Xc^T Xc||_F ||Hc^T Hc||_F)`` on column-centred
    data, or the equal Gram-matrix form ``<Kx, Kh>_F / (||Kx||_F ||Kh||_F)``
    with ``K = Ac Ac^T`` when that is cheaper (many features, few points).
    Plain numpy (BLAS) matrix products in float64. Symmetric, invariant to
    orthogonal transforms, isotropic scaling and translation of either input.

    Parameters
    ----------
    X : array-like of shape (n, d_in)
        Input representation.
    H : array-like of shape (n, d_layer)
        Layer representation of the same points, same order.

    Returns
    -------
    float
        In [0, 1]; 1 when ``H`` is ``X`` up to rotation and scale. NaN with a
        ``RuntimeWarning`` if ``X`` or ``H`` is constant.

    Examples
    --------
    For one feature each, CKA is the squared Pearson correlation:

    >>> round(linear_cka([[0.0], [1.0], [2.0], [3.0]], [[0.0], [1.0], [3.0], [2.0]]), 6)
    0.64
    """
    X, H = _check_inputs({"X": X, "H": H}, min_points=2)
    if _is_constant(X) or _is_constant(H):
        return _degenerate("X or H is constant")
    return _linear_cka_centred(X - X.mean(axis=0), H - H.mean(axis=0))


# Facco et al. (2017) discard the largest 10% of the ratios mu.
_DISCARD_FRACTION = 0.1


def _twonn_from_radii(r1: np.ndarray, r2: np.ndarray, discard_fraction: float) -> float:
    n = r1.shape[0]
    log_mu = np.sort(np.log(r2 / r1))
    keep = min(int(np.floor(n * (1.0 - discard_fraction))), n - 1)
    x = log_mu[:keep]
    y = -np.log1p(-np.arange(1, keep + 1) / n)
    sxx = np.dot(x, x)
    if sxx == 0:
        return _degenerate("every point's two nearest neighbours are equidistant")
    return float(np.dot(x, y) / sxx)


def twonn_dimension(
    H: ArrayLike, *, discard_fraction: float = _DISCARD_FRACTION
) -> float:
    """TwoNN intrinsic dimension (Facco et al. 2017).

    Duplicate rows are removed first (dead or saturated units create them and
    would make a first-neighbour distance zero). For each remaining point
    ``mu = r2 / r1``, the ratio of its second to first nearest-neighbour
    distance (exact neighbours from :class:`sklearn.neighbors.NearestNeighbors`).
    With the ``mu`` sorted and the empirical CDF ``F_i = i / N``, the
    dimension is the least-squares slope through the origin of
    ``-log(1 - F_i)`` against ``log(mu_i)`` after discarding the largest
    ``discard_fraction`` of the ``mu`` (the paper's linear-fit variant, not
    the maximum-likelihood one); the largest ``mu`` (``F = 1``) is always
    discarded.

    Parameters
    ----------
    H : array-like of shape (n, d)
        Representation, n >= 3.
    discard_fraction : float, default=0.1
        Fraction of the largest ``mu`` left out of the fit, in [0, 1).

    Returns
    -------
    float
        In (0, inf). NaN with a ``RuntimeWarning`` if fewer than 3 distinct
        points remain or every ``mu`` is 1 (e.g. a perfect lattice).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> plane = rng.normal(size=(2000, 2)) @ rng.normal(size=(2, 10))
    >>> round(twonn_dimension(plane))
    2
    """
    (H,) = _check_inputs({"H": H}, min_points=3)
    if not 0.0 <= discard_fraction < 1.0:
        raise ValueError(f"discard_fraction={discard_fraction!r} must be in [0, 1)")
    unique = np.unique(H, axis=0)
    if unique.shape[0] < 3:
        return _degenerate(f"H has {unique.shape[0]} distinct point(s), TwoNN needs 3")
    dist, _ = NearestNeighbors(n_neighbors=2).fit(unique).kneighbors()
    return _twonn_from_radii(dist[:, 0], dist[:, 1], discard_fraction)


def effective_rank(H: ArrayLike) -> float:
    """Effective rank (Roy & Vetterli 2007) of the column-centred ``H``.

    ``exp(-sum_i p_i log p_i)`` with ``p_i = s_i / sum_j s_j`` the normalised
    singular values (:func:`numpy.linalg.svd`, LAPACK) of ``H - mean(H)``.
    Centring keeps a shared offset (sigmoid's 0.5 mean) from counting as a
    direction of variation. Invariant to rotation, translation and scaling.

    Parameters
    ----------
    H : array-like of shape (n, d)
        Representation, n >= 2.

    Returns
    -------
    float
        In [1, min(n - 1, d)]; equals ``r`` when the centred ``H`` has ``r``
        equal non-zero singular values. NaN with a ``RuntimeWarning`` if
        ``H`` is constant.

    Examples
    --------
    >>> H = np.vstack([np.eye(3), -np.eye(3)])  # centred, 3 equal singular values
    >>> round(effective_rank(H), 6)
    3.0
    """
    (H,) = _check_inputs({"H": H}, min_points=2)
    if _is_constant(H):
        return _degenerate("H is constant")
    s = np.linalg.svd(H - H.mean(axis=0), compute_uv=False)
    p = s[s > 0] / s.sum(dtype=np.float64)
    return float(np.exp(-np.sum(p * np.log(p))))


# ---------------------------------------------------------------------------
# topology
# ---------------------------------------------------------------------------


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
    n_neighbors: int,
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
    kk = min(n_neighbors, m - 1)
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
    max_points: int, n_neighbors: int, scale: int, subsample: str, rng: object
) -> np.random.Generator | None:
    for name, value in (("max_points", max_points), ("n_neighbors", n_neighbors)):
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
    max_points: int = 300,
    n_neighbors: int = 14,
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
    2. the symmetrised ``n_neighbors``-nearest-neighbour graph is built and
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
    roughly ``3 * n_neighbors`` or more sample points lie along it; fewer,
    and it is filled in. Two pieces count as one component as soon as one
    point's ``n_neighbors`` nearest neighbours reach across.

    Parameters
    ----------
    H : array-like of shape (n, d)
        Point cloud, n >= 1.
    max_points : int, default=300
        Subsample size (ripser's cost grows quickly with it).
    n_neighbors : int, default=14
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
    generator = _check_betti_options(max_points, n_neighbors, scale, subsample, rng)
    return _betti_of_cloud(
        H, max_points=max_points, n_neighbors=n_neighbors, scale=scale, rng=generator
    )


def betti_numbers_per_class(
    H: ArrayLike,
    y: ArrayLike,
    *,
    max_points: int = 300,
    n_neighbors: int = 14,
    scale: int = 2,
    subsample: str = "farthest",
    rng: np.random.Generator | int | None = None,
) -> dict[object, tuple[int, int]]:
    """Betti numbers of each class's points, as in Naitzat et al. (2020).

    Applies :func:`betti_numbers` to ``H[y == c]`` for every class ``c`` in
    sorted order (each class is subsampled to ``max_points`` separately;
    with ``subsample="random"`` one generator is used for all classes in
    that order). :func:`all_metrics` reports the sums over classes.

    Parameters
    ----------
    H : array-like of shape (n, d)
        Representation.
    y : array-like of shape (n,)
        Class labels.
    max_points, n_neighbors, scale, subsample, rng
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
    generator = _check_betti_options(max_points, n_neighbors, scale, subsample, rng)
    return {
        label: _betti_of_cloud(
            H[y == label],
            max_points=max_points,
            n_neighbors=n_neighbors,
            scale=scale,
            rng=generator,
        )
        for label in np.unique(y).tolist()
    }


# ---------------------------------------------------------------------------
# trajectory length and local isometry
# ---------------------------------------------------------------------------


def _closed_length(curve: np.ndarray) -> float:
    steps = np.roll(curve, -1, axis=0) - curve
    return float(np.sum(np.linalg.norm(steps, axis=1), dtype=np.float64))


def trajectory_length_ratio(curve_in: ArrayLike, curve_layer: ArrayLike) -> float:
    """Length of a closed curve in the layer over its length in the input.

    Raghu et al. (2017) track how the length of an input trajectory grows
    with depth. Both curves are closed polylines through the same ``m``
    points in order, including the segment from the last point back to the
    first. Pure numpy.

    Parameters
    ----------
    curve_in : array-like of shape (m, d_in)
        Curve in input space, e.g. from :func:`input_circle`.
    curve_layer : array-like of shape (m, d_layer)
        The same curve mapped through the network to a layer.

    Returns
    -------
    float
        In [0, inf); > 1 when the layer stretches the curve. NaN with a
        ``RuntimeWarning`` if the input curve has zero length.

    Examples
    --------
    >>> square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    >>> trajectory_length_ratio(square, 3 * square)
    3.0
    """
    curve_in, curve_layer = _check_inputs(
        {"curve_in": curve_in, "curve_layer": curve_layer}, min_points=2
    )
    length_in = _closed_length(curve_in)
    if length_in == 0:
        return _degenerate("curve_in has zero length")
    return _closed_length(curve_layer) / length_in


def input_circle(X: ArrayLike, *, n_points: int = 200) -> np.ndarray:
    """A circle in the data's top-2 principal plane, to map through a network.

    Centred at the mean of ``X``, in the plane of its first two principal
    axes (:func:`numpy.linalg.svd` of the centred data), with radius equal
    to the (population) standard deviation of ``X`` along the first
    principal axis. The ``n_points`` points are equally spaced, starting on
    the first axis and turning towards the second (each axis signed so its
    largest-magnitude component is positive); the last point does not
    repeat the first: :func:`trajectory_length_ratio` closes the curve.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Input data, d >= 2.
    n_points : int, default=200
        Points on the circle, >= 3.

    Returns
    -------
    numpy.ndarray of shape (n_points, d)
        The circle. If ``X`` is constant the radius is 0 (with a
        ``RuntimeWarning``) and the ratio computed from it will be NaN.

    Examples
    --------
    >>> X = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    >>> circle = input_circle(X, n_points=4)
    >>> np.round(circle, 6) + 0.0
    array([[ 1.414214,  0.      ],
           [ 0.      ,  1.414214],
           [-1.414214,  0.      ],
           [ 0.      , -1.414214]])
    """
    (X,) = _check_inputs({"X": X}, min_points=1)
    if X.shape[1] < 2:
        raise ValueError(
            f"X must have at least 2 features for a plane, got {X.shape[1]}"
        )
    if not isinstance(n_points, numbers.Integral) or n_points < 3:
        raise ValueError(f"n_points must be an integer >= 3, got {n_points!r}")
    mean = X.mean(axis=0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    radius = s[0] / np.sqrt(X.shape[0])
    if _is_constant(X):
        warnings.warn("X is constant; the circle has radius 0", RuntimeWarning, 2)
        radius = 0.0
    angle = 2.0 * np.pi * np.arange(n_points) / n_points
    # Fix the SVD's sign freedom (as sklearn's svd_flip) so the orientation
    # of the circle is reproducible.
    plane = vt[:2] if vt.shape[0] >= 2 else np.eye(2, X.shape[1])
    plane = (
        plane * np.sign(plane[np.arange(2), np.argmax(np.abs(plane), axis=1)])[:, None]
    )
    return mean + radius * (np.c_[np.cos(angle), np.sin(angle)] @ plane)


def jacobian_spectrum(J: ArrayLike) -> dict[str, float]:
    """Singular-value summary of input-to-layer Jacobians (local isometry).

    For each point the singular values of its Jacobian are computed with
    :func:`numpy.linalg.svd` (batched LAPACK). Only the numerically non-zero
    part of the spectrum is used, as in :func:`numpy.linalg.matrix_rank`:
    singular values above ``s_max * max(d_layer, d_in) * eps`` (``eps`` of
    the input's floating dtype, so float32 Jacobians from autodiff get
    float32 tolerance). Directions the layer annihilates (dead ReLU paths)
    would otherwise make the log mean ``-inf`` and the condition number
    infinite; the dead-unit fraction reports them instead. Points whose
    Jacobian is numerically zero are skipped.

    Parameters
    ----------
    J : array-like of shape (n, d_layer, d_in)
        Jacobian of the layer with respect to the input at each of n points.

    Returns
    -------
    dict
        ``"jacobian_log_sv_mean"``: mean over points of the mean natural log
        of the non-zero singular values (0 for an isometry, < 0 contracts).
        ``"jacobian_condition"``: median over points of ``s_max / s_min``
        over the non-zero singular values (>= 1; 1 for a conformal map). Both
        NaN with a ``RuntimeWarning`` if every Jacobian is zero.

    Examples
    --------
    >>> jacobian_spectrum(np.tile(np.diag([2.0, 1.0]), (5, 1, 1)))
    {'jacobian_log_sv_mean': 0.34657359027997264, 'jacobian_condition': 2.0}
    """
    raw = np.asarray(J)
    dtype = raw.dtype if np.issubdtype(raw.dtype, np.floating) else np.float64
    (J,) = _check_inputs({"J": raw}, ndim=3, min_points=1)
    s = np.linalg.svd(J, compute_uv=False)
    keep = s > s[:, :1] * max(J.shape[1:]) * np.finfo(dtype).eps
    rank = keep.sum(axis=1)
    alive = rank > 0
    if not alive.any():
        nan = _degenerate("every Jacobian is zero")
        return {"jacobian_log_sv_mean": nan, "jacobian_condition": nan}
    log_s = np.where(keep, np.log(np.where(keep, s, 1.0)), 0.0)
    smallest = np.where(keep, s, np.inf).min(axis=1)
    return {
        "jacobian_log_sv_mean": float(np.mean(log_s.sum(axis=1)[alive] / rank[alive])),
        "jacobian_condition": float(np.median(s[alive, 0] / smallest[alive])),
    }


# ---------------------------------------------------------------------------
# usable information
# ---------------------------------------------------------------------------


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
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(probe, H, y, cv=cv)
    return float(np.mean(predicted == y))


# ---------------------------------------------------------------------------
# every per-layer metric at once
# ---------------------------------------------------------------------------


def _summed_betti(
    H: ArrayLike, y: ArrayLike, *, max_points: int = 300
) -> tuple[int, int]:
    per_class = betti_numbers_per_class(H, y, max_points=max_points)
    b0, b1 = np.sum(list(per_class.values()), axis=0)
    return int(b0), int(b1)


MetricFunction = Callable[..., float]

METRICS: Mapping[str, MetricFunction] = MappingProxyType(
    {
        "distance_spearman": lambda X, H, y, *, k=10: distance_spearman(X, H),
        "distance_contrast": lambda X, H, y, *, k=10: distance_contrast(H),
        "knn_overlap": lambda X, H, y, *, k=10: knn_overlap(X, H, k=k),
        "trustworthiness": lambda X, H, y, *, k=10: trustworthiness(X, H, k=k),
        "continuity": lambda X, H, y, *, k=10: continuity(X, H, k=k),
        "linear_cka": lambda X, H, y, *, k=10: linear_cka(X, H),
        "twonn_dimension": lambda X, H, y, *, k=10: twonn_dimension(H),
        "effective_rank": lambda X, H, y, *, k=10: effective_rank(H),
        "betti_0": lambda X, H, y, *, k=10: float(_summed_betti(H, y)[0]),
        "betti_1": lambda X, H, y, *, k=10: float(_summed_betti(H, y)[1]),
        "linear_probe_accuracy": lambda X, H, y, *, k=10: linear_probe_accuracy(H, y),
    }
)
"""Per-layer metrics by name: ``METRICS[name](X, H, y, *, k=10) -> float``.

The keys are the keys of :func:`all_metrics`, which computes the same values
faster by sharing work. Betti numbers are summed over classes. Trajectory
length and the Jacobian spectrum are not here: they need the model.
"""


def all_metrics(
    X: ArrayLike,
    H: ArrayLike,
    y: ArrayLike,
    *,
    k: int = 10,
    max_points: int = 300,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """Every per-layer representation metric, sharing distance computations.

    Computes the pairwise distances of ``X`` and ``H`` once
    (:func:`scipy.spatial.distance.pdist`) and derives the distance, neighbour
    and TwoNN metrics from them; the other metrics call the public functions.
    Values equal ``METRICS[name](X, H, y, k=k)`` at default options.

    Parameters
    ----------
    X : array-like of shape (n, d_in)
        Input representation.
    H : array-like of shape (n, d_layer)
        Layer representation of the same points, same order.
    y : array-like of shape (n,)
        Class labels (for the per-class Betti numbers and the linear probe).
    k : int, default=10
        Neighbourhood size of :func:`knn_overlap`, :func:`trustworthiness`
        and :func:`continuity`, ``1 <= k < n / 2``.
    max_points : int, default=300
        Subsample size per class for :func:`betti_numbers_per_class`.
    folds, seed : int
        Passed to :func:`linear_probe_accuracy`.

    Returns
    -------
    dict of str to float
        Keys in the order of :data:`METRICS`: ``distance_spearman``,
        ``distance_contrast``, ``knn_overlap``, ``trustworthiness``,
        ``continuity``, ``linear_cka``, ``twonn_dimension``,
        ``effective_rank``, ``betti_0``, ``betti_1`` (sums over classes of
        :func:`betti_numbers_per_class`) and ``linear_probe_accuracy``.
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
    X, H, y = _check_inputs({"X": X, "H": H}, y=y, min_points=3, k=k, k_below_half=True)
    n = X.shape[0]
    dx, dh = pdist(X), pdist(H)
    results = {
        "distance_spearman": _spearman_from_condensed(dx, dh),
        "distance_contrast": _contrast_from_condensed(dh),
    }
    sx = _square(dx) if dx.any() else None
    sh = _square(dh) if dh.any() else None
    if sx is not None and sh is not None:
        wx, wh = _neighbour_weights(sx, k), _neighbour_weights(sh, k)
        results["knn_overlap"] = _knn_overlap_from_weights(wx, wh, k)
        results["trustworthiness"] = _trust_from_penalty(_rank_penalty(sx, wh, k), n, k)
        results["continuity"] = _trust_from_penalty(_rank_penalty(sh, wx, k), n, k)
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
    b0, b1 = _summed_betti(H, y, max_points=max_points)
    results["betti_0"], results["betti_1"] = float(b0), float(b1)
    results["linear_probe_accuracy"] = linear_probe_accuracy(
        H, y, folds=folds, seed=seed
    )
    return results

"""Dimension and rank: TwoNN intrinsic dimension and effective rank."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.neighbors import NearestNeighbors

from geoctx.geometry._common import _check_inputs, _degenerate, _is_constant

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

"""Representational similarity: linear CKA with the input."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from geoctx.geometry._common import _check_inputs, _degenerate, _is_constant


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

"""Multiplicity control: Holm-Bonferroni adjusted p-values."""

from __future__ import annotations

import numpy as np

from geoctx.stats._common import _check_values


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, family-wise error control).

    With the ``m`` non-NaN p-values sorted ascending, ``p_(1) <= ... <= p_(m)``,
    the adjusted value of the ``i``-th is
    ``max_{j <= i} min(1, (m - j + 1) * p_(j))``, returned in the input order.
    This is the formula of ``statsmodels.stats.multitest.multipletests(...,
    method="holm")``. NaNs stay NaN and do not count towards ``m``. Reject a
    hypothesis at family-wise level ``alpha`` iff its adjusted p <= alpha.

    Parameters
    ----------
    p_values : array_like, shape (m_total,)
        Raw p-values in [0, 1], NaN allowed.

    Returns
    -------
    numpy.ndarray of float64, shape (m_total,)
        Adjusted p-values, each >= its raw value and <= 1.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, 0.005]).round(4).tolist()
    [0.03, 0.06, 0.06, 0.02]
    """
    p = _check_values(p_values, name="p_values", nan_ok=True, unit_interval=True)
    return _holm(p[None, :])[0]


def _holm(p: np.ndarray) -> np.ndarray:
    """:func:`holm` on each row of ``p`` (shape ``(n_families, m_total)``),
    one family per row."""
    order = np.argsort(p, axis=-1, kind="stable")  # NaN last
    ranked = np.take_along_axis(p, order, axis=-1)
    m = np.count_nonzero(~np.isnan(p), axis=-1)[:, None]
    scaled = ranked * (m - np.arange(p.shape[-1]))
    adjusted = np.minimum(1.0, np.fmax.accumulate(scaled, axis=-1))
    adjusted[np.isnan(ranked)] = np.nan
    out = np.empty_like(adjusted)
    np.put_along_axis(out, order, adjusted, axis=-1)
    return out

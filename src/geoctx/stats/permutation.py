"""Sign-flip permutation tests on condition means.

- :func:`sign_flip_p`   one-sided p-value of "the mean exceeds ``shift``"
- :func:`sign_flip_two_sided`  two-sided p-value of "mean = 0"
- :func:`min_p`         the smallest one-sided p-value ``n`` conditions allow

These tests are a robustness column of the scorecard (``p_sign_flip``), not
the verdict's tests (:mod:`~geoctx.stats.ttests`): on ``n`` conditions an
exact sign-flip test cannot give a p-value below ``2**-n``, so under Holm's
correction over a family of tests it could not decide a row of few
conditions however large and consistent its effect.

Under the null hypothesis that the condition means are symmetric about
``shift``, every pattern of signs of ``x - shift`` is equally likely
(Fisher 1935; Good 2005, ch. 3). The p-value is the share of the ``2**n``
patterns whose mean reaches the observed one: exact (every pattern
enumerated) for up to :data:`EXACT_MAX` conditions, else from random sign
patterns plus the observed one (so it is never 0). The test works on the
condition means, so seeds of a condition count once.
"""

from __future__ import annotations

import math

import numpy as np

from geoctx.stats._common import _check_settings, _check_values

#: Up to this many conditions every sign pattern is enumerated.
EXACT_MAX = 16
# Random sign patterns beyond EXACT_MAX.
_N_RANDOM = 20_000


def _signs(n: int, rng) -> np.ndarray:
    if n <= EXACT_MAX:
        codes = np.arange(2**n, dtype=np.int64)[:, None]
        return 1.0 - 2.0 * ((codes >> np.arange(n)) & 1)
    random = rng.choice([-1.0, 1.0], size=(_N_RANDOM, n))
    return np.vstack([np.ones((1, n)), random])


def _greater(x: np.ndarray, shift: float, signs: np.ndarray) -> float:
    y = x - shift
    observed = y.mean()
    means = signs @ y / y.size
    # Sums of the same terms in another order may differ in the last bits.
    tol = 1e-12 * max(1.0, float(np.abs(y).max()))
    return float(np.mean(means >= observed - tol))


def sign_flip_p(means, *, shift: float = 0.0, seed=0) -> float:
    """One-sided sign-flip p-value of H0 "mean <= shift" against "mean > shift".

    Parameters
    ----------
    means : array_like, shape (n_conditions,)
        One value per condition; finite.
    shift : float, default 0.0
        The boundary of the null hypothesis.
    seed : int, default 0
        Seed of the random sign patterns (only above :data:`EXACT_MAX`).

    Returns
    -------
    float
        The p-value, at least :func:`min_p` ``(n)``; NaN for fewer than 2
        conditions.

    Examples
    --------
    >>> sign_flip_p([0.3, 0.1, 0.2])  # every sign positive: 1 of 8 patterns
    0.125
    >>> sign_flip_p([0.3, 0.1, 0.2], shift=0.25)
    0.875
    """
    x = _check_values(means, name="means")
    if x.size < 2:
        return math.nan
    return _greater(x, float(shift), _signs(x.size, np.random.default_rng(seed)))


def min_p(n_conditions: int) -> float:
    """Smallest one-sided p-value of the exact test on ``n`` conditions,
    ``2**-n`` (every sign agreeing); 1.0 below 2 conditions.

    >>> min_p(12)
    0.000244140625
    """
    _check_settings(n_pairs=n_conditions)
    n = int(n_conditions)
    return 1.0 if n < 2 else 2.0**-n if n <= EXACT_MAX else 1 / (_N_RANDOM + 1)


def sign_flip_two_sided(means, *, seed=0) -> float:
    """Two-sided sign-flip p-value of "mean = 0": twice the smaller one-sided
    p-value, capped at 1. A robustness check beside the t-test, which the
    verdict uses: it needs no normality but cannot go below ``2 * min_p(n)``.

    >>> sign_flip_two_sided([0.3, 0.1, 0.2])  # 2 x 1 of 8 patterns
    0.25
    """
    x = _check_values(means, name="means")
    if x.size < 2:
        return math.nan
    signs = _signs(x.size, np.random.default_rng(seed))
    return min(1.0, 2 * min(_greater(x, 0.0, signs), _greater(-x, 0.0, signs)))

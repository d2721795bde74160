"""One-sample t-tests on condition means: the tests of the decision rule.

- :func:`effect_tests`  the three one-sided tests of one row, and a two-sided one
- :func:`t_greater`     one-sided p-value of "the mean exceeds ``shift``"

Lakens, Scheel & Isager (2018, "Equivalence testing for psychological
research", AMPPS 1:259-269) test an effect against the smallest effect of
interest with t-tests: two one-sided tests (TOST) for equivalence, one for a
minimal effect. Here the sample is the condition means (seeds of a condition
are averaged first and count once), so the test has ``n - 1`` degrees of
freedom for ``n`` conditions. Unlike a permutation test it has no smallest
attainable p-value: a large effect that every condition agrees on gets a
small p at any number of conditions >= 2.

Every function works on the last axis of an array, so the simulation
(:mod:`~geoctx.stats.simulation`) scores thousands of rows in one call
through the same code as one scorecard row.

A sample with no spread (every condition mean equal) has standard error 0:
its mean is taken as known, so a one-sided p-value is 0 when the mean lies
strictly beyond ``shift`` and 1 otherwise (the limit of the t-test as the
spread shrinks).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from geoctx.stats._common import _check_settings, _check_values

#: The keys of :func:`effect_tests`, in order.
KEYS = ("p_supported", "p_contradicted", "p_no_effect", "p_value")


def _greater(y: np.ndarray, shift) -> np.ndarray:
    """One-sided t-test p-values of H0 "mean <= shift" along the last axis
    (at least 2 values)."""
    n = y.shape[-1]
    mean = y.mean(-1)
    sd = y.std(-1, ddof=1)
    shift = np.asarray(shift, dtype=np.float64)
    # ptp catches constant input exactly; std of equal floats can be ~1e-17.
    flat = np.ptp(y, axis=-1) == 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (mean - shift) / (sd / math.sqrt(n))
    p = special.stdtr(n - 1, -t)
    return np.where(flat, np.where(mean > shift, 0.0, 1.0), p)


def _tests(y: np.ndarray, d) -> dict[str, np.ndarray]:
    """The tests of :func:`effect_tests` along the last axis of ``y`` (the
    condition means on the predicted side's scale), ``d`` the smallest effect
    (a scalar or one per row)."""
    d = np.asarray(d, dtype=np.float64)
    above_d = _greater(y, d)
    below_minus_d = _greater(-y, d)
    tost = np.maximum(_greater(y, -d), _greater(-y, -d))
    zero = np.minimum(1.0, 2 * np.minimum(_greater(y, 0.0), _greater(-y, 0.0)))
    return dict(zip(KEYS, (above_d, below_minus_d, tost, zero), strict=True))


def t_greater(means, *, shift: float = 0.0) -> float:
    """One-sided one-sample t-test p-value of H0 "mean <= shift" against
    "mean > shift", on ``n - 1`` degrees of freedom.

    Equals ``scipy.stats.ttest_1samp(means, shift,
    alternative="greater").pvalue``; NaN for fewer than 2 values; for a
    sample with no spread, 0 if its mean exceeds ``shift`` and 1 otherwise.

    Examples
    --------
    >>> round(t_greater([1.0, 2.0, 3.0], shift=0.0), 4)  # t = 3.464 on 2 df
    0.0371
    >>> t_greater([0.5, 0.5, 0.5], shift=0.1), t_greater([0.5, 0.5], shift=0.5)
    (0.0, 1.0)
    """
    x = _check_values(means, name="means")
    if x.size < 2:
        return math.nan
    return float(_greater(x, float(shift)))


def effect_tests(means, *, predicted_sign: int, smallest_effect: float) -> dict:
    """The three one-sided t-tests behind a verdict (Lakens, Scheel & Isager
    2018), on condition means.

    With ``y = predicted_sign * means`` and ``d = smallest_effect``:

    - ``p_supported``: minimal-effect test of H0 "effect <= d" (on the
      predicted side);
    - ``p_contradicted``: minimal-effect test of H0 "effect >= -d" (an
      effect of practical size on the opposite side);
    - ``p_no_effect``: equivalence test (two one-sided tests, TOST) of H0
      "|effect| >= d": the larger of the tests of "effect <= -d" and
      "effect >= d";
    - ``p_value``: two-sided test of "effect = 0", for reference (that of
      ``scipy.stats.ttest_1samp``).

    Mirroring the data and the prediction (``means -> -means``,
    ``predicted_sign -> -predicted_sign``) leaves every p-value unchanged.
    NaN for fewer than 2 conditions.

    Examples
    --------
    >>> out = effect_tests([0.5, 0.4, 0.6, 0.5, 0.45, 0.55], predicted_sign=1,
    ...                    smallest_effect=0.1)
    >>> [f"{out[k]:.2g}" for k in ("p_supported", "p_contradicted", "p_no_effect")]
    ['1.8e-05', '1', '1']
    """
    _check_settings(predicted_sign=predicted_sign, smallest_effect=smallest_effect)
    x = _check_values(means, name="means")
    if x.size < 2:
        return dict.fromkeys(KEYS, math.nan)
    out = _tests(predicted_sign * x, float(smallest_effect))
    return {k: float(v) for k, v in out.items()}

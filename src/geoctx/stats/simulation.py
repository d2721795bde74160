"""Operating characteristics of the decision rule, by simulation.

- :data:`SCENARIOS`          the true effects the report's table shows
- :func:`simulate_verdicts`  families of simulated rows -> their verdicts
- :func:`error_rates`        the report's table: every verdict's rate per
                             scenario, at the study's own design
- :func:`design_of`          that design, read from a scorecard's deciding rows
- :func:`interval_coverage`  coverage and width of candidate intervals

A simulated row has ``n_conditions`` conditions of ``n_seeds`` seeds; the
paired difference of seed ``j`` of condition ``c`` is
``mu_c + sd_condition * u_c + sd_seed * e_cj`` with ``u``, ``e`` standard
normal or, with ``distribution="skewed"``, centred exponential (skewness 2).
Every row is scored by the scorecard's own code on its condition means: the
t-tests of :mod:`~geoctx.stats.ttests`, the studentized bootstrap interval of
:func:`~geoctx.stats.studentized_ci`, Holm's correction over the family's
``n_rows`` rows and the rule of :func:`~geoctx.stats.verdict` -- each on
arrays of every row of every family at once, so the report's table costs a
few seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from geoctx.stats.decision import (
    CONTRADICTED,
    NO_EFFECT,
    NOT_MEASURED,
    SUPPORTED,
    TESTS,
    VERDICTS,
    _decide,
)
from geoctx.stats.multiplicity import _holm
from geoctx.stats.resampling import _cluster_ci, _studentized
from geoctx.stats.ttests import _tests

#: Scenario name -> (true effect of the first row in units of d, or a
#: per-condition profile; the true effect of every other row; noise). The
#: first row is the one whose verdict rates are read; the others fill the
#: family. "2 of 12 at 3d": two conditions carry 3d, the rest 0.
SCENARIOS = {
    "null": (0.0, 0.0, "normal"),
    "null, skewed": (0.0, 0.0, "skewed"),
    "margin d (all rows)": (1.0, 1.0, "normal"),
    "margin d (all rows), skewed": (1.0, 1.0, "skewed"),
    "d": (1.0, 0.0, "normal"),
    "2d": (2.0, 0.0, "normal"),
    "3d": (3.0, 0.0, "normal"),
    "5d": (5.0, 0.0, "normal"),
    "10d": (10.0, 0.0, "normal"),
    "d, skewed": (1.0, 0.0, "skewed"),
    "2d, skewed": (2.0, 0.0, "skewed"),
    "5d, skewed": (5.0, 0.0, "skewed"),
    "10d, skewed": (10.0, 0.0, "skewed"),
    "-2d": (-2.0, 0.0, "normal"),
    "2 of the conditions at 3d": ("two_at_3d", 0.0, "normal"),
}


_FAMILY_WISE = ("any_false_supported", "any_false_contradicted", "any_false_no_effect")
_DESIGN = ("n_conditions", "n_seeds", "n_rows", "sd_condition", "sd_seed")


def _noise(rng, shape, distribution: str) -> np.ndarray:
    if distribution == "normal":
        return rng.standard_normal(shape)
    if distribution == "skewed":
        return rng.exponential(1.0, shape) - 1.0
    raise ValueError(f"distribution must be 'normal' or 'skewed', got {distribution!r}")


def _check_design(n_conditions, n_seeds, sd_condition, sd_seed) -> None:
    for name, v in (("n_conditions", n_conditions), ("n_seeds", n_seeds)):
        if not (isinstance(v, int) and v >= 1):
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    sds = (sd_condition, sd_seed)
    if not all(isinstance(s, int | float) and s >= 0 for s in sds) or not any(sds):
        raise ValueError(
            f"sd_condition and sd_seed must be >= 0 and not both 0, got {sds!r}"
        )


def _condition_means(rng, mu, n_families, n_seeds, sd_condition, sd_seed, dist):
    """Simulated condition means, shape ``(n_families, *mu.shape)``."""
    shape = (n_families, *mu.shape)
    shift = sd_condition * _noise(rng, shape, dist)
    seeds = sd_seed * _noise(rng, (*shape, n_seeds), dist).mean(-1)
    return mu + shift + seeds


def simulate_verdicts(
    effects: Sequence,
    *,
    predicted_signs: Sequence[int],
    n_families: int,
    n_conditions: int,
    n_seeds: int,
    sd_condition: float,
    sd_seed: float,
    smallest_effect: float,
    distribution: str = "normal",
    alpha: float = 0.05,
    min_pairs: int = 3,
    n_resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Verdicts of ``n_families`` simulated families of ``len(effects)`` rows.

    Parameters
    ----------
    effects : sequence, length m
        True effect of each row: a number (every condition) or a sequence
        of ``n_conditions`` numbers (one per condition).
    predicted_signs : sequence of {+1, -1}, length m
        The sign each row's claim predicts.
    n_families : int
        Independent families simulated.
    n_conditions, n_seeds : int
        The design: conditions per row, seeds per condition.
    sd_condition, sd_seed : float
        SD of the condition effect and of the seed noise, >= 0, not both 0.
    smallest_effect, alpha, min_pairs, n_resamples
        As in :func:`~geoctx.stats.compare` and
        :func:`~geoctx.stats.score_table`.
    distribution : {"normal", "skewed"}
        Shape of both noise terms.
    seed : int, default 0
        Seed of the data and of every bootstrap.

    Returns
    -------
    pandas.DataFrame, shape (n_families * m, ...)
        One scored row per family and item: ``family``, ``item`` (position
        in the family), ``true_effect`` (the mean over conditions of the
        true effect), the columns of :func:`~geoctx.stats.summarise` that
        the verdict reads, their Holm adjustment and ``verdict``.

    Examples
    --------
    >>> out = simulate_verdicts([0.5, 0.0], predicted_signs=[1, -1],
    ...                         n_families=2, n_conditions=12, n_seeds=3,
    ...                         sd_condition=0.02, sd_seed=0.02,
    ...                         smallest_effect=0.1, n_resamples=200)
    >>> out.groupby("true_effect").verdict.agg(set).to_dict()
    {0.0: {'no effect'}, 0.5: {'supported'}}
    """
    if len(effects) != len(predicted_signs):
        raise ValueError(
            f"effects and predicted_signs must have one length, got "
            f"{len(effects)} and {len(predicted_signs)}"
        )
    if not (isinstance(n_families, int) and n_families >= 1):
        raise ValueError(f"n_families must be an integer >= 1, got {n_families!r}")
    _check_design(n_conditions, n_seeds, sd_condition, sd_seed)
    mu = np.stack(
        [
            np.broadcast_to(np.asarray(e, dtype=np.float64), (n_conditions,))
            for e in effects
        ]
    )
    rng = np.random.default_rng(seed)
    means = _condition_means(
        rng, mu, n_families, n_seeds, sd_condition, sd_seed, distribution
    )
    m = len(effects)
    rows = means.reshape(n_families * m, n_conditions)
    sign = np.tile(np.asarray(predicted_signs, dtype=np.float64), n_families)
    measured = n_conditions >= 2 and n_conditions * n_seeds >= min_pairs
    out = pd.DataFrame(
        {
            "family": np.repeat(np.arange(n_families), m),
            "item": np.tile(np.arange(m), n_families),
            "true_effect": np.tile(mu.mean(-1), n_families),
            "n_pairs": n_conditions * n_seeds,
            "n_conditions": n_conditions,
            "effect": rows.mean(-1),
            "predicted_sign": sign.astype(np.int64),
            "smallest_effect": float(smallest_effect),
        }
    )
    if not measured:
        nan = dict.fromkeys(("ci_low", "ci_high", *TESTS), math.nan)
        return out.assign(**nan, verdict=NOT_MEASURED)
    low, high = _studentized(rows, n_resamples, 0.95, rng)
    tests = _tests(sign[:, None] * rows, smallest_effect)
    raw = np.stack([tests[t] for t in TESTS], axis=-1)
    adjusted = _holm(raw.reshape(n_families, m * len(TESTS))).reshape(raw.shape)
    verdicts = _decide(
        low,
        high,
        *adjusted.T,
        predicted_sign=sign,
        smallest_effect=smallest_effect,
        alpha=alpha,
    )
    return out.assign(
        ci_low=low,
        ci_high=high,
        **{t: raw[:, i] for i, t in enumerate(TESTS)},
        **{f"{t}_holm": adjusted[:, i] for i, t in enumerate(TESTS)},
        verdict=verdicts,
    )


def interval_coverage(
    *,
    n_conditions: int,
    n_seeds: int,
    sd_condition: float,
    sd_seed: float,
    distribution: str = "normal",
    n_samples: int = 1000,
    n_resamples: int = 1000,
    bca: bool = True,
    seed: int = 0,
) -> pd.DataFrame:
    """Coverage and mean width of 95% intervals of the mean of condition
    means on ``n_samples`` simulated rows with true effect 0: the t
    interval, the studentized bootstrap (the scorecard's) and, with
    ``bca``, the two-stage cluster BCa bootstrap (the previous rule's; one
    row at a time, so slow). One row per method.

    Examples
    --------
    >>> out = interval_coverage(n_conditions=12, n_seeds=3, sd_condition=1.0,
    ...                         sd_seed=1.0, n_samples=50, n_resamples=200, bca=False)
    >>> out.method.tolist()
    ['t', 'studentized bootstrap']
    """
    _check_design(n_conditions, n_seeds, sd_condition, sd_seed)
    rng = np.random.default_rng(seed)
    shape = (n_samples, n_conditions)
    shift = sd_condition * _noise(rng, shape, distribution)
    seeds = sd_seed * _noise(rng, (*shape, n_seeds), distribution)
    units = shift[..., None] + seeds
    means = units.mean(-1)
    centre = means.mean(-1)
    half = sps.t.ppf(0.975, n_conditions - 1) * sps.sem(means, axis=-1)
    intervals = {
        "t": (centre - half, centre + half),
        "studentized bootstrap": _studentized(means, n_resamples, 0.95, rng),
    }
    if bca:
        pairs = [
            _cluster_ci(list(u), n_resamples, 0.95, int(rng.integers(2**32)))
            for u in units
        ]
        intervals["cluster BCa"] = tuple(np.array(pairs).T)
    return pd.DataFrame(
        [
            {
                "method": name,
                "distribution": distribution,
                "n_conditions": n_conditions,
                "coverage": float(np.mean((low <= 0) & (high >= 0))),
                "width": float(np.mean(high - low)),
                "n_samples": n_samples,
            }
            for name, (low, high) in intervals.items()
        ]
    )


def _profile(spec, n_conditions: int):
    if spec == "two_at_3d":
        if n_conditions < 3:
            raise ValueError(
                f"the heterogeneous scenario needs >= 3 conditions, got {n_conditions}"
            )
        return [3.0, 3.0] + [0.0] * (n_conditions - 2)
    return spec


def error_rates(
    *,
    n_conditions: int,
    n_seeds: int,
    n_rows: int,
    sd_condition: float,
    sd_seed: float,
    n_families: int = 200,
    alpha: float = 0.05,
    min_pairs: int = 3,
    n_resamples: int = 500,
    scenarios: Sequence[str] = tuple(SCENARIOS),
    seed: int = 0,
) -> pd.DataFrame:
    """Every verdict's rate per scenario, at one design (d = 1, so
    ``sd_condition`` and ``sd_seed`` are in units of the smallest effect).

    For each scenario of :data:`SCENARIOS`, ``n_families`` families of
    ``n_rows`` rows are simulated; the first row carries the scenario's
    effect (predicted sign +1) and the others their filler effect. Returns
    one row per scenario: ``true_effect`` (in units of d), the rate of each
    verdict of :data:`~geoctx.stats.VERDICTS` for the first row,
    ``coverage`` (the share of its 95% intervals holding the true mean), and
    the
    family-wise rates ``any_false_supported``, ``any_false_contradicted``
    (some row whose true effect is at most d, resp. at least -d, got that
    verdict) and ``any_false_no_effect`` (some row whose true effect is at
    least d in size got "no effect").

    Examples
    --------
    >>> out = error_rates(n_conditions=12, n_seeds=3, n_rows=2, sd_condition=0.5,
    ...                   sd_seed=0.5, n_families=3, n_resamples=100,
    ...                   scenarios=["3d"])
    >>> out.loc[0, "scenario"], float(out.loc[0, "true_effect"])
    ('3d', 3.0)
    """
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise ValueError(f"scenarios {unknown} are not among {list(SCENARIOS)}")
    if not (isinstance(n_rows, int) and n_rows >= 1):
        raise ValueError(f"n_rows must be an integer >= 1, got {n_rows!r}")
    out = []
    for k, name in enumerate(scenarios):
        first, filler, distribution = SCENARIOS[name]
        effects = [_profile(first, n_conditions)] + [filler] * (n_rows - 1)
        rows = simulate_verdicts(
            effects,
            predicted_signs=[1] * n_rows,
            n_families=n_families,
            n_conditions=n_conditions,
            n_seeds=n_seeds,
            sd_condition=sd_condition,
            sd_seed=sd_seed,
            smallest_effect=1.0,
            distribution=distribution,
            alpha=alpha,
            min_pairs=min_pairs,
            n_resamples=n_resamples,
            seed=seed + k,
        )
        lead = rows[rows["item"] == 0]
        rates = lead["verdict"].value_counts(normalize=True)
        wrong = {
            "any_false_supported": (rows.true_effect <= 1.0)
            & (rows.verdict == SUPPORTED),
            "any_false_contradicted": (rows.true_effect >= -1.0)
            & (rows.verdict == CONTRADICTED),
            "any_false_no_effect": (rows.true_effect.abs() >= 1.0)
            & (rows.verdict == NO_EFFECT),
        }
        out.append(
            {
                "scenario": name,
                "true_effect": float(lead["true_effect"].iloc[0]),
                "distribution": distribution,
                **{v: float(rates.get(v, 0.0)) for v in VERDICTS},
                "coverage": float(
                    (
                        (lead.ci_low <= lead.true_effect)
                        & (lead.true_effect <= lead.ci_high)
                    ).mean()
                ),
                **{
                    key: float(hit.groupby(rows["family"]).any().mean())
                    for key, hit in wrong.items()
                },
                "n_families": n_families,
            }
        )
    return pd.DataFrame(out)


def design_of(rows: pd.DataFrame, *, icc: float = 0.75) -> dict:
    """The design of a scorecard's deciding family, for :func:`error_rates`.

    ``rows`` are the family's rows (columns ``n_pairs``, ``n_conditions``,
    ``effect``, ``effect_size`` or ``effect_size_dz``, ``smallest_effect``).
    The measured rows give ``n_rows``; their median ``n_conditions`` and
    ``n_pairs / n_conditions`` (rounded) give the conditions and seeds. The
    noise, in units of each row's smallest effect, is the median over rows
    of the SD of the condition means, ``|effect / d_z| / d`` (rows without
    spread left out), split between
    conditions and seeds by the intraclass correlation ``icc`` (the share
    of a seed's variance that its condition carries): ``sd_condition**2 +
    sd_seed**2 / n_seeds`` equals that SD squared. None when no row of the
    family is measured.

    Examples
    --------
    >>> rows = pd.DataFrame({"n_pairs": [36, 36], "n_conditions": [12, 12],
    ...     "effect": [0.02, -0.04], "effect_size": [1.0, -2.0],
    ...     "smallest_effect": [0.02, 0.02]})
    >>> design_of(rows, icc=1.0)
    {'n_conditions': 12, 'n_seeds': 3, 'n_rows': 2, 'sd_condition': 1.0, 'sd_seed': 0.0}
    """  # noqa: E501
    if not 0 < icc <= 1:
        raise ValueError(f"icc must lie in (0, 1], got {icc!r}")
    dz = rows["effect_size"] if "effect_size" in rows else rows["effect_size_dz"]
    measured = rows[(rows["n_conditions"] >= 2) & rows["effect"].notna()]
    if measured.empty:
        return None
    n_conditions = int(np.median(measured["n_conditions"]))
    n_seeds = max(
        1, round(float(np.median(measured["n_pairs"] / measured["n_conditions"])))
    )
    spread = (measured["effect"] / dz[measured.index]).abs() / measured[
        "smallest_effect"
    ]
    spread = spread[np.isfinite(spread) & (spread > 0)]
    sd_means = float(np.median(spread)) if len(spread) else 1.0
    # sd_means**2 = icc * t**2 + (1 - icc) * t**2 / n_seeds, t the seed-level SD
    total = sd_means / np.sqrt(icc + (1 - icc) / n_seeds)
    return {
        "n_conditions": n_conditions,
        "n_seeds": n_seeds,
        "n_rows": len(measured),
        "sd_condition": round(float(np.sqrt(icc) * total), 4),
        "sd_seed": round(float(np.sqrt(1 - icc) * total), 4),
    }


def study_error_rates(
    rows: pd.DataFrame, *, icc: float = 0.75, **options
) -> pd.DataFrame:
    """:func:`error_rates` at the design of a scorecard's deciding family
    (:func:`design_of`), with the design in columns of every row; empty
    when the family has no measured row. ``options`` go to
    :func:`error_rates`; by default every scenario of :data:`SCENARIOS` the
    design can carry (the heterogeneous one needs 3 conditions or more)."""
    design = design_of(rows, icc=icc)
    if design is not None and "scenarios" not in options:
        # a scenario the design cannot carry (2 of 2 conditions at 3d is not
        # heterogeneous) is left out, not an error: small studies are valid
        options["scenarios"] = [
            name
            for name, (first, _, _) in SCENARIOS.items()
            if first != "two_at_3d" or design["n_conditions"] >= 3
        ]
    if design is None:
        columns = ["scenario", "true_effect", "distribution", *VERDICTS, "coverage"]
        columns += [*_FAMILY_WISE, "n_families", *_DESIGN]
        return pd.DataFrame(columns=columns)
    return error_rates(**design, **options).assign(**design)

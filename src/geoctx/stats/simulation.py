"""Operating characteristics of the decision rule, by simulation.

- :func:`simulate_verdicts`  families of simulated comparisons -> their verdicts

Each simulated comparison has ``n_pairs`` paired differences drawn from
``Normal(true_effect, sd)`` and goes through the real path: a tidy table,
:func:`~geoctx.stats.compare`, then :func:`~geoctx.stats.score_table` over
the whole family (so Holm's correction sees as many tests as a scorecard
does). The rate of each verdict at each true effect is then a groupby away.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from geoctx.stats.decision import compare, score_table


def simulate_verdicts(
    effects: Sequence[float],
    *,
    predicted_signs: Sequence[int],
    n_families: int,
    n_pairs: int,
    sd: float,
    smallest_effect: float,
    alpha: float = 0.05,
    min_pairs: int = 3,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Verdicts of ``n_families`` simulated scorecard families.

    Parameters
    ----------
    effects : sequence of float, length m
        True mean paired difference ``a - b`` of each comparison in a family.
    predicted_signs : sequence of {+1, -1}, length m
        The sign each comparison's claim predicts.
    n_families : int
        Independent families simulated.
    n_pairs : int
        Matched units per comparison.
    sd : float
        Standard deviation of the paired differences, > 0.
    smallest_effect, alpha, min_pairs, n_resamples
        As in :func:`~geoctx.stats.compare` and
        :func:`~geoctx.stats.score_table`.
    seed : int, default 0
        Seed of the data and of every bootstrap.

    Returns
    -------
    pandas.DataFrame, shape (n_families * m, ...)
        The scored rows plus ``family``, ``item`` (position in the family) and
        ``true_effect``.

    Examples
    --------
    >>> out = simulate_verdicts([0.5, 0.0], predicted_signs=[1, -1], n_families=2,
    ...                         n_pairs=18, sd=0.1, smallest_effect=0.1,
    ...                         n_resamples=200)
    >>> out.groupby("true_effect").verdict.agg(set).to_dict()
    {0.0: {'no effect'}, 0.5: {'supported'}}
    """
    if len(effects) != len(predicted_signs):
        raise ValueError(
            f"effects and predicted_signs must have one length, got "
            f"{len(effects)} and {len(predicted_signs)}"
        )
    if not (isinstance(sd, int | float) and sd > 0):
        raise ValueError(f"sd must be a number > 0, got {sd!r}")
    if not (isinstance(n_families, int) and n_families >= 1):
        raise ValueError(f"n_families must be an integer >= 1, got {n_families!r}")
    units = np.arange(n_pairs)
    seeds = np.random.SeedSequence(seed).spawn(n_families)
    tables = []
    for family, family_seed in enumerate(seeds):
        rng = np.random.default_rng(family_seed)
        rows = []
        for item, (effect, sign) in enumerate(
            zip(effects, predicted_signs, strict=True)
        ):
            diffs = rng.normal(effect, sd, n_pairs)
            df = pd.DataFrame(
                {
                    "unit": np.concatenate([units, units]),
                    "level": ["a"] * n_pairs + ["b"] * n_pairs,
                    "value": np.concatenate([diffs, np.zeros(n_pairs)]),
                }
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row = compare(
                    df,
                    value="value",
                    factor="level",
                    a="a",
                    b="b",
                    match_on=["unit"],
                    predicted_sign=sign,
                    smallest_effect=smallest_effect,
                    n_resamples=n_resamples,
                    seed=int(rng.integers(2**32)),
                )
            rows.append(row | {"family": family, "item": item, "true_effect": effect})
        tables.append(score_table(rows, alpha=alpha, min_pairs=min_pairs))
    return pd.concat(tables, ignore_index=True)

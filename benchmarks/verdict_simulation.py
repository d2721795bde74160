"""How often the decision rule is wrong, and how often it finds a real effect.

Simulates scorecard families shaped like the default study's overall family
and runs them through the real path (``geoctx.stats.compare`` then
``geoctx.stats.score_table`` with Holm over the family):

- 64 comparisons per family (16 evidence items x 4 comparisons), 56 of them
  predicting a negative difference and 8 a positive one (14 of 16 items do);
- 18 matched pairs each (3 datasets x 2 depths x 3 seeds);
- smallest effect d = 0.02 (``claims.smallest_effect``), alpha = 0.05;
- paired differences ~ Normal(true effect, sd), sd = 0.03 by default (an
  assumption: 1.5 d; rerun with ``--sd`` to see another noise level).

Null families have every true effect 0. Planted families carry 16 real
effects on the predicted side, k d for k = 1..4 and both signs (two of
each), among 48 null comparisons. Prints the false-"supported" rate (per
comparison and family-wise), the power (rate of "supported") by planted
effect and sign, and the rate of "no effect" at 0 and at the margin k = 1
(where it is an error); the last line is a summary.

    python benchmarks/verdict_simulation.py [--families 20] [--sd 0.03]
"""

from __future__ import annotations

import argparse

import pandas as pd
from scipy import stats as sps

from geoctx.stats.simulation import simulate_verdicts

N_PAIRS = 18
SMALLEST = 0.02
ALPHA = 0.05


def null_family() -> tuple[list[float], list[int]]:
    return [0.0] * 64, [-1] * 56 + [1] * 8


def planted_family() -> tuple[list[float], list[int]]:
    effects, signs = [], []
    for sign in (1, -1):
        for k in (1, 2, 3, 4):
            effects += [sign * k * SMALLEST] * 2
            signs += [sign] * 2
    return effects + [0.0] * 48, signs + [-1] * 42 + [1] * 6


def familywise(rows: pd.DataFrame, verdict: str) -> tuple[int, int]:
    """Families with at least one null row given ``verdict``, and families."""
    null = rows[rows.true_effect == 0]
    hit = null.verdict.eq(verdict).groupby(null.family).any()
    return int(hit.sum()), len(hit)


def rate(counts: tuple[int, int]) -> str:
    """A rate with its exact (Clopper-Pearson) 95% interval."""
    k, n = counts
    ci = sps.binomtest(k, n).proportion_ci()
    return f"{k / n:.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=20)
    parser.add_argument("--sd", type=float, default=0.03)
    parser.add_argument("--n-resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    options = dict(
        n_families=args.families,
        n_pairs=N_PAIRS,
        sd=args.sd,
        smallest_effect=SMALLEST,
        alpha=ALPHA,
        n_resamples=args.n_resamples,
    )
    effects, signs = null_family()
    null = simulate_verdicts(effects, predicted_signs=signs, seed=args.seed, **options)
    effects, signs = planted_family()
    planted = simulate_verdicts(
        effects, predicted_signs=signs, seed=args.seed + 1, **options
    )

    print(
        f"{args.families} families x 64 comparisons, n = {N_PAIRS} pairs, "
        f"d = {SMALLEST}, sd = {args.sd}, alpha = {ALPHA}"
    )
    print("\nnull families (every true effect 0): verdict rates per comparison")
    print(null.verdict.value_counts(normalize=True).round(4).to_string())
    fw_null = familywise(null, "supported")
    print(f"family-wise false 'supported': {rate(fw_null)}")
    print(f"family-wise false 'contradicted': {rate(familywise(null, 'contradicted'))}")

    rates = (
        planted[planted.true_effect != 0]
        .assign(
            k=lambda t: (t.true_effect.abs() / SMALLEST).round().astype(int),
            sign=lambda t: t.predicted_sign,
        )
        .groupby(["k", "sign"])
        .verdict.value_counts(normalize=True)
        .unstack(fill_value=0.0)
    )
    print("\nplanted effects k d on the predicted side: verdict rates")
    print(rates.round(3).to_string())
    fw_planted = familywise(planted, "supported")
    print(f"family-wise false 'supported' among the 48 null rows: {rate(fw_planted)}")

    power = rates.get("supported", pd.Series(0.0, index=rates.index))
    margin = rates.get("no effect", pd.Series(0.0, index=rates.index)).loc[1].max()
    no_effect_at_0 = float((null.verdict == "no effect").mean())
    print(
        f"summary: family-wise false 'supported' {rate(fw_null)} under the null, "
        f"{rate(fw_planted)} beside real effects (alpha {ALPHA}); "
        f"power at 2d {power.loc[2].min():.2f}, "
        f"3d {power.loc[3].min():.2f}, 4d {power.loc[4].min():.2f} "
        f"(worse sign); 'no effect' at 0 {no_effect_at_0:.2f}, "
        f"at the margin d {margin:.3f}"
    )


if __name__ == "__main__":
    main()

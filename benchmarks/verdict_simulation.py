"""How often the decision rule is wrong, and how often it finds a real effect,
at the study's own design.

The design -- conditions per row, seeds per condition, deciding rows in the
Holm family -- is read from the study: from a scored ``claims.parquet``
(its ``decides`` family; the noise too, see
``geoctx.stats.simulation.design_of``) when one is given, else from the
config (datasets x depths x initializers x widths conditions, its seeds, the
evidence items that decide; noise from ``--sd-condition``/``--sd-seed``, in
units of the smallest effect d). Every family goes through the scorecard's
own code (t-tests, studentized bootstrap interval, Holm, the rule; see
``geoctx.stats.simulation``). Prints, per scenario of
``geoctx.stats.SCENARIOS``, the rate of each verdict for the row carrying
the scenario's effect and the family-wise rates of false "supported",
"contradicted" and "no effect", each with its exact 95% interval over
families. ``--n-conditions`` and ``--rows`` override the design (e.g. 6
conditions, like C7's deciding items; 2 rows, a family per claim);
``--compare-intervals`` prints the coverage of the t, studentized bootstrap
and cluster BCa intervals at the design, normal and skewed.

    python benchmarks/verdict_simulation.py [--claims results/tables/claims.parquet]
        [--config config/config.yaml] [--families 2000] [--n-conditions 6]
        [--rows 2] [--compare-intervals]
"""

from __future__ import annotations

import argparse

import pandas as pd
import yaml
from scipy import stats as sps

from geoctx.evidence import EVIDENCE
from geoctx.stats.simulation import design_of, error_rates, interval_coverage


def design_from_config(path: str, sd_condition: float, sd_seed: float) -> dict:
    with open(path) as f:
        config = yaml.safe_load(f)
    n_conditions = (
        len(config["datasets"])
        * len(config["depths"])
        * len(config["initializers"])
        * len(config["widths"])
    )
    return {
        "n_conditions": n_conditions,
        "n_seeds": len(config["seeds"]),
        "n_rows": sum(e.decides for e in EVIDENCE),
        "sd_condition": sd_condition,
        "sd_seed": sd_seed,
    }


def rate(share: float, n: int) -> str:
    """A rate with its exact (Clopper-Pearson) 95% interval."""
    ci = sps.binomtest(round(share * n), n).proportion_ci()
    return f"{share:.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", help="a scored claims.parquet")
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--families", type=int, default=2000)
    parser.add_argument("--n-conditions", type=int, help="override the design's")
    parser.add_argument("--rows", type=int, help="override the family's rows")
    parser.add_argument("--compare-intervals", action="store_true")
    parser.add_argument("--sd-condition", type=float, default=1.0)
    parser.add_argument("--sd-seed", type=float, default=1.0)
    parser.add_argument("--icc", type=float, default=0.75)
    parser.add_argument("--n-resamples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.claims:
        scores = pd.read_parquet(args.claims)
        design = design_of(scores[scores.family == "decides"], icc=args.icc)
        if design is None:
            raise SystemExit(f"{args.claims}: no measured deciding row")
        source = f"{args.claims} (icc {args.icc})"
    else:
        design = design_from_config(args.config, args.sd_condition, args.sd_seed)
        source = args.config
    if args.n_conditions:
        design["n_conditions"] = args.n_conditions
    if args.rows:
        design["n_rows"] = args.rows
    n = args.families
    print(
        f"design from {source}: {design}, {n} families "
        f"(Monte-Carlo SE of a rate at most {0.5 / n**0.5:.3f})"
    )
    if args.compare_intervals:
        keep = ("n_conditions", "n_seeds", "sd_condition", "sd_seed")
        for distribution in ("normal", "skewed"):
            coverage = interval_coverage(
                **{k: design[k] for k in keep},
                distribution=distribution,
                n_samples=n,
                n_resamples=args.n_resamples,
                seed=args.seed,
            )
            print(coverage.round(3).to_string(index=False))
    out = error_rates(
        **design,
        n_families=args.families,
        n_resamples=args.n_resamples,
        seed=args.seed,
    )
    verdicts = ["supported", "contradicted", "no effect", "inconclusive", "coverage"]
    table = out[["scenario", "true_effect", *verdicts]].round(3)
    print("\nverdict rates of the row carrying the scenario (others null)")
    print(table.to_string(index=False))
    print("\nfamily-wise rates (any row of the family wrong)")
    for row in out.itertuples():
        print(
            f"{row.scenario:>28}: false supported {rate(row.any_false_supported, n)}"
            f", false contradicted {rate(row.any_false_contradicted, n)}"
            f", false no effect {rate(row.any_false_no_effect, n)}"
        )


if __name__ == "__main__":
    main()

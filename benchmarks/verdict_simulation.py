"""How often the decision rule is wrong, and how often it finds a real effect,
at the study's own design.

The design -- conditions per row, seeds per condition, deciding rows in the
Holm family -- is read from the study: from a scored ``claims.parquet``
(its ``decides`` family; the noise too, see
``geoctx.stats.simulation.design_of``) when one is given, else from the
config (datasets x depths x initializers x widths conditions, its seeds, the
evidence items that decide; noise from ``--sd-condition``/``--sd-seed``, in
units of the smallest effect d). Every family goes through the scorecard's
own path (``geoctx.stats.summarise`` then ``score_table``). Prints, per
scenario of ``geoctx.stats.SCENARIOS``, the rate of each verdict for the row
carrying the scenario's effect and the family-wise rates of false
"supported", "contradicted" and "no effect", each with its exact 95%
interval over families.

    python benchmarks/verdict_simulation.py [--claims results/tables/claims.parquet]
        [--config config/config.yaml] [--families 200]
"""

from __future__ import annotations

import argparse

import pandas as pd
import yaml
from scipy import stats as sps

from geoctx.evidence import EVIDENCE
from geoctx.stats.simulation import design_of, error_rates


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
    parser.add_argument("--families", type=int, default=200)
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
    print(f"design from {source}: {design}, {args.families} families")
    out = error_rates(
        **design,
        n_families=args.families,
        n_resamples=args.n_resamples,
        seed=args.seed,
    )
    n = args.families
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

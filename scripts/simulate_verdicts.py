"""simulate_verdicts: the decision rule's error rates at the study's design."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log = log_to(snakemake.log[0])

import pandas as pd

from geoctx import tables
from geoctx.stats.simulation import study_error_rates

scores = pd.read_parquet(snakemake.input.claims)
rates = study_error_rates(
    scores[scores.family == "decides"],
    n_families=snakemake.params.families,
    alpha=snakemake.params.alpha,
    min_pairs=snakemake.params.min_pairs,
    seed=snakemake.params.seed,
)
tables.write(rates, snakemake.output[0], "verdict_simulation")
log.info("\n%s", rates.round(3).to_string())

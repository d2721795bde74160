"""score_claims: the claims scorecard from the study tables."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log = log_to(snakemake.log[0])

import pandas as pd

from geoctx import claims, tables

settings = dict(snakemake.params.settings)
scores = claims.score_claims(
    {name: pd.read_parquet(snakemake.input[name]) for name in claims.TABLES},
    activations=snakemake.params.activations,
    primary=tuple(settings.pop("primary")),
    **settings,
)
tables.write(scores, snakemake.output[0], "claims")
log.info(
    "\n%s", claims.claim_verdicts(scores)[["claim", "verdict", "effect"]].to_string()
)

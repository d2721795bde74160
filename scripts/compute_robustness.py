"""compute_robustness: attacks, noise, margins and calibration of one model."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log = log_to(snakemake.log[0])

import pandas as pd

from geoctx import datasets, robustness, storage, tables
from geoctx.training import configure_backend

w = snakemake.wildcards
configure_backend(threads=snakemake.threads, seed=int(w.seed))
reference_model, reference_run = (
    snakemake.input.reference_model,
    snakemake.input.reference_run,
)
table = robustness.evaluate_run(
    snakemake.input.model,
    datasets.load(snakemake.input.data),
    status=pd.read_parquet(snakemake.input.run)["status"].iloc[0],
    keys=tables.model_keys(w),
    settings=robustness.RobustnessSettings(**snakemake.params.settings),
    reference_path=reference_model or None,
    reference_status=(
        pd.read_parquet(reference_run)["status"].iloc[0] if reference_run else None
    ),
)
tables.write(
    table,
    snakemake.output[0],
    "robustness",
    metadata={
        "inputs": storage.input_digests(
            snakemake.input.model, snakemake.input.data, reference_model
        )
    },
)
log.info("%d rows", len(table))

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
sources = {
    activation: (path, pd.read_parquet(run)["status"].iloc[0])
    for activation, path, run in zip(
        snakemake.params.transfer_from,
        snakemake.input.transfer_models,
        snakemake.input.transfer_runs,
        strict=True,
    )
}
table = robustness.evaluate_run(
    snakemake.input.model,
    datasets.load(snakemake.input.data),
    status=pd.read_parquet(snakemake.input.run)["status"].iloc[0],
    keys=tables.model_keys(w),
    settings=robustness.RobustnessSettings(**snakemake.params.settings),
    transfer_sources=sources,
)
tables.write(
    table,
    snakemake.output[0],
    "robustness",
    metadata={
        "inputs": storage.input_digests(
            snakemake.input.model,
            snakemake.input.data,
            *snakemake.input.transfer_models,
        )
    },
)
log.info("%d rows", len(table))

"""retry_trailing_seeds: the short seeds of seed-dependent or held-out-only
activations, at the other rates."""

from geoctx.jobserver import delegate

# in a worker of this run's job server, if there is one (geoctx.training)
delegate(pool=f"training/{snakemake.threads} threads")

from geoctx.logs import log_to

log = log_to(snakemake.log[0])

import pandas as pd

from geoctx import datasets, storage, tables, trailing, training

runs = pd.read_parquet(snakemake.input.runs)
tuning = pd.read_parquet(snakemake.input.tuning)
files = snakemake.params.data  # {"dataset/seed": data.npz}


def split_of(dataset, seed):
    """A study seed's own split (or the one shared split)."""
    return datasets.load(files[f"{dataset}/{seed}"])


retrials, curves = trailing.retry(
    runs,
    tuning,
    split_of,
    training.TrainSettings(**snakemake.params.training),
    threads=snakemake.threads,
)
meta = {
    "inputs": storage.input_digests(snakemake.input.runs, snakemake.input.tuning),
    "config_sha256": snakemake.params.config_sha256,
    "versions": tables.package_versions(),
}
tables.write(retrials, snakemake.output.retrials, "retrials", metadata=meta)
tables.write(curves, snakemake.output.curves, "retrial_history", metadata=meta)
log.info("%d retrial runs\n%s", len(retrials), retrials.round(3).to_string())

"""tune_learning_rate: train one architecture at every rate of the grid, choose one."""

from geoctx.jobserver import delegate

# in a worker of this run's job server, if there is one (geoctx.training)
delegate(pool=f"training/{snakemake.threads} threads")

from geoctx.logs import log_to

log_to(snakemake.log[0])

from geoctx import datasets, storage, tables, training, tuning

seeds = snakemake.params.tuning["seeds"]
# each tuning seed's split in the order of the seeds, or the one shared split
data = snakemake.input.data
files = [data] if isinstance(data, str) else list(data)
splits = (
    datasets.load(files[0])
    if len(files) == 1
    else {seed: datasets.load(path) for seed, path in zip(seeds, files, strict=True)}
)
table, curves = tuning.tune_with_curves(
    splits,
    tuning.Cell.of(snakemake.wildcards),
    training.TrainSettings(**snakemake.params.training),
    learning_rates=snakemake.params.tuning["learning_rates"],
    seeds=seeds,
    criterion=snakemake.params.tuning["criterion"],
    threads=snakemake.threads,
)
meta = {"inputs": storage.input_digests(*files)}
tables.write(table, snakemake.output.tuning, "tuning", metadata=meta)
tables.write(curves, snakemake.output.curves, "tuning_history", metadata=meta)

"""train_model: train one model of the sweep and record its unit health."""

from geoctx.jobserver import delegate

# in this run's job server, if there is one: imports done, and in a worker
# kept across training jobs, which traces each architecture's graphs once
# (geoctx.training)
delegate(pool=f"training/{snakemake.threads} threads")

from geoctx.logs import log_to

log_to(snakemake.log[0])

from geoctx import datasets, storage, tables, training, tuning

# the architecture's learning rate, chosen by tune_learning_rate
rate = tuning.chosen_rate(
    tables.read_part(snakemake.input.tuning, "tuning").to_pandas()
)
result = training.train_model(
    datasets.load(snakemake.input.data),
    training.ModelSpec(**tables.model_keys(snakemake.wildcards)),
    training.TrainSettings(**snakemake.params.training, learning_rate=rate),
    threads=snakemake.threads,
)
training.save(
    result,
    dict(snakemake.output.items()),
    inputs=storage.input_digests(snakemake.input.data, snakemake.input.tuning),
)

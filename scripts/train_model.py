"""train_model: train one model of the sweep and record its unit health."""

from geoctx.jobserver import delegate

# in this run's job server, if there is one: imports done, and in a worker
# kept across training jobs, which traces each architecture's graphs once
# (geoctx.training)
delegate(pool=f"training/{snakemake.threads} threads")

from geoctx.logs import log_to

log = log_to(snakemake.log[0])

from geoctx import datasets, reuse, storage, tables, training, tuning

# a rerun of a finished job (a retried group, a forced rerun) reuses its outputs
outputs = dict(snakemake.output.items())
key = reuse.job_key(
    snakemake.rule,
    params=dict(snakemake.params.items()),
    inputs=dict(snakemake.input.items()),
    wildcards=dict(snakemake.wildcards.items()),
    threads=snakemake.threads,
    outputs=outputs,
)
if entry := reuse.restore(snakemake.rule, key, outputs):
    log.info("reused the outputs of the same finished job: %s (not trained)", entry)
else:
    # the architecture's rates, the one tune_learning_rate chose first: the
    # others are tried only if the run fails to learn its training data there
    rates = tuning.rates_in_order(
        tables.read_part(snakemake.input.tuning, "tuning").to_pandas()
    )
    result = tuning.train_at_tuned_rates(
        datasets.load(snakemake.input.data),
        training.ModelSpec(**tables.model_keys(snakemake.wildcards)),
        training.TrainSettings(**snakemake.params.training),
        rates=rates,
        threads=snakemake.threads,
    )
    training.save(
        result,
        outputs,
        inputs=storage.input_digests(snakemake.input.data, snakemake.input.tuning),
    )
    reuse.save(snakemake.rule, key, outputs)

"""train_model: train one model of the sweep and record its unit health."""

from geoctx import datasets, training
from geoctx.logs import log_to

log_to(snakemake.log[0])
w = snakemake.wildcards
spec = training.ModelSpec(
    dataset=w.dataset,
    activation=w.activation,
    initializer=w.initializer,
    width=int(w.width),
    depth=int(w.depth),
    seed=int(w.seed),
)
result = training.train_model(
    datasets.load(snakemake.input.data),
    spec,
    training.TrainSettings(**snakemake.params.training),
    threads=snakemake.threads,
)
training.save(result, dict(snakemake.output.items()))

"""benchmark_inference: every activation of one depth x width cell, interleaved."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log = log_to(snakemake.log[0])

from geoctx import cost, tables
from geoctx.training import configure_backend

configure_backend(threads=1, seed=0)
settings = snakemake.params.settings
table = cost.benchmark_cell(
    snakemake.params.activations,
    depth=int(snakemake.wildcards.depth),
    width=int(snakemake.wildcards.width),
    batch_sizes=settings["batch_sizes"],
    n_features=settings["n_features"],
    n_classes=settings["n_classes"],
    blocks=settings["blocks"],
    repeats=settings["repeats"],
    min_seconds=settings["min_seconds"],
    warmup=settings["warmup"],
    op_size=settings["op_size"],
    threads=1,
    run=int(snakemake.wildcards.run),
)
tables.write(table, snakemake.output[0], "inference")
log.info("\n%s", table.to_string())

"""evaluate_models: geometry, Jacobians and robustness of one cell's models."""

from geoctx.jobserver import delegate

# in this run's job server, if there is one: imports done, and in a worker
# kept across evaluation jobs, which traces each architecture's graphs once
# (geoctx.storage.model_cache)
delegate(pool=f"evaluation/{snakemake.threads} threads")

from geoctx.logs import log_to

log_to(snakemake.log[0])

from geoctx import evaluation

cell = evaluation.cell_files(
    {
        key: snakemake.input[key]
        for key in ("model", "init_model", "run", "representations")
    },
    snakemake.input.data,
    activations=snakemake.params.activations,
    transfer_from=snakemake.params.transfer_from,
)
evaluation.evaluate_models(
    cell,
    {part: snakemake.output[part] for part in evaluation.PARTS},
    {part: snakemake.params[part] for part in evaluation.PARTS},
    keys=dict(snakemake.wildcards.items()),
    threads=snakemake.threads,
)

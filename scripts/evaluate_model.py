"""evaluate_model: geometry, Jacobians and robustness of one trained model."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

from geoctx import evaluation, tables

files = evaluation.ModelFiles(
    model=snakemake.input.model,
    init_model=snakemake.input.init_model,
    run=snakemake.input.run,
    representations=snakemake.input.representations,
    data=snakemake.input.data,
    transfer={
        activation: (model, run)
        for activation, model, run in zip(
            snakemake.params.robustness["transfer_from"],
            snakemake.input.transfer_models,
            snakemake.input.transfer_runs,
            strict=True,
        )
    },
)
evaluation.evaluate_model(
    files,
    {part: snakemake.output[part] for part in evaluation.PARTS},
    {part: snakemake.params[part] for part in evaluation.PARTS},
    keys=tables.model_keys(snakemake.wildcards),
    threads=snakemake.threads,
)

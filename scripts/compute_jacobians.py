"""compute_jacobians: Jacobian spectrum and trajectory length at every layer."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])


from geoctx import storage, tables
from geoctx.geometry.stage import GeometrySettings, jacobian_table
from geoctx.training import configure_backend

configure_backend(threads=snakemake.threads, seed=int(snakemake.wildcards.seed))
models = {
    "init": storage.load_model(snakemake.input.init_model),
    "trained": storage.load_model(snakemake.input.model),
}
X = storage.load_npz(snakemake.input.representations)["init/layer_0"]
table = jacobian_table(models, X, GeometrySettings(**snakemake.params.settings))
tables.write(
    table.assign(**tables.model_keys(snakemake.wildcards)),
    snakemake.output[0],
    "geometry",
    metadata={
        "inputs": storage.input_digests(
            snakemake.input.model,
            snakemake.input.init_model,
            snakemake.input.representations,
        )
    },
)

"""compute_jacobians: Jacobian spectrum and trajectory length at every layer."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

import keras
import numpy as np

from geoctx import tables
from geoctx.geometry.stage import GeometrySettings, jacobian_table
from geoctx.training import configure_backend

configure_backend(threads=snakemake.threads, seed=int(snakemake.wildcards.seed))
models = {
    "init": keras.saving.load_model(snakemake.input.init_model, compile=False),
    "trained": keras.saving.load_model(snakemake.input.model, compile=False),
}
with np.load(snakemake.input.representations) as npz:
    X = npz["init/layer_0"]
table = jacobian_table(models, X, GeometrySettings(**snakemake.params.settings))
tables.write(
    table.assign(**tables.model_keys(snakemake.wildcards)),
    snakemake.output[0],
    "geometry",
)

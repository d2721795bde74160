"""plot_projections: PCA of the probe points at every layer, one row per activation."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

import numpy as np

from geoctx import datasets, plots

data = datasets.load(snakemake.input.data)
layers = {}
for activation, path in zip(
    snakemake.params.activations, snakemake.input.representations, strict=True
):
    with np.load(path) as npz:
        n = sum(1 for key in npz.files if key.startswith("trained/"))
        layers[activation] = [npz[f"trained/layer_{i}"] for i in range(n)]
fig = plots.projection_grid(layers, data["y_test"][data["probe_index"]])
fig.savefig(snakemake.output.png, dpi=150)
fig.savefig(snakemake.output.svg)

"""plot_projections: PCA of the probe points at every layer, one row per activation."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])


from geoctx import datasets, plots, storage

data = datasets.load(snakemake.input.data)
layers = {}
for activation, path in zip(
    snakemake.params.activations, snakemake.input.representations, strict=True
):
    arrays = storage.load_npz(path)
    n = sum(1 for key in arrays if key.startswith("trained/"))
    layers[activation] = [arrays[f"trained/layer_{i}"] for i in range(n)]
fig = plots.projection_grid(layers, data["y_test"][data["probe_index"]])
storage.save_figure(fig, snakemake.output.png, dpi=150)
storage.save_figure(fig, snakemake.output.svg)

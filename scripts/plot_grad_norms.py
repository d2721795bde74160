"""plot_grad_norms: gradient norm per layer (log scale) at init and after training."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

import pandas as pd

from geoctx import plots, storage

units = pd.read_parquet(snakemake.input.units)
fig = plots.facet(
    plots.deepest(units[units.metric == "grad_norm"]),
    plots.grad_norm_by_layer,
    col="dataset",
    row="stage",
)
storage.save_figure(fig, snakemake.output.png, dpi=150)
storage.save_figure(fig, snakemake.output.svg)

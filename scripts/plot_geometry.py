"""plot_geometry: one geometry metric against relative depth, init vs trained."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

import pandas as pd

from geoctx import plots, storage

table = pd.read_parquet(snakemake.input.geometry)
rows = plots.deepest(table[table.metric == snakemake.wildcards.metric])
fig = plots.facet(rows, plots.metric_by_layer, col="stage", row="dataset")
storage.save_figure(fig, snakemake.output.png, dpi=150)
storage.save_figure(fig, snakemake.output.svg)

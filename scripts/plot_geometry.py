"""plot_geometry: one geometry metric against relative depth, init vs trained."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

import pandas as pd

from geoctx import plots

table = pd.read_parquet(snakemake.input.geometry)
rows = plots.deepest(table[table.metric == snakemake.wildcards.metric])
fig = plots.facet(rows, plots.metric_by_layer, col="stage", row="dataset")
fig.savefig(snakemake.output.png, dpi=150)
fig.savefig(snakemake.output.svg)

"""plot_boundary_accuracy: accuracy by distance-to-boundary bin."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

import pandas as pd

from geoctx import plots, storage

table = pd.read_parquet(snakemake.input.robustness)
rows = table[table.metric == "accuracy_boundary_bin"]
fig = plots.facet(rows, plots.boundary_accuracy, col="depth", row="dataset")
storage.save_figure(fig, snakemake.output.png, dpi=150)
storage.save_figure(fig, snakemake.output.svg)

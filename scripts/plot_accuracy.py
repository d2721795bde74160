"""plot_accuracy: test accuracy vs depth per activation, faceted by dataset."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

import pandas as pd

from geoctx import plots, storage

runs = pd.read_parquet(snakemake.input.runs)
fig = plots.facet(runs, plots.accuracy_vs_depth, col="dataset")
storage.save_figure(fig, snakemake.output.png, dpi=150)
storage.save_figure(fig, snakemake.output.svg)

"""plot_learning_curves: validation accuracy per epoch of every model."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

import pandas as pd

from geoctx import plots

history = pd.read_parquet(snakemake.input.history)
history = history.assign(depth="depth " + history["depth"].astype(str))
fig = plots.facet(history, plots.learning_curves, col="dataset", row="depth")
fig.savefig(snakemake.output.png, dpi=150)
fig.savefig(snakemake.output.svg)

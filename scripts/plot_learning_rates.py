"""plot_learning_rates: the tuning criterion of every learning rate tried."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

import pandas as pd

from geoctx import plots

tuning = pd.read_parquet(snakemake.input.tuning)
tuning = tuning.assign(depth="depth " + tuning["depth"].astype(str))
fig = plots.facet(tuning, plots.learning_rates, col="dataset", row="depth")
fig.savefig(snakemake.output.png, dpi=150)
fig.savefig(snakemake.output.svg)

"""plot_trailing_curves: training curves of the activations that trail their cell."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

import pandas as pd

from geoctx import plots, trailing

runs = pd.read_parquet(snakemake.input.runs)
tuning, retrials = (
    pd.read_parquet(path) for path in (snakemake.input.tuning, snakemake.input.retrials)
)
curves = trailing.curves(
    pd.read_parquet(snakemake.input.history),
    pd.read_parquet(snakemake.input.tuning_history),
    trailing.classify(runs, tuning, retrials),
    pd.read_parquet(snakemake.input.retrial_history),
)
fig = plots.trailing_curves(curves)
fig.savefig(snakemake.output.png, dpi=120)
fig.savefig(snakemake.output.svg)

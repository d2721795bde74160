"""plot_latency: forward-pass latency relative to ReLU, by depth and batch size."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

import pandas as pd

from geoctx import cost, plots, storage

table = pd.read_parquet(snakemake.input.inference)
ratios = cost.ratio_to(table[table.op == "mlp_forward"])
fig = plots.facet(ratios, plots.latency_ratio, col="batch_size", row="width")
storage.save_figure(fig, snakemake.output.png, dpi=150)
storage.save_figure(fig, snakemake.output.svg)

"""plot_robustness: accuracy vs epsilon (or sigma) for one attack."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

import pandas as pd

from geoctx import plots, storage

table = pd.read_parquet(snakemake.input.robustness)
rows = table[
    (table.attack == snakemake.wildcards.attack) & (table.metric == "accuracy")
]
fig = plots.facet(rows, plots.accuracy_vs_strength, col="depth", row="dataset")
fig.suptitle(snakemake.wildcards.attack, y=1.0)
storage.save_figure(fig, snakemake.output.png, dpi=150, bbox_inches="tight")
storage.save_figure(fig, snakemake.output.svg, bbox_inches="tight")

"""plot_forest: every deciding evidence item's effect and interval, by claim."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

import matplotlib.pyplot as plt
import pandas as pd

from geoctx import claims, plots, storage

rows = claims.forest_rows(pd.read_parquet(snakemake.input.claims))
n_items = int((rows.dataset == "all").sum())
fig, ax = plt.subplots(figsize=(9, 1.2 + 0.32 * max(n_items, 1)))
plots.forest(rows, ax=ax)
fig.tight_layout()
storage.save_figure(fig, snakemake.output.png, dpi=150)
storage.save_figure(fig, snakemake.output.svg)

"""render_report: one self-contained HTML report of the study."""

import pandas as pd

from geoctx import report
from geoctx.logs import log_to

log_to(snakemake.log[0])
html = report.render(
    runs=pd.read_parquet(snakemake.input.runs),
    units=pd.read_parquet(snakemake.input.units),
    figures=snakemake.input.figures,
    study=snakemake.params.study,
    config=snakemake.params.config,
)
with open(snakemake.output.html, "w") as fh:
    fh.write(html)

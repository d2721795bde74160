"""render_pdf: print the HTML report to PDF."""

from geoctx import report
from geoctx.logs import log_to

log_to(snakemake.log[0])
report.write_pdf(snakemake.input.html, snakemake.output[0])

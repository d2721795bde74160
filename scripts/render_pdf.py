"""render_pdf: print the HTML report to PDF."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

from geoctx import report

report.write_pdf(snakemake.input.html, snakemake.output[0])

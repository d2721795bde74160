"""aggregate_table: read the per-model Parquet files as one dataset, write a table."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log = log_to(snakemake.log[0])

from geoctx import tables

name = snakemake.wildcards.table
n = tables.aggregate(
    snakemake.input.parts,
    snakemake.output[0],
    name,
    metadata={
        "config_sha256": snakemake.params.config_sha256,
        "versions": tables.package_versions(),
    },
)
log.info("%s: %d rows from %d files", name, n, len(snakemake.input.parts))

"""compute_geometry: distance, neighbourhood, similarity, dimension, topology
and probe metrics of every layer of one model, at init and trained."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log_to(snakemake.log[0])

from threadpoolctl import threadpool_limits

from geoctx import datasets, storage, tables
from geoctx.geometry.stage import GeometrySettings, geometry_table

data = datasets.load(snakemake.input.data)
representations = storage.load_npz(snakemake.input.representations)
with threadpool_limits(snakemake.threads):
    table = geometry_table(
        representations,
        data["y_test"][data["probe_index"]],
        GeometrySettings(**snakemake.params.settings),
    )
tables.write(
    table.assign(**tables.model_keys(snakemake.wildcards)),
    snakemake.output[0],
    "geometry",
    metadata={
        "inputs": storage.input_digests(
            snakemake.input.representations, snakemake.input.data
        )
    },
)

"""make_dataset: generate, split and standardize one dataset."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log = log_to(snakemake.log[0])

from geoctx import storage
from geoctx.datasets import make_dataset

spec = snakemake.params.spec
arrays, meta = make_dataset(
    spec["dataset"],
    test_fraction=spec["test_fraction"],
    validation_fraction=spec["validation_fraction"],
    probe_points=spec["probe_points"],
    split_seed=snakemake.params.split_seed,
)
storage.save_npz(snakemake.output.data, arrays)
storage.write_json(snakemake.output.meta, meta)
log.info(
    "%s/%s: sizes %s, sha256 %s",
    snakemake.wildcards.dataset,
    snakemake.wildcards.split,
    meta["sizes"],
    meta["sha256"],
)

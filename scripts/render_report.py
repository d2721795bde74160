"""render_report: the HTML report, its fingerprint, citation and config."""

from geoctx.jobserver import delegate

delegate()  # in this run's job server, if there is one: imports done

from geoctx.logs import log_to

log = log_to(snakemake.log[0])

import datetime
import json

import pandas as pd

from geoctx import fingerprint, machine, report, storage
from geoctx.config import STUDY_TABLES

names = [*STUDY_TABLES, "claims"]
tables = {name: pd.read_parquet(snakemake.input[name]) for name in names}
config = snakemake.params.config
value = fingerprint.study_fingerprint(config, tables)
platform = machine.platform_record()
today = datetime.date.today()
# the rule's error rates at this design: shown, not part of the fingerprint
simulation = pd.read_parquet(snakemake.input.verdict_simulation)
# the short seeds' retrials: shown, not part of the fingerprint
retrials = pd.read_parquet(snakemake.input.retrials)
html = report.render(
    tables={**tables, "verdict_simulation": simulation, "retrials": retrials},
    figures=snakemake.input.figures,
    study=snakemake.params.study,
    config=config,
    fingerprint=value,
    table_files={name: snakemake.input[name] for name in names},
    commit=snakemake.params.commit,
    min_pairs=snakemake.params.min_pairs,
    date=today,
    machine_record=platform,
    data_sources=[
        {**storage.read_json(path), "dataset": name}
        for name, path in zip(
            snakemake.params.data_sources, snakemake.input.data_meta, strict=True
        )
    ],
)
with storage.atomic_path(snakemake.output.html) as tmp:
    tmp.write_text(html)
with storage.atomic_path(snakemake.output.fingerprint) as tmp:
    tmp.write_text(fingerprint.file_text(value, platform))
with storage.atomic_path(snakemake.output.bibtex) as tmp:
    tmp.write_text(report.bibtex(snakemake.params.study, fingerprint=value, date=today))
with storage.atomic_path(snakemake.output.config) as tmp:
    record = {**config, machine.PLATFORM_KEY: platform}
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
log.info("fingerprint %s", value)

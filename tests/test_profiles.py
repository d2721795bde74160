"""What ``profiles/slurm`` relies on in the workflow's scripts.

The profile keeps a failed job's outputs (``keep-incomplete``) so that a
retried group reruns only its members that did not finish. That is sound only
if a killed job cannot leave a partial file: every script writes its outputs
through geoctx's atomic writers (``geoctx.storage``, ``geoctx.tables``),
never with a plain writer on a path Snakemake gave it.
"""

import re

import yaml
from smoke_study import ROOT

# a plain writer called on one of the job's output paths
RAW_WRITE = re.compile(
    r"\b(savefig|to_parquet|to_csv|write_pdf|write_text|write_bytes|savez\w*|open)"
    r"\([^)]*snakemake\.output"
)


def test_slurm_profile_keeps_failed_outputs():
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    assert profile["keep-incomplete"] is True


def test_every_script_writes_its_outputs_atomically():
    scripts = sorted((ROOT / "scripts").glob("*.py"))
    assert len(scripts) >= 10
    raw = {
        script.name: match.group(0)
        for script in scripts
        for match in RAW_WRITE.finditer(script.read_text())
    }
    assert raw == {}

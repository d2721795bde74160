"""The smoke study shared by the end-to-end tests: copy the workflow, run it.

The workflow is copied into a temporary directory and run there with the
same interpreter, as `snakemake --configfile tests/config/smoke.yaml`.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPY = [
    "Snakefile",
    "workflow",
    "scripts",
    "src",
    "config",
    "profiles",
    "envs",
    "tests/config",
]
SMOKE = "tests/config/smoke.yaml"
#: The report's table of contents, in order (src/geoctx/templates/report.html.j2).
TOC = [
    "summary",
    "scorecard",
    "error-rates",
    "claims",
    "training",
    "geometry",
    "robustness",
    "methods",
    "limitations",
    "reproducibility",
    "cite",
    "rows",
]


def snakemake(workdir, *args, configfile=SMOKE, env=None):
    """Run snakemake in ``workdir``; ``env`` replaces the quiet-TensorFlow default."""
    cmd = [sys.executable, "-m", "snakemake", *args, "--configfile", configfile]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"} if env is None else env
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env)


def copy_workflow(workdir):
    """Copy the workflow's files (not its results) into ``workdir``; return it."""
    for item in COPY:
        src, dst = ROOT / item, workdir / item
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    return workdir

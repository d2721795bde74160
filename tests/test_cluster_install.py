"""README's cluster install works on its own: the extras it names bring
Snakemake and the Slurm executor plugin into a fresh venv.

Only the extras' requirements are installed (from pip's cache when it has
them), not geoctx's own runtime pins, which every other test already uses.
"""

import os
import re
import subprocess
import sys
import tomllib

import pytest
from smoke_study import ROOT

pytestmark = pytest.mark.slow


def cluster_extras():
    """The extras of the `pip install -e '.[...]'` line in "Running on a cluster"."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Running on a cluster", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"pip install -e '\.\[([\w,]+)\]'", section)
    assert len(found) == 1, found
    return found[0].split(",")


def test_readme_cluster_install_brings_snakemake_and_the_plugin(tmp_path):
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    requirements = [req for name in cluster_extras() for req in extras[name]]
    venv = tmp_path / "venv"
    # this interpreter's pip installs into the venv: no pip of its own to set up
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    pip = [sys.executable, "-m", "pip", "--python", venv / "bin/python"]
    install = [
        *pip,
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
    ]
    proc = subprocess.run([*install, *requirements], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]

    assert (venv / "bin/snakemake").exists(), f"{requirements}: no snakemake"

    def snakemake(*args, env=None):
        proc = subprocess.run(
            [venv / "bin/snakemake", *args], capture_output=True, text=True, env=env
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    pinned = {req.split("==")[0]: req.split("==")[1] for req in requirements}
    assert snakemake("--version").strip() == pinned["snakemake"]
    # the plugin registered itself with this Snakemake: its options are listed
    assert "--slurm-status-command" in snakemake("--help")
    # ... and so did profiles/slurm's executor, geoctx's subclass of it (the
    # editable install puts src/ on the path; here PYTHONPATH does)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    assert "--geoctx-slurm-no-account" in snakemake("--help", env=env)

"""The pins in requirements.txt, pyproject.toml and envs/geoctx.yaml agree."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)$")


def pins(lines):
    out = {}
    for line in lines:
        match = PIN.match(line.strip())
        if match:
            out[match.group(1).lower()] = match.group(2)
    return out


def requirements():
    return pins((ROOT / "requirements.txt").read_text().splitlines())


def test_requirements_pin_every_line():
    lines = [
        line
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(pins(lines)) == len(lines), "every requirement must be pinned with =="


def test_pyproject_agrees_with_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = pins(project["dependencies"])
    declared.update(pins(project["optional-dependencies"]["workflow"]))
    assert declared == requirements()


def test_conda_env_agrees_with_requirements():
    env = yaml.safe_load((ROOT / "envs/geoctx.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pins(pip) == requirements()
    assert "python=3.11" in env["dependencies"]

"""How the workflow's planning cost grows with the sweep.

Copies the workflow into a temporary directory, writes configs of growing
model counts (datasets x activations x initializers x widths x depths x
seeds, the default config's other settings) and times ``snakemake -n`` on
each (``-n --quiet rules``: the DAG and the job counts, without printing
every job; CPU seconds of the Snakemake process, from ``RUSAGE_CHILDREN``), then
a no-op ``snakemake`` on the finished smoke study if one is given. The last
line is the CPU of the largest dry run as a ratio to the 45 s target.

    python benchmarks/dag_scale.py [--models 1000 10000] [--finished DIR]
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from smoke_study import copy_workflow  # noqa: E402

TARGET_CPU_S = 45.0
DATASETS = ["moons", "circles", "spirals", "nested_spheres", "disks_in_holes"]
ACTIVATIONS = [
    "sigmoid",
    "tanh",
    "relu",
    "gelu",
    "elu",
    "selu",
    "softplus",
    "silu",
    "leaky_relu",
    "relu6",
]


def sweep(n_models: int) -> dict:
    """A config with exactly ``n_models`` models (a multiple of 10 up to 10,000)."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    seeds = max(1, n_models // 1000)
    per_seed = n_models // seeds
    grid = [5, 10, 2, 2, 5]  # datasets, activations, initializers, widths, depths
    while _prod(grid) > per_seed:
        i = max(range(len(grid)), key=lambda j: grid[j])
        grid[i] -= 1
    config["datasets"] = {name: {} for name in DATASETS[: grid[0]]}
    config["activations"] = ACTIVATIONS[: grid[1]]
    config["initializers"] = ["auto", "glorot_uniform"][: grid[2]]
    config["widths"] = [32, 64][: grid[3]]
    config["depths"] = [1, 2, 4, 8, 16][: grid[4]]
    config["seeds"] = list(range(seeds))
    return config


def _prod(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def n_models(config: dict) -> int:
    keys = ("datasets", "activations", "initializers", "widths", "depths", "seeds")
    return _prod(len(config[k]) for k in keys)


def timed(cmd, cwd) -> tuple[float, float, subprocess.CompletedProcess]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, proc


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--finished", help="a finished smoke study to time a no-op in")
    args = parser.parse_args(argv)
    snakemake = [sys.executable, "-m", "snakemake"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        copy_workflow(work)
        ratio = float("nan")
        for n in args.models:
            config = sweep(n)
            path = work / f"sweep_{n}.yaml"
            path.write_text(yaml.safe_dump(config))
            cpu, wall, proc = timed(
                [*snakemake, "-n", "--quiet", "rules", "--configfile", path.name], work
            )
            if proc.returncode != 0:
                raise SystemExit(proc.stdout[-2000:] + proc.stderr[-3000:])
            jobs = int(re.search(r"^total\s+(\d+)$", proc.stdout, re.M).group(1))
            ratio = cpu / TARGET_CPU_S
            print(
                f"{n_models(config):6d} models, {jobs:6d} jobs: snakemake -n "
                f"{cpu:6.1f} s CPU ({1000 * cpu / n_models(config):.2f} ms per model), "
                f"{wall:6.1f} s wall"
            )
    if args.finished:
        cpu, wall, proc = timed(
            [*snakemake, "--configfile", "tests/config/smoke.yaml"], args.finished
        )
        print(f"no-op snakemake on {args.finished}: {cpu:.1f} s CPU, {wall:.1f} s wall")
    print(f"largest dry run: CPU / 45 s target = {ratio:.2f}")


if __name__ == "__main__":
    main()

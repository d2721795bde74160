"""What evaluating a finished study's cells costs, as a job server worker does it.

Evaluates the given cells (``dataset/initializer/w<width>_d<depth>_s<seed>``)
of a finished study with :func:`geoctx.evaluation.evaluate_models`, one
after the other in one process, as a job server worker runs the
``evaluate_models`` jobs: the same inputs, the study config's settings, one
thread (TensorFlow's and, through each part, numpy's), graphs traced once
per architecture. The tables go to a fresh ``OUT`` directory, so every part
is computed. Prints each cell's CPU seconds, the CPU by part and the total.

To compare two versions of the code, run it with each one's ``src`` first
on ``PYTHONPATH`` (e.g. side by side under a benchmark runner) and compare
the tables the two wrote with ``--compare OTHER_OUT``: it prints how many
are identical and the rows that are not.

    python benchmarks/evaluation_cost.py STUDY_DIR OUT CELL [CELL ...]
    python benchmarks/evaluation_cost.py --compare OUT_A OUT_B
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODEL_FILES = {
    "model": "model.keras",
    "init_model": "init.keras",
    "run": "runs.parquet",
    "representations": "representations.npz",
}


def evaluate(study: Path, out: Path, cells: list[str]) -> None:
    import yaml

    from geoctx import evaluation
    from geoctx.config import load_schema, validate_config
    from geoctx.training import configure_backend

    config = validate_config(
        yaml.safe_load((study / "config" / "config.yaml").read_text()), load_schema()
    )
    robustness = dict(config["robustness"])
    transfer_from = robustness.pop("transfer_from")
    params = {
        "geometry": {"code": "-", "settings": dict(config["geometry"])},
        "jacobians": {"code": "-", "settings": dict(config["geometry"])},
        "robustness": {"code": "-", "settings": robustness},
    }
    cpu = collections.Counter()

    def timed(part, compute):
        def run(*args):
            start = time.process_time()
            table = compute(*args)
            cpu[part] += time.process_time() - start
            return table

        return run

    evaluation._COMPUTE = {p: timed(p, f) for p, f in evaluation._COMPUTE.items()}
    configure_backend(threads=1, seed=0)
    shutil.rmtree(out, ignore_errors=True)
    activations = config["activations"]
    for cell in cells:
        dataset, initializer, model = cell.split("/")
        width, depth, seed = (int(part[1:]) for part in model.split("_"))
        paths = {
            key: [
                str(study / "results/models" / dataset / a / initializer / model / name)
                for a in activations
            ]
            for key, name in MODEL_FILES.items()
        }
        data = study / "results/data" / dataset / f"s{seed}" / "data.npz"
        files = evaluation.cell_files(
            paths, str(data), activations=activations, transfer_from=transfer_from
        )
        stage = {"geometry": "geometry", "jacobians": "geometry"}
        outputs = {
            part: [
                str(
                    out
                    / stage.get(part, part)
                    / dataset
                    / a
                    / initializer
                    / model
                    / f"{part}.parquet"
                )
                for a in activations
            ]
            for part in evaluation.PARTS
        }
        for path in (p for paths in outputs.values() for p in paths):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        keys = {"dataset": dataset, "initializer": initializer, "width": width}
        keys |= {"depth": depth, "seed": seed}
        start = time.process_time()
        evaluation.evaluate_models(files, outputs, params, keys=keys, threads=1)
        print(f"{cell}: {time.process_time() - start:.2f} s", flush=True)
    print("CPU s by part:", {part: round(s, 2) for part, s in cpu.items()})
    print(f"total: {sum(cpu.values()):.2f} s of CPU")


def compare(a: Path, b: Path) -> None:
    import pandas as pd

    same = total = 0
    for path in sorted(a.rglob("*.parquet")):
        x, y = pd.read_parquet(path), pd.read_parquet(b / path.relative_to(a))
        total += 1
        try:
            pd.testing.assert_frame_equal(x, y, check_exact=True)
            same += 1
        except AssertionError:
            keys = [c for c in x.columns if c != "value"]
            both = x.merge(y, on=keys, suffixes=("_a", "_b"))
            equal = (both.value_a == both.value_b) | (
                both.value_a.isna() & both.value_b.isna()
            )
            print(path.relative_to(a))
            print(both[~equal].to_string())
    print(f"{same} of {total} tables identical")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compare", nargs=2, metavar=("OUT_A", "OUT_B"))
    parser.add_argument("study", nargs="?")
    parser.add_argument("out", nargs="?")
    parser.add_argument("cells", nargs="*")
    args = parser.parse_args(argv)
    if args.compare:
        compare(*map(Path, args.compare))
    elif args.study and args.out and args.cells:
        evaluate(Path(args.study), Path(args.out), args.cells)
    else:
        parser.error("give STUDY_DIR OUT CELL..., or --compare OUT_A OUT_B")


if __name__ == "__main__":
    sys.exit(main())

"""Throughput: the workflow on N cores against one Python loop in one process.

Both sides do the same computations for the per-model stages of a study
(datasets, training, per-layer geometry, Jacobians and trajectories,
robustness) and write the same per-model tables:

- the workflow: ``snakemake --cores N --until evaluate_models`` in a fresh
  copy (job server on, as a user runs it);
- the loop: what a notebook user would write, one process calling the
  package API model after model (``--loop``, started as a child so its CPU
  is measured the same way).

Wall and CPU seconds (``RUSAGE_CHILDREN``: the process tree, job server and
forked jobs included) are printed for each side, the tables are checked to be
identical in content, and the last line is the workflow's wall time as a
ratio of the loop's (target: at most 0.6 on 2 cores).

The default study is a 12-model one: circles and spirals x
sigmoid, tanh, relu x depths 2 and 8, width 32, one seed, the default
config's other settings. ``--config`` runs another (e.g. config/config.yaml).

    python benchmarks/workflow_vs_loop.py [--config FILE] [--cores 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))
from smoke_study import copy_workflow  # noqa: E402

PER_MODEL_TABLES = {
    "runs": "models/{model}/runs.parquet",
    "units": "models/{model}/units.parquet",
    "geometry": "geometry/{model}/geometry.parquet",
    "jacobians": "geometry/{model}/jacobians.parquet",
    "robustness": "robustness/{model}/robustness.parquet",
}


def issue_study() -> dict:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["datasets"] = {
        name: config["datasets"][name] for name in ("circles", "spirals")
    }
    config.update(
        activations=["sigmoid", "tanh", "relu"], depths=[2, 8], widths=[32], seeds=[0]
    )
    return config


def timed(cmd, cwd, env=None) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def loop(config_path: str, out: str) -> None:
    """The notebook user's loop: every stage of every model, in this process."""
    from geoctx import datasets, storage, training, tuning
    from geoctx.config import (
        MODEL_PATH,
        dataset_params,
        load_schema,
        model_grid,
        validate_config,
    )

    config = validate_config(
        yaml.safe_load(Path(config_path).read_text()), load_schema()
    )
    results = Path(out)
    per_seed = config["splits"]["per_seed"]
    data, data_paths = {}, {}  # (dataset, split seed or None): arrays, file

    def split(name: str, seed: int) -> tuple[str, int | None]:
        """A seed's split, made once: its own (splits.per_seed) or the shared
        one, as the workflow's make_dataset jobs make them."""
        key = (name, seed if per_seed else None)
        if key not in data:
            spec = dataset_params(config, name)
            arrays, _ = datasets.make_dataset(
                spec["dataset"],
                test_fraction=spec["test_fraction"],
                validation_fraction=spec["validation_fraction"],
                probe_points=spec["probe_points"],
                split_seed=key[1],
            )
            data[key] = arrays
            data_paths[key] = (
                results / "data" / name / f"s{key[1]}" / "data.npz"
                if per_seed
                else results / "data" / name / "shared" / "data.npz"
            )
            storage.save_npz(data_paths[key], arrays)
        return key

    attack_settings = {
        k: v for k, v in config["robustness"].items() if k != "transfer_from"
    }
    grid = model_grid(config)
    rates = {}  # each architecture's tuned rates, as tune_learning_rate chose
    for keys in grid:
        cell = tuning.Cell.of(keys)
        if cell not in rates:
            tuning_seeds = config["tuning"]["seeds"]
            tuning_data = (
                {seed: data[split(cell.dataset, seed)] for seed in tuning_seeds}
                if per_seed
                else data[split(cell.dataset, tuning_seeds[0])]
            )
            table = tuning.tune(
                tuning_data,
                cell,
                training.TrainSettings(**config["training"]),
                **config["tuning"],
            )
            rates[cell] = tuning.rates_in_order(table)
    for keys in grid:  # training first: transfer attacks need the matched models
        model_dir = results / "models" / MODEL_PATH.format(**keys)
        training.configure_model_run(threads=1, seed=keys["seed"])
        # as train_model's job: the chosen rate, the others if it fails there
        result = tuning.train_at_tuned_rates(
            data[split(keys["dataset"], keys["seed"])],
            training.ModelSpec(**keys),
            training.TrainSettings(**config["training"]),
            rates=rates[tuning.Cell.of(keys)],
            threads=1,
        )
        outputs = {
            "model": model_dir / "model.keras",
            "init_model": model_dir / "init.keras",
            "run": model_dir / "runs.parquet",
            "history": model_dir / "history.parquet",
            "units": model_dir / "units.parquet",
            "representations": model_dir / "representations.npz",
        }
        training.save(result, {k: str(v) for k, v in outputs.items()})
    # what the workflow's evaluate_models runs, model by model
    params = {
        "geometry": {"settings": config["geometry"]},
        "jacobians": {"settings": config["geometry"]},
        "robustness": {"settings": attack_settings},
    }
    with storage.model_cache():  # as the workflow's jobs: each model loaded once
        for keys in grid:
            _evaluate(keys, config, results, data_paths, params, per_seed)


def _evaluate(keys, config, results, data_paths, params, per_seed) -> None:
    """One model's evaluation, as evaluate_models runs it."""
    from geoctx import evaluation
    from geoctx.config import MODEL_PATH
    from geoctx.names import transfer_sources

    model = MODEL_PATH.format(**keys)
    model_dir = results / "models" / model
    transfer = {}
    for source in transfer_sources(
        keys["activation"],
        config["activations"],
        config["robustness"]["transfer_from"],
    ):
        other = MODEL_PATH.format(**{**keys, "activation": source})
        other_dir = results / "models" / other
        transfer[source] = (
            str(other_dir / "model.keras"),
            str(other_dir / "runs.parquet"),
        )
    files = evaluation.ModelFiles(
        model=str(model_dir / "model.keras"),
        init_model=str(model_dir / "init.keras"),
        run=str(model_dir / "runs.parquet"),
        representations=str(model_dir / "representations.npz"),
        data=str(data_paths[(keys["dataset"], keys["seed"] if per_seed else None)]),
        transfer=transfer,
    )
    outputs = {
        "geometry": results / "geometry" / model / "geometry.parquet",
        "jacobians": results / "geometry" / model / "jacobians.parquet",
        "robustness": results / "robustness" / model / "robustness.parquet",
    }
    evaluation.evaluate_model(
        files, {k: str(v) for k, v in outputs.items()}, params, keys=keys
    )


def digests(results: Path, config: dict) -> dict:
    import pandas as pd

    from geoctx.config import MODEL_PATH, model_grid
    from geoctx.fingerprint import table_digest

    out = {}
    for keys in model_grid(config):
        model = MODEL_PATH.format(**keys)
        for name, template in PER_MODEL_TABLES.items():
            df = pd.read_parquet(results / template.format(model=model))
            out[(model, name)] = table_digest(
                df.drop(columns=["wall_time_s"], errors="ignore")
            )
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="a study config (default: the 12-model study)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--loop", nargs=2, metavar=("CONFIG", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.loop:
        loop(*args.loop)
        return
    from geoctx.config import load_schema, validate_config

    raw = (
        yaml.safe_load(Path(args.config).read_text()) if args.config else issue_study()
    )
    config = validate_config(raw, load_schema())
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    with tempfile.TemporaryDirectory() as tmp:
        work = copy_workflow(Path(tmp) / "workflow")
        (work / "bench.yaml").write_text(yaml.safe_dump(raw))
        until = ["evaluate_models"]
        cmd = [sys.executable, "-m", "snakemake", "--cores", str(args.cores)]
        wf_wall, wf_cpu = timed(
            [*cmd, "--configfile", "bench.yaml", "--until", *until], work, env
        )
        print(
            f"workflow, {args.cores} cores: {wf_wall:7.1f} s wall {wf_cpu:7.1f} s CPU"
        )
        loop_out = Path(tmp) / "loop"
        lp_wall, lp_cpu = timed(
            [
                sys.executable,
                __file__,
                "--loop",
                str(work / "bench.yaml"),
                str(loop_out),
            ],
            ROOT,
            env,
        )
        print(f"loop, one process:  {lp_wall:7.1f} s wall {lp_cpu:7.1f} s CPU")
        a, b = digests(work / "results", config), digests(loop_out, config)
        differ = sorted(key for key in a if a[key] != b.get(key))
        print(
            f"tables identical in content: {not differ}"
            + (
                f" (differ: {differ[:5]}{'...' if len(differ) > 5 else ''})"
                if differ
                else ""
            )
        )
    print(
        f"workflow wall / loop wall = {wf_wall / lp_wall:.2f} "
        f"(CPU {wf_cpu / lp_cpu:.2f})"
    )


if __name__ == "__main__":
    main()

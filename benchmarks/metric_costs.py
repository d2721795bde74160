"""Per-model metric cost against training, in one process.

Trains a few representative models of the default config (its data, training
and metric settings; by default circles and digits x sigmoid and relu x
depths 2 and 8, width 64, the first initializer and seed) with the package
API, then times each per-model stage as the workflow's jobs call it
(``train_model``, and the three parts of ``evaluate_models``,
:mod:`geoctx.evaluation`):

- ``training``: :func:`geoctx.training.train_model`;
- ``geometry``: :func:`geoctx.geometry.stage.geometry_table` on the exported
  representations;
- ``jacobians``: loading the init and trained models and
  :func:`geoctx.geometry.stage.jacobian_table`;
- ``robustness``: :func:`geoctx.robustness.evaluate_run`, which loads the
  model and its matched transfer sources.

As in an ``evaluate_models`` job, each model file is loaded once
(:func:`geoctx.storage.model_cache`), so a model loaded for its Jacobians is
not loaded again for its attacks or as a transfer source.

CPU seconds are ``time.process_time`` with TensorFlow and the numpy/scipy
thread pools on one thread (the jobs' ``threads: 1``); imports are paid
once, before the first timing. Prints one row per
model, the per-stage medians, and on the last line the ratio of the median
(geometry + jacobians + robustness) to the median training (target: at most
1). ``--save DIR`` also writes each model's three metric tables, to check
that a change leaves them identical.

    python benchmarks/metric_costs.py [--config FILE] [--datasets circles digits]
        [--activations sigmoid relu] [--depths 2 8] [--save DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

STAGES = ("training", "geometry", "jacobians", "robustness")


def cpu(function, *args, **kwargs):
    """``function(*args, **kwargs)`` and the CPU seconds it took."""
    start = time.process_time()
    out = function(*args, **kwargs)
    return out, time.process_time() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument("--datasets", nargs="+", default=["circles", "digits"])
    parser.add_argument("--activations", nargs="+", default=["sigmoid", "relu"])
    parser.add_argument("--depths", nargs="+", type=int, default=[2, 8])
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--save", help="write each model's metric tables here")
    args = parser.parse_args(argv)

    import pandas as pd
    from threadpoolctl import threadpool_limits

    from geoctx import datasets, robustness, storage, training
    from geoctx.config import MODEL_PATH, dataset_params, load_schema, validate_config
    from geoctx.geometry.stage import GeometrySettings, geometry_table, jacobian_table
    from geoctx.names import transfer_sources

    config = validate_config(
        yaml.safe_load(Path(args.config).read_text()), load_schema()
    )
    training.configure_backend(threads=1, seed=0)
    geometry = GeometrySettings(**config["geometry"])
    settings = robustness.RobustnessSettings(
        **{k: v for k, v in config["robustness"].items() if k != "transfer_from"}
    )
    train_settings = training.TrainSettings(**config["training"])
    grid = [
        {
            "dataset": dataset,
            "activation": activation,
            "initializer": config["initializers"][0],
            "width": args.width,
            "depth": depth,
            "seed": config["seeds"][0],
        }
        for dataset in args.datasets
        for activation in args.activations
        for depth in args.depths
    ]
    threadpool_limits(1)
    work = Path(tempfile.mkdtemp(prefix="metric_costs_"))
    data, trained, costs = {}, {}, []
    for keys in grid:  # training first: transfer attacks need the matched models
        if keys["dataset"] not in data:
            spec = dataset_params(config, keys["dataset"])
            data[keys["dataset"]] = datasets.make_dataset(
                spec["dataset"],
                test_fraction=spec["test_fraction"],
                validation_fraction=spec["validation_fraction"],
                probe_size=spec["probe_size"],
            )[0]
        name = MODEL_PATH.format(**keys)
        result, seconds = cpu(
            training.train_model,
            data[keys["dataset"]],
            training.ModelSpec(**keys),
            train_settings,
            threads=1,
        )
        paths = {
            "model": work / name / "model.keras",
            "init_model": work / name / "init.keras",
            "run": work / name / "runs.parquet",
            "history": work / name / "history.parquet",
            "units": work / name / "units.parquet",
            "representations": work / name / "representations.npz",
            "settings": work / name / "settings.json",
        }
        training.save(result, {k: str(v) for k, v in paths.items()})
        trained[name] = (paths, result.run["status"])
        costs.append({"model": name, "training": seconds})
    # as in an evaluate_models job: each model is loaded once (storage.model_cache)
    with storage.model_cache():
        for keys, row in zip(grid, costs, strict=True):
            paths, status = trained[row["model"]]
            arrays = data[keys["dataset"]]
            reps = storage.load_npz(paths["representations"])
            y_probe = arrays["y_test"][arrays["probe_index"]]
            tables = {}
            tables["geometry"], row["geometry"] = cpu(
                geometry_table, reps, y_probe, geometry
            )

            def jacobians(paths=paths, reps=reps):
                models = {
                    "init": storage.load_model(paths["init_model"]),
                    "trained": storage.load_model(paths["model"]),
                }
                return jacobian_table(models, reps["init/layer_0"], geometry)

            training.configure_backend(threads=1, seed=keys["seed"])
            tables["jacobians"], row["jacobians"] = cpu(jacobians)
            sources = {}
            for source in transfer_sources(
                keys["activation"],
                args.activations,
                config["robustness"]["transfer_from"],
            ):
                other = MODEL_PATH.format(**{**keys, "activation": source})
                sources[source] = (str(trained[other][0]["model"]), trained[other][1])
            training.configure_backend(threads=1, seed=keys["seed"])
            tables["robustness"], row["robustness"] = cpu(
                robustness.evaluate_run,
                str(paths["model"]),
                arrays,
                status=status,
                keys=keys,
                settings=settings,
                transfer_sources=sources,
            )
            if args.save:
                out = Path(args.save) / row["model"].replace("/", "_")
                out.mkdir(parents=True, exist_ok=True)
                for stage, table in tables.items():
                    table.to_parquet(out / f"{stage}.parquet")
            print(
                row["model"],
                " ".join(f"{s}={row[s]:.2f}s" for s in STAGES),
                flush=True,
            )
    df = pd.DataFrame(costs).set_index("model")
    df["metrics"] = df.geometry + df.jacobians + df.robustness
    df["ratio"] = df.metrics / df.training
    print("\nCPU seconds per model (1 thread):")
    print(df.round(2).to_string())
    medians = df.median()
    print("\nmedian CPU seconds:")
    for stage in (*STAGES, "metrics"):
        print(f"  {stage:12s} {medians[stage]:6.2f}")
    print(
        "(geometry + jacobians + robustness) / training, medians: "
        f"{medians.metrics / medians.training:.2f}"
    )


if __name__ == "__main__":
    main()

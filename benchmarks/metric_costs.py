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

It also measures what the settings themselves cost:

- ``attack passes``: the rows the attacks pass through a model's compiled
  forward and input-gradient functions (:func:`geoctx.autodiff.predict`,
  :func:`geoctx.autodiff.logits_and_input_gradient`), counted during the
  stage, times each function's steady CPU per row on that model (the best
  of several 1,024-row calls after a warm-up, so no tracing): the
  configured attacks' model arithmetic alone, before any Python around it.
  It is a lower bound: the stage's few clean, calibration and boundary
  forward passes are in it, but not the Jacobians of DeepFool and of the
  Lipschitz estimate (:func:`geoctx.autodiff.logit_jacobians`), and
  examples crafted on a transfer source are priced at the attacked
  model's rate (the same shapes);
- ``linear probe``: the CPU inside
  :func:`geoctx.geometry.linear_probe_accuracy` during the geometry stage
  (five cross-validated logistic regressions per representation);
- ``GFLOP/s`` of training and of the attack passes, against one thread's
  float32 matrix product here. Two flops per multiply-add of the dense
  kernels; a training row is a forward and a backward pass (3 times the
  forward's multiply-adds) and each epoch also runs the validation points
  forward; an attack gradient row is a forward and a backward pass to the
  input (2 times).

    python benchmarks/metric_costs.py [--config FILE] [--datasets circles digits]
        [--activations sigmoid relu] [--depths 2 8] [--save DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
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


#: The compiled model functions the attacks call, by kind of pass.
PASSES = {"gradient": "logits_and_input_gradient", "forward": "predict"}


@contextlib.contextmanager
def watching(module, *names):
    """Within the block, every call of ``module.<name>`` for each of
    ``names``: ``{name: {"seconds": CPU, "rows": rows}}``, summed (rows: the
    length of the call's second argument, the inputs of autodiff's
    functions). Calls are caught where callers look the name up in
    ``module``."""
    seen = {name: {"seconds": 0.0, "rows": 0} for name in names}
    originals = {name: getattr(module, name) for name in names}

    def watched(name):
        def call(*args, **kwargs):
            out, spent = cpu(originals[name], *args, **kwargs)
            seen[name]["seconds"] += spent
            seen[name]["rows"] += len(args[1]) if len(args) > 1 else 0
            return out

        return call

    for name in names:
        setattr(module, name, watched(name))
    try:
        yield seen
    finally:
        for name, original in originals.items():
            setattr(module, name, original)


def steady_seconds_per_row(autodiff, model, x, y, rows=1024, repeats=7) -> dict:
    """CPU seconds per row of each function of :data:`PASSES` on ``model``, warm."""
    x = np.resize(np.asarray(x, dtype=np.float32), (rows, x.shape[1]))
    y = np.resize(np.asarray(y), rows).astype(np.int64)
    calls = {
        "logits_and_input_gradient": lambda: autodiff.logits_and_input_gradient(
            model, x, y
        ),
        "predict": lambda: autodiff.predict(model, x),
    }
    rates = {}
    for name, call in calls.items():
        call()  # traced and compiled, if it was not yet
        rates[name] = min(cpu(call)[1] for _ in range(repeats)) / rows
    return rates


def kernel_multiply_adds(model) -> int:
    """Multiply-adds of one row's forward pass through the dense kernels."""
    return sum(
        int(np.prod(layer.kernel.shape))
        for layer in model.layers
        if hasattr(layer, "kernel")
    )


def matmul_gflops(size=1024, repeats=5) -> float:
    """One thread's float32 matrix product rate here, numpy's BLAS."""
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    a @ a
    best = min(cpu(np.matmul, a, a)[1] for _ in range(repeats))
    return 2 * size**3 / best / 1e9


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

    from geoctx import autodiff, datasets, robustness, storage, training
    from geoctx.config import MODEL_PATH, dataset_params, load_schema, validate_config
    from geoctx.geometry import per_layer
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
                probe_points=spec["probe_points"],
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
        arrays = data[keys["dataset"]]
        multiply_adds = kernel_multiply_adds(result.model)
        costs.append(
            {
                "model": name,
                "training": seconds,
                "training_gflop": 2
                * multiply_adds
                * len(result.history)
                * (3 * len(arrays["X_train"]) + len(arrays["X_val"]))
                / 1e9,
                "multiply_adds": multiply_adds,
            }
        )
    # as in an evaluate_models job: each model is loaded once (storage.model_cache)
    with storage.model_cache():
        for keys, row in zip(grid, costs, strict=True):
            paths, status = trained[row["model"]]
            arrays = data[keys["dataset"]]
            reps = storage.load_npz(paths["representations"])
            y_probe = arrays["y_test"][arrays["probe_index"]]
            tables = {}
            with watching(per_layer, "linear_probe_accuracy") as probe:
                tables["geometry"], row["geometry"] = cpu(
                    geometry_table, reps, y_probe, geometry
                )
            row["probe"] = probe["linear_probe_accuracy"]["seconds"]

            def jacobians(paths=paths, reps=reps):
                models = {
                    "init": storage.load_model(paths["init_model"]),
                    "trained": storage.load_model(paths["model"]),
                }
                return jacobian_table(models, reps["init/layer_0"], geometry)

            training.configure_model_run(threads=1, seed=keys["seed"])
            tables["jacobians"], row["jacobians"] = cpu(jacobians)
            sources = {}
            for source in transfer_sources(
                keys["activation"],
                args.activations,
                config["robustness"]["transfer_from"],
            ):
                other = MODEL_PATH.format(**{**keys, "activation": source})
                sources[source] = (str(trained[other][0]["model"]), trained[other][1])
            training.configure_model_run(threads=1, seed=keys["seed"])
            with watching(autodiff, *PASSES.values()) as passes:
                tables["robustness"], row["robustness"] = cpu(
                    robustness.evaluate_run,
                    str(paths["model"]),
                    arrays,
                    status=status,
                    keys=keys,
                    settings=settings,
                    transfer_sources=sources,
                )
            rates = steady_seconds_per_row(
                autodiff,
                storage.load_model(paths["model"]),
                arrays["X_test"],
                arrays["y_test"],
            )
            row["attack_passes"] = sum(
                passes[name]["rows"] * rates[name] for name in rates
            )
            row["attack_gflop"] = (
                2 * row["multiply_adds"] * (2 * passes[PASSES["gradient"]]["rows"])
                + 2 * row["multiply_adds"] * passes[PASSES["forward"]]["rows"]
            ) / 1e9
            row["gradient_rows"] = passes[PASSES["gradient"]]["rows"]
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
    print(df[[*STAGES, "metrics", "ratio"]].round(2).to_string())
    print(
        "\nthe attacks' model passes alone (rows x steady CPU per row), "
        "against training:"
    )
    floor = pd.DataFrame(
        {
            "gradient rows": df.gradient_rows,
            "attack passes": df.attack_passes,
            "of training": df.attack_passes / df.training,
            "linear probe": df.probe,
            "probe of training": df.probe / df.training,
            "passes GFLOP/s": df.attack_gflop / df.attack_passes,
            "training GFLOP/s": df.training_gflop / df.training,
        }
    )
    print(floor.round(2).to_string())
    medians = df.median()
    print("\nmedian CPU seconds:")
    for stage in (*STAGES, "metrics", "attack_passes", "probe"):
        print(f"  {stage:13s} {medians[stage]:6.2f}")
    print(
        "one thread's float32 matrix product (1,024 x 1,024): "
        f"{matmul_gflops():.1f} GFLOP/s"
    )
    print(
        "the attacks' model passes alone, median: "
        f"{medians.attack_passes / medians.training:.2f} of training; "
        f"the linear probe alone: {medians.probe / medians.training:.2f}"
    )
    print(
        "(geometry + jacobians + robustness) / training, medians: "
        f"{medians.metrics / medians.training:.2f}"
    )


if __name__ == "__main__":
    main()

"""Has PGD converged? Robust accuracy against PGD steps and random restarts.

Trains a handful of the default study's models (``config/config.yaml``:
circles, spirals and digits x sigmoid and relu x depth 2 and 8, first width,
initializer and seed) through the package API, then attacks each model's
probe points with margin-loss PGD (L-inf and L2) at every configured epsilon,
for steps in {10, 20, 50, 100} and restarts in {1, 3, 5, 10}. Restarts are
nested: the result for r restarts is the per-point worst case over the first
r of 10 random restarts (the first also holds the one-step point), which is
what ``pgd(restarts=r)`` computes. Prints robust accuracy per model, then,
per (steps, restarts), the largest change from the strongest setting
(100 x 10) over models and epsilons: a setting has converged when that
change is under about one point (0.01).

    python benchmarks/attack_convergence.py [config/config.yaml] [--models DIR]
        [--attacks pgd_margin_linf pgd_margin_l2]

``--models DIR`` keeps the trained models there (``<name>.keras``) and
reuses them on the next run; ``--attacks`` limits the attacks run.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd
import yaml

from geoctx.config import dataset_params, validate_config
from geoctx.datasets import make_dataset
from geoctx.robustness import RobustnessSettings, prepare
from geoctx.robustness._common import _clip_bounds
from geoctx.robustness.gradient import _one_step, _pgd_search
from geoctx.training import ModelSpec, TrainSettings, configure_backend, train_model

DATASETS = ("circles", "spirals", "digits")
ACTIVATIONS = ("sigmoid", "relu")
DEPTHS = (2, 8)
STEPS = (10, 20, 50, 100)
RESTARTS = (1, 3, 5, 10)
ATTACKS = {"pgd_margin_linf": "linf", "pgd_margin_l2": "l2"}


def trained_models(config, cache):
    """``{(dataset, activation, depth): (model, data)}`` of the benchmarked cells."""
    import keras

    settings = TrainSettings(**config["training"])
    models = {}
    for dataset in DATASETS:
        params = dataset_params(config, dataset)
        data, _ = make_dataset(
            params.pop("dataset"),
            **{k: params[k] for k in ("test_fraction", "validation_fraction")},
            probe_points=params["probe_points"],
        )
        for activation, depth in itertools.product(ACTIVATIONS, DEPTHS):
            spec = ModelSpec(
                dataset=dataset,
                activation=activation,
                initializer=config["initializers"][0],
                width=config["widths"][0],
                depth=depth,
                seed=config["seeds"][0],
            )
            path = cache and Path(cache, f"{dataset}_{activation}_d{depth}.keras")
            if path and path.exists():
                model = keras.saving.load_model(path, compile=False)
            else:
                result = train_model(data, spec, settings)
                model = result.model
                print(f"trained {path or spec}: {result.run['test_accuracy']:.3f}")
                if path:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    model.save(path)
            models[(dataset, activation, depth)] = (model, data)
    return models


def convergence(model, data, settings, attacks=tuple(ATTACKS)):
    """Rows (attack, epsilon, steps, restarts, accuracy) of one model."""
    data = {**data, "clip": _clip(data)}
    inputs = prepare(data, settings, attacked_points=len(data["probe_index"]))
    x, y = inputs.x_probe, inputs.y_probe
    bounds = _clip_bounds(inputs.clip, x)
    rows = []
    for attack in attacks:
        norm = ATTACKS[attack]
        unit = inputs.l2_unit if norm == "l2" else inputs.std
        for e in settings.epsilons:
            if e == 0:
                continue
            eps = np.full(len(x), e * unit)
            one_step = _one_step(model, x, y, eps, norm, bounds, 1024, "margin")
            for steps in STEPS:
                rng = np.random.default_rng(0)
                fooled = np.zeros(len(x), dtype=bool)
                for restart in range(1, max(RESTARTS) + 1):
                    worst = _pgd_search(
                        model,
                        x,
                        y,
                        eps,
                        norm=norm,
                        steps=steps,
                        step_size=eps * settings.pgd_step_size_factor / steps,
                        restarts=1,
                        rng=rng,
                        bounds=bounds,
                        batch_size=1024,
                        candidates=[one_step] if restart == 1 else [],
                        loss="margin",
                    )
                    fooled |= worst.fooled
                    if restart in RESTARTS:
                        accuracy = float(np.mean(~fooled))
                        rows.append((attack, e, steps, restart, accuracy))
    return pd.DataFrame(
        rows, columns=["attack", "epsilon", "steps", "restarts", "accuracy"]
    )


def _clip(data):
    return (data["clip_low"], data["clip_high"]) if "clip_low" in data else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="config/config.yaml")
    parser.add_argument("--models", default=None, help="cache of trained models")
    parser.add_argument("--attacks", nargs="+", choices=list(ATTACKS), default=None)
    args = parser.parse_args()
    config = validate_config(yaml.safe_load(Path(args.config).read_text()))
    configure_backend(threads=1, seed=0)
    robustness = dict(config["robustness"])
    fields = {f.name for f in dataclasses.fields(RobustnessSettings)}
    kept = {k: robustness[k] for k in fields & set(robustness)}
    settings = RobustnessSettings(**kept)
    frames = []
    for (dataset, activation, depth), (model, data) in trained_models(
        config, args.models
    ).items():
        start = time.process_time()
        table = convergence(model, data, settings, args.attacks or tuple(ATTACKS))
        seconds = time.process_time() - start
        print(f"{dataset} {activation} depth {depth}: {seconds:.0f} CPU s")
        print(
            table.pivot_table(
                index=["attack", "epsilon"],
                columns=["steps", "restarts"],
                values="accuracy",
            )
            .round(3)
            .to_string(),
            flush=True,
        )
        frames.append(table.assign(dataset=dataset, activation=activation, depth=depth))
    df = pd.concat(frames, ignore_index=True)
    keys = ["dataset", "activation", "depth", "attack", "epsilon"]
    pd.set_option("display.width", 200)
    print("\nrobust accuracy (rows: model, attack, epsilon; columns: steps x restarts)")
    print(
        df.pivot_table(index=keys, columns=["steps", "restarts"], values="accuracy")
        .round(3)
        .to_string()
    )
    strongest = df[(df.steps == max(STEPS)) & (df.restarts == max(RESTARTS))]
    df = df.merge(
        strongest[[*keys, "accuracy"]].rename(columns={"accuracy": "best"}), on=keys
    )
    df["change"] = df["accuracy"] - df["best"]
    print("\nlargest accuracy above the 100 x 10 attack, over models and epsilons")
    print(
        df.pivot_table(
            index="steps", columns="restarts", values="change", aggfunc="max"
        )
        .round(3)
        .to_string()
    )
    print("\nmean accuracy above the 100 x 10 attack")
    print(
        df.pivot_table(
            index="steps", columns="restarts", values="change", aggfunc="mean"
        )
        .round(4)
        .to_string()
    )
    print("\nby activation: largest change (rows steps, columns restarts)")
    for activation, part in df.groupby("activation"):
        print(activation)
        print(
            part.pivot_table(
                index="steps", columns="restarts", values="change", aggfunc="max"
            )
            .round(3)
            .to_string()
        )


if __name__ == "__main__":
    main()

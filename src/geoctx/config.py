"""Study configuration: valid names, validation, and the per-job slices.

This module is imported by the Snakefile, so it stays light: no Keras, no
TensorFlow, no numpy. The names Keras accepts are listed here statically;
``tests/test_config.py`` checks the lists against the installed Keras.

Validation happens in two layers. The JSON schema
(``workflow/schemas/config.schema.yaml``) checks types, ranges and fills
defaults; :func:`validate_config` then checks what a schema cannot say well
(Keras names, dataset generators and their parameters) and turns every
problem into one :class:`ConfigError` whose message names the key.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_PATH = (
    Path(__file__).resolve().parents[2] / "workflow/schemas/config.schema.yaml"
)

#: Activations whose output lies in a bounded interval, with that interval.
#: A unit is saturated when its output is within ``SATURATION_TOLERANCE``
#: of either bound.
BOUNDED_ACTIVATIONS: dict[str, tuple[float, float]] = {
    "sigmoid": (0.0, 1.0),
    "hard_sigmoid": (0.0, 1.0),
    "sparse_sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "hard_tanh": (-1.0, 1.0),
    "softsign": (-1.0, 1.0),
}
SATURATION_TOLERANCE = 0.01

#: Rectifier-like activations; ``initializer: auto`` gives them He-normal.
RELU_FAMILY = frozenset(
    {
        "relu",
        "relu6",
        "leaky_relu",
        "elu",
        "selu",
        "celu",
        "gelu",
        "silu",
        "swish",
        "mish",
        "hard_silu",
        "hard_swish",
        "softplus",
        "sparse_plus",
        "squareplus",
    }
)

#: Keras activation names that cannot be a hidden-layer activation here:
#: ``threshold`` needs arguments, ``glu`` halves the layer's width.
UNUSABLE_ACTIVATIONS = {
    "threshold": "needs its threshold and default_value arguments",
    "glu": "halves the last dimension, so the layer would not have `width` units",
}

#: Every other activation name Keras 3 resolves.
ACTIVATIONS = tuple(
    sorted(
        set(BOUNDED_ACTIVATIONS)
        | RELU_FAMILY
        | {
            "exponential",
            "hard_shrink",
            "linear",
            "log_sigmoid",
            "log_softmax",
            "soft_shrink",
            "softmax",
            "sparsemax",
            "tanh_shrink",
        }
    )
)

#: Keras initializer names usable for a non-square Dense kernel, plus ``auto``.
INITIALIZERS = (
    "auto",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "ones",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "variance_scaling",
    "zeros",
)

#: Dataset generators and the parameters each accepts (besides ``generator``).
GENERATORS: dict[str, frozenset[str]] = {
    "moons": frozenset({"n_samples", "noise", "seed"}),
    "circles": frozenset({"n_samples", "noise", "factor", "seed"}),
    "spirals": frozenset({"n_samples", "noise", "arms", "turns", "seed"}),
    "nested_spheres": frozenset({"n_samples", "noise", "radii", "seed"}),
    "disks_in_holes": frozenset({"n_samples", "holes", "seed"}),
    "interlocked_rings": frozenset({"n_samples", "noise", "pairs", "seed"}),
    "digits": frozenset({"n_samples", "seed"}),
    "mnist1d": frozenset({"n_samples", "seed"}),
}

#: Generators whose points live in 2-D or 3-D, drawn layer by layer.
LOW_DIMENSIONAL = frozenset(
    {
        "moons",
        "circles",
        "spirals",
        "nested_spheres",
        "disks_in_holes",
        "interlocked_rings",
    }
)

#: Metrics of one layer's representation, in the order
#: ``geoctx.geometry.all_metrics`` returns them.
LAYER_METRICS = (
    "distance_spearman",
    "distance_contrast",
    "knn_overlap",
    "trustworthiness",
    "continuity",
    "linear_cka",
    "twonn_dimension",
    "effective_rank",
    "betti_0",
    "betti_1",
    "linear_probe_accuracy",
)
#: Metrics that need the model, from ``geoctx.geometry.stage.jacobian_table``.
JACOBIAN_METRICS = (
    "jacobian_log_sv_mean",
    "jacobian_condition",
    "jacobian_collapsed_fraction",
    "trajectory_length_ratio",
    "trajectory_length_scaled",
)
#: Metrics of the geometry table.
GEOMETRY_METRICS = (*LAYER_METRICS, *JACOBIAN_METRICS)

#: Config sections that determine the trained models (and so every table).
SWEEP_KEYS = (
    "datasets",
    "activations",
    "initializers",
    "depths",
    "widths",
    "seeds",
    "splits",
    "training",
)

#: The columns (and wildcards) that identify one model.
MODEL_KEYS = ("dataset", "activation", "initializer", "width", "depth", "seed")


class ConfigError(ValueError):
    """A study config that cannot be run; the message names the key."""


def resolve_initializer(initializer: str, activation: str) -> str:
    """Return the Keras initializer name that ``initializer`` stands for.

    ``auto`` means He-normal for the ReLU family and Glorot-uniform for every
    other activation (bounded ones included), the usual pairing.

    >>> resolve_initializer("auto", "relu"), resolve_initializer("auto", "tanh")
    ('he_normal', 'glorot_uniform')
    """
    if initializer != "auto":
        return initializer
    return "he_normal" if activation in RELU_FAMILY else "glorot_uniform"


def load_schema(path: Path | str = SCHEMA_PATH) -> dict:
    """Read the config JSON schema (YAML)."""
    with open(path) as fh:
        return yaml.safe_load(fh)


def _fill_defaults(instance: Any, schema: Mapping) -> None:
    """Fill missing keys with the schema's defaults, recursively."""
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(value, extra)


def _key(path) -> str:
    parts = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else f".{p}")
    return "".join(parts).lstrip(".") or "<top level>"


def validate_config(config: Mapping, schema: Mapping | None = None) -> dict:
    """Validate a study config and return a copy with defaults filled in.

    Raises
    ------
    ConfigError
        One message listing every problem, each naming its key, e.g.
        ``activations[1]: 'sigmod' is not a Keras activation; valid: ...``.
    """
    schema = load_schema() if schema is None else schema
    config = copy.deepcopy(dict(config))
    validator = jsonschema.Draft202012Validator(schema)
    problems = [
        f"{_key(err.absolute_path)}: {err.message}"
        for err in sorted(validator.iter_errors(config), key=lambda e: e.path)
    ]
    if problems:
        raise ConfigError("invalid study config:\n  " + "\n  ".join(problems))
    _fill_defaults(config, schema)

    for i, name in enumerate(config["activations"]):
        if name in UNUSABLE_ACTIVATIONS:
            problems.append(
                f"activations[{i}]: {name!r} cannot be a hidden-layer activation: "
                f"it {UNUSABLE_ACTIVATIONS[name]}"
            )
        elif name not in ACTIVATIONS:
            problems.append(
                f"activations[{i}]: {name!r} is not a Keras activation; "
                f"valid names: {', '.join(ACTIVATIONS)}"
            )
    for i, name in enumerate(config["initializers"]):
        if name not in INITIALIZERS:
            problems.append(
                f"initializers[{i}]: {name!r} is not a usable Keras initializer; "
                f"valid names: {', '.join(INITIALIZERS)}"
            )
    for name, params in config["datasets"].items():
        generator = params.get("generator", name)
        if generator not in GENERATORS:
            problems.append(
                f"datasets.{name}: unknown dataset generator {generator!r}; "
                f"valid: {', '.join(GENERATORS)} (or set 'generator:')"
            )
            continue
        unknown = sorted(set(params) - GENERATORS[generator] - {"generator"})
        if unknown:
            problems.append(
                f"datasets.{name}: {generator} takes no parameter "
                f"{', '.join(map(repr, unknown))}; valid: "
                f"{', '.join(sorted(GENERATORS[generator]))}"
            )
    projection_depth = config["geometry"]["projection_depth"]
    if projection_depth is not None and projection_depth not in config["depths"]:
        problems.append(
            f"geometry.projection_depth: {projection_depth} is not one of the "
            f"depths {config['depths']}"
        )
    for axis in ("activations", "initializers", "depths", "widths", "seeds"):
        values = config[axis]
        if len(set(values)) != len(values):
            problems.append(f"{axis}: duplicate entries in {values}")
    if problems:
        raise ConfigError("invalid study config:\n  " + "\n  ".join(problems))
    return _sorted_keys(config)


def _sorted_keys(obj: Any) -> Any:
    """Mappings with sorted keys, recursively: the same study written in
    another key order gives identical job params (no spurious reruns)."""
    if isinstance(obj, Mapping):
        return {k: _sorted_keys(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [_sorted_keys(v) for v in obj]
    return obj


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the form every hash is over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


#: The config sections each study table depends on.
TABLE_CONFIG_KEYS: dict[str, tuple[str, ...]] = {
    "runs": SWEEP_KEYS,
    "history": SWEEP_KEYS,
    "units": SWEEP_KEYS,
    "geometry": (*SWEEP_KEYS, "geometry"),
    "robustness": (*SWEEP_KEYS, "robustness"),
    "inference": ("activations", "depths", "widths", "inference"),
}


def config_hash(config: Mapping, keys: tuple[str, ...] = SWEEP_KEYS) -> str:
    """SHA-256 of the config sections a table depends on.

    Only ``keys`` count, so retitling the study (or changing a later
    stage's settings) leaves the training tables untouched.
    """
    part = {k: config.get(k) for k in keys}
    if isinstance(part.get("geometry"), Mapping):
        # which depth the projection figure draws changes no number
        part["geometry"] = {
            k: v for k, v in part["geometry"].items() if k != "projection_depth"
        }
    return hashlib.sha256(canonical_json(part).encode()).hexdigest()


def dataset_params(config: Mapping, dataset: str) -> dict:
    """The slice of config one ``make_dataset`` job needs."""
    params = dict(config["datasets"][dataset])
    params.setdefault("generator", dataset)
    return {
        "dataset": params,
        "test_fraction": config["splits"]["test_fraction"],
        "probe_size": config["splits"]["probe_size"],
        "validation_fraction": config["training"]["validation_fraction"],
    }


def model_grid(config: Mapping) -> list[dict]:
    """One dict of model keys per model in the sweep, in a stable order."""
    return [
        {
            "dataset": dataset,
            "activation": activation,
            "initializer": initializer,
            "width": width,
            "depth": depth,
            "seed": seed,
        }
        for dataset in config["datasets"]
        for activation in config["activations"]
        for initializer in config["initializers"]
        for width in config["widths"]
        for depth in config["depths"]
        for seed in config["seeds"]
    ]

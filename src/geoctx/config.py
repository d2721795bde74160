"""Study configuration: valid names, validation, and the per-job slices.

This module is imported by the Snakefile, so it stays light: no Keras, no
TensorFlow, no numpy. The names Keras accepts are listed here statically;
``tests/test_config.py`` checks the lists against the installed Keras.

Validation happens in two layers. The JSON schema
(``workflow/schemas/config.schema.yaml``, with the stricter validator of
:mod:`geoctx.schema`: finite numbers, int-only integers, full-string
patterns, sizes) checks types, ranges and fills defaults;
:func:`validate_config` then checks what a schema cannot say well (Keras
names, dataset generators and their parameters) and turns every problem
into one :class:`ConfigError` whose message names the key.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from geoctx.renamed_keys import renamed_key_problems, without_renamed_keys
from geoctx.schema import Validator, short, size_problems
from geoctx.schema import key as _key
from geoctx.sources import DATA_SOURCES, source_key_problems

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

#: Dataset generators, each with every parameter it accepts (besides
#: ``generator``) and its default; ``tests/test_config.py`` checks them
#: against the functions in :mod:`geoctx.datasets`. Validation fills them
#: in, so writing a default explicitly changes nothing.
GENERATORS: dict[str, dict[str, Any]] = {
    "moons": {"n_samples": 2000, "noise": 0.1, "seed": 0},
    "circles": {"n_samples": 2000, "noise": 0.05, "factor": 0.5, "seed": 0},
    "spirals": {"n_samples": 2000, "noise": 0.05, "arms": 2, "turns": 1.5, "seed": 0},
    "nested_spheres": {
        "n_samples": 2000,
        "noise": 0.05,
        "radii": [1.0, 2.0],
        "seed": 0,
    },
    "disks_in_holes": {"n_samples": 2000, "holes": 3, "seed": 0},
    "interlocked_rings": {"n_samples": 2000, "noise": 0.05, "pairs": 1, "seed": 0},
    "digits": {"n_samples": 1797, "seed": 0},
    "mnist1d": {"n_samples": 6667, "seed": 0},
}

#: Generators that draw from a fixed collection, with its size.
AVAILABLE_SAMPLES = {"digits": 1797}

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

#: Config lists whose order means nothing: validation sorts them, so that
#: reordering them reruns nothing.
UNORDERED_LISTS = (
    ("activations",),
    ("initializers",),
    ("depths",),
    ("widths",),
    ("seeds",),
    ("robustness", "sigmas"),
    ("robustness", "epsilons"),
    ("robustness", "transfer_from"),
    ("inference", "depths"),
    ("inference", "widths"),
    ("inference", "batch_sizes"),
    ("tuning", "learning_rates"),
    ("tuning", "seeds"),
)

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
    "tuning",
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


def transfer_problems(written: Mapping) -> list[str]:
    """Problems of the written ``robustness.transfer_from`` (before defaults).

    Written, it must name activations of the sweep; left out, its default
    applies to those of the sweep it names. ``reference_activation`` (one
    activation) was replaced by ``transfer_from`` (a list).

    Examples
    --------
    >>> transfer_problems({"activations": ["relu"], "robustness": {}})
    []
    >>> transfer_problems(
    ...     {"activations": ["relu"], "robustness": {"transfer_from": ["tanh"]}}
    ... )  # doctest: +ELLIPSIS
    ["robustness.transfer_from: 'tanh' is not one of the activations ['relu']..."]
    """
    robustness = written.get("robustness") or {}
    activations = written.get("activations") or []
    problems = []
    transfer_from = robustness.get("transfer_from")
    if isinstance(transfer_from, list) and isinstance(activations, list):
        problems += [
            f"robustness.transfer_from: {name!r} is not one of the activations "
            f"{activations}; name activations of the sweep (or leave the key out: "
            "then sigmoid and relu, those of them in the sweep)"
            for name in transfer_from
            if name not in activations
        ]
    return problems


def validate_config(config: Mapping, schema: Mapping | None = None) -> dict:
    """Validate a study config and return its canonical form.

    The canonical form has every default filled in (the schema's and each
    dataset generator's), the unordered lists (:data:`UNORDERED_LISTS`)
    sorted and mappings in key order: two configs that mean the same study
    give the same job parameters and hashes, so nothing reruns.

    Every value a job would reject is checked here, before any job runs.
    ``robustness.transfer_from`` and ``claims.primary`` must name
    activations of the sweep when written; left out, their defaults apply
    where the sweep has them (else no transfer attack, or claims "not
    measured", as the report says).

    Raises
    ------
    ConfigError
        One message listing every problem, each naming its key, e.g.
        ``activations[1]: 'sigmod' is not a Keras activation; valid: ...``.

    Examples
    --------
    >>> a = validate_config(
    ...     {"datasets": {"moons": {}}, "activations": ["tanh", "relu"]}
    ... )
    >>> b = validate_config(
    ...     {"datasets": {"moons": {"seed": 0}}, "activations": ["relu", "tanh"]}
    ... )
    >>> a == b, a["activations"], a["datasets"]["moons"]["n_samples"]
    (True, ['relu', 'tanh'], 2000)
    """
    schema = load_schema() if schema is None else schema
    # sizes and non-finite numbers first: nothing below expands a huge value
    problems = size_problems(config, schema)
    if problems:
        raise ConfigError("invalid study config:\n  " + "\n  ".join(problems))
    config = copy.deepcopy(dict(config))
    problems = renamed_key_problems(config)
    problems += [
        f"{_key(err.absolute_path)}: {_cut(err.message)}"
        for err in sorted(
            Validator(schema).iter_errors(without_renamed_keys(config)),
            key=lambda e: e.path,
        )
    ]
    if problems:
        raise ConfigError("invalid study config:\n  " + "\n  ".join(problems))
    written = copy.deepcopy(config)
    _fill_defaults(config, schema)
    problems = [
        *_name_problems(config),
        *_dataset_problems(config),
        *_geometry_problems(config),
        *_choice_problems(config, written),
        *transfer_problems(written),
        *_tuning_problems(config),
    ]
    if problems:
        raise ConfigError("invalid study config:\n  " + "\n  ".join(problems))
    for name, params in config["datasets"].items():
        generator = params.get("generator", name)
        config["datasets"][name] = {
            **{**GENERATORS, **DATA_SOURCES}[generator],
            **params,
            "generator": generator,
        }
    for path in UNORDERED_LISTS:
        parent = config
        for key in path[:-1]:
            parent = parent[key]
        if parent.get(path[-1]) is not None:
            parent[path[-1]] = sorted(parent[path[-1]])
    return _sorted_keys(config)


def _tuning_problems(config: Mapping) -> list[str]:
    """Tuning seeds the study also uses, and a grid that cannot be stacked."""
    problems = []
    shared = sorted(set(config["tuning"]["seeds"]) & set(config["seeds"]))
    if shared:
        problems.append(
            f"tuning.seeds: {shared} are also study seeds {config['seeds']}; "
            "the learning rate must be chosen on seeds the study does not use"
        )
    optimizer = config["training"]["optimizer"]
    if len(config["tuning"]["learning_rates"]) > 1 and optimizer != "adam":
        problems.append(
            f"training.optimizer: {optimizer!r} cannot be tuned, only adam "
            "(or give tuning.learning_rates one rate)"
        )
    return problems


def _name_problems(config: Mapping) -> list[str]:
    """Keras names, the projection depth and duplicate sweep entries."""
    problems = []
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
    projection_depth = config["geometry"]["projection_depth"]
    if projection_depth is not None and projection_depth not in config["depths"]:
        problems.append(
            f"geometry.projection_depth: {projection_depth} is not one of the "
            f"depths {config['depths']}"
        )
    for path in UNORDERED_LISTS:
        values = config
        for key in path:
            values = values[key]
        if values is not None and len(set(values)) != len(values):
            problems.append(f"{'.'.join(path)}: duplicate entries in {short(values)}")
    return problems


def _cut(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def n_classes(generator: str, params: Mapping) -> int:
    """Number of classes ``generator`` makes with ``params`` (defaults filled).

    >>> n_classes("spirals", {"arms": 3}), n_classes("digits", {})
    (3, 10)
    """
    params = {**GENERATORS[generator], **params}
    if generator == "spirals":
        return params["arms"]
    if generator == "nested_spheres":
        return len(params["radii"])
    return 10 if generator in ("digits", "mnist1d") else 2


def split_sizes(
    n_samples: int,
    *,
    test_fraction: float,
    validation_fraction: float,
    probe_points: int,
) -> dict[str, int]:
    """Points in each split, as ``datasets.split_and_standardize`` makes them.

    scikit-learn rounds a test fraction up, so the test split has
    ``ceil(n * test_fraction)`` points; the probe is at most the test split.

    >>> split_sizes(400, test_fraction=0.25, validation_fraction=0.2, probe_points=64)
    {'test': 100, 'val': 60, 'train': 240, 'probe': 64}
    """
    n_test = math.ceil(n_samples * test_fraction)
    n_val = math.ceil((n_samples - n_test) * validation_fraction)
    return {
        "test": n_test,
        "val": n_val,
        "train": n_samples - n_test - n_val,
        "probe": min(probe_points, n_test),
    }


def _known_datasets(config: Mapping):
    """``(name, generator, parameters with defaults)`` of every dataset whose
    generator and parameter names are valid."""
    for name, params in config["datasets"].items():
        generator = params.get("generator", name)
        if generator in GENERATORS and set(params) <= {
            "generator",
            *GENERATORS[generator],
        }:
            yield name, generator, {**GENERATORS[generator], **params}


def _increasing(values) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))


def _dataset_problems(config: Mapping) -> list[str]:
    """Generator names and parameters, and splits every class can be in."""
    problems = []
    generators = {**GENERATORS, **DATA_SOURCES}
    for name, params in config["datasets"].items():
        generator = params.get("generator", name)
        if generator not in generators:
            problems.append(
                f"datasets.{name}: unknown dataset generator {generator!r}; "
                f"valid: {', '.join(generators)} (or set 'generator:')"
            )
            continue
        unknown = sorted(set(params) - set(generators[generator]) - {"generator"})
        if unknown:
            problems.append(
                f"datasets.{name}: {generator} takes no parameter "
                f"{', '.join(map(repr, unknown))}; valid: "
                f"{', '.join(sorted(generators[generator]))}"
            )
        problems += source_key_problems(name, generator, params)
    for name, generator, params in _known_datasets(config):
        radii = params.get("radii")
        if radii is not None and not _increasing(radii):
            problems.append(
                f"datasets.{name}.radii: {radii} must increase strictly, "
                f"e.g. {sorted(set(radii))}"
            )
        n = params["n_samples"]
        available = AVAILABLE_SAMPLES.get(generator)
        if available is not None and n > available:
            problems.append(
                f"datasets.{name}.n_samples: {n} exceeds the {available} points "
                f"{generator} has; valid: 40 to {available}"
            )
            continue
        problems += _split_problems(name, n, n_classes(generator, params), config)
    return problems


def _study_split_sizes(config: Mapping, n: int) -> dict[str, int]:
    return split_sizes(
        n,
        test_fraction=config["splits"]["test_fraction"],
        validation_fraction=config["training"]["validation_fraction"],
        probe_points=config["splits"]["probe_points"],
    )


def split_parts(config: Mapping, n: int, *, unit: str = "points") -> dict[str, int]:
    """Size of every part a stratified split of ``n`` points draws a class into.

    >>> config = {"splits": {"test_fraction": 0.25, "probe_points": 64},
    ...           "training": {"validation_fraction": 0.2}}
    >>> split_parts(config, 400)  # doctest: +NORMALIZE_WHITESPACE
    {'test': 100, 'validation': 60, 'training': 240, 'probe': 64,
     'test points left beside the probe': 36}
    """
    sizes = _study_split_sizes(config, n)
    parts = {
        "test": sizes["test"],
        "validation": sizes["val"],
        "training": sizes["train"],
    }
    if sizes["probe"] < sizes["test"]:
        # the probe is drawn stratified from the test split: both parts
        parts["probe"] = sizes["probe"]
        parts[f"test {unit} left beside the probe"] = sizes["test"] - sizes["probe"]
    return parts


def _split_problems(name: str, n: int, classes: int, config: Mapping) -> list[str]:
    """Stratified splits need every class in every part of every split."""
    problems = []
    for part, size in split_parts(config, n).items():
        if size < classes:
            problems.append(
                f"datasets.{name}.n_samples: {n} gives {size} {part} point(s) "
                f"for {classes} classes (splits.test_fraction "
                f"{config['splits']['test_fraction']}, "
                f"training.validation_fraction "
                f"{config['training']['validation_fraction']}, splits.probe_points "
                f"{config['splits']['probe_points']}); every class needs one: "
                "raise n_samples, or make splits.probe_points at least the test split"
            )
    return problems


def _geometry_problems(config: Mapping) -> list[str]:
    """``geometry.n_neighbors`` and ``geometry.probe_folds`` against each probe set.

    The neighbourhood metrics need ``n_neighbors < n / 2`` probe points; the linear
    probe needs ``probe_folds`` points of every class, and the smallest
    class has at most ``n // classes``.
    """
    k, folds = config["geometry"]["n_neighbors"], config["geometry"]["probe_folds"]
    problems = []
    for name, generator, params in _known_datasets(config):
        available = AVAILABLE_SAMPLES.get(generator, math.inf)
        n = min(
            config["geometry"]["measured_points"],
            _study_split_sizes(config, min(params["n_samples"], available))["probe"],
        )
        if 2 * k >= n:
            problems.append(
                f"geometry.n_neighbors: {k} is too large for the {n} probe points "
                f"of dataset {name}; valid: 1 to {(n - 1) // 2} (n_neighbors < n/2)"
            )
        per_class = n // n_classes(generator, params)
        if folds > per_class:
            problems.append(
                f"geometry.probe_folds: {folds} folds need {folds} probe points "
                f"of every class, but dataset {name} has {n} probe points for "
                f"{n_classes(generator, params)} classes; valid: 2 to {per_class}"
                if per_class >= 2
                else f"geometry.probe_folds: dataset {name} has {n} probe points "
                f"for {n_classes(generator, params)} classes, too few for any "
                "folds: raise geometry.measured_points and splits.probe_points"
            )
    return problems


def _choice_problems(config: Mapping, written: Mapping) -> list[str]:
    """Quantile edges, and the activations the analysis singles out."""
    problems = []
    quantiles = config["robustness"]["boundary_quantiles"]
    if quantiles[0] != 0 or quantiles[-1] != 1 or not _increasing(quantiles):
        problems.append(
            f"robustness.boundary_quantiles: {quantiles} must increase strictly "
            "from 0 to 1, e.g. [0.0, 0.25, 0.5, 0.75, 1.0]"
        )
    activations = config["activations"]
    primary = written.get("claims", {}).get("primary")
    if primary is not None and (
        len(set(primary)) != 2 or not set(primary) <= set(activations)
    ):
        problems.append(
            f"claims.primary: {primary} must name two different activations "
            f"of the sweep {activations} (a, the one said to lose geometry, "
            "then b)"
        )
    return problems


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
    # the tuning models use no study seed
    "tuning": tuple(key for key in SWEEP_KEYS if key != "seeds"),
}

#: Where one model's files live below each stage's directory (``results/<stage>/``).
MODEL_PATH = "{dataset}/{activation}/{initializer}/w{width}_d{depth}_s{seed}"

#: The study tables (``results/tables/<name>.parquet``), in report order.
STUDY_TABLES: tuple[str, ...] = tuple(TABLE_CONFIG_KEYS)
#: Tables of training curves that only the report's figures read, with the
#: config keys each depends on: aggregated like the study tables, but not
#: scored, fingerprinted or kept in a shipped reference (the tuning table
#: already holds where each of these curves ended).
CURVE_TABLES: dict[str, tuple[str, ...]] = {
    "tuning_history": TABLE_CONFIG_KEYS["tuning"],
}
#: Study tables that measure the machine (timings), not the study.
TIMING_TABLES: tuple[str, ...] = ("inference",)


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
        "probe_points": config["splits"]["probe_points"],
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

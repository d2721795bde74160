"""Config validation: names checked against Keras, clear errors naming the key."""

import inspect
from pathlib import Path

import numpy as np
import pytest
import yaml

from geoctx.config import (
    ACTIVATIONS,
    GENERATORS,
    INITIALIZERS,
    RELU_FAMILY,
    UNUSABLE_ACTIVATIONS,
    ConfigError,
    config_hash,
    dataset_params,
    load_schema,
    model_grid,
    n_classes,
    resolve_initializer,
    split_sizes,
    validate_config,
)

ROOT = Path(__file__).resolve().parents[1]


def minimal(**extra):
    return {"datasets": {"moons": {}}, "activations": ["relu"], **extra}


def test_activation_list_matches_keras():
    keras_activations = pytest.importorskip("keras.src.activations")
    resolvable = set(keras_activations.ALL_OBJECTS_DICT) - set(UNUSABLE_ACTIVATIONS)
    assert set(ACTIVATIONS) == resolvable


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_listed_activation_builds_and_runs(name):
    import numpy as np

    from geoctx.models import build_mlp

    model = build_mlp(3, 2, activation=name, width=6, depth=2)
    out = model.predict(np.ones((4, 3), dtype="float32"), verbose=0)
    assert out.shape == (4, 2)


@pytest.mark.parametrize("name", [i for i in INITIALIZERS if i != "auto"])
def test_every_listed_initializer_resolves(name):
    import keras

    init = keras.initializers.get(name)
    assert init((3, 5)).shape == (3, 5)


def test_auto_initializer_pairs_he_with_relu_family_and_glorot_otherwise():
    assert {resolve_initializer("auto", a) for a in RELU_FAMILY} == {"he_normal"}
    assert resolve_initializer("auto", "sigmoid") == "glorot_uniform"
    assert resolve_initializer("auto", "tanh") == "glorot_uniform"
    assert resolve_initializer("orthogonal", "relu") == "orthogonal"


def test_defaults_are_filled():
    config = validate_config(minimal())
    assert config["initializers"] == ["auto"]
    assert config["training"]["convergence"] == {
        "window": 50,
        "tolerance": 0.001,
        "fitted_accuracy": 0.9,
        "unfitted_window": 200,
    }
    assert config["training"]["failed_to_learn_margin"] == 0.2
    assert config["tuning"]["learning_rates"] == [0.0003, 0.001, 0.003, 0.01]
    assert config["tuning"]["criterion"] == "held_out_accuracy"
    assert config["study"]["title"]


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        (
            minimal(activations=["sigmod"]),
            "activations[0]: 'sigmod' is not a Keras activation",
        ),
        (minimal(activations=["relu", "sigmod"]), "valid names: celu"),
        (minimal(activations=["glu"]), "'glu' cannot be a hidden-layer activation"),
        (minimal(depths=[0]), "depths[0]: 0 is less than the minimum of 1"),
        (minimal(depths=[]), "depths: [] should be non-empty"),
        (minimal(seeds=[]), "seeds: [] should be non-empty"),
        (
            {"datasets": {"moons": {}}, "activations": []},
            "activations: [] should be non-empty",
        ),
        (
            {"datasets": {"mnist": {}}, "activations": ["relu"]},
            "datasets.mnist: unknown dataset",
        ),
        (minimal(widths="64"), "widths: '64' is not of type 'array'"),
        (minimal(depths=[2.5]), "depths[0]: 2.5 is not of type 'integer'"),
        (minimal(training={"epochs": "ten"}), "training.epochs: 'ten' is not of type"),
        (
            minimal(tuning={"criterion": "loss"}),
            "tuning.criterion: 'loss' is not one of ['held_out_accuracy'",
        ),
        (
            minimal(seeds=[0, 1, 7], tuning={"seeds": [7, 8]}),
            "tuning.seeds: [7] are also study seeds [0, 1, 7]",
        ),
        (
            minimal(training={"optimizer": "sgd"}),
            "training.optimizer: 'sgd' cannot be tuned",
        ),
        (
            minimal(training={"learning_rate": 0.005}),
            "tuning: {learning_rates: [0.005]}",
        ),
        (
            minimal(training={"early_stopping": {"patience": 60}}),
            "training.early_stopping was replaced by training.convergence",
        ),
        (
            minimal(training={"failed_to_learn_margin": 1.0}),
            "training.failed_to_learn_margin: 1.0 is greater than or equal to",
        ),
        (minimal(initializers=["he"]), "initializers[0]: 'he' is not a usable Keras"),
        (
            {"datasets": {"moons": {"arms": 3}}, "activations": ["relu"]},
            "datasets.moons: moons takes no parameter 'arms'",
        ),
        (minimal(seeds=[0, 0]), "seeds: duplicate entries"),
        (minimal(colour="red"), "Additional properties are not allowed ('colour'"),
        (
            minimal(activations=["relu"], robustness={"transfer_from": ["sigmoid"]}),
            "robustness.transfer_from: 'sigmoid' is not one of the activations",
        ),
        (
            minimal(robustness={"reference_activation": "relu"}),
            "write transfer_from: [relu]",
        ),
    ],
)
def test_bad_config_names_the_key(config, needle):
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert needle in str(err.value)


@pytest.mark.parametrize(
    ("section", "old", "new", "value"),
    [
        ("splits", "probe_size", "probe_points", 64),
        ("geometry", "probe_size", "measured_points", 64),
        ("geometry", "k", "n_neighbors", 12),
    ],
)
def test_a_renamed_key_is_refused_with_its_new_name_only(section, old, new, value):
    with pytest.raises(ConfigError) as err:
        validate_config(minimal(**{section: {old: value}}))
    message = str(err.value)
    assert f"{section}.{old} was renamed: write {section}.{new}: {value}" in message
    # said once, not again as an unknown key
    assert "Additional properties" not in message
    validate_config(minimal(**{section: {new: value}}))


# Values the schema accepts but a job would reject, after training: each is
# stopped by validate_config with a message naming key, value and what is valid.
SMALL_PROBE = {"splits": {"probe_points": 64}}


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        pytest.param(
            minimal(robustness={"boundary_quantiles": [0.0, 0.6, 0.4, 1.0]}),
            "robustness.boundary_quantiles: [0.0, 0.6, 0.4, 1.0] must increase "
            "strictly from 0 to 1",
            id="boundary_quantiles-order",
        ),
        pytest.param(
            minimal(robustness={"boundary_quantiles": [0.2, 1.0]}),
            "robustness.boundary_quantiles: [0.2, 1.0] must increase strictly from 0",
            id="boundary_quantiles-range",
        ),
        pytest.param(
            minimal(datasets={"nested_spheres": {"radii": [2.0, 1.0]}}),
            "datasets.nested_spheres.radii: [2.0, 1.0] must increase strictly, "
            "e.g. [1.0, 2.0]",
            id="radii",
        ),
        pytest.param(
            minimal(datasets={"digits": {"n_samples": 2000}}),
            "datasets.digits.n_samples: 2000 exceeds the 1797 points digits has; "
            "valid: 40 to 1797",
            id="digits-n_samples",
        ),
        pytest.param(
            # 40 digits: 10 test points, then ceil(30 * 0.2) = 6 validation points
            minimal(datasets={"digits": {"n_samples": 40}}),
            "datasets.digits.n_samples: 40 gives 6 validation point(s) for 10 classes",
            id="n_samples-split",
        ),
        pytest.param(
            # 1028 points: 257 test points, 256 of them the probe, 1 left over
            minimal(datasets={"moons": {"n_samples": 1028}}),
            "datasets.moons.n_samples: 1028 gives 1 test points left beside the "
            "probe point(s) for 2 classes",
            id="probe_points-split",
        ),
        pytest.param(
            minimal(
                activations=["sigmoid", "relu"], claims={"primary": ["sigmiod", "relu"]}
            ),
            "claims.primary: ['sigmiod', 'relu'] must name two different activations "
            "of the sweep ['sigmoid', 'relu']",
            id="claims-primary",
        ),
        pytest.param(
            minimal(activations=["relu", "tanh"], claims={"primary": ["relu", "relu"]}),
            "claims.primary: ['relu', 'relu'] must name two different activations",
            id="claims-primary-twice",
        ),
        pytest.param(
            minimal(robustness={"transfer_from": ["rleu"]}),
            "robustness.transfer_from: 'rleu' is not one of the activations ['relu']",
            id="transfer_from",
        ),
        pytest.param(
            # 64 probe points: n_neighbors < 32
            minimal(geometry={"n_neighbors": 32}, **SMALL_PROBE),
            "geometry.n_neighbors: 32 is too large for the 64 probe points of dataset "
            "moons; valid: 1 to 31",
            id="geometry-n_neighbors",
        ),
        pytest.param(
            # 64 probe points of 10 digits: the smallest class has at most 6
            minimal(
                datasets={"digits": {}}, geometry={"probe_folds": 7}, **SMALL_PROBE
            ),
            "geometry.probe_folds: 7 folds need 7 probe points of every class, but "
            "dataset digits has 64 probe points for 10 classes; valid: 2 to 6",
            id="geometry-probe_folds",
        ),
        pytest.param(
            minimal(inference={"depths": [1, 2, 1]}),
            "inference.depths: duplicate entries in [1, 2, 1]",
            id="inference-depths",
        ),
    ],
)
def test_late_failing_value_is_stopped_by_validation(config, needle):
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert needle in str(err.value)


# The whole value space: NaN and infinity, floats and bools for integers,
# seeds beyond 32 bits, names with a trailing newline and lists too long to
# plan are each refused before any job, naming the key.
NAN, INF = float("nan"), float("inf")
BOMB = (
    "datasets: {moons: {}}\n"
    'activations: [relu, &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
    + "".join(f", &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9))
    + "]\n"
)


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        pytest.param(
            minimal(tuning={"learning_rates": [0.001, NAN]}),
            "tuning.learning_rates[1]: nan is not a finite number",
            id="learning_rates-nan",
        ),
        pytest.param(
            minimal(claims={"min_test_accuracy": NAN}),
            "claims.min_test_accuracy: nan is not a finite number",
            id="min_test_accuracy-nan",
        ),
        pytest.param(
            minimal(claims={"smallest_effect": -INF}),
            "claims.smallest_effect: -inf is not a finite number",
            id="smallest_effect-inf",
        ),
        pytest.param(
            minimal(robustness={"epsilons": [0.1, INF]}),
            "robustness.epsilons[1]: inf is not a finite number",
            id="epsilons-inf",
        ),
        pytest.param(
            minimal(robustness={"sigmas": [NAN]}),
            "robustness.sigmas[0]: nan is not a finite number",
            id="sigmas-nan",
        ),
        pytest.param(
            minimal(geometry={"curve_rtol": NAN}),
            "geometry.curve_rtol: nan is not a finite number",
            id="curve_rtol-nan",
        ),
        pytest.param(
            minimal(datasets={"moons": {"noise": INF}}),
            "datasets.moons.noise: inf is not a finite number",
            id="noise-inf",
        ),
        pytest.param(
            minimal(splits={"test_fraction": NAN}),
            "splits.test_fraction: nan is not a finite number",
            id="test_fraction-nan",
        ),
        pytest.param(
            minimal(widths=[16.0]),
            "widths[0]: 16.0 is not of type 'integer'",
            id="widths-float",
        ),
        pytest.param(
            minimal(depths=[True]),
            "depths[0]: True is not of type 'integer'",
            id="depths-bool",
        ),
        pytest.param(
            minimal(training={"epochs": 10.0}),
            "training.epochs: 10.0 is not of type 'integer'",
            id="epochs-float",
        ),
        pytest.param(
            minimal(seeds=[2**32]),
            "seeds[0]: 4294967296 is greater than the maximum of 2147483647",
            id="seeds-32-bit",
        ),
        pytest.param(
            minimal(datasets={"moons": {"seed": 2**31}}),
            "datasets.moons.seed: 2147483648 is greater than the maximum",
            id="dataset-seed-32-bit",
        ),
        pytest.param(
            minimal(robustness={"seed": 2**40}),
            "robustness.seed: 1099511627776 is greater than the maximum",
            id="robustness-seed-32-bit",
        ),
        pytest.param(
            {"datasets": {"moons\n": {"generator": "moons"}}, "activations": ["relu"]},
            "datasets: 'moons\\n' does not match '^[A-Za-z][A-Za-z0-9_]*$' "
            "(the whole string must)",
            id="dataset-name-newline",
        ),
        pytest.param(
            minimal(seeds=list(range(1_000_000))),
            "seeds: 1000000 entries, more than the limit of 1000",
            id="seeds-million",
        ),
        pytest.param(
            minimal(robustness={"epsilons": [0.01 * i for i in range(101)]}),
            "robustness.epsilons: 101 entries, more than the limit of 100",
            id="epsilons-length",
        ),
        pytest.param(
            {"datasets": {f"d{i}": {"generator": "moons"} for i in range(101)}},
            "datasets: 101 keys, more than the limit of 100",
            id="datasets-length",
        ),
        pytest.param(
            yaml.safe_load(BOMB),
            "the config holds more than 100000 values (under activations)",
            id="anchor-bomb",
        ),
    ],
)
def test_value_outside_the_value_space_is_refused(config, needle):
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert needle in str(err.value)
    assert len(str(err.value)) < 400  # long values are cut, never expanded


def test_value_space_limits_are_inclusive():
    top = 2**31 - 1
    config = validate_config(
        minimal(seeds=[*range(999), top], robustness={"seed": top})
    )
    assert len(config["seeds"]) == 1000
    assert validate_config(minimal(depths=list(range(1, 65))))["depths"][-1] == 64


def test_messages_cut_long_values():
    # 1000 seeds, two of them equal: the duplicate message shows a few
    seeds = [0, *range(999)]
    with pytest.raises(ConfigError) as err:
        validate_config(minimal(seeds=seeds))
    assert "seeds: duplicate entries in [0, 0, 1, 2, 3, 4, 5, 6, ...]" in str(err.value)


def test_limits_are_inclusive():
    # the largest valid values of the cases above pass
    validate_config(minimal(datasets={"digits": {"n_samples": 1797}}))
    validate_config(minimal(geometry={"n_neighbors": 31}, **SMALL_PROBE))
    validate_config(
        minimal(datasets={"digits": {}}, geometry={"probe_folds": 6}, **SMALL_PROBE)
    )
    validate_config(minimal(datasets={"moons": {"n_samples": 1030}}))


def test_left_out_transfer_sources_and_primary_need_not_be_in_the_sweep():
    config = validate_config(minimal(activations=["tanh"]))
    assert config["robustness"]["transfer_from"] == ["relu", "sigmoid"]
    assert config["claims"]["primary"] == ["sigmoid", "relu"]


def test_split_sizes_match_the_splits_made():
    from geoctx import datasets

    settings = {"test_fraction": 0.25, "validation_fraction": 0.2, "probe_points": 64}
    arrays = datasets.split_and_standardize(
        datasets.moons(n_samples=401), seed=0, **settings
    )
    assert split_sizes(401, **settings) == {
        "test": 101,
        "val": 60,
        "train": 240,
        "probe": 64,
    }
    assert {
        "test": len(arrays["y_test"]),
        "val": len(arrays["y_val"]),
        "train": len(arrays["y_train"]),
        "probe": len(arrays["probe_index"]),
    } == split_sizes(401, **settings)


@pytest.mark.parametrize("generator", sorted(GENERATORS))
def test_generator_defaults_and_classes_match_the_generators(generator):
    from geoctx import datasets

    function = datasets.GENERATOR_FUNCTIONS[generator]
    defaults = {
        name: list(p.default) if isinstance(p.default, tuple) else p.default
        for name, p in inspect.signature(function).parameters.items()
    }
    assert defaults == GENERATORS[generator]
    params = {"n_samples": 300, "seed": 1}
    params.update({"spirals": {"arms": 3}}.get(generator, {}))
    assert len(np.unique(function(**params).y)) == n_classes(generator, params)


def test_same_meaning_gives_the_same_study():
    a = validate_config(
        minimal(
            datasets={"moons": {}, "circles": {"noise": 0.05}},
            activations=["tanh", "relu"],
            depths=[4, 1],
            robustness={"epsilons": [0.1, 0.0]},
        )
    )
    b = validate_config(
        minimal(
            datasets={"circles": {"generator": "circles"}, "moons": {"seed": 0}},
            activations=["relu", "tanh"],
            depths=[1, 4],
            robustness={"epsilons": [0.0, 0.1]},
        )
    )
    assert a == b
    assert a["depths"] == [1, 4] and a["robustness"]["epsilons"] == [0.0, 0.1]
    assert dataset_params(a, "moons") == dataset_params(b, "moons")
    assert dataset_params(a, "moons")["dataset"] == {
        "generator": "moons",
        "n_samples": 2000,
        "noise": 0.1,
        "seed": 0,
    }
    assert config_hash(a) == config_hash(b)
    c = validate_config(minimal(datasets={"moons": {"seed": 1}}))
    assert config_hash(c) != config_hash(validate_config(minimal()))


def test_hash_ignores_the_study_section():
    a = validate_config(minimal())
    b = validate_config(minimal(study={"title": "Another title"}))
    c = validate_config(minimal(seeds=[5]))
    assert config_hash(a) == config_hash(b) != config_hash(c)


def test_grid_is_the_full_product():
    config = validate_config(
        minimal(activations=["relu", "tanh"], depths=[1, 2, 3], seeds=[0, 1])
    )
    grid = model_grid(config)
    assert len(grid) == 1 * 2 * 1 * 1 * 3 * 2
    assert len({tuple(g.values()) for g in grid}) == len(grid)


@pytest.mark.parametrize("path", ["config/config.yaml", "tests/config/smoke.yaml"])
def test_shipped_configs_are_valid(path):
    validate_config(yaml.safe_load((ROOT / path).read_text()))


def _schema_keys(schema, prefix=""):
    for key, sub in schema.get("properties", {}).items():
        yield prefix + key, sub
        yield from _schema_keys(sub, prefix + key + ".")
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _schema_keys(extra, prefix + "<name>.")


def test_every_schema_key_is_described_and_documented():
    readme = (ROOT / "config/README.md").read_text()
    for key, sub in _schema_keys(load_schema()):
        assert sub.get("description"), f"{key} has no description in the schema"
        leaf = key.split(".")[-1]
        assert f"`{leaf}`" in readme, f"config/README.md does not explain `{leaf}`"

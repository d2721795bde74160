"""Config validation: names checked against Keras, clear errors naming the key."""

from pathlib import Path

import pytest
import yaml

from geoctx.config import (
    ACTIVATIONS,
    INITIALIZERS,
    RELU_FAMILY,
    UNUSABLE_ACTIVATIONS,
    ConfigError,
    config_hash,
    load_schema,
    model_grid,
    resolve_initializer,
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
    assert config["training"]["early_stopping"]["patience"] == 10
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

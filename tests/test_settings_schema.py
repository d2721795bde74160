"""Each stage's settings dataclass matches its config section, name for name.

The config schema holds the defaults the workflow runs; a notebook user who
builds the dataclass with no arguments must get the same study.
"""

import dataclasses
from pathlib import Path

import pytest
import yaml

from geoctx.robustness import RobustnessSettings
from geoctx.training import TrainSettings

SCHEMA = Path(__file__).parents[1] / "workflow/schemas/config.schema.yaml"


def schema_default(prop):
    """A property's default; an object's is built from its properties'."""
    if "properties" in prop:
        return {name: schema_default(p) for name, p in prop["properties"].items()}
    return prop["default"]


def dataclass_defaults(cls):
    out = {}
    for f in dataclasses.fields(cls):
        value = f.default_factory() if f.default is dataclasses.MISSING else f.default
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


@pytest.mark.parametrize(
    ("section", "settings", "workflow_only", "tuned"),
    [
        ("robustness", RobustnessSettings, {"transfer_from"}, set()),
        # the learning rate comes from the tuning stage, not the config
        ("training", TrainSettings, set(), {"learning_rate"}),
    ],
)
def test_settings_fields_and_defaults_are_the_config_sections(
    section, settings, workflow_only, tuned
):
    schema = yaml.safe_load(SCHEMA.read_text())["properties"][section]
    expected = {
        name: schema_default(prop)
        for name, prop in schema["properties"].items()
        if name not in workflow_only
    }
    defaults = dataclass_defaults(settings)
    assert {k: v for k, v in defaults.items() if k not in tuned} == expected
    assert tuned <= set(defaults)


def test_schema_defaults_build_valid_settings():
    schema = yaml.safe_load(SCHEMA.read_text())["properties"]
    robustness = schema_default(schema["robustness"])
    robustness.pop("transfer_from")
    assert RobustnessSettings(**robustness) == RobustnessSettings()
    assert TrainSettings(**schema_default(schema["training"])) == TrainSettings()

"""Config keys of earlier versions of geoctx, and what to write instead.

A study config written for an earlier version names keys that were renamed
(:data:`RENAMED_KEYS`) or replaced by other settings
(:data:`REPLACED_KEYS`). Validation refuses them with one message each that
says what to write now (:func:`renamed_key_problems`), and hides them from
the schema (:func:`without_renamed_keys`), so that they are not reported a
second time as unknown keys.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "RENAMED_KEYS",
    "REPLACED_KEYS",
    "renamed_key_problems",
    "without_renamed_keys",
]


#: Keys an earlier version of the config had: (section, old) -> new name.
RENAMED_KEYS = {
    ("splits", "probe_size"): "probe_points",
    ("geometry", "probe_size"): "measured_points",
    ("geometry", "k"): "n_neighbors",
}


#: Keys replaced by other settings: (section, old) -> what to write, given
#: the old value.
REPLACED_KEYS = {
    ("robustness", "reference_activation"): lambda value: (
        f"robustness.transfer_from, a list: write transfer_from: [{value}]"
    ),
    ("training", "learning_rate"): lambda value: (
        "tuning.learning_rates, the grid of rates tried: "
        f"tuning: {{learning_rates: [{value}]}}"
    ),
    ("training", "early_stopping"): lambda value: "training.convergence",
}


def renamed_key_problems(config: Mapping) -> list[str]:
    """Keys an earlier version of the config had, with what to write instead.

    >>> renamed_key_problems({"geometry": {"k": 10}})
    ['geometry.k was renamed: write geometry.n_neighbors: 10']
    >>> renamed_key_problems({"training": {"early_stopping": {}}})
    ['training.early_stopping was replaced by training.convergence']
    """
    problems = []
    for (section, old), new in RENAMED_KEYS.items():
        values = config.get(section)
        if isinstance(values, Mapping) and old in values:
            problems.append(
                f"{section}.{old} was renamed: write {section}.{new}: {values[old]!r}"
            )
    for (section, old), instead in REPLACED_KEYS.items():
        values = config.get(section)
        if isinstance(values, Mapping) and old in values:
            problems.append(f"{section}.{old} was replaced by {instead(values[old])}")
    return problems


def without_renamed_keys(config: Mapping) -> dict:
    """``config`` without the keys :func:`renamed_key_problems` names, so that
    the schema does not report them a second time as unknown."""
    config = dict(config)
    for section, old in [*RENAMED_KEYS, *REPLACED_KEYS]:
        if isinstance(config.get(section), Mapping) and old in config[section]:
            config[section] = {k: v for k, v in config[section].items() if k != old}
    return config

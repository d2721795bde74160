"""Datasets read from existing data: their parameters, the tables scikit-learn ships.

Standard library only: :mod:`geoctx.config` imports it, and the Snakefile
imports that. Reading and checking the data itself is :mod:`geoctx.own_data`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Datasets read from existing data, each with every parameter it accepts
#: and its default (None: required, but :data:`OPTIONAL`). ``validate_config``
#: checks these keys; the workflow checks the data itself before any job
#: (``own_data.source_problems``).
DATA_SOURCES: dict[str, dict[str, Any]] = {
    "file": {
        "path": None,
        "label": None,
        "features": None,
        "drop_missing": False,
        "sha256": None,
        "seed": 0,
    },
    "sklearn": {"name": None, "seed": 0},
}
OPTIONAL = ("features", "sha256")

#: Tables scikit-learn ships and loads offline (``sklearn.datasets.load_<name>``),
#: with their rows, features and rows per class (in class order);
#: ``tests/test_own_data.py`` checks them against the loaders.
SKLEARN_TABLES: dict[str, dict[str, Any]] = {
    "wine": {"rows": 178, "features": 13, "class_counts": [59, 71, 48]},
    "breast_cancer": {"rows": 569, "features": 30, "class_counts": [212, 357]},
    "iris": {"rows": 150, "features": 4, "class_counts": [50, 50, 50]},
}


def source_key_problems(name: str, generator: str, params: Mapping) -> list[str]:
    """Required keys left out, and a table scikit-learn does not ship.

    >>> source_key_problems("mine", "file", {"path": "a.csv"})
    ['datasets.mine.label: required for generator file']
    >>> source_key_problems("t", "sklearn", {"name": "titanic"})  # doctest: +ELLIPSIS
    ["datasets.t.name: 'titanic' is not a table scikit-learn ships; valid: wine, ..."]
    """
    problems = [
        f"datasets.{name}.{key}: required for generator {generator}"
        for key, default in DATA_SOURCES.get(generator, {}).items()
        if default is None and key not in OPTIONAL and params.get(key) is None
    ]
    table = params.get("name") if generator == "sklearn" else None
    if table is not None and table not in SKLEARN_TABLES:
        problems.append(
            f"datasets.{name}.name: {table!r} is not a table scikit-learn "
            f"ships; valid: {', '.join(SKLEARN_TABLES)}"
        )
    return problems

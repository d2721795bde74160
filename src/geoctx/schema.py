"""The study config's JSON-schema validator, stricter than the standard's.

JSON Schema leaves holes a study config must not have, each of which once
let a bad value through to the jobs:

- a ``number`` may be NaN or infinite (``nan < 0`` is false, so no bound
  refuses it): here every number must be finite;
- an ``integer`` may be a float with an integral value (``16.0``): here it
  must be an int (and, as in the standard, not a bool);
- a ``pattern`` is searched, and ``$`` matches before a trailing newline:
  here the whole string must match;
- a value is printed whole in a message: a list of a million seeds, or a
  YAML anchor bomb (aliases nested in aliases, a few hundred bytes that
  expand to millions of values when printed), would fill memory with its
  error message. :func:`size_problems` refuses a list longer than its
  schema's ``maxItems``, and a config of more than :data:`MAX_VALUES`
  values in all, by walking it with a budget, before anything expands it;
  every value shown in a message is cut to :data:`MAX_SHOWN` characters.

Imported by the Snakefile (through :mod:`geoctx.config`): standard library
and jsonschema only.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Mapping
from typing import Any

import jsonschema

__all__ = ["MAX_SHOWN", "MAX_VALUES", "Validator", "key", "short", "size_problems"]

#: Values a config may hold in all (the paper-grade sweep holds about 300).
MAX_VALUES = 100_000
#: Characters of a value shown in an error message.
MAX_SHOWN = 80

_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxlist, _repr.maxdict = 3, 8, 8
_repr.maxstring = _repr.maxother = 60


def short(value: Any) -> str:
    """``repr(value)``, cut to at most :data:`MAX_SHOWN` characters.

    Nested or long containers are abbreviated before they are expanded, so
    this is cheap for any value.

    >>> short(list(range(1_000_000)))
    '[0, 1, 2, 3, 4, 5, 6, 7, ...]'
    >>> short("moons\\n")
    "'moons\\\\n'"
    """
    text = _repr.repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def key(path) -> str:
    """A config key path as written in messages: ``robustness.epsilons[2]``."""
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in path]
    return "".join(parts).lstrip(".") or "<top level>"


def _is_integer(checker, instance) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_number(checker, instance) -> bool:
    return (
        isinstance(instance, (int, float))
        and not isinstance(instance, bool)
        and math.isfinite(instance)
    )


def _full_pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not re.fullmatch(pattern, instance):
        yield jsonschema.ValidationError(
            f"{short(instance)} does not match {pattern!r} (the whole string must)"
        )


_Base = jsonschema.Draft202012Validator
#: The config validator: Draft 2020-12 with finite numbers, int-only
#: integers and full-string patterns.
Validator = jsonschema.validators.extend(
    _Base,
    validators={"pattern": _full_pattern},
    type_checker=_Base.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}
    ),
)


def size_problems(config: Any, schema: Mapping) -> list[str]:
    """Non-finite numbers, lists longer than their ``maxItems`` (mappings
    with more than ``maxProperties`` keys), and configs too large in all.

    Walks ``config`` beside ``schema`` and stops after :data:`MAX_VALUES`
    values, so a YAML alias expanded many times costs no more than that.

    >>> schema = {"properties": {"seeds": {"maxItems": 3}}}
    >>> size_problems({"seeds": [0, 1, 2, 3]}, schema)
    ['seeds: 4 entries, more than the limit of 3']
    >>> size_problems({"lr": float("nan")}, schema)
    ['lr: nan is not a finite number']
    """
    problems = []
    seen = 0
    stack: list[tuple[tuple, Any, Mapping]] = [((), config, schema)]
    while stack:
        path, value, node = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{key(path)}: {value} is not a finite number")
        if not isinstance(value, (list, Mapping)):
            continue
        limit = node.get("maxItems" if isinstance(value, list) else "maxProperties")
        if limit is not None and len(value) > limit:
            what = "entries" if isinstance(value, list) else "keys"
            problems.append(
                f"{key(path)}: {len(value)} {what}, more than the limit of {limit}"
            )
            continue
        seen += len(value)
        if seen > MAX_VALUES:
            where = f" (under {key(path[:1])})" if path else ""
            return [
                *problems,
                f"the config holds more than {MAX_VALUES} values{where}: a study "
                "config needs a few hundred (are YAML aliases repeated within "
                "aliases?)",
            ]
        if isinstance(value, list):
            items = node.get("items", {})
            stack += [((*path, i), v, items) for i, v in enumerate(value)]
        else:
            extra = node.get("additionalProperties")
            for k, v in value.items():
                sub = node.get("properties", {}).get(k)
                if sub is None:
                    sub = extra if isinstance(extra, Mapping) else {}
                stack.append(((*path, k), v, sub))
    return sorted(problems)

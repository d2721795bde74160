"""The code a job runs: a script's import closure within the package, and its digest.

Each rule of the workflow carries a digest of the code its job runs in its
``params``, so an edit reruns exactly the jobs that run the edited code.
The code is found, not listed: :func:`closure` parses a script and follows
every ``geoctx`` import (at module level or inside a function, absolute or
relative) through the package, with each imported module's parent packages
and the data directories a module names (``templates``). Each file is
scanned for import statements once per process while it is unchanged (about
20 ms of CPU for every rule of the workflow), so the workflow can do it
every time it is read.

Left out, and not followed: :data:`NOT_RESULTS`, the modules that decide
only how and where a job runs, never what it computes.

Standard library only: the Snakefile imports this.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

__all__ = ["NOT_RESULTS", "PACKAGE", "closure", "digest", "function_closure"]

PACKAGE = "geoctx"
#: Modules that change no result: the job server forks a job or runs it in
#: a worker, with identical tables either way (``tests/test_faults.py``).
NOT_RESULTS = frozenset({"geoctx.jobserver"})


# An import statement at any indentation (inside functions too), its names
# possibly in parentheses over several lines. Read from the text, not the
# syntax tree: parsing the package costs ten times more, at every workflow
# read. An import quoted in a docstring counts too, which only adds code.
_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(?P<base>\.*[\w.]*)[ \t]+import[ \t]+"
    r"(?P<names>\([^)]*\)|[^\n#;]*)|import[ \t]+(?P<modules>[^\n#;]*))",
    re.MULTILINE,
)


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _bytes(path: Path) -> bytes:
    return _read(path, _stamp(path))


@functools.cache
def _read(path: Path, stamp: tuple[int, int]) -> bytes:
    return path.read_bytes()


@functools.cache
def _file_sha(path: Path, stamp: tuple[int, int]) -> bytes:
    return hashlib.sha256(_read(path, stamp)).digest()


def _text(path: Path) -> str:
    return _bytes(path).decode()


@functools.cache
def _module_file(name: str, src: Path) -> Path | None:
    """The file of module ``name`` under ``src``; None if it is no module."""
    base = src.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _module_name(path: Path, src: Path) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _names(text: str) -> list[str]:
    """``a, b as c`` (or in parentheses) -> ``["a", "b"]``."""
    items = text.strip().strip("()").replace("\\", " ").split(",")
    return [item.split()[0] for item in items if item.split()]


def _imported(
    text: str, name: str, is_package: bool, *, top_level: bool = False
) -> set[str]:
    """Module names the import statements in ``text`` (those at the top level
    only, if ``top_level``) may load: submodules or attributes, what is no
    module is dropped later."""
    found = set()
    for match in _IMPORT.finditer(text):
        if top_level and match[0][:1] in (" ", "\t"):
            continue
        if match["modules"] is not None:
            found.update(_names(match["modules"]))
            continue
        base = match["base"]
        level = len(base) - len(base.lstrip("."))
        if level:
            package = name.split(".")
            package = package if is_package else package[:-1]
            package = package[: len(package) - level + 1]
            base = ".".join([*package, *([base[level:]] if base[level:] else [])])
        found.add(base)
        found.update(f"{base}.{item}" for item in _names(match["names"]))
    return found


def function_closure(path: Path | str, function: str, *, src: Path | str) -> list[Path]:
    """The files one function of a package module may load: the module, and
    the :func:`closure` of what the module imports at its top level and what
    ``function`` (defined at the top level) imports inside its body.

    This is the code of one part of a module whose parts import their own
    modules, each inside its entry function (:mod:`geoctx.evaluation`).
    """
    path, src = Path(path), Path(src)
    text = _text(path)
    match = re.search(
        rf"^def {re.escape(function)}\(.*?(?=^\S)", text + "\nEND", re.M | re.S
    )
    if match is None:
        raise ValueError(f"{path} defines no function {function!r}")
    name, is_package = _module_name(path, src), path.name == "__init__.py"
    modules = _imported(text, name, is_package, top_level=True)
    modules |= _imported(match[0], name, is_package)
    roots = {p for module in modules for p in _with_parents(module, src)}
    return sorted({path, *closure(*roots, src=src)})


def _direct(path: Path, src: Path) -> frozenset[Path]:
    """Files ``path`` loads directly: package modules, their parents, and the
    files of a data directory (no package) beside it that it names."""
    return _scan(path, src, _stamp(path))


@functools.cache
def _scan(path: Path, src: Path, stamp: tuple[int, int]) -> frozenset[Path]:
    name = _module_name(path, src) if path.is_relative_to(src) else "__main__"
    text = _read(path, stamp).decode()
    found = set()
    for module in _imported(text, name, path.name == "__init__.py"):
        found |= _with_parents(module, src)
    for directory in _data_directories(path.parent):
        if f'"{directory.name}"' in text or f"'{directory.name}'" in text:
            found |= {
                p
                for p in directory.rglob("*")
                if p.is_file() and p.suffix not in (".py", ".pyc")
            }
    return frozenset(found)


@functools.cache
def _data_directories(directory: Path) -> list[Path]:
    return [
        d
        for d in directory.iterdir()
        if d.is_dir() and d.name.isidentifier() and not (d / "__init__.py").exists()
    ]


@functools.cache
def _with_parents(module: str, src: Path) -> frozenset[Path]:
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return frozenset()
    found = set()
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name in NOT_RESULTS:
            break
        path = _module_file(name, src)
        if path is None:
            break
        found.add(path)
    return frozenset(found)


def closure(*roots: Path | str, src: Path | str) -> list[Path]:
    """Every file the code in ``roots`` may load from the package under ``src``.

    ``roots`` are scripts or modules; the result holds them and, transitively,
    each package module they import anywhere in their code, with its parent
    packages and the data files below a directory of the package that a
    module names (``"templates"``), in sorted order.
    """
    src = Path(src)
    todo = [Path(root) for root in roots]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        if path.suffix == ".py":
            todo += _direct(path, src) - seen
    return sorted(seen)


def digest(paths: Iterable[Path], *, root: Path | str) -> str:
    """SHA-256 (16 hex digits) of the files' contents and their names relative
    to ``root``: the same in a copy of the workflow elsewhere.

    >>> import tempfile
    >>> a, b = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
    >>> for root in (a, b):
    ...     _ = (root / "a.py").write_text("x = 1")
    >>> digest([a / "a.py"], root=a) == digest([b / "a.py"], root=b)
    True
    >>> _ = (b / "a.py").write_text("x = 2")
    >>> digest([a / "a.py"], root=a) == digest([b / "a.py"], root=b)
    False
    """
    sha = hashlib.sha256()
    for path in sorted(paths):
        sha.update(f"{path.relative_to(root).as_posix()}\0".encode())
        sha.update(_file_sha(path, _stamp(path)))
    return sha.hexdigest()[:16]

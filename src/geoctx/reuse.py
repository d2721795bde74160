"""A job's finished outputs kept by content, so a rerun of the same job reuses them.

Snakemake starts every job it submits to a cluster with ``--force``, and a
forced job's outputs are deleted before it runs: a retried group job (one of
its members killed, the node lost) would train every member again, the ones
that had finished too. A job that uses this store looks itself up first.

- The **key** (:func:`job_key`) is the SHA-256 of everything a job's outputs
  depend on: the rule, its ``params`` (which hold the digest of its script
  and every package module the script imports, ``code_digest`` in
  ``workflow/rules/common.smk``), its wildcards, threads, the content
  (SHA-256) of each input file and the versions of the numerical libraries.
  Paths, modification times and other files are not part of it.
- An **entry** is ``<root>/<rule>/<key>/``: one hard link per output (no
  copy, no disk, while the results exist; a copy where hard links cannot be
  made) and ``manifest.json`` with each file's SHA-256 and size. It is built
  in a private temporary directory and renamed into place once complete, so
  an entry either is whole or does not exist.
- An entry is **trusted** only if its directories belong to this user and
  are private (no access for group or others), and every file belongs to
  this user and has the SHA-256 its manifest records (a result edited in
  place edits its hard link too: that entry is then dropped, not used).
  Anything else is a miss: the job runs.

The store lives in the working directory, under :data:`ROOT`; deleting it
(``rm -rf .snakemake/geoctx-store``) only makes the next forced rerun
compute again. Storing never fails a job: a store that cannot be written is
logged and skipped.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import shutil
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from geoctx.storage import file_digest

__all__ = ["ROOT", "SOFTWARE", "job_key", "key_material", "restore", "save"]

#: The store, relative to the workflow's working directory.
ROOT = Path(".snakemake/geoctx-store")
#: Distributions whose version is part of every key (absent ones count as None).
SOFTWARE = ("numpy", "keras", "tensorflow", "tensorflow-cpu")
MANIFEST = "manifest.json"
_PRIVATE = 0o077  # no permission bit for group or others

log = logging.getLogger(__name__)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def key_material(
    rule: str,
    *,
    params: Mapping,
    inputs: Mapping[str, str | os.PathLike],
    wildcards: Mapping[str, str],
    threads: int,
    outputs: Mapping[str, str | os.PathLike],
) -> dict:
    """What a job's key is made of, as a JSON-ready dict.

    ``inputs`` and ``outputs`` map names to paths: inputs count by content,
    outputs by name only. Raises ``ValueError`` naming a param that JSON
    cannot represent (its value could not be told apart from another's).
    """
    for name, value in params.items():
        try:
            json.dumps(value, sort_keys=True)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"params.{name} of rule {rule} cannot be part of a reuse key: "
                f"{value!r} is not JSON ({err})"
            ) from None
    return {
        "rule": rule,
        "params": dict(params),
        "wildcards": {k: str(v) for k, v in wildcards.items()},
        "threads": int(threads),
        "inputs": {name: file_digest(path) for name, path in inputs.items()},
        "outputs": sorted(outputs),
        "software": {
            "python": platform.python_version(),
            **{dist: _version(dist) for dist in SOFTWARE},
        },
    }


def job_key(rule: str, **job) -> str:
    """SHA-256 (hex) of :func:`key_material`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> data = pathlib.Path(tempfile.mkdtemp()) / "data.npz"
    >>> _ = data.write_bytes(b"points")
    >>> job = dict(params={"epochs": 4}, inputs={"data": data}, wildcards={},
    ...            threads=1, outputs={"model": "model.keras"})
    >>> job_key("train_model", **job) == job_key("train_model", **job)
    True
    >>> job_key("train_model", **{**job, "params": {"epochs": 5}}) == job_key(
    ...     "train_model", **job)
    False
    """
    text = json.dumps(key_material(rule, **job), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _entry(root: Path, rule: str, key: str) -> Path:
    return Path(root) / rule / key


def _private_dir(path: Path) -> bool:
    info = path.lstat()
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & _PRIVATE
    )


def _make_private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.lstat().st_uid == os.getuid():
        path.chmod(0o700)


def _trusted(entry: Path, root: Path) -> dict | None:
    """The entry's manifest if the entry can be trusted, else None."""
    for path in (root, entry.parent, entry):
        if not _private_dir(path):
            return None
    try:
        manifest = json.loads((entry / MANIFEST).read_text())
        for item in manifest["files"].values():
            path = entry / item["file"]
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                return None
            if info.st_size != item["size"] or file_digest(path) != item["sha256"]:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return manifest


def _hard_link(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """A hard link at ``dst`` to ``src``, or a copy where links cannot be made."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _link(src: Path, dst: Path) -> None:
    """Put ``src``'s file at ``dst`` (:func:`_hard_link`), atomically."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    os.close(fd)
    os.unlink(tmp)
    try:
        _hard_link(src, tmp)
        os.replace(tmp, dst)
    finally:
        Path(tmp).unlink(missing_ok=True)


def restore(
    rule: str,
    key: str,
    outputs: Mapping[str, str | os.PathLike],
    *,
    root: str | os.PathLike = ROOT,
) -> Path | None:
    """Put a trusted entry's files at ``outputs``; the entry, or None on a miss.

    Nothing is written unless the entry holds every output. Restored files
    get the current time as their modification time, as freshly written
    ones would. An entry that exists but is not trusted is removed when it
    is this user's (a damaged one would otherwise be looked up again).
    """
    root = Path(root)
    entry = _entry(root, rule, key)
    if not entry.exists():
        return None
    manifest = _trusted(entry, root)
    if manifest is None or set(manifest["files"]) != set(outputs):
        log.warning(
            "reuse store entry %s is incomplete or not trusted: not used", entry
        )
        if entry.lstat().st_uid == os.getuid():
            shutil.rmtree(entry, ignore_errors=True)
        return None
    for name, path in outputs.items():
        _link(entry / manifest["files"][name]["file"], Path(path))
        os.utime(path)
    return entry


def save(
    rule: str,
    key: str,
    outputs: Mapping[str, str | os.PathLike],
    *,
    root: str | os.PathLike = ROOT,
) -> Path | None:
    """Store a finished job's ``outputs`` under ``key``; the entry, or None.

    Each output is hard-linked (copied where it cannot be) into a private
    temporary directory with a manifest of SHA-256s, which is then renamed to
    the entry's name: a reader sees a whole entry or none. An entry already
    there (the same job stored by another process) is kept. Failures are
    logged, never raised.
    """
    root = Path(root)
    entry = _entry(root, rule, key)
    tmp = None
    try:
        _make_private_dir(root)
        _make_private_dir(entry.parent)
        if not (_private_dir(root) and _private_dir(entry.parent)):
            log.warning("reuse store %s is not this user's private directory", root)
            return None
        if entry.exists():
            return entry
        tmp = Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{key[:12]}."))
        files = {}
        for name, path in outputs.items():
            stored = f"{name}{Path(path).suffix}"
            _hard_link(path, tmp / stored)
            files[name] = {
                "file": stored,
                "sha256": file_digest(tmp / stored),
                "size": (tmp / stored).stat().st_size,
            }
        (tmp / MANIFEST).write_text(json.dumps({"key": key, "files": files}, indent=1))
        os.rename(tmp, entry)
        tmp = None
        return entry
    except OSError as err:
        if entry.exists():  # another process stored the same job first
            return entry
        log.warning("could not store %s in the reuse store %s: %s", rule, root, err)
        return None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

"""The workflow's intermediate files: written atomically, read with a clear error.

- Every writer here writes to a temporary file beside the target and renames
  it into place (:func:`atomic_path`), so a job of a killed run that is still
  writing never leaves a half-written file under the final name.
- Every reader raises :class:`UnreadableFileError`, which names the file,
  says that it is unreadable and how to rebuild it, whatever the format's
  own library said (a truncated ``.npz`` says "File is not a zip file", a
  truncated ``.keras`` "File not found").
- :func:`file_digest` and :func:`check_digests` let a job record the content
  of the files it was computed from and a later job refuse a file that
  changed since, even behind Snakemake's back (a copy that kept an old
  modification time).
- :func:`model_cache` lets a job that reads one model several times (an
  evaluation reads each model of its cell as itself and as a transfer
  source) load it once, and a process that evaluates many models (a job
  server worker, a loop over the study) reuse a model object of the same
  architecture, with its compiled functions, for the next file (an MLP's
  weights read straight from the file's ``model.weights.h5``).

Keras is imported only by the model functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from geoctx.accounting import phase
from geoctx.recent import Recent

__all__ = [
    "UnreadableFileError",
    "ChangedInputError",
    "ForeignModelError",
    "atomic_path",
    "umask",
    "save_npz",
    "load_npz",
    "save_model",
    "model_cache",
    "save_figure",
    "input_digests",
    "load_model",
    "write_json",
    "read_json",
    "file_digest",
    "check_digests",
]


class UnreadableFileError(OSError):
    """A workflow file that exists (or should) but cannot be read."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(
            f"{self.path} is unreadable ({reason}); it is corrupted, truncated or "
            f"not the file this job expects. Rebuild it with: "
            f"snakemake --forcerun {self.path}"
        )


class ChangedInputError(RuntimeError):
    """A file changed after a result was computed from it."""


class ForeignModelError(OSError):
    """A model file whose SHA-256 is not the one its training recorded."""

    def __init__(self, path, run, recorded: str | None, actual: str):
        self.path = str(path)
        said = f"records sha256 {recorded[:12]}..." if recorded else "records no digest"
        super().__init__(
            f"{self.path} is not the model its training wrote: {run} {said} for "
            f"it, the file has sha256 {actual[:12]}... (replaced after training, "
            "e.g. copied from another model). Rebuild it with: snakemake "
            f"--forcerun {self.path}"
        )


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success.

    The temporary name keeps the target's suffix (Keras insists on
    ``.keras``). On error the temporary file is removed and ``path`` is left
    as it was. The file gets the mode any tool's new file gets, ``0o666``
    less the process's umask (a temporary file is private, 0600, until then),
    so a group can read a study on a shared file system.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}"
    )
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def umask() -> int:
    """The process's umask, read without changing it where Linux tells it
    (``/proc/self/status``); elsewhere set and restored at once."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """Write arrays as a compressed ``.npz``, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, loaded into memory.

    Raises :class:`UnreadableFileError` when the file is missing, truncated
    or not an ``.npz`` archive.
    """
    try:
        with phase("load"), np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError) as err:
        raise UnreadableFileError(path, reason(err)) from err
    except Exception as err:  # zipfile.BadZipFile and friends
        raise UnreadableFileError(path, reason(err)) from err


def save_model(model, path: str | os.PathLike) -> str:
    """Save a Keras model (``.keras``), atomically; return its SHA-256.

    Record the digest beside the model (training keeps it in the run table)
    so that a job reading the model can refuse another file in its place.
    """
    with atomic_path(path) as tmp:
        model.save(tmp)
        digest = file_digest(tmp)
    return digest


# Models loaded inside a ``model_cache()`` block, by (resolved path, size,
# modification time); None outside one.
_models: dict | None = None
# Every model object a block loaded, by its file's architecture (the model
# config), for the latest architectures used: a later block lends them again
# with another file's weights.
_kept: Recent = Recent()


@contextlib.contextmanager
def model_cache() -> Iterator[None]:
    """Within the block, :func:`load_model` loads each file once.

    Later loads of an unchanged file (same resolved path, size and
    modification time) return the same model object, so its compiled
    functions (:mod:`geoctx.autodiff`) are traced once too. For read-only
    use: a caller that changes a cached model's weights changes them for
    every later load in the block. Blocks do not nest; the cache is dropped
    when the block ends.

    The models are lent to the block: a later block may load another file
    of the same architecture (the same model config but for the
    initializers, which are set to the file's) into one of them, which
    keeps its compiled functions, so a process evaluating many models traces
    each architecture's graphs once. The lent model's weights and config
    are the file's. Use a model only inside the block that loaded it.

    Examples
    --------
    >>> with model_cache():
    ...     a = load_model("model.keras")  # doctest: +SKIP
    ...     b = load_model("model.keras")  # doctest: +SKIP
    >>> a is b  # doctest: +SKIP
    True
    """
    global _models
    if _models is not None:
        raise RuntimeError("model_cache() blocks do not nest")
    _models = {}
    try:
        yield
    finally:
        _models = None


def load_model(path: str | os.PathLike):
    """Load a ``.keras`` model for inference, in Keras' safe mode.

    ``safe_mode=True`` refuses models that would run arbitrary code (lambda
    layers) when loaded. Raises :class:`UnreadableFileError` when the file is
    missing, truncated or not a Keras model. Inside :func:`model_cache`, an
    unchanged file is loaded once.
    """
    import keras

    if not Path(path).is_file():
        raise UnreadableFileError(path, "no such file")
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    if _models is not None and key in _models:
        return _models[key]
    try:
        with phase("load"):
            if _models is None:
                return keras.saving.load_model(path, compile=False, safe_mode=True)
            config = _config(path)
            architecture = _architecture(config)
            model = _borrow(architecture, config, path)
            if model is None:
                model = keras.saving.load_model(path, compile=False, safe_mode=True)
                _kept.setdefault(architecture, []).append(model)
    except Exception as err:  # Keras raises many types for a bad archive
        raise UnreadableFileError(path, reason(err)) from err
    _models[key] = model
    return model


#: Layer settings that only draw a model's initial weights. A kept model is
#: lent for a file that differs in them only, with the file's settings set.
_INITIALIZERS = ("kernel_initializer", "bias_initializer")
_CONFIG_KEYS = ("module", "class_name", "config", "build_config")


def _config(path) -> dict:
    """A ``.keras`` file's model config (as its ``config.json`` has it)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    return {key: config.get(key) for key in _CONFIG_KEYS}


def _canonical(value, drop: tuple[str, ...]):
    """``value`` without the keys ``drop`` at any depth, and without the ids
    Keras writes for objects shared between layers (an object's address
    when it was saved)."""
    drop = ("shared_object_id", *drop)
    if isinstance(value, dict):
        return {k: _canonical(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_canonical(item, drop) for item in value]
    return value


def _architecture(config: dict) -> str:
    """What a model's compiled functions depend on: its config without the
    initializers, as canonical JSON."""
    return json.dumps(_canonical(config, _INITIALIZERS), sort_keys=True)


def _borrow(architecture: str, config: dict, path):
    """A kept model of ``architecture`` that this block has not lent yet,
    with the weights and the config of ``path``; None if there is none.

    The initializers of ``config`` are set on the model's layers, and the
    model is lent only if its config is then exactly ``config``.
    """
    import keras

    lent = {id(model) for model in _models.values()}
    for model in _kept.get(architecture, []):
        if id(model) in lent:
            continue
        _load_weights(model, path)
        for layer_config in config["config"].get("layers", []):
            settings = layer_config.get("config", {})
            try:
                layer = model.get_layer(settings.get("name"))
            except ValueError:  # the input
                continue
            for key in _INITIALIZERS:
                if key in settings and hasattr(layer, key):
                    initializer = keras.initializers.deserialize(settings[key])
                    setattr(layer, key, initializer)
        mine = json.loads(json.dumps(keras.saving.serialize_keras_object(model)))
        mine = {key: mine.get(key) for key in _CONFIG_KEYS}
        if _canonical(mine, ()) == _canonical(config, ()):
            return model
    return None


def _load_weights(model, path) -> None:
    """Set ``model``'s weights to those of the ``.keras`` file ``path``.

    For a chain of ``Dense`` layers (the geoctx MLP) the arrays are read
    straight from the archive's ``model.weights.h5``, where Keras keeps each
    layer's variables in a group named after the layer, in the order
    ``Dense.load_own_variables`` reads them (kernel, then bias): a third of
    the CPU of ``model.load_weights``, which walks every object of the
    model. Any other model, or a file laid out otherwise (other layers,
    counts or shapes), is read by ``model.load_weights``.
    """
    arrays = _dense_weights(model, path)
    if arrays is None:
        model.load_weights(path)
        return
    for variable, array in arrays:
        variable.assign(array)


def _dense_weights(model, path):
    """``[(variable, array)]`` for every weight of a Dense-only ``model``
    from ``path``; None if the model or the file is not of that form."""
    import io
    import zipfile

    import h5py
    import keras

    layers = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if (
            type(layer) is not keras.layers.Dense
            or getattr(layer, "quantization_mode", None) is not None
            or getattr(layer, "lora_enabled", False)
        ):
            return None
        layers[layer.name] = [layer.kernel] + ([layer.bias] if layer.use_bias else [])
    expected = sum(int(np.prod(v.shape)) * 8 for vs in layers.values() for v in vs)
    with zipfile.ZipFile(path) as archive:
        # a file far larger than the weights (a zip bomb) is left to Keras,
        # which refuses it
        if archive.getinfo("model.weights.h5").file_size > expected + (1 << 20):
            return None
        raw = io.BytesIO(archive.read("model.weights.h5"))
    pairs = []
    with h5py.File(raw, "r") as h5:
        if set(h5) - {"layers", "optimizer", "vars"} or len(h5.get("vars", ())):
            return None
        groups = {}
        for group in h5.get("layers", {}).values():
            if set(group) != {"vars"}:
                return None
            groups[group["vars"].attrs.get("name")] = group["vars"]
        if len(groups) != len(h5.get("layers", {})) or set(groups) != set(layers):
            return None
        for name, variables in layers.items():
            stored = groups[name]
            if set(stored) != {str(i) for i in range(len(variables))}:
                return None
            for i, variable in enumerate(variables):
                array = stored[str(i)][()]
                if (
                    array.shape != tuple(variable.shape)
                    or array.dtype != variable.dtype
                ):
                    return None
                pairs.append((variable, array))
    return pairs


def save_figure(fig, path: str | os.PathLike, **kwargs) -> None:
    """Save a Matplotlib figure (format from the suffix), atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lstrip("."), **kwargs)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file; :class:`UnreadableFileError` if it cannot be."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise UnreadableFileError(path, reason(err)) from err


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's content (hex).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "empty"
    >>> _ = p.write_bytes(b"")
    >>> file_digest(p)[:12]
    'e3b0c44298fc'
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:
        raise UnreadableFileError(path, reason(err)) from err
    return digest.hexdigest()


def input_digests(*paths: str | os.PathLike) -> dict[str, str]:
    """``{path: sha256}`` of the files a job read, to record with its outputs.

    Empty paths (an optional input that is absent) are left out.
    """
    return {str(p): file_digest(p) for p in paths if p}


def check_digests(recorded: Mapping[str, str], *, result: str) -> None:
    """Raise :class:`ChangedInputError` if a file differs from its recorded digest.

    ``recorded`` maps input paths to the digests a job saw when it computed
    ``result``. A missing input is reported the same way as a changed one.
    """
    for path, expected in recorded.items():
        actual = file_digest(path) if Path(path).exists() else "missing"
        if actual != expected:
            raise ChangedInputError(
                f"{result} was computed from {path}, which has changed since "
                f"(sha256 {expected[:12]}... then, {actual[:12]}... now). Rerun "
                f"what depends on it with: snakemake --forcerun {path}"
            )


def reason(err: BaseException) -> str:
    """An exception as the reason :class:`UnreadableFileError` shows."""
    return f"{type(err).__name__}: {err}".rstrip(": ")

"""Evaluate trained models: their geometry, Jacobians and robustness.

The workflow evaluates the models of one cell (the same dataset,
initializer, width, depth and seed; one model per activation) in one job,
``evaluate_models``: the transfer attacks between them need all of them, and
one process per cell instead of three per model saves start-up and the
workflow's planning. Each part of each model is still recomputed only when
what it depends on changed. Its table records a *provenance key*: the digest
of its code, its settings and the SHA-256 of every file it read. A part whose
existing table carries the key it would be computed under now is kept as it
is. Changing an attack setting therefore recomputes the attacks only, and a
geometry setting the geometry only, exactly as separate jobs would.

Each part starts from the same seeded backend state
(:func:`geoctx.training.configure_model_run`), so its numbers are the same
whether the parts before it were computed or kept.

Within a cell, each model file is loaded once (:func:`geoctx.storage.model_cache`):
a model is read for its Jacobians, its attacks and as a transfer source of
the others, and the examples crafted on a source are computed once for
every model they attack (:func:`geoctx.robustness.transfer_sweep`). A
process that evaluates several cells (a job server worker) loads a later
cell's models into the model objects of an earlier cell of the same
architecture, so their compiled functions are traced once. None of this
changes a number: the tables are those of separate loads in fresh
processes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from geoctx import storage, tables
from geoctx.names import transfer_sources

__all__ = [
    "PARTS",
    "ModelFiles",
    "cell_files",
    "check_models",
    "evaluate_model",
    "evaluate_models",
    "part_inputs",
    "provenance",
    "recorded_provenance",
]

log = logging.getLogger(__name__)

#: The parts of a model's evaluation, in the order they run.
PARTS = ("geometry", "jacobians", "robustness")
#: The study table each part's rows belong to.
PART_TABLES = {
    "geometry": "geometry",
    "jacobians": "geometry",
    "robustness": "robustness",
}


@dataclass(frozen=True)
class ModelFiles:
    """The files one model's evaluation reads.

    ``transfer`` maps an activation to ``(model, runs)`` paths of the matched
    model with that activation, whose attacks are transferred to this one.
    """

    model: str
    init_model: str
    run: str
    representations: str
    data: str
    transfer: Mapping[str, tuple[str, str]] = field(default_factory=dict)


def cell_files(
    inputs: Mapping[str, Sequence[str]],
    data: str,
    *,
    activations: Sequence[str],
    transfer_from: Sequence[str],
) -> dict[str, ModelFiles]:
    """Each activation's :class:`ModelFiles` in one cell.

    ``inputs`` maps ``model``, ``init_model``, ``run`` and ``representations``
    to one path per activation, in the order of ``activations``; a model's
    transfer sources are the activations of ``transfer_from`` in the cell
    (:func:`geoctx.names.transfer_sources`).

    Examples
    --------
    >>> inputs = {k: [f"sigmoid/{k}", f"relu/{k}"]
    ...           for k in ("model", "init_model", "run", "representations")}
    >>> files = cell_files(inputs, "d.npz", activations=["sigmoid", "relu"],
    ...                    transfer_from=["sigmoid"])
    >>> files["relu"].transfer
    {'sigmoid': ('sigmoid/model', 'sigmoid/run')}
    >>> files["sigmoid"].transfer
    {}
    """
    lengths = {key: len(paths) for key, paths in inputs.items()}
    if set(lengths.values()) != {len(activations)}:
        raise ValueError(
            f"a cell of {len(activations)} activations needs as many paths of "
            f"each kind, got {lengths}"
        )
    own = {
        activation: {key: paths[i] for key, paths in inputs.items()}
        for i, activation in enumerate(activations)
    }
    return {
        activation: ModelFiles(
            **paths,
            data=data,
            transfer={
                source: (own[source]["model"], own[source]["run"])
                for source in transfer_sources(activation, activations, transfer_from)
            },
        )
        for activation, paths in own.items()
    }


def part_inputs(files: ModelFiles, part: str) -> list[str]:
    """The files one part reads, in a fixed order.

    Examples
    --------
    >>> files = ModelFiles("m.keras", "i.keras", "r.parquet", "rep.npz", "d.npz")
    >>> part_inputs(files, "geometry")
    ['rep.npz', 'd.npz']
    """
    if part == "geometry":
        return [files.representations, files.data]
    if part == "jacobians":
        return [files.model, files.init_model, files.representations]
    if part == "robustness":
        sources = [path for pair in files.transfer.values() for path in pair]
        return [files.model, files.run, files.data, *sources]
    raise ValueError(f"unknown evaluation part {part!r}; expected one of {PARTS}")


def provenance(part: str, params: Mapping, digests: Mapping[str, str]) -> str:
    """The key a part's table is computed under.

    ``params`` is the part's code digest and settings; ``digests`` maps the
    files it read to their SHA-256. Paths are left out, so a study moved
    elsewhere keeps its keys.

    Examples
    --------
    >>> a = provenance("geometry", {"k": 10}, {"x.npz": "ab"})
    >>> a == provenance("geometry", {"k": 10}, {"moved/x.npz": "ab"})
    True
    >>> a == provenance("geometry", {"k": 4}, {"x.npz": "ab"})
    False
    """
    payload = json.dumps(
        {"part": part, "params": params, "inputs": list(digests.values())},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def recorded_provenance(path: str | Path) -> str | None:
    """The provenance key a part's existing table was computed under, if any.

    None when the file is missing, unreadable or carries no key: the part is
    then computed afresh.
    """
    try:
        return tables.read_metadata(path).get("provenance")
    except (OSError, ValueError):
        return None


def check_models(files: ModelFiles, digests: Mapping[str, str]) -> None:
    """Refuse a model file that is not the one its training wrote.

    Training records the SHA-256 of ``model.keras`` and ``init.keras`` in
    its run table's ``models`` metadata (:func:`geoctx.training.save`).
    ``digests`` maps every file ``files`` names to its SHA-256 now. A model
    copied from another model of the same architecture loads and runs, so
    only its digest tells it apart.

    Raises
    ------
    geoctx.storage.ForeignModelError
        Naming the file, its run table and how to rebuild it.
    """
    pairs = [
        (files.model, files.run, "model"),
        (files.init_model, files.run, "init_model"),
        *((model, run, "model") for model, run in files.transfer.values()),
    ]
    for path, run, role in pairs:
        try:
            recorded = tables.read_metadata(run).get("models", {}).get(role)
        except (OSError, ValueError) as err:
            raise storage.UnreadableFileError(run, storage.reason(err)) from err
        if recorded != digests[path]:
            raise storage.ForeignModelError(path, run, recorded, digests[path])


def evaluate_model(
    files: ModelFiles,
    outputs: Mapping[str, str],
    params: Mapping[str, Mapping],
    *,
    keys: Mapping,
    threads: int = 1,
) -> dict[str, str]:
    """Compute or keep each part of one model's evaluation; write its table.

    ``outputs`` and ``params`` map each part of :data:`PARTS` to its table
    path and to ``{"code": digest, "settings": {...}}``. ``keys`` are the
    model's keys (:func:`geoctx.tables.model_keys`).

    Returns ``{part: "computed" | "kept"}``.
    """
    from threadpoolctl import threadpool_limits

    missing = [part for part in PARTS if part not in outputs or part not in params]
    if missing:
        raise ValueError(f"evaluate_model needs outputs and params for {missing}")
    digests = storage.input_digests(*dict.fromkeys(_all_inputs(files)))
    check_models(files, digests)
    done = {}
    for part in PARTS:
        inputs = {path: digests[path] for path in part_inputs(files, part)}
        key = provenance(part, params[part], inputs)
        if recorded_provenance(outputs[part]) == key:
            log.info("%s: inputs, code and settings unchanged, table kept", part)
            done[part] = "kept"
            continue
        log.info("%s: computing", part)
        # numpy's BLAS and LAPACK too run on the job's threads: left to
        # themselves they start one thread per core, whose waiting costs
        # CPU and changes no number
        with threadpool_limits(threads):
            table = _COMPUTE[part](files, params[part]["settings"], keys, threads)
        tables.write(
            table,
            outputs[part],
            PART_TABLES[part],
            metadata={"inputs": inputs, "provenance": key},
        )
        log.info("%s: %d rows", part, len(table))
        done[part] = "computed"
    return done


def evaluate_models(
    cell: Mapping[str, ModelFiles],
    outputs: Mapping[str, Sequence[str]],
    params: Mapping[str, Mapping],
    *,
    keys: Mapping,
    threads: int = 1,
) -> dict[str, dict[str, str]]:
    """:func:`evaluate_model` for every model of one cell (:func:`cell_files`).

    ``outputs`` maps each part to one path per model, in the order of
    ``cell``; ``keys`` are the cell's model keys but the activation (as
    strings or typed).
    Returns ``{activation: {part: "computed" | "kept"}}``.
    """
    done = {}
    with storage.model_cache():  # each model once, as itself and as a source
        for i, (activation, files) in enumerate(cell.items()):
            log.info("model %d of %d: %s", i + 1, len(cell), activation)
            done[activation] = evaluate_model(
                files,
                {part: outputs[part][i] for part in PARTS},
                params,
                keys=tables.model_keys({**keys, "activation": activation}),
                threads=threads,
            )
    return done


def _all_inputs(files: ModelFiles) -> list[str]:
    return [path for part in PARTS for path in part_inputs(files, part)]


def _geometry(files: ModelFiles, settings: Mapping, keys: Mapping, threads: int):
    from geoctx import datasets
    from geoctx.geometry.stage import GeometrySettings, geometry_table

    data = datasets.load(files.data)
    representations = storage.load_npz(files.representations)
    table = geometry_table(
        representations,
        data["y_test"][data["probe_index"]],
        GeometrySettings(**settings),
    )
    return table.assign(**keys)


def _jacobians(files: ModelFiles, settings: Mapping, keys: Mapping, threads: int):
    from geoctx.geometry.stage import GeometrySettings, jacobian_table
    from geoctx.training import configure_model_run

    configure_model_run(threads=threads, seed=int(keys["seed"]))
    models = {
        "init": storage.load_model(files.init_model),
        "trained": storage.load_model(files.model),
    }
    X = storage.load_npz(files.representations)["init/layer_0"]
    table = jacobian_table(models, X, GeometrySettings(**settings))
    return table.assign(**keys)


def _robustness(files: ModelFiles, settings: Mapping, keys: Mapping, threads: int):
    from geoctx import datasets, robustness
    from geoctx.training import configure_model_run

    configure_model_run(threads=threads, seed=int(keys["seed"]))
    sources = {
        activation: (model, _status(run))
        for activation, (model, run) in files.transfer.items()
    }
    return robustness.evaluate_run(
        files.model,
        datasets.load(files.data),
        status=_status(files.run),
        keys=dict(keys),
        settings=robustness.RobustnessSettings(**settings),
        transfer_sources=sources,
    )


def _status(run: str) -> str:
    return str(pd.read_parquet(run)["status"].iloc[0])


_COMPUTE = {"geometry": _geometry, "jacobians": _jacobians, "robustness": _robustness}

"""One model's evaluation: which parts are computed and which are kept.

The parts' own numbers are tested in test_geometry_stage and
test_robustness; here each part is replaced by a counter that returns a
valid table, so the bookkeeping is checked on its own. The end-to-end
version (real parts, real config edits) is
test_workflow::test_evaluation_recomputes_only_what_changed.
"""

import json
import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from geoctx import evaluation, storage, tables

KEYS = {
    "dataset": "moons",
    "activation": "relu",
    "initializer": "auto",
    "width": 16,
    "depth": 1,
    "seed": 0,
}


def record(run, **models):
    """A run table that records each model file's SHA-256, as training does."""
    digests = {role: storage.file_digest(path) for role, path in models.items()}
    table = pa.table({"status": ["ok"]})
    pq.write_table(table.replace_schema_metadata({"models": json.dumps(digests)}), run)


def retrain(paths, model="model", run="run", content=b"new"):
    """A new model file and its run table's record of it."""
    paths[model].write_bytes(content)
    models = {"model": paths[model]}
    if model == "model":
        models["init_model"] = paths["init_model"]
    record(paths[run], **models)


@pytest.fixture
def model_files(tmp_path):
    paths = {}
    for name in ("model", "init_model", "representations", "data", "src"):
        paths[name] = tmp_path / "in" / name
        paths[name].parent.mkdir(exist_ok=True)
        paths[name].write_bytes(name.encode())
    paths["run"], paths["src_run"] = (
        tmp_path / "in" / "run",
        tmp_path / "in" / "src_run",
    )
    record(paths["run"], model=paths["model"], init_model=paths["init_model"])
    record(paths["src_run"], model=paths["src"])
    files = evaluation.ModelFiles(
        **{k: str(v) for k, v in paths.items() if k not in ("src", "src_run")},
        transfer={"sigmoid": (str(paths["src"]), str(paths["src_run"]))},
    )
    outputs = {
        part: str(tmp_path / "out" / f"{part}.parquet") for part in evaluation.PARTS
    }
    return files, outputs, paths


@pytest.fixture
def calls(monkeypatch):
    """Replace each part's computation by one that counts its calls."""
    counted = []

    def part(name):
        def compute(files, settings, keys, threads):
            counted.append(name)
            if name == "robustness":
                row = {"attack": "fgsm_linf", "epsilon": 0.1}
            else:
                row = {"stage": "trained", "layer": 1}
            return pd.DataFrame([{**keys, **row, "metric": "m", "value": 1.0}])

        return compute

    monkeypatch.setattr(
        evaluation, "_COMPUTE", {name: part(name) for name in evaluation.PARTS}
    )
    return counted


def params(**edits):
    base = {part: {"code": "c0", "settings": {"x": 1}} for part in evaluation.PARTS}
    for part, settings in edits.items():
        base[part] = {"code": "c0", "settings": settings}
    return base


def test_first_run_computes_every_part_and_records_its_key(model_files, calls):
    files, outputs, _ = model_files
    done = evaluation.evaluate_model(files, outputs, params(), keys=KEYS)
    assert done == dict.fromkeys(evaluation.PARTS, "computed")
    assert calls == list(evaluation.PARTS)
    for part in evaluation.PARTS:
        assert len(evaluation.recorded_provenance(outputs[part])) == 64
        assert tables.read_metadata(outputs[part])["inputs"]


def test_unchanged_parts_are_kept(model_files, calls):
    files, outputs, _ = model_files
    evaluation.evaluate_model(files, outputs, params(), keys=KEYS)
    calls.clear()
    done = evaluation.evaluate_model(files, outputs, params(), keys=KEYS)
    assert done == dict.fromkeys(evaluation.PARTS, "kept")
    assert calls == []


@pytest.mark.parametrize(
    ("edit", "recomputed"),
    [
        (lambda p, f: p["robustness"].update(settings={"x": 2}), ["robustness"]),
        (lambda p, f: p["geometry"].update(code="c1"), ["geometry"]),
        # the representations feed the geometry and the Jacobians
        (
            lambda p, f: f["representations"].write_bytes(b"new"),
            ["geometry", "jacobians"],
        ),
        # a transfer source's model feeds the attacks only
        (lambda p, f: retrain(f, "src", "src_run"), ["robustness"]),
        (lambda p, f: retrain(f), ["jacobians", "robustness"]),
    ],
    ids=[
        "attack-setting",
        "geometry-code",
        "representations",
        "transfer-source",
        "model",
    ],
)
def test_a_change_recomputes_exactly_the_parts_that_read_it(
    model_files, calls, edit, recomputed
):
    files, outputs, paths = model_files
    evaluation.evaluate_model(files, outputs, params(), keys=KEYS)
    calls.clear()
    p = params()
    edit(p, paths)
    done = evaluation.evaluate_model(files, outputs, p, keys=KEYS)
    assert calls == recomputed
    assert {part for part, what in done.items() if what == "computed"} == set(
        recomputed
    )


@pytest.mark.parametrize("damage", ["delete", "truncate", "no-key"])
def test_a_missing_or_unreadable_table_is_computed_again(model_files, calls, damage):
    files, outputs, _ = model_files
    evaluation.evaluate_model(files, outputs, params(), keys=KEYS)
    calls.clear()
    path = outputs["jacobians"]
    if damage == "delete":
        os.remove(path)
    elif damage == "truncate":
        with open(path, "r+b") as f:
            f.truncate(100)
    else:
        df = pd.read_parquet(path)
        tables.write(df, path, "geometry")
    assert evaluation.recorded_provenance(path) is None
    evaluation.evaluate_model(files, outputs, params(), keys=KEYS)
    assert calls == ["jacobians"]


@pytest.mark.parametrize(
    ("model", "run"),
    [("model", "run"), ("init_model", "run"), ("src", "src_run")],
    ids=["model", "init_model", "transfer-source"],
)
def test_a_foreign_model_file_is_refused_naming_it(model_files, calls, model, run):
    # another model's file of the same architecture loads and runs: only its
    # digest, recorded by training in the run table, tells it apart
    files, outputs, paths = model_files
    evaluation.evaluate_model(files, outputs, params(), keys=KEYS)
    calls.clear()
    paths[model].write_bytes(b"another model of the same architecture")
    with pytest.raises(storage.ForeignModelError) as err:
        evaluation.evaluate_model(files, outputs, params(), keys=KEYS)
    assert str(err.value).startswith(
        f"{paths[model]} is not the model its training wrote: {paths[run]} records "
        "sha256 "
    )
    assert str(err.value).endswith(
        f"Rebuild it with: snakemake --forcerun {paths[model]}"
    )
    assert calls == []


def test_a_run_table_without_model_digests_is_refused(model_files, calls):
    files, outputs, paths = model_files
    record(paths["run"], model=paths["model"])  # no init_model digest
    with pytest.raises(storage.ForeignModelError, match="records no digest for it"):
        evaluation.evaluate_model(files, outputs, params(), keys=KEYS)


def test_unknown_part_and_missing_outputs_are_named(model_files):
    files, outputs, _ = model_files
    with pytest.raises(ValueError, match="unknown evaluation part 'betti'"):
        evaluation.part_inputs(files, "betti")
    del outputs["robustness"]
    with pytest.raises(ValueError, match=r"outputs and params for \['robustness'\]"):
        evaluation.evaluate_model(files, outputs, params(), keys=KEYS)


def test_a_cell_evaluates_each_model_into_its_own_tables(tmp_path, calls):
    inputs = {}
    for key in ("model", "init_model", "run", "representations"):
        inputs[key] = []
        for activation in ("sigmoid", "relu"):
            path = tmp_path / activation / key
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(f"{activation}/{key}".encode())
            inputs[key].append(str(path))
    for activation in ("sigmoid", "relu"):
        retrain({k: tmp_path / activation / k for k in ("model", "init_model", "run")})
    data = tmp_path / "data.npz"
    data.write_bytes(b"data")
    cell = evaluation.cell_files(
        inputs, str(data), activations=["sigmoid", "relu"], transfer_from=["relu"]
    )
    assert cell["sigmoid"].transfer == {"relu": (inputs["model"][1], inputs["run"][1])}
    outputs = {
        part: [str(tmp_path / a / f"{part}.parquet") for a in ("sigmoid", "relu")]
        for part in evaluation.PARTS
    }
    cell_keys = {k: str(v) for k, v in KEYS.items() if k != "activation"}
    done = evaluation.evaluate_models(cell, outputs, params(), keys=cell_keys)
    assert done == {a: dict.fromkeys(evaluation.PARTS, "computed") for a in cell}
    for i, activation in enumerate(("sigmoid", "relu")):
        table = pd.read_parquet(outputs["robustness"][i])
        assert table.activation.tolist() == [activation]
        assert table.depth.tolist() == [KEYS["depth"]]  # typed as in the tables
    # relu's model feeds sigmoid's transfer attacks, so both robustness parts
    calls.clear()
    retrain(
        {k: tmp_path / "relu" / k for k in ("model", "init_model", "run")},
        content=b"retrained",
    )
    evaluation.evaluate_models(cell, outputs, params(), keys=cell_keys)
    assert calls == ["robustness", "jacobians", "robustness"]


def test_a_cell_needs_one_path_per_activation(tmp_path):
    inputs = {k: ["a"] for k in ("model", "init_model", "run", "representations")}
    with pytest.raises(ValueError, match="a cell of 2 activations needs as many"):
        evaluation.cell_files(
            inputs, "d.npz", activations=["sigmoid", "relu"], transfer_from=[]
        )


def test_every_part_runs_numpys_thread_pools_on_the_jobs_threads(
    model_files, monkeypatch
):
    # left alone, OpenBLAS starts one thread per core, and their waiting
    # costs CPU in a job that declares one thread
    from threadpoolctl import threadpool_info

    seen = {}

    def part(name):
        def compute(files, settings, keys, threads):
            seen[name] = {pool["num_threads"] for pool in threadpool_info()}
            return pd.DataFrame([{**keys, "metric": "m", "value": 1.0}])

        return compute

    monkeypatch.setattr(
        evaluation, "_COMPUTE", {name: part(name) for name in evaluation.PARTS}
    )
    monkeypatch.setattr(evaluation.tables, "write", lambda *args, **kwargs: None)
    files, outputs, _ = model_files
    evaluation.evaluate_model(files, outputs, params(), keys=KEYS, threads=1)
    assert seen == dict.fromkeys(evaluation.PARTS, {1})

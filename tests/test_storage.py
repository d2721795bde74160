"""Intermediate files: atomic writes, one clear error for unreadable files,
foreign or stale per-job parts refused at aggregation."""

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from geoctx import storage, tables

KEYS = {
    "dataset": "moons",
    "activation": "relu",
    "initializer": "auto",
    "width": 16,
    "depth": 3,
    "seed": 0,
}


def part_path(root, **override):
    keys = {**KEYS, **override}
    return root / "results" / "robustness" / tables.model_path(keys) / "r.parquet"


def robustness_rows(**override):
    keys = {**KEYS, **override}
    return pd.DataFrame(
        [{**keys, "attack": "none", "epsilon": 0.0, "metric": "m", "value": 1.0}]
    )


def assert_names_file_and_rebuild(err, path):
    message = str(err.value)
    assert str(path) in message
    assert "unreadable" in message
    assert f"snakemake --forcerun {path}" in message


def test_truncated_npz_names_the_file_and_how_to_rebuild(tmp_path):
    path = tmp_path / "data.npz"
    storage.save_npz(path, {"x": np.arange(1000.0)})
    assert storage.load_npz(path)["x"][-1] == 999.0
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(storage.UnreadableFileError) as err:
        storage.load_npz(path)
    assert_names_file_and_rebuild(err, path)


def test_missing_or_truncated_keras_model_names_the_file(tmp_path):
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    path = tmp_path / "model.keras"
    storage.save_model(model, path)
    loaded = storage.load_model(path)
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(storage.UnreadableFileError) as err:
        storage.load_model(path)
    assert_names_file_and_rebuild(err, path)
    with pytest.raises(storage.UnreadableFileError, match="no such file"):
        storage.load_model(tmp_path / "absent.keras")


def test_model_cache_loads_an_unchanged_file_once(tmp_path):
    import keras

    path = tmp_path / "model.keras"
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    storage.save_model(model, path)
    with storage.model_cache():
        first = storage.load_model(path)
        assert storage.load_model(tmp_path / "." / "model.keras") is first
        model.set_weights([w + 1 for w in model.get_weights()])
        storage.save_model(model, path)  # a changed file is loaded again
        changed = storage.load_model(path)
        assert changed is not first
        np.testing.assert_array_equal(changed.get_weights()[1], np.ones(3))
        with pytest.raises(RuntimeError, match="do not nest"), storage.model_cache():
            pass
    assert storage.load_model(path) is not storage.load_model(path)


def test_a_later_block_lends_a_kept_model_with_the_new_files_weights(tmp_path):
    import keras

    from geoctx import autodiff

    def save(name, seed, units=3, initializer="glorot_uniform"):
        keras.utils.set_random_seed(seed)
        # named as the study's models are (an automatic name is in the config)
        dense = keras.layers.Dense(
            units, activation="tanh", kernel_initializer=initializer, name="hidden"
        )
        model = keras.Sequential([keras.Input((2,), name="x"), dense], name="mlp")
        storage.save_model(model, tmp_path / name)
        return tmp_path / name

    a, wider = save("a.keras", 0), save("c.keras", 2, units=4)
    b = save("b.keras", 1, initializer="he_normal")  # only initial weights differ
    x = np.random.default_rng(0).normal(size=(5, 2))
    with storage.model_cache():
        first, second = storage.load_model(a), storage.load_model(b)
        assert second is not first  # both lent to the block at once
        autodiff.predict(first, x)  # its compiled forward pass, with a's weights
    with storage.model_cache():
        again = storage.load_model(b)
        assert again is first  # kept, now with b's weights and config
        fresh = keras.saving.load_model(b)
        assert again.get_config() == fresh.get_config()
        assert (
            again.get_layer("hidden").get_config()["kernel_initializer"]["class_name"]
            == "HeNormal"
        )
        for found, expected in zip(
            again.get_weights(), fresh.get_weights(), strict=True
        ):
            np.testing.assert_array_equal(found, expected)
        np.testing.assert_array_equal(
            autodiff.predict(again, x), autodiff.predict(fresh, x)
        )
        assert storage.load_model(wider) not in (first, second)  # other config


def test_a_lent_mlp_gets_each_layers_own_weights_from_the_file(tmp_path):
    # hidden layers of one shape: weights read into the wrong layer, or a
    # bias into a kernel's place, would still load
    import keras

    from geoctx import autodiff
    from geoctx.models import build_mlp

    paths = []
    for seed in (0, 1):
        keras.utils.set_random_seed(seed)
        model = build_mlp(3, 3, activation="tanh", width=3, depth=3)
        # biases differ from zero and between layers, as trained ones do
        model.set_weights([w + i for i, w in enumerate(model.get_weights())])
        paths.append(tmp_path / f"m{seed}.keras")
        storage.save_model(model, paths[-1])
    with storage.model_cache():
        first = storage.load_model(paths[0])
    assert storage._dense_weights(first, paths[1]) is not None  # read directly
    with storage.model_cache():
        lent = storage.load_model(paths[1])
        assert lent is first
        fresh = keras.saving.load_model(paths[1])
        for layer in fresh.layers:
            for found, expected in zip(
                lent.get_layer(layer.name).get_weights(),
                layer.get_weights(),
                strict=True,
            ):
                np.testing.assert_array_equal(found, expected)
        x = np.random.default_rng(0).normal(size=(7, 3))
        np.testing.assert_array_equal(
            autodiff.predict(lent, x), autodiff.predict(fresh, x)
        )


def test_a_lent_model_of_other_layers_is_read_by_keras(tmp_path):
    import keras

    paths = []
    for seed in (0, 1):
        keras.utils.set_random_seed(seed)
        norm = keras.layers.BatchNormalization(name="norm")
        dense = keras.layers.Dense(3, name="hidden")
        model = keras.Sequential([keras.Input((2,), name="x"), norm, dense], name="m")
        model.set_weights([w + seed + 1 for w in model.get_weights()])
        paths.append(tmp_path / f"m{seed}.keras")
        storage.save_model(model, paths[-1])
    with storage.model_cache():
        first = storage.load_model(paths[0])
    assert storage._dense_weights(first, paths[1]) is None  # not Dense only
    with storage.model_cache():
        lent = storage.load_model(paths[1])
        assert lent is first
        fresh = keras.saving.load_model(paths[1])
        for found, expected in zip(
            lent.get_weights(), fresh.get_weights(), strict=True
        ):
            np.testing.assert_array_equal(found, expected)


def test_atomic_path_leaves_the_target_untouched_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), storage.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


@pytest.fixture(params=[0o022, 0o002], ids=["umask022", "umask002"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_written_files_follow_the_umask(tmp_path, umask):
    # as `touch` and every other tool: 0644 under umask 022, 0664 under 002
    expected = {0o022: 0o644, 0o002: 0o664}[umask]
    assert storage.umask() == umask
    storage.save_npz(tmp_path / "a.npz", {"x": np.zeros(2)})
    storage.write_json(tmp_path / "a.json", {"a": 1})
    tables.write(robustness_rows(), tmp_path / "r.parquet", "robustness")
    with storage.atomic_path(tmp_path / "report.html") as tmp:
        tmp.write_text("<html>")
    (tmp_path / "touched").touch()
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == dict.fromkeys(modes, expected)
    assert len(modes) == 5


def test_saved_model_follows_the_umask(tmp_path, umask):
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    digest = storage.save_model(model, tmp_path / "model.keras")
    assert (tmp_path / "model.keras").stat().st_mode & 0o777 == 0o666 & ~umask
    assert digest == storage.file_digest(tmp_path / "model.keras")  # the record


def test_aggregate_accepts_parts_that_match_their_paths(tmp_path):
    a, b = part_path(tmp_path), part_path(tmp_path, seed=1)
    tables.write(robustness_rows(), a, "robustness")
    tables.write(robustness_rows(seed=1), b, "robustness")
    n = tables.aggregate([a, b], tmp_path / "t.parquet", "robustness", metadata={})
    assert n == 2
    assert sorted(pd.read_parquet(tmp_path / "t.parquet").seed) == [0, 1]


def test_aggregate_refuses_a_part_copied_over_another_models_file(tmp_path):
    a, b = part_path(tmp_path), part_path(tmp_path, seed=1)
    tables.write(robustness_rows(), a, "robustness")
    tables.write(robustness_rows(seed=1), b, "robustness")
    shutil.copy(a, b)
    with pytest.raises(ValueError, match=r"seed=\[0\].*path says seed=1"):
        tables.aggregate([a, b], tmp_path / "t.parquet", "robustness", metadata={})
    assert not (tmp_path / "t.parquet").exists()


def test_aggregate_refuses_a_part_whose_input_changed_since(tmp_path):
    model = tmp_path / "model.keras"
    model.write_bytes(b"weights v1")
    a = part_path(tmp_path)
    tables.write(
        robustness_rows(),
        a,
        "robustness",
        metadata={"inputs": {str(model): storage.file_digest(model)}},
    )
    tables.aggregate([a], tmp_path / "t.parquet", "robustness", metadata={})
    stat = model.stat()
    model.write_bytes(b"weights v2")
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # behind mtime's back
    with pytest.raises(storage.ChangedInputError, match="model.keras.*changed since"):
        tables.aggregate([a], tmp_path / "t.parquet", "robustness", metadata={})


def test_aggregate_refuses_an_unreadable_part(tmp_path):
    a = part_path(tmp_path)
    a.parent.mkdir(parents=True)
    a.write_bytes(b"PAR1 not really")
    with pytest.raises(storage.UnreadableFileError) as err:
        tables.aggregate([a], tmp_path / "t.parquet", "robustness", metadata={})
    assert_names_file_and_rebuild(err, a)


def test_keys_from_path_inverts_model_path():
    assert tables.keys_from_path(f"x/{tables.model_path(KEYS)}/f.parquet") == KEYS
    assert tables.keys_from_path("results/inference/relu.parquet") is None

"""Your own data: file and scikit-learn table datasets, and every check on them.

Each bad file is checked by ``own_data.source_problems`` (what the workflow
runs when it reads the config, before any job); the message must name the
key, the file and the column.
"""

import hashlib

import numpy as np
import pandas as pd
import pytest

from geoctx import datasets, own_data
from geoctx.config import ConfigError, validate_config
from geoctx.datasets import Dataset, split_and_standardize
from geoctx.sources import SKLEARN_TABLES

SPLIT = {"test_fraction": 0.25, "validation_fraction": 0.2, "probe_points": 40}


def frame(n=120, *, seed=0):
    """Two numeric features, one text column, string labels a/b/c (balanced)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "note": ["t"] * n,
            "kind": np.array(["b", "a", "c"])[np.arange(n) % 3],
        }
    )


def study(tmp_path, spec, **sections):
    """A validated study config over one file dataset in ``tmp_path``."""
    config = {
        "datasets": {"mine": {"generator": "file", "label": "kind", **spec}},
        "activations": ["relu"],
        "geometry": {"n_neighbors": 3, "probe_folds": 2},
        **sections,
    }
    return validate_config(config)


def problems(tmp_path, monkeypatch, df_or_bytes, spec=None, name="mine.csv", **kw):
    """The problems ``source_problems`` finds with this file as a dataset."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / name
    if isinstance(df_or_bytes, bytes):
        path.write_bytes(df_or_bytes)
    elif name.endswith(".csv"):
        df_or_bytes.to_csv(path, index=False)
    else:
        df_or_bytes.to_parquet(path)
    config = study(tmp_path, {"path": name, **(spec or {})}, **kw)
    return own_data.source_problems(config)


def test_csv_parquet_and_npz_give_the_same_table(tmp_path):
    df = frame()
    df.to_csv(tmp_path / "t.csv", index=False)
    df.to_parquet(tmp_path / "t.parquet")
    labels = df.kind.to_numpy().astype(str)  # a unicode array: no pickle needed
    np.savez(tmp_path / "t.npz", X=df[["x1", "x2"]].to_numpy(), kind=labels)
    tables = [
        own_data.read_table(tmp_path / f"t.{ext}", label="kind")
        for ext in ("csv", "parquet", "npz")
    ]
    for table in tables:
        # classes in sorted order, whatever order they come in
        assert table.classes == ["a", "b", "c"]
        # rows b, a, c, ...: "a" is class 0, "b" 1, "c" 2
        np.testing.assert_array_equal(table.y, np.tile([1, 0, 2], 40))
        np.testing.assert_allclose(table.X, df[["x1", "x2"]].to_numpy(), rtol=1e-12)
        assert table.rows_read == 120 and table.rows_dropped == 0
    # every numeric column but the label; the text column is listed as ignored
    assert tables[0].features == ["x1", "x2"] and tables[0].ignored_columns == ["note"]
    assert tables[2].features == ["X[0]", "X[1]"]


def test_integer_labels_and_listed_features(tmp_path):
    df = frame().assign(kind=lambda d: np.arange(len(d)) % 2 * 7)
    df.to_csv(tmp_path / "t.csv", index=False)
    table = own_data.read_table(tmp_path / "t.csv", label="kind", features=["x2"])
    assert table.classes == ["0", "7"] and table.y[:3].tolist() == [0, 1, 0]
    np.testing.assert_allclose(table.X[:, 0], df.x2)
    assert table.features == ["x2"]


def test_file_dataset_is_split_standardized_and_carries_its_sha256(tmp_path):
    df = frame(200)
    df.loc[5, "x1"] = np.nan
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    spec = {"generator": "file", "path": str(path), "label": "kind"}
    arrays, meta = datasets.make_dataset(
        {**spec, "drop_missing": True, "sha256": digest}, **SPLIT
    )
    assert meta["source"] == {"path": str(path), "sha256": digest}
    assert (meta["rows_read"], meta["rows_dropped"]) == (200, 1)
    assert meta["classes"] == ["a", "b", "c"] and meta["n_features"] == 2
    assert sum(meta["sizes"].values()) == 199
    # stratified: every split holds every class in proportion (66/67 each)
    for split in ("train", "val", "test"):
        counts = meta["class_counts"][split]
        assert max(counts) - min(counts) <= 1
    assert meta["probe_points"] == 40
    train = arrays["X_train"].astype(float)
    np.testing.assert_allclose(train.mean(axis=0), 0, atol=1e-6)
    assert np.sqrt(np.mean(train.var(axis=0))) == pytest.approx(1, rel=1e-5)
    with pytest.raises(ValueError, match="changed since the workflow checked it"):
        datasets.make_dataset(
            {**spec, "drop_missing": True, "sha256": "0" * 64}, **SPLIT
        )


@pytest.mark.parametrize("name", sorted(SKLEARN_TABLES))
def test_sklearn_tables_are_what_the_config_says(name):
    data = datasets.generate("sklearn", name=name)
    expected = SKLEARN_TABLES[name]
    assert data.X.shape == (expected["rows"], expected["features"])
    assert np.bincount(data.y).tolist() == expected["class_counts"]
    assert np.isfinite(data.X).all()
    arrays, meta = datasets.make_dataset(
        {"generator": "sklearn", "name": name}, **SPLIT
    )
    assert meta["source"] == {"sklearn": name}
    assert sum(meta["sizes"].values()) == expected["rows"]


def test_example_config_and_its_csv(monkeypatch):
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    config = validate_config(
        yaml.safe_load((root / "config/own_data.yaml").read_text())
    )
    checked, found = own_data.source_problems(config)
    assert found == []
    wine = checked["datasets"]["wine"]
    assert wine["sha256"] == own_data.file_sha256(root / wine["path"])
    # the shipped CSV is scikit-learn's wine table, unchanged
    table = own_data.read_table(wine["path"], label=wine["label"])
    reference = datasets.generate("sklearn", name="wine")
    np.testing.assert_allclose(table.X, reference.X, rtol=1e-5)
    np.testing.assert_array_equal(table.y, reference.y)


# -- checked before any job, naming the key, the file and the column ------------


def test_a_missing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, found = own_data.source_problems(study(tmp_path, {"path": "data/none.csv"}))
    assert found == [
        "datasets.mine.path: data/none.csv does not exist (paths are relative to "
        f"the working directory, {tmp_path})"
    ]


@pytest.mark.parametrize("name", ["bad.csv", "bad.parquet", "bad.npz"])
def test_an_unreadable_file(tmp_path, monkeypatch, name):
    _, found = problems(tmp_path, monkeypatch, b"\x00\x01 not a table \xff", name=name)
    assert len(found) == 1
    assert found[0].startswith(f"datasets.mine.path: cannot read {name} as ")


def test_an_unknown_suffix(tmp_path, monkeypatch):
    _, found = problems(tmp_path, monkeypatch, b"a,b\n", name="mine.xlsx")
    assert found[0].startswith("datasets.mine.path: mine.xlsx has suffix '.xlsx'")


def test_an_unknown_label_column(tmp_path, monkeypatch):
    _, found = problems(tmp_path, monkeypatch, frame(), {"label": "species"})
    assert found == [
        "datasets.mine.label: column 'species' is not in mine.csv; its columns: "
        "x1, x2, note, kind"
    ]


def test_an_unknown_feature_column(tmp_path, monkeypatch):
    _, found = problems(tmp_path, monkeypatch, frame(), {"features": ["x1", "x3"]})
    assert found[0].startswith("datasets.mine.features: column 'x3' is not in mine.csv")


def test_a_non_numeric_feature(tmp_path, monkeypatch):
    df = frame().astype({"x2": object})
    df.loc[4, "x2"] = "n/a?"
    _, found = problems(tmp_path, monkeypatch, df, {"features": ["x1", "x2"]})
    # line 6: the header, then rows 0-4
    assert found == [
        "datasets.mine.features: column 'x2' of mine.csv is not numeric "
        "(e.g. 'n/a?' at line 6)"
    ]


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_missing_or_infinite_values_are_refused(tmp_path, monkeypatch, bad):
    df = frame()
    df.loc[[7, 9], "x1"] = bad
    _, found = problems(tmp_path, monkeypatch, df)
    assert found == [
        "datasets.mine: 2 row(s) of mine.csv have a missing (NaN) or infinite "
        "value (by column: 'x1' 2; the first at line 9); clean the file or set "
        "datasets.mine.drop_missing: true to drop them"
    ]


def test_missing_values_dropped_and_counted(tmp_path, monkeypatch):
    df = frame()
    df.loc[[7, 9], "x1"] = np.nan
    df.loc[11, "kind"] = None  # a missing label is a missing value too
    config, found = problems(tmp_path, monkeypatch, df, {"drop_missing": True})
    assert found == []
    table = own_data.read_table("mine.csv", label="kind", drop_missing=True)
    assert (table.rows_read, table.rows_dropped, len(table.y)) == (120, 3, 117)
    assert not np.isnan(table.X).any()


def test_a_single_class(tmp_path, monkeypatch):
    _, found = problems(tmp_path, monkeypatch, frame().assign(kind="a"))
    assert found == [
        "datasets.mine.label: mine.csv has a single class ('a'); a classifier needs two"
    ]


def test_a_class_too_small_for_the_splits(tmp_path, monkeypatch):
    df = frame()
    df.loc[[0, 1, 2, 3, 4], "kind"] = "rare"  # 5 rows; the splits need 7
    _, found = problems(tmp_path, monkeypatch, df)
    need = own_data.min_class_rows(120, **{**SPLIT, "probe_points": 256})
    assert need == 7
    assert found == [
        "datasets.mine.label: class 'rare' of mine.csv has 5 row(s); the splits "
        "need at least 7 of every class (splits.test_fraction 0.25, "
        "training.validation_fraction 0.2, splits.probe_points 256): add rows "
        "or drop the class"
    ]


def test_min_class_rows_is_enough_for_every_split_and_probe():
    # what the check lets through, split_and_standardize can split: every
    # class in every split and in the probe, for several seeds
    rng = np.random.default_rng(1)
    config = validate_config({"datasets": {"moons": {}}, "activations": ["relu"]})
    checked = 0
    for n, tf, vf, probe in [
        (60, 0.25, 0.2, 10),
        (300, 0.1, 0.3, 10),
        (500, 0.5, 0.1, 64),
    ]:
        config["splits"].update(test_fraction=tf, probe_points=probe)
        config["training"]["validation_fraction"] = vf
        need = own_data.min_class_rows(
            n, test_fraction=tf, validation_fraction=vf, probe_points=probe
        )
        y = np.r_[np.zeros(n - need, int), np.ones(need, int)]
        found = own_data.table_problems("d", "f", {"a": n - need, "b": need}, config)
        assert not [p for p in found if not p.startswith("geometry")]
        for seed in range(3):
            a = split_and_standardize(
                Dataset(rng.normal(size=(n, 2)), y),
                test_fraction=tf,
                validation_fraction=vf,
                probe_points=probe,
                seed=seed,
            )
            for split in ("train", "val", "test"):
                assert set(a[f"y_{split}"]) == {0, 1}
            assert set(a["y_test"][a["probe_index"]]) == {0, 1}
            checked += 1
        one_less = own_data.table_problems(
            "d", "f", {"a": n - need + 1, "b": need - 1}, config
        )
        assert any("class 'b' of f has" in p for p in one_less)
    assert checked == 9


def test_too_many_classes(tmp_path, monkeypatch):
    df = frame().assign(kind=lambda d: np.arange(len(d)) % 12)
    _, found = problems(tmp_path, monkeypatch, df, data_limits={"max_classes": 10})
    assert found == [
        "datasets.mine.label: mine.csv has 12 classes, more than "
        "data_limits.max_classes (10); is the label column right? Raise "
        "data_limits.max_classes if so"
    ]


@pytest.mark.parametrize(
    ("limits", "start"),
    [
        (
            {"max_file_mb": 0.001},
            "datasets.mine.path: mine.csv is {size:.3g} MB, more than "
            "data_limits.max_file_mb "
            "(0.001); raise data_limits.max_file_mb to use it",
        ),
        (
            {"max_rows": 100},
            "datasets.mine.path: mine.csv has 120 rows, more than "
            "data_limits.max_rows (100); raise data_limits.max_rows to use it",
        ),
        (
            {"max_features": 1},
            "datasets.mine.features: mine.csv has 2 feature columns, more than "
            "data_limits.max_features (1); raise data_limits.max_features, or "
            "list the columns in features",
        ),
    ],
    ids=["file-size", "rows", "features"],
)
def test_a_file_beyond_the_limits_names_the_key_to_raise(
    tmp_path, monkeypatch, limits, start
):
    _, found = problems(tmp_path, monkeypatch, frame(), data_limits=limits)
    size = (tmp_path / "mine.csv").stat().st_size / 2**20  # about 0.006 MB
    assert found == [start.format(size=size)]


def test_a_written_sha256_must_match_the_file(tmp_path, monkeypatch):
    config, found = problems(tmp_path, monkeypatch, frame(), {"sha256": "a" * 64})
    digest = own_data.file_sha256(tmp_path / "mine.csv")
    assert found == [
        f"datasets.mine.sha256: mine.csv has SHA-256 {digest}, not the "
        f"{'a' * 64} the config names (the file changed?)"
    ]
    # left out, it is filled in
    config, found = problems(tmp_path, monkeypatch, frame())
    assert found == [] and config["datasets"]["mine"]["sha256"] == digest


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"generator": "file", "label": "y"}, "datasets.mine.path: required for "),
        ({"generator": "file", "path": "a.csv"}, "datasets.mine.label: required for"),
        ({"generator": "sklearn"}, "datasets.mine.name: required for generator"),
        (
            {"generator": "sklearn", "name": "titanic"},
            "datasets.mine.name: 'titanic' is not a table scikit-learn ships; "
            "valid: wine, breast_cancer, iris",
        ),
        (
            {"generator": "sklearn", "name": "iris", "n_samples": 100},
            "datasets.mine: sklearn takes no parameter 'n_samples'",
        ),
    ],
)
def test_config_keys_of_a_file_or_table(spec, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        validate_config({"datasets": {"mine": spec}, "activations": ["relu"]})


def test_a_bundled_table_too_small_for_the_probe_folds():
    config = validate_config(
        {
            "datasets": {"mine": {"generator": "sklearn", "name": "wine"}},
            "activations": ["relu"],
            "geometry": {"measured_points": 18, "probe_folds": 5, "n_neighbors": 3},
        }
    )
    _, found = own_data.source_problems(config)
    # class 2: 48 of 178 rows, about 4.85 of 18 measured points
    assert found == [
        "geometry.probe_folds: class 2 of sklearn table wine has 48 of 178 rows, "
        "about 4 of the 18 measured probe points, fewer than probe_folds (5); "
        "raise splits.probe_points and geometry.measured_points, or lower "
        "geometry.probe_folds"
    ]


def test_the_data_only_boundary_distance_is_capped_in_points(monkeypatch):
    # a file has no analytic boundary: each test point's distance to the
    # nearest point of another class stands in for it, quadratic in the
    # points, so a large test split is subsampled (the same points each time)
    keras = pytest.importorskip("keras")
    from geoctx.robustness import rows
    from geoctx.robustness.settings import RobustnessSettings, prepare

    monkeypatch.setattr(rows, "BOUNDARY_MAX_POINTS", 60)
    seen = []
    measure = rows.nearest_other_class_distance
    monkeypatch.setattr(
        rows,
        "nearest_other_class_distance",
        lambda x, y: seen.append(x.copy()) or measure(x, y),
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    settings = RobustnessSettings(boundary_quantiles=(0.0, 0.5, 1.0))
    data = {"x_test": x, "y_test": y, "x_val": x[:20], "y_val": y[:20]}
    first = rows.boundary_rows(model, prepare(data, settings), settings)
    again = rows.boundary_rows(model, prepare(data, settings), settings)
    assert [len(points) for points in seen] == [60, 60]
    np.testing.assert_array_equal(seen[0], seen[1])
    assert first == again
    # every kept point is a test point, none twice
    assert len({tuple(p) for p in seen[0]} & {tuple(p) for p in x}) == 60


def test_the_report_row_says_what_was_done_to_the_file():
    from geoctx.report import data_source_row

    meta = {
        "dataset": "mine",
        "source": {"path": "data/mine.csv", "sha256": "ab" * 32},
        "rows_read": 120,
        "rows_dropped": 3,
        "classes": ["a", "b"],
        "features": ["x1", "x2"],
        "ignored_columns": ["note"],
        "class_counts": {"train": [40, 30], "val": [10, 8], "test": [15, 14]},
        "sizes": {"train": 70, "val": 18, "test": 29},
        "probe_points": 20,
    }
    assert data_source_row(meta) == {
        "dataset": "mine",
        "source": "data/mine.csv",
        "sha256": "ab" * 32,
        "rows": "120 read, 3 dropped",
        "features": 2,
        "ignored": "note",
        "classes": "a (65), b (52)",
        "sizes": "70 / 18 / 29 (probe 20)",
    }
    table = {**meta, "source": {"sklearn": "iris"}, "ignored_columns": []}
    row = data_source_row(table)
    assert (row["source"], row["sha256"], row["ignored"]) == (
        "scikit-learn iris",
        "—",
        "—",
    )


@pytest.mark.parametrize("generator", ["file", "sklearn"])
def test_source_defaults_match_the_functions(generator):
    import inspect

    from geoctx.sources import DATA_SOURCES

    function = datasets.GENERATOR_FUNCTIONS[generator]
    defaults = {
        name: p.default for name, p in inspect.signature(function).parameters.items()
    }
    assert defaults == DATA_SOURCES[generator]

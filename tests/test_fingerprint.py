"""The study fingerprint: content, not bytes; every number counts; timings do not."""

import json

import numpy as np
import pandas as pd
import pytest

from geoctx import fingerprint, machine, tables

CONFIG = {"datasets": {"moons": {}}, "activations": ["relu"], "seeds": [0]}


def study_tables(seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for name in fingerprint.TABLES:
        df = tables.SCHEMAS[name].empty_table().to_pandas()
        row = {}
        for field in tables.SCHEMAS[name]:
            kind = str(field.type)
            row[field.name] = {"string": "x", "int64": 1, "bool": True}.get(
                kind, float(rng.random())
            )
        out[name] = pd.concat([df, pd.DataFrame([row, {**row, "dataset": "y"}])])
    return out


def test_same_content_same_fingerprint_whatever_the_row_order(tmp_path):
    a = study_tables()
    b = {name: df.iloc[::-1].reset_index(drop=True) for name, df in a.items()}
    assert fingerprint.study_fingerprint(CONFIG, a) == fingerprint.study_fingerprint(
        CONFIG, b
    )


def test_any_changed_number_changes_it():
    a = study_tables()
    base = fingerprint.study_fingerprint(CONFIG, a)
    for name in fingerprint.TABLES:
        b = {k: v.copy() for k, v in a.items()}
        column = [c for c in b[name].columns if b[name][c].dtype == float][0]
        b[name].iloc[0, b[name].columns.get_loc(column)] += 1e-12
        assert fingerprint.study_fingerprint(CONFIG, b) != base, name
    assert fingerprint.study_fingerprint({**CONFIG, "seeds": [1]}, a) != base


def test_wall_clock_times_do_not_count():
    a = study_tables()
    b = {k: v.copy() for k, v in a.items()}
    b["runs"]["wall_time_s"] += 3.0
    b["history"]["epoch_time_s"] *= 2
    assert fingerprint.study_fingerprint(CONFIG, a) == fingerprint.study_fingerprint(
        CONFIG, b
    )


def test_command_line_recomputes_and_checks(tmp_path, capsys):
    a = study_tables()
    for name, df in a.items():
        tables.write(df, tmp_path / f"{name}.parquet", name)
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    expected = fingerprint.study_fingerprint(CONFIG, a)
    (tmp_path / "fingerprint.txt").write_text(expected + "\n")
    args = [str(tmp_path / "config.json"), str(tmp_path)]
    assert fingerprint.main([*args, "--check", str(tmp_path / "fingerprint.txt")]) == 0
    assert expected in capsys.readouterr().out
    (tmp_path / "fingerprint.txt").write_text("0" * 64 + "\n")
    assert fingerprint.main([*args, "--check", str(tmp_path / "fingerprint.txt")]) == 1


@pytest.mark.parametrize("value", [0.1, 1 / 3, 1e-300])
def test_float_formatting_round_trips(value):
    df = pd.DataFrame({"v": [value]})
    other = pd.DataFrame({"v": [np.nextafter(value, 1.0)]})
    assert fingerprint.table_digest(df) != fingerprint.table_digest(other)


def test_a_missing_value_differs_from_every_number():
    digests = {
        fingerprint.table_digest(pd.DataFrame({"v": [v]})) for v in (np.nan, 0.0)
    }
    assert len(digests) == 2


AVX512 = {"cpu_isa": "AVX512_CORE_BF16", "onednn_isa": "AVX512_CORE_BF16"}
AVX2 = {"cpu_isa": "AVX2", "onednn_isa": "AVX2"}


def test_the_platform_record_is_beside_the_fingerprint_not_in_it(tmp_path):
    a = study_tables()
    for name, df in a.items():
        tables.write(df, tmp_path / f"{name}.parquet", name)
    expected = fingerprint.study_fingerprint(CONFIG, a)
    for record in (AVX512, AVX2):
        config = {**CONFIG, machine.PLATFORM_KEY: record}
        (tmp_path / "config.json").write_text(json.dumps(config))
        assert fingerprint.from_files(tmp_path / "config.json", tmp_path) == expected
    text = fingerprint.file_text(expected, AVX2)
    assert text.split()[0] == expected
    (tmp_path / "fingerprint.txt").write_text(text)
    assert fingerprint.read_file(tmp_path / "fingerprint.txt") == (expected, AVX2)


@pytest.mark.parametrize(
    ("cited", "says"),
    [
        (AVX512, "The platforms differ (cpu_isa: AVX512_CORE_BF16 → AVX2; onednn_isa"),
        (AVX2, "The platforms are the same as far as recorded"),
        ({}, "records no platform"),
    ],
)
def test_a_mismatch_says_whether_the_platforms_differ(tmp_path, capsys, cited, says):
    a = study_tables()
    for name, df in a.items():
        tables.write(df, tmp_path / f"{name}.parquet", name)
    config = {**CONFIG, machine.PLATFORM_KEY: AVX2}
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "fingerprint.txt").write_text(fingerprint.file_text("0" * 64, cited))
    args = [str(tmp_path / "config.json"), str(tmp_path)]
    assert fingerprint.main([*args, "--check", str(tmp_path / "fingerprint.txt")]) == 1
    err = capsys.readouterr().err
    assert says in err
    assert "python -m geoctx.replicate CITED_DIR RERUN_DIR" in err

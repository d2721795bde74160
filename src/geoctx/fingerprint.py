"""The study fingerprint: one SHA-256 that pins a cited report's numbers.

It is computed over the canonical JSON of the validated config and the
*content* of every deterministic result table (runs, history, units,
geometry, robustness): each table is sorted by all its columns and written
as CSV with round-trip float formatting, so the digest does not depend on
Parquet encoding, compression, row order or metadata. Timings are
measurements of the machine, not results of the study, and are left out:
the columns in :data:`VOLATILE` and the inference table (and the claims
table, which is derived from the others and from the timings).

Two runs of the same config on the same machine give the same fingerprint;
any changed number changes it. Verify a cited report with::

    python -m geoctx.fingerprint results/report/study_config.json results/tables \\
        --check results/report/fingerprint.txt

Bit-identity also needs a processor of the same instruction-set level
(:mod:`geoctx.machine`). ``fingerprint.txt`` lists the platform record
below the fingerprint and ``study_config.json`` holds it under
:data:`~geoctx.machine.PLATFORM_KEY`; neither enters the hash (the module
docstring of :mod:`geoctx.machine` says why). On a mismatch ``--check``
says whether the platforms differ and points to ``python -m
geoctx.replicate``, which compares conclusions instead of bits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from geoctx.config import STUDY_TABLES, TIMING_TABLES, canonical_json
from geoctx.machine import PLATFORM_KEY, decisive_differences, platform_record

#: Tables the fingerprint covers, in hashing order: every study table but timings.
TABLES = tuple(t for t in STUDY_TABLES if t not in TIMING_TABLES)

#: Columns that measure the machine (wall-clock times), not the study.
VOLATILE = frozenset({"wall_time_s", "epoch_time_s"})


def table_digest(df: pd.DataFrame) -> str:
    """SHA-256 of a table's content, independent of row order and encoding."""
    df = df.drop(columns=[c for c in df.columns if c in VOLATILE])
    df = df[sorted(df.columns)]
    df = df.sort_values(list(df.columns), na_position="last", kind="mergesort")
    text = df.to_csv(index=False, float_format=None, lineterminator="\n")
    return hashlib.sha256(text.encode()).hexdigest()


def study_fingerprint(config: Mapping, tables: Mapping[str, pd.DataFrame]) -> str:
    """SHA-256 over the canonical config and the digest of each table."""
    digest = hashlib.sha256(canonical_json(config).encode())
    for name in TABLES:
        digest.update(f"|{name}:{table_digest(tables[name])}".encode())
    return digest.hexdigest()


#: The line of ``fingerprint.txt`` that opens the platform record.
PLATFORM_HEADER = "# platform (recorded beside the fingerprint, not hashed):"


def file_text(value: str, platform: Mapping[str, str]) -> str:
    """``fingerprint.txt``: the fingerprint, then one ``key: value`` line
    per platform field (its first word stays the fingerprint)."""
    lines = [value, PLATFORM_HEADER, *(f"{k}: {v}" for k, v in platform.items())]
    return "\n".join(lines) + "\n"


def read_file(path) -> tuple[str, dict[str, str]]:
    """The fingerprint and platform record of a ``fingerprint.txt`` (an
    older file without a record gives an empty one)."""
    lines = Path(path).read_text().splitlines()
    if not lines or not lines[0].split():
        raise ValueError(f"{path} holds no fingerprint")
    record = dict(
        line.split(": ", 1) for line in lines[1:] if ": " in line and line[0] != "#"
    )
    return lines[0].split()[0], record


def from_files(config_path, tables_dir) -> str:
    """The fingerprint of a results directory, from its files (the platform
    record in the config JSON is not part of it)."""
    config = json.loads(Path(config_path).read_text())
    config.pop(PLATFORM_KEY, None)
    tables = {
        name: pd.read_parquet(Path(tables_dir) / f"{name}.parquet") for name in TABLES
    }
    return study_fingerprint(config, tables)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m geoctx.fingerprint",
        description="Recompute a geoctx study fingerprint from its config and tables.",
    )
    parser.add_argument(
        "config", help="the study config as JSON (results/report/study_config.json)"
    )
    parser.add_argument(
        "tables", help="the directory of the study tables (results/tables)"
    )
    parser.add_argument(
        "--check", metavar="FILE", help="compare with this fingerprint.txt"
    )
    args = parser.parse_args(argv)
    value = from_files(args.config, args.tables)
    print(value)
    if args.check:
        expected, cited = read_file(args.check)
        if expected != value:
            print(f"MISMATCH: {args.check} says {expected}", file=sys.stderr)
            print(mismatch_advice(cited, rerun_platform(args.config)), file=sys.stderr)
            return 1
        print("matches", args.check)
    return 0


def rerun_platform(config_path) -> dict[str, str]:
    """The platform the rerun recorded in its config JSON, else this machine's."""
    config = json.loads(Path(config_path).read_text())
    return config.get(PLATFORM_KEY) or platform_record()


def mismatch_advice(cited: Mapping[str, str], rerun: Mapping[str, str]) -> str:
    """What a fingerprint mismatch means, given both platforms."""
    replicate = (
        "Check whether the rerun reaches the cited conclusions instead:\n"
        "    python -m geoctx.replicate CITED_DIR RERUN_DIR"
    )
    if not cited:
        return (
            "The cited fingerprint file records no platform, so whether the "
            "platforms differ is unknown. " + replicate
        )
    differ = decisive_differences(cited, rerun)
    if differ:
        return (
            "The platforms differ (" + "; ".join(differ) + "): bits are not expected "
            "to match across them. " + replicate
        )
    return (
        "The platforms are the same as far as recorded, so some number differs "
        "for another reason (code, config, data or a nondeterministic step). "
        + replicate
    )


if __name__ == "__main__":
    raise SystemExit(main())

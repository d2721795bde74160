"""Shipped references: the published artefacts of a finished study, kept in
the repository (``reference/<name>/``) so that a rerun anywhere can be
replicated against them (:mod:`geoctx.replicate`).

A reference has the layout of ``results/``: ``tables/`` (every study table,
the scorecard, the verdict simulation and the trailing seeds' retrials) and
``report/`` (the config JSON with its platform record, ``fingerprint.txt``
and ``CITATION.bib``); no models, figures or report. It is copied only
from a study whose tables reproduce its fingerprint, into a new directory
that then replaces the old one. Make one with::

    python -m geoctx.reference results reference/default

(``make reference`` makes both shipped ones: ``smoke`` and ``default``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from geoctx import fingerprint
from geoctx.config import STUDY_TABLES

#: The tables a reference holds.
TABLES = (*STUDY_TABLES, "claims", "verdict_simulation", "retrials")

#: The report files a reference holds.
REPORT_FILES = ("study_config.json", "fingerprint.txt", "CITATION.bib")

#: The size every shipped reference together must stay under, in bytes.
MAX_BYTES = 2_000_000


def published_files(results) -> list[Path]:
    """The files of ``results`` a reference holds; ``ValueError`` names any missing."""
    results = Path(results)
    files = [results / "tables" / f"{name}.parquet" for name in TABLES] + [
        results / "report" / name for name in REPORT_FILES
    ]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise ValueError(
            f"{results} is not a finished study: missing {', '.join(missing)} "
            "(run it to the end with snakemake first)"
        )
    return files


def check_fingerprint(results) -> str:
    """The fingerprint of ``results``; ``ValueError`` if its tables do not
    reproduce the one its report recorded (a table changed since)."""
    results = Path(results)
    recorded, _ = fingerprint.read_file(results / "report" / "fingerprint.txt")
    value = fingerprint.from_files(
        results / "report" / "study_config.json", results / "tables"
    )
    if value != recorded:
        raise ValueError(
            f"{results}: the tables give fingerprint {value[:16]}…, the report "
            f"recorded {recorded[:16]}…; rerun snakemake so that they agree"
        )
    return value


def make_reference(results, out) -> str:
    """Copy the published artefacts of ``results`` to ``out``, replacing it;
    returns the fingerprint."""
    results, out = Path(results), Path(out)
    files = published_files(results)
    value = check_fingerprint(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for path in files:
            target = staging / path.relative_to(results)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return value


def size(directory) -> int:
    """Bytes of every file under ``directory``."""
    return sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m geoctx.reference",
        description="Copy a finished study's published artefacts into a reference.",
    )
    parser.add_argument("results", help="the study's results directory")
    parser.add_argument("out", help="the reference directory, e.g. reference/default")
    args = parser.parse_args(argv)
    try:
        value = make_reference(args.results, args.out)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    total = size(Path(args.out).parent)
    print(f"{args.out}: fingerprint {value}, {size(args.out):,} bytes")
    if total > MAX_BYTES:
        print(
            f"warning: {Path(args.out).parent} holds {total:,} bytes, more than "
            f"the {MAX_BYTES:,} a shipped reference may take",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

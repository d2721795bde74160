"""Does a rerun replicate a cited study? Two finished studies, compared from
their published artefacts alone (``results/tables``,
``results/report/study_config.json`` and ``fingerprint.txt``; no models).

The fingerprint says whether two runs are bit for bit the same, which only
runs on processors of one instruction-set level can be. This answers what a
reader on another machine asks: does my rerun reach the same conclusions,
and are its numbers within the noise?

- **Config**: every key (dotted path) whose value differs.
- **Platform**: what each study recorded of the machine that made it
  (:mod:`geoctx.machine`), side by side.
- **Per model**: the models matched by their keys (and each table's own
  identity columns: stage, layer, metric, attack, epsilon), the distribution
  of the differences rerun − cited of test accuracy and of every geometry,
  unit and robustness metric.
- **Per claim and per scorecard row**: cited against rerun verdict, effect
  and 95% interval, whether each effect lies inside the other's interval,
  whether the verdicts agree and whether the effects agree: the rerun's
  effect lies inside the cited 95% interval (within the cited study's own
  noise) or differs by at most ``tolerance × d``, ``d`` the row's smallest
  effect of interest (:data:`TOLERANCE` by default).

The study replicates (exit status 0) when every verdict agrees (every
claim's verdict, its verdict at initialization and on the sensitivity
re-analysis, and every scorecard row with a verdict) and every row's effect
agrees. Evidence measured as time on the machine (C9's
latency ratios) is shown but decides nothing unless asked
(``--include-timings``): timings are not expected to replicate across
machines, nor run to run on a shared one. Run it as::

    python -m geoctx.replicate CITED_DIR RERUN_DIR [--tolerance 0.5] [--out replication]

``CITED_DIR`` and ``RERUN_DIR`` are each a results directory (with
``tables/`` and ``report/``), a workflow directory holding ``results/``, or
a shipped reference (``reference/default``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geoctx.replicate.compare import (
    MODEL_SCHEMA,
    MODEL_TABLES,
    REQUIRED_TABLES,
    ROW_KEYS,
    TIMED_CLAIMS,
    TIMED_EVIDENCE,
    TOLERANCE,
    VERDICT_SCHEMA,
    Replication,
    Study,
    claim_comparison,
    compare,
    describe,
    load_study,
    mapping_diff,
    model_differences,
    normalise_scores,
    row_comparison,
)
from geoctx.replicate.report import render, write

__all__ = [
    "MODEL_SCHEMA",
    "MODEL_TABLES",
    "REQUIRED_TABLES",
    "ROW_KEYS",
    "TIMED_CLAIMS",
    "TIMED_EVIDENCE",
    "TOLERANCE",
    "VERDICT_SCHEMA",
    "Replication",
    "Study",
    "check",
    "claim_comparison",
    "compare",
    "describe",
    "load_study",
    "main",
    "mapping_diff",
    "model_differences",
    "normalise_scores",
    "render",
    "replicate",
    "row_comparison",
    "summary",
    "write",
]


def replicate(
    cited_dir,
    rerun_dir,
    *,
    out=None,
    tolerance: float = TOLERANCE,
    include_timings: bool = False,
) -> Replication:
    """Load, compare and (when ``out`` is given) write the replication report:
    the one call a test or a notebook needs."""
    result = compare(
        load_study(cited_dir),
        load_study(rerun_dir),
        tolerance=tolerance,
        include_timings=include_timings,
    )
    if out is not None:
        write(result, out)
    return result


def check(cited_dir, rerun_dir, *, out) -> tuple[bool, str]:
    """Replicate ``rerun_dir`` against ``cited_dir``, write the report into
    ``out``; (whether it replicates, what the command would print). For a
    test: ``ok, text = check(local, cluster, out=...); assert ok, text``."""
    result = replicate(cited_dir, rerun_dir, out=out)
    return result.replicates, "\n".join(summary(result))


#: At most this many differences are printed (all are in the table).
SHOWN = 40


def summary(result: Replication) -> list[str]:
    """What the command prints: the answer, then what differs."""
    lines = []
    if result.cited.fingerprint == result.rerun.fingerprint:
        lines.append(f"same study fingerprint {result.cited.fingerprint[:16]}…")
    else:
        lines.append(
            f"fingerprints differ ({result.cited.fingerprint[:12]}… cited, "
            f"{result.rerun.fingerprint[:12]}… rerun): the numbers are not "
            "bit-identical; comparing conclusions"
        )
    if len(result.config):
        lines.append(
            f"config differs in {len(result.config)} key(s): "
            + ", ".join(result.config["key"])
        )
    if len(result.platform):
        lines.append(
            "platform differs: "
            + ", ".join(
                f"{r.key} {r.cited} → {r.rerun}" for r in result.platform.itertuples()
            )
        )
    v = result.verdicts
    decided = v[v.decides]
    lines.append(
        f"{int(decided.verdict_agrees.sum())}/{len(decided)} verdicts agree, "
        f"{int(decided.effect_within_tolerance.sum())}/{len(decided)} effects agree "
        f"(inside the cited 95% interval or within {result.tolerance:g} d)"
        + ("" if result.include_timings else " (timed evidence, C9, not checked)")
    )
    problems = result.problems()
    lines.extend(f"  differs: {p}" for p in problems[:SHOWN])
    if len(problems) > SHOWN:
        lines.append(f"  … and {len(problems) - SHOWN} more (see the table)")
    lines.append("REPLICATES" if result.replicates else "DOES NOT REPLICATE")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m geoctx.replicate",
        description="Does a rerun of a geoctx study reach the cited conclusions?",
    )
    parser.add_argument(
        "cited", help="the cited study (results dir, workdir or reference)"
    )
    parser.add_argument("rerun", help="the rerun to check against it")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=TOLERANCE,
        help="largest accepted |rerun - cited| of an effect, in units of the row's "
        f"smallest effect of interest d (default {TOLERANCE})",
    )
    parser.add_argument(
        "--include-timings",
        action="store_true",
        help="let timed evidence (C9's latency ratios) decide too",
    )
    parser.add_argument(
        "--out", default="replication", help="directory for the table and HTML report"
    )
    args = parser.parse_args(argv)
    try:
        result = replicate(
            args.cited,
            args.rerun,
            out=args.out,
            tolerance=args.tolerance,
            include_timings=args.include_timings,
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n".join(summary(result)))
    print(f"report: {Path(args.out) / 'replication.html'}")
    return 0 if result.replicates else 1

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
  whether the verdicts agree and whether the effects differ by at most the
  tolerance: ``tolerance × d``, ``d`` the row's smallest effect of interest
  (:data:`TOLERANCE` by default).

The study replicates (exit status 0) when every verdict agrees (every
claim's verdict, its verdict at initialization and on the sensitivity
re-analysis, and every scorecard row with a verdict) and every row's effect
is within the tolerance. Evidence measured as time on the machine (C9's
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
import functools
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import markupsafe
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from geoctx import __version__, claims, evidence, stats
from geoctx.config import MODEL_KEYS
from geoctx.fingerprint import VOLATILE
from geoctx.machine import PLATFORM_KEY
from geoctx.storage import atomic_path

#: Default tolerance on an effect's difference, in units of the row's
#: smallest effect of interest d: half the smallest effect the study calls
#: practically relevant, so two runs within it could not disagree on
#: whether an effect matters.
TOLERANCE = 0.5

#: The tables the comparison reads (the other published tables are optional).
REQUIRED_TABLES = ("runs", "units", "geometry", "robustness", "claims")

#: Per-model tables and the columns (beside the model keys) each difference
#: is summarised by; runs is wide: one quantity per numeric column.
MODEL_TABLES = {
    "runs": (),
    "units": ("stage", "metric"),
    "geometry": ("stage", "metric"),
    "robustness": ("attack", "metric"),
}

#: The columns that name a scorecard row.
ROW_KEYS = (
    "analysis",
    "claim",
    "evidence",
    "stage",
    "part",
    "comparison",
    "dataset",
    "condition",
    "family",
    "at_init",
)

#: Evidence measured as time on the machine: (claim, evidence name).
TIMED_EVIDENCE = frozenset(
    (e.claim, e.name)
    for e in evidence.EVIDENCE
    if tuple(e.unit) == tuple(evidence.TIMING_UNIT)
)

#: Claims all of whose evidence is timed.
TIMED_CLAIMS = frozenset(
    c
    for c in {e.claim for e in evidence.EVIDENCE}
    if all(
        (e.claim, e.name) in TIMED_EVIDENCE for e in evidence.EVIDENCE if e.claim == c
    )
)

#: The claim-level verdicts compared (columns of :func:`claims.claim_verdicts`).
CLAIM_VERDICT_COLUMNS = ("verdict", "init_verdict", "sensitivity_verdict")

_EFFECT = ("effect", "ci_low", "ci_high")

#: Schema of ``replication.parquet``: one row per compared verdict.
VERDICT_SCHEMA = pa.schema(
    [
        pa.field("level", pa.string()),  # "claim" or "row"
        *[pa.field(k, pa.bool_() if k == "at_init" else pa.string()) for k in ROW_KEYS],
        pa.field("verdict_kind", pa.string()),
        pa.field("cited_verdict", pa.string()),
        pa.field("rerun_verdict", pa.string()),
        *[
            pa.field(f"{side}_{c}", pa.float64())
            for side in ("cited", "rerun")
            for c in _EFFECT
        ],
        pa.field("smallest_effect", pa.float64()),
        pa.field("difference", pa.float64()),
        pa.field("rerun_in_cited_ci", pa.bool_()),
        pa.field("cited_in_rerun_ci", pa.bool_()),
        pa.field("verdict_agrees", pa.bool_()),
        pa.field("effect_within_tolerance", pa.bool_()),
        pa.field("timed", pa.bool_()),
        pa.field("decides", pa.bool_()),
        pa.field("agrees", pa.bool_()),
    ]
)

#: Schema of ``replication_models.parquet``: one row per compared quantity.
MODEL_SCHEMA = pa.schema(
    [
        pa.field("table", pa.string()),
        pa.field("quantity", pa.string()),
        pa.field("n_matched", pa.int64()),
        pa.field("n_only_cited", pa.int64()),
        pa.field("n_only_rerun", pa.int64()),
        pa.field("n_identical", pa.int64()),
        pa.field("mean_difference", pa.float64()),
        pa.field("median_difference", pa.float64()),
        pa.field("q05_difference", pa.float64()),
        pa.field("q95_difference", pa.float64()),
        pa.field("max_abs_difference", pa.float64()),
    ]
)


@dataclass(frozen=True)
class Study:
    """The published artefacts of one finished study."""

    path: Path
    config: dict
    platform: dict
    fingerprint: str
    tables: dict[str, pd.DataFrame]


def _results_dir(directory: Path) -> Path:
    for candidate in (directory, directory / "results"):
        if (candidate / "tables").is_dir() and (candidate / "report").is_dir():
            return candidate
    raise ValueError(
        f"{directory} is not a finished study: it has no tables/ and report/ "
        "directories, nor a results/ directory holding them"
    )


def load_study(directory) -> Study:
    """Read a study's published artefacts; ``ValueError`` names what is missing."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory}: no such directory")
    results = _results_dir(directory)
    report = results / "report"
    needed = [report / "study_config.json", report / "fingerprint.txt"] + [
        results / "tables" / f"{name}.parquet" for name in REQUIRED_TABLES
    ]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise ValueError(
            f"{directory} is an incomplete study: missing {', '.join(missing)} "
            "(run the study to the end, e.g. snakemake, before comparing it)"
        )
    config = json.loads((report / "study_config.json").read_text())
    platform = config.pop(PLATFORM_KEY, {})
    fingerprint = (report / "fingerprint.txt").read_text().split()
    tables = {}
    for path in sorted((results / "tables").glob("*.parquet")):
        try:
            tables[path.stem] = pd.read_parquet(path)
        except (OSError, pa.ArrowException) as err:
            raise ValueError(f"{path} is unreadable: {err}") from err
    return Study(
        path=directory,
        config=config,
        platform=platform,
        fingerprint=fingerprint[0] if fingerprint else "",
        tables=tables,
    )


def _flatten(obj, prefix: str = "") -> dict[str, str]:
    """Dotted keys of nested mappings, each leaf as canonical JSON.

    >>> _flatten({"a": {"b": 1, "c": [1, 2]}, "d": "x"})
    {'a.b': '1', 'a.c': '[1, 2]', 'd': '"x"'}
    """
    if isinstance(obj, Mapping) and (obj or not prefix):
        out = {}
        for key in sorted(obj):
            out.update(_flatten(obj[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: json.dumps(obj, sort_keys=True)}


def mapping_diff(cited: Mapping, rerun: Mapping) -> pd.DataFrame:
    """Every dotted key whose value differs; "(absent)" where one side lacks it.

    >>> diff = mapping_diff({"a": {"b": 1}, "c": 2}, {"a": {"b": 3}, "c": 2})
    >>> diff.to_dict("records")
    [{'key': 'a.b', 'cited': '1', 'rerun': '3'}]
    """
    a, b = _flatten(cited), _flatten(rerun)
    rows = [
        {"key": k, "cited": a.get(k, "(absent)"), "rerun": b.get(k, "(absent)")}
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    ]
    return pd.DataFrame(rows, columns=["key", "cited", "rerun"])


def _long(name: str, df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A per-model table as (identity columns..., quantity, value)."""
    if name == "runs":
        numeric = [
            c
            for c in df.columns
            if c not in MODEL_KEYS
            and c not in VOLATILE
            and pd.api.types.is_numeric_dtype(df[c])
            and not pd.api.types.is_bool_dtype(df[c])
        ]
        long = df.melt(list(MODEL_KEYS), numeric, var_name="quantity")
        return long, [*MODEL_KEYS, "quantity"]
    group = MODEL_TABLES[name]
    ids = [c for c in df.columns if c != "value"]
    long = df.assign(
        quantity=df[list(group)].astype(str).agg(lambda r: " · ".join(r), axis=1)
    )
    return long, [*ids, "quantity"]


def model_differences(cited: Mapping, rerun: Mapping) -> pd.DataFrame:
    """The distribution of rerun − cited per table and quantity (:data:`MODEL_SCHEMA`).

    Rows are matched by their identity columns (model keys, stage, layer,
    metric, attack, epsilon); ``n_identical`` counts equal values (both
    missing counts as equal).
    """
    out = []
    for name in MODEL_TABLES:
        a, ids = _long(name, cited[name])
        b, _ = _long(name, rerun[name])
        common = [c for c in ids if c in a.columns and c in b.columns]
        merged = a[[*common, "value"]].merge(
            b[[*common, "value"]],
            on=common,
            how="outer",
            suffixes=("_c", "_r"),
            indicator=True,
        )
        for quantity, part in merged.groupby("quantity", sort=True):
            both = part[part["_merge"] == "both"]
            x, y = both["value_c"].astype(float), both["value_r"].astype(float)
            diff = (y - x).to_numpy()
            finite = diff[np.isfinite(diff)]
            stat = functools.partial(_stat, finite)
            out.append(
                {
                    "table": name,
                    "quantity": str(quantity),
                    "n_matched": len(both),
                    "n_only_cited": int((part["_merge"] == "left_only").sum()),
                    "n_only_rerun": int((part["_merge"] == "right_only").sum()),
                    "n_identical": int(((x == y) | (x.isna() & y.isna())).sum()),
                    "mean_difference": stat(np.mean),
                    "median_difference": stat(np.median),
                    "q05_difference": stat(lambda v: np.quantile(v, 0.05)),
                    "q95_difference": stat(lambda v: np.quantile(v, 0.95)),
                    "max_abs_difference": stat(lambda v: np.max(np.abs(v))),
                }
            )
    return pd.DataFrame(out, columns=MODEL_SCHEMA.names)


def _stat(values: np.ndarray, f) -> float:
    return float(f(values)) if values.size else np.nan


def normalise_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """A scorecard with every column of :data:`ROW_KEYS`: one written before
    claims had parts, initialization items or Holm families gets the
    values the current rules give it (``part`` "", ``at_init`` False,
    ``family`` from :func:`claims.family`, ``n_conditions`` its pairs, no
    I²)."""
    scores = scores.copy()
    if "part" not in scores:
        scores["part"] = ""
    if "at_init" not in scores:
        scores["at_init"] = False
    if "family" not in scores:
        scores["family"] = claims.family(scores)
    for column in ("i2", "between_dataset_sd"):
        if column not in scores:
            scores[column] = np.nan
    if "n_conditions" not in scores:
        scores["n_conditions"] = scores["n_pairs"]
    for key in ROW_KEYS:
        if key != "at_init":
            scores[key] = scores[key].fillna("").astype(str)
    return scores


def _inside(value, low, high) -> bool:
    return bool(np.isfinite(value) and low <= value <= high)


def _compare_effects(row: dict, tolerance: float) -> dict:
    ce, cl, ch = (float(row.get(f"cited_{k}", np.nan)) for k in _EFFECT)
    re_, rl, rh = (float(row.get(f"rerun_{k}", np.nan)) for k in _EFFECT)
    d = float(row.get("smallest_effect", np.nan))
    diff = re_ - ce
    if np.isinf(tolerance) or (np.isnan(ce) and np.isnan(re_)):
        within = True
    elif np.isfinite(diff) and np.isfinite(d):
        within = bool(abs(diff) <= tolerance * abs(d) * (1 + 1e-12))
    else:
        within = bool(np.isfinite(diff) and diff == 0)
    return {
        "difference": diff,
        "rerun_in_cited_ci": _inside(re_, cl, ch),
        "cited_in_rerun_ci": _inside(ce, rl, rh),
        "effect_within_tolerance": within,
    }


def _same(a, b) -> bool:
    missing = a is None or a is pd.NA or (isinstance(a, float) and np.isnan(a))
    other = b is None or b is pd.NA or (isinstance(b, float) and np.isnan(b))
    return (missing and other) or (not missing and not other and a == b)


def row_comparison(
    cited: pd.DataFrame, rerun: pd.DataFrame, *, tolerance: float = TOLERANCE
) -> pd.DataFrame:
    """Every scorecard row that carries a verdict (a Holm family's), cited
    against rerun, matched by the columns of :data:`ROW_KEYS` both tables
    have (a key one of them predates names nothing; its value is the
    cited side's, else the rerun's)."""
    keys = [k for k in ROW_KEYS if k in cited and k in rerun]
    rest = [k for k in ROW_KEYS if k not in keys]
    cols = [*ROW_KEYS, "verdict", *_EFFECT, "smallest_effect"]
    sides = []
    for scores in (cited, rerun):
        scores = normalise_scores(scores)
        sides.append(scores.loc[scores["family"] != "", cols])
    merged = sides[0].merge(sides[1], on=keys, how="outer", suffixes=("_c", "_r"))
    rows = []
    for rec in merged.to_dict("records"):
        for k in rest:
            rec[k] = rec[f"{k}_r"] if pd.isna(rec[f"{k}_c"]) else rec[f"{k}_c"]
        d = rec["smallest_effect_c"]
        row = {
            "level": "row",
            **{k: rec[k] for k in ROW_KEYS},
            "verdict_kind": "verdict",
            "cited_verdict": rec["verdict_c"],
            "rerun_verdict": rec["verdict_r"],
            **{f"cited_{k}": rec[f"{k}_c"] for k in _EFFECT},
            **{f"rerun_{k}": rec[f"{k}_r"] for k in _EFFECT},
            "smallest_effect": rec["smallest_effect_r"] if pd.isna(d) else d,
        }
        row.update(_compare_effects(row, tolerance))
        row["verdict_agrees"] = _same(row["cited_verdict"], row["rerun_verdict"])
        row["timed"] = (row["claim"], row["evidence"]) in TIMED_EVIDENCE
        rows.append(row)
    return _verdict_frame(rows)


def claim_comparison(cited: pd.DataFrame, rerun: pd.DataFrame) -> pd.DataFrame:
    """Each claim's verdict, initialization and sensitivity verdicts, and lead
    effect (:func:`claims.claim_verdicts`), cited against rerun."""
    a, b = (claims.claim_verdicts(normalise_scores(s)) for s in (cited, rerun))
    merged = a.merge(b, on="claim", how="outer", suffixes=("_c", "_r"))
    rows = []
    for rec in merged.to_dict("records"):
        for kind in CLAIM_VERDICT_COLUMNS:
            row = {
                "level": "claim",
                **dict.fromkeys(ROW_KEYS, ""),
                "claim": rec["claim"],
                "at_init": False,
                "verdict_kind": kind,
                "cited_verdict": rec[f"{kind}_c"],
                "rerun_verdict": rec[f"{kind}_r"],
                "smallest_effect": np.nan,
            }
            if kind == "verdict":
                row.update({f"cited_{k}": rec[f"{k}_c"] for k in _EFFECT})
                row.update({f"rerun_{k}": rec[f"{k}_r"] for k in _EFFECT})
                row.update(_compare_effects(row, np.inf))
            row["verdict_agrees"] = _same(row["cited_verdict"], row["rerun_verdict"])
            row["timed"] = rec["claim"] in TIMED_CLAIMS
            rows.append(row)
    return _verdict_frame(rows)


def _verdict_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for name in VERDICT_SCHEMA.names:
        if name not in df:
            df[name] = np.nan
    defaults = {"rerun_in_cited_ci": False, "cited_in_rerun_ci": False}
    df = df.fillna(defaults)
    df["effect_within_tolerance"] = df["effect_within_tolerance"].fillna(True)
    return df


@dataclass
class Replication:
    """The comparison of a rerun with a cited study (:func:`compare`)."""

    cited: Study
    rerun: Study
    tolerance: float
    include_timings: bool
    config: pd.DataFrame
    platform: pd.DataFrame
    models: pd.DataFrame
    verdicts: pd.DataFrame = field(repr=False)

    @property
    def replicates(self) -> bool:
        """Every deciding verdict agrees, every deciding effect within tolerance."""
        return bool(self.verdicts.loc[self.verdicts["decides"], "agrees"].all())

    def problems(self) -> list[str]:
        """One line per difference that makes the study not replicate."""
        out = []
        bad = self.verdicts[self.verdicts["decides"] & ~self.verdicts["agrees"]]
        for r in bad.to_dict("records"):
            out.append(describe(r, self.tolerance))
        return out


def describe(r: Mapping, tolerance: float) -> str:
    """One line naming a compared verdict and what differs in it."""
    if r["level"] == "claim":
        name = f"{r['claim']} {r['verdict_kind'].replace('_', ' ')}"
    else:
        name = " / ".join(
            str(r[k])
            for k in ("family", "claim", "evidence", "stage", "comparison")
            if r[k]
        )
        if r["analysis"] not in ("", "main") and r["family"] != r["analysis"]:
            name += f" ({r['analysis']})"
    what = []
    absent = [
        side
        for side in ("cited", "rerun")
        if r["level"] == "row" and not isinstance(r[f"{side}_verdict"], str)
    ]
    if absent:
        where = "the rerun" if absent == ["cited"] else "the cited study"
        return f"{name}: only in {where}"
    if not r["verdict_agrees"]:
        cited, rerun = (
            r[f"{side}_verdict"] if isinstance(r[f"{side}_verdict"], str) else None
            for side in ("cited", "rerun")
        )
        what.append(f"verdict {cited or '(none)'} → {rerun or '(none)'}")
    if not r["effect_within_tolerance"]:
        d = r["smallest_effect"]
        what.append(
            f"effect {r['cited_effect']:+.4g} → {r['rerun_effect']:+.4g} "
            f"(|Δ| = {abs(r['difference']) / abs(d):.2g} d > {tolerance:g} d)"
            if np.isfinite(r["difference"]) and np.isfinite(d) and d
            else f"effect {r['cited_effect']:+.4g} → {r['rerun_effect']:+.4g}"
        )
    return f"{name}: {'; '.join(what)}"


def compare(
    cited: Study,
    rerun: Study,
    *,
    tolerance: float = TOLERANCE,
    include_timings: bool = False,
) -> Replication:
    """Compare two loaded studies (:func:`load_study`)."""
    if not (np.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance: {tolerance!r} is not a finite number >= 0")
    verdicts = pd.concat(
        [
            claim_comparison(cited.tables["claims"], rerun.tables["claims"]),
            row_comparison(
                cited.tables["claims"], rerun.tables["claims"], tolerance=tolerance
            ),
        ],
        ignore_index=True,
    )
    verdicts["decides"] = include_timings | ~verdicts["timed"].astype(bool)
    verdicts["agrees"] = verdicts["verdict_agrees"].astype(bool) & verdicts[
        "effect_within_tolerance"
    ].astype(bool)
    return Replication(
        cited=cited,
        rerun=rerun,
        tolerance=tolerance,
        include_timings=include_timings,
        config=mapping_diff(cited.config, rerun.config),
        platform=mapping_diff(cited.platform, rerun.platform),
        models=model_differences(cited.tables, rerun.tables),
        verdicts=verdicts,
    )


def _css() -> markupsafe.Markup:
    """The study report's stylesheet, read from its template."""
    env = _environment()
    source = env.loader.get_source(env, "report.html.j2")[0]
    start, end = source.index("<style>") + len("<style>"), source.index("</style>")
    return markupsafe.Markup(source[start:end])


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("geoctx", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def render(result: Replication) -> str:
    """The replication report as a string of HTML, in the study report's look."""
    v = result.verdicts
    claim_rows = v[(v.level == "claim")]
    return (
        _environment()
        .get_template("replication.html.j2")
        .render(
            css=_css(),
            version=__version__,
            r=result,
            replicates=result.replicates,
            problems=result.problems(),
            cited_title=result.cited.config.get("study", {}).get("title", ""),
            same_fingerprint=result.cited.fingerprint == result.rerun.fingerprint,
            claim_rows=claim_rows.replace({np.nan: None}).to_dict("records"),
            rows=v[v.level == "row"].replace({np.nan: None}).to_dict("records"),
            n_rows=int((v.level == "row").sum()),
            n_rows_agree=int(((v.level == "row") & v.agrees).sum()),
            config=result.config.to_dict("records"),
            platform=result.platform.to_dict("records"),
            models=result.models.replace({np.nan: None}).to_dict("records"),
            stance=stats.STANCE,
        )
    )


def write(result: Replication, out) -> dict[str, Path]:
    """Write ``replication.parquet``, ``replication_models.parquet`` and
    ``replication.html`` into ``out``; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        b"cited": str(result.cited.path).encode(),
        b"rerun": str(result.rerun.path).encode(),
        b"tolerance": repr(result.tolerance).encode(),
        b"config_differences": result.config.to_json(orient="records").encode(),
    }
    paths = {
        "verdicts": out / "replication.parquet",
        "models": out / "replication_models.parquet",
        "html": out / "replication.html",
    }
    for key, df, schema in (
        ("verdicts", result.verdicts, VERDICT_SCHEMA),
        ("models", result.models, MODEL_SCHEMA),
    ):
        table = pa.Table.from_pandas(
            df[schema.names], schema=schema, preserve_index=False
        ).replace_schema_metadata(meta)
        with atomic_path(paths[key]) as tmp:
            pq.write_table(table, tmp)
    with atomic_path(paths["html"]) as tmp:
        tmp.write_text(render(result))
    return paths


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
        f"{int(decided.effect_within_tolerance.sum())}/{len(decided)} effects within "
        f"{result.tolerance:g} d"
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


if __name__ == "__main__":
    raise SystemExit(main())

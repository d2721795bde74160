"""The comparison behind :mod:`geoctx.replicate`: load two studies' published
artefacts, compare config, platform, per-model values and verdicts."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from geoctx import claims, evidence
from geoctx.config import MODEL_KEYS
from geoctx.fingerprint import VOLATILE
from geoctx.machine import PLATFORM_KEY

#: Default tolerance on an effect's difference, in units of the row's
#: smallest effect of interest d: half the smallest effect the study calls
#: practically relevant, so two runs within it could not disagree on
#: whether an effect matters. An effect outside it still agrees when it lies
#: inside the cited 95% interval, i.e. within the cited study's own noise:
#: on another processor training takes other roundings, which move trained
#: effects by about a seed's noise, often several d (see README "Citing").
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
    inside = _inside(re_, cl, ch)  # within the cited study's own noise
    if np.isinf(tolerance) or (np.isnan(ce) and np.isnan(re_)):
        within = True
    elif np.isfinite(diff) and np.isfinite(d):
        within = inside or bool(abs(diff) <= tolerance * abs(d) * (1 + 1e-12))
    else:
        within = inside or bool(np.isfinite(diff) and diff == 0)
    return {
        "difference": diff,
        "rerun_in_cited_ci": inside,
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
            f"(|Δ| = {abs(r['difference']) / abs(d):.2g} d > {tolerance:g} d, "
            "outside the cited interval)"
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

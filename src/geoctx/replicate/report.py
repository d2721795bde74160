"""The replication report's files: a table of verdicts, one of per-model
differences (explicit pyarrow schemas) and HTML in the study report's look."""

from __future__ import annotations

from pathlib import Path

import jinja2
import markupsafe
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from geoctx import __version__, stats
from geoctx.replicate.compare import MODEL_SCHEMA, VERDICT_SCHEMA, Replication
from geoctx.storage import atomic_path


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

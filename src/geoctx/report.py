"""The study report: one self-contained HTML file (figures embedded).

Every string that comes from the config or a table is HTML-escaped by
Jinja2's autoescaping; nothing is marked safe except the base64 images
this module encodes itself.
"""

from __future__ import annotations

import base64
import datetime
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2
import pandas as pd
import yaml

from geoctx import __version__
from geoctx.config import MODEL_KEYS
from geoctx.tables import package_versions

#: Caption of each figure, by file stem.
CAPTIONS = {
    "accuracy_vs_depth": (
        "Test accuracy against the number of hidden layers, one line per activation, "
        "with the 95% bootstrap confidence interval over seeds; one panel per dataset. "
        "Diverged runs are left out."
    ),
    "grad_norm_by_layer": (
        "Norm of the loss gradient with respect to each layer's kernel on a fixed "
        "training batch (log scale), for the deepest models of each dataset, at "
        "initialization (top) and after training (bottom); 95% CI over seeds. "
        "Gradients that shrink towards the first layers are vanishing gradients (C7)."
    ),
}


def model_id(row: Mapping) -> str:
    """The path-like name of one model, as in ``results/models/``."""
    return (
        f"{row['dataset']}/{row['activation']}/{row['initializer']}/"
        f"w{row['width']}_d{row['depth']}_s{row['seed']}"
    )


def accuracy_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd of test accuracy over seeds by dataset × activation and depth."""
    ok = runs[runs["status"] == "ok"]
    keys = ["dataset", "activation", "initializer", "width"]
    stats = ok.groupby([*keys, "depth"])["test_accuracy"].agg(["mean", "std", "count"])
    cells = stats.apply(
        lambda s: (
            f"{s['mean']:.3f} ± {s['std']:.3f}"
            if s["count"] > 1
            else f"{s['mean']:.3f}"
        ),
        axis=1,
    )
    table = cells.unstack("depth").fillna("—")
    table.columns = [f"depth {d}" for d in table.columns]
    return table.reset_index()


def unit_table(units: pd.DataFrame) -> pd.DataFrame:
    """Dead and saturated fractions of the last hidden layer, mean over seeds."""
    hidden = units[units["metric"].isin(["dead_fraction", "saturated_fraction"])]
    last = hidden[hidden["layer"] == hidden["depth"]]
    table = (
        last.groupby(["dataset", "activation", "depth", "stage", "metric"])["value"]
        .mean()
        .unstack(["stage", "metric"])
    )
    table.columns = [f"{metric} ({stage})" for stage, metric in table.columns]
    return table.sort_index(axis=1).round(3).reset_index()


def _image(path: str) -> str:
    return base64.b64encode(Path(path).read_bytes()).decode("ascii")


def render(
    *,
    runs: pd.DataFrame,
    units: pd.DataFrame,
    figures: Sequence[str],
    study: Mapping,
    config: Mapping,
) -> str:
    """Render the report as a string of HTML."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("geoctx", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    runs = runs.sort_values(list(MODEL_KEYS)).reset_index(drop=True)
    models = runs.assign(model=runs.apply(model_id, axis=1))[
        [
            "model",
            "status",
            "test_accuracy",
            "generalization_gap",
            "epochs_run",
            "wall_time_s",
        ]
    ]
    figs = [
        {
            "name": Path(f).stem,
            "caption": CAPTIONS.get(Path(f).stem, ""),
            "data": _image(f),
        }
        for f in figures
    ]
    axes = {
        key: sorted(runs[key].unique().tolist())
        for key in ("dataset", "activation", "initializer", "width", "depth", "seed")
    }
    return env.get_template("report.html.j2").render(
        study=study,
        generated=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        axes=axes,
        n_models=len(runs),
        n_diverged=int((runs["status"] == "diverged").sum()),
        accuracy=accuracy_table(runs),
        units=unit_table(units),
        models=models,
        figures=figs,
        versions=package_versions(),
        machine=f"{platform.machine()} {platform.processor() or ''}".strip(),
        config_yaml=yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True),
    )

"""The study report: one self-contained HTML file (figures embedded), its
PDF, the study fingerprint and a citation.

Every string that comes from the config or a table is HTML-escaped by
Jinja2's autoescaping; nothing is marked safe except the base64 images
this module encodes itself. The summary is written from the claims table:
no finding is hard-coded.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import inspect
import platform
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2
import markupsafe
import numpy as np
import pandas as pd
import yaml

from geoctx import __version__, claims, cost, evidence, names, stats, trailing
from geoctx.config import MODEL_KEYS, MODEL_PATH, SATURATION_TOLERANCE
from geoctx.machine import platform_record
from geoctx.methods import (
    LIMITATIONS,
    VERDICT_RULE,
    capped_runs,
    chosen_rates,
    controls,
    failed_at_every_rate,
    failed_to_learn_note,
    metric_definitions,
    restarted_runs,
    training_methods,
)
from geoctx.tables import cpu_name, package_versions
from geoctx.units import INACTIVE_SHARE, INACTIVE_TOLERANCE

#: Caption of each figure, by file stem (``robustness_*``, ``geometry_*`` and
#: ``projections_*`` share one caption per family).
CAPTIONS = {
    "forest": (
        "The scorecard in one picture. Each line is an evidence item that decides "
        "a claim: its effect (tick) and 95% studentized bootstrap interval over "
        "conditions (line, coloured by the item's verdict), in units of the item's "
        "smallest effect of interest d and signed so that the direction the claim "
        "predicts points right; the shaded band is ±d. Open markers are each "
        "dataset's estimate of the same item: their spread shows how much the "
        "conditions disagree. Linear within ±4 d, logarithmic beyond."
    ),
    "accuracy_vs_depth": (
        "Test accuracy against the number of hidden layers, one line per activation, "
        "with the 95% Student-t interval over runs (cut to [0, 1]); one panel per "
        "dataset. "
        "Diverged runs are left out."
    ),
    "learning_curves": (
        "Validation accuracy after every epoch, one thin line per model (seed and "
        "initializer) coloured by activation, drawn to the epoch where it stopped; "
        "rows are depths, columns datasets. Training stops when the training loss "
        "has plateaued or at the epoch cap (the runs table's plateaued and hit_cap "
        "columns say which per model)."
    ),
    "learning_rates": (
        "The learning-rate choice: for every architecture, the tuning criterion "
        "(mean over the tuning seeds) at each rate of the grid, one line per "
        "activation and initializer (line style); the dot marks the rate its "
        "study models train with, a cross a rate at which no tuning run learned "
        "(training accuracy at most the failed-to-learn threshold, or diverged). "
        "Rows are depths, columns datasets."
    ),
    "trailing_curves": (
        "The training curves behind every activation listed as trailing its "
        "cell's best: training loss (left, log scale) and training accuracy "
        "(right) per epoch at every learning rate of the tuning grid (solid, "
        "coloured by rate, on each tuning seed), of every study seed (dashed, "
        "at the chosen rate, or at the rate a run that failed to learn there was "
        "kept at) and, for a seed-dependent or held-out-only activation, of each short "
        "seed trained again at every other rate (dotted, coloured by rate), each "
        "drawn to the epoch it stopped. A flat stretch "
        "that ends in a drop is a plateau the run escaped; a curve that ends on a "
        "flat stretch is one the convergence rule stopped there."
    ),
    "grad_norm_by_layer": (
        "Norm of the loss gradient with respect to each layer's kernel on a fixed "
        "training batch (log scale), for the deepest models of each dataset, at "
        "initialization and after training; geometric mean over runs, 95% "
        "t-interval. Gradients that shrink "
        "towards the first layers are vanishing gradients (C7)."
    ),
    "geometry": (
        "{metric} of the probe points' representation against relative depth "
        "(0 = input, 1 = logits) for the deepest models; one line per activation, "
        "95% t-interval over runs; left at initialization, right after training."
    ),
    "projections": (
        "What the network does to the data ({dataset}): the probe points coloured by "
        "class, projected on their top-2 principal components at every layer "
        "(columns) of the trained model of each activation (rows)."
    ),
    "robustness": (
        "Accuracy under {attack} against its strength (epsilon or sigma, in units of "
        "the data's standard deviation); one line per activation, 95% t-interval "
        "over runs (cut to [0, 1]); rows are datasets, columns depths."
    ),
    "boundary_accuracy": (
        "Clean test accuracy by distance to the decision boundary (exact for circles "
        "and nested spheres, else distance to the nearest test point of another "
        "class), in quantile bins; 95% t-interval over runs, cut to [0, 1]."
    ),
    "latency_ratio": (
        "Forward-pass latency (one thread, float32, median of repeated calls) over "
        "the ReLU model's at the same depth, width and batch size, timed in the "
        "same block (all activations of a cell interleaved in random order); "
        "median and interquartile range over blocks. Absolute times depend on the "
        "machine; the ratios are the finding."
    ),
}

#: The figures that carry each claim's evidence (file stems).
CLAIM_FIGURES = {
    "C1": ["geometry_distance_spearman", "geometry_distance_contrast"],
    "C2": ["geometry_knn_overlap", "geometry_trajectory_length_ratio"],
    "C3": ["accuracy_vs_depth"],
    "C4": ["robustness_pgd_linf", "robustness_transfer_pgd_linf"],
    "C5": ["geometry_linear_probe_accuracy"],
    "C6": ["boundary_accuracy"],
    "C7": ["grad_norm_by_layer"],
    "C8": [],
    "C9": ["latency_ratio"],
}


def model_id(row: Mapping) -> str:
    """The path-like name of one model, as in ``results/models/``."""
    return MODEL_PATH.format(**{key: row[key] for key in MODEL_KEYS})


def accuracy_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd of test accuracy over seeds by dataset × activation and depth
    (runs that failed to learn included; diverged runs left out)."""
    ok = runs[runs["status"] != names.DIVERGED]
    keys = ["dataset", "activation", "initializer", "width"]
    agg = ok.groupby([*keys, "depth"])["test_accuracy"].agg(["mean", "std", "count"])
    cells = agg.apply(
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


#: The unit-health metrics of the report's units table (geoctx.units).
UNIT_METRICS = (
    "dead_fraction",
    "inactive_fraction",
    "effective_width",
    "saturated_fraction",
)


def unit_table(units: pd.DataFrame) -> pd.DataFrame:
    """Dead, inactive and saturated fractions and the effective width of the
    last hidden layer, mean over seeds.

    Examples
    --------
    >>> units = pd.DataFrame({
    ...     "dataset": "d", "activation": "relu", "depth": 2, "layer": [2, 2, 1],
    ...     "stage": "trained", "metric": ["effective_width"] * 3,
    ...     "value": [10.0, 12.0, 64.0]})
    >>> unit_table(units).to_dict("records")
    [{'dataset': 'd', 'activation': 'relu', 'depth': 2, \
'effective_width (trained)': 11.0}]
    """
    hidden = units[units["metric"].isin(UNIT_METRICS)]
    last = hidden[hidden["layer"] == hidden["depth"]]
    table = (
        last.groupby(["dataset", "activation", "depth", "stage", "metric"])["value"]
        .mean()
        .unstack(["stage", "metric"])
    )
    table.columns = [f"{metric} ({stage})" for stage, metric in table.columns]
    return table.sort_index(axis=1).round(3).reset_index()


def robustness_table(robustness: pd.DataFrame) -> pd.DataFrame:
    """Clean accuracy next to every robustness summary, mean over seeds."""
    if robustness.empty:
        return pd.DataFrame()
    rob = robustness
    attacked = rob.epsilon > 0
    summary = {
        "clean accuracy": rob[(rob.attack == "clean") & (rob.metric == "accuracy")],
        "PGD L-inf flip rate (mean over ε>0)": rob[
            (rob.attack == "pgd_linf") & (rob.metric == "flip_rate") & attacked
        ],
        "worst-case L-inf accuracy (mean over ε>0)": rob[
            (rob.attack == "worst_case_linf") & (rob.metric == "accuracy") & attacked
        ],
        **{
            f"{attack} flip rate (mean over ε>0)": rob[
                (rob.attack == attack) & (rob.metric == "flip_rate") & attacked
            ]
            for attack in sorted(
                a for a in rob.attack.unique() if a.startswith(names.TRANSFER_PREFIX)
            )
        },
        "Gaussian noise accuracy drop (mean over σ>0)": rob[
            (rob.attack == "gaussian") & (rob.metric == "accuracy_drop") & attacked
        ],
        "min adversarial distance (median)": rob[
            rob.metric == "min_adv_distance_median"
        ],
        "near − far boundary error": rob[rob.metric == "error_near_minus_far"],
        "ECE": rob[rob.metric == "ece"],
    }
    keys = ["dataset", "activation", "depth"]
    columns = {
        name: part.groupby([*keys, "seed"]).value.mean().groupby(keys).mean()
        for name, part in summary.items()
        if len(part)
    }
    return pd.DataFrame(columns).round(3).reset_index()


def worst_case_table(robustness: pd.DataFrame) -> pd.DataFrame:
    """Worst-case L-inf robust accuracy by dataset × activation (rows) and
    epsilon (columns), mean over models.

    Examples
    --------
    >>> rob = pd.DataFrame({
    ...     "dataset": "d", "activation": ["relu", "relu", "sigmoid", "sigmoid"],
    ...     "attack": "worst_case_linf", "metric": "accuracy",
    ...     "epsilon": [0.0, 0.1, 0.0, 0.1], "value": [0.9, 0.5, 0.8, 0.2],
    ... })
    >>> worst_case_table(rob).to_dict("list")
    {'dataset': ['d', 'd'], 'activation': ['relu', 'sigmoid'], 'ε=0': [0.9, 0.8], \
'ε=0.1': [0.5, 0.2]}
    """
    rows = robustness[
        (robustness.attack == "worst_case_linf") & (robustness.metric == "accuracy")
    ]
    if rows.empty:
        return pd.DataFrame()
    table = rows.pivot_table(
        index=["dataset", "activation"], columns="epsilon", values="value"
    )
    table.columns = [f"ε={e:g}" for e in table.columns]
    return table.round(3).reset_index()


def latency_table(inference: pd.DataFrame) -> pd.DataFrame:
    """Latency ratio to ReLU for every op, depth, width and batch size: the
    median over blocks of the ratio within each block (:func:`cost.ratio_to`).

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "activation": ["relu", "sigmoid"] * 3, "op": "mlp_forward",
    ...     "depth": 2, "width": 8, "batch_size": 1, "block": [0, 0, 1, 1, 2, 2],
    ...     "latency_ms_median": [1.0, 1.5, 2.0, 2.4, 1.0, 1.1]})
    >>> latency_table(df).loc[0, ["relu", "sigmoid"]].tolist()
    [1.0, 1.2]
    """
    if inference.empty:
        return pd.DataFrame()
    ratios = cost.ratio_to(inference)
    table = ratios.pivot_table(
        index=["op", "depth", "width", "batch_size"],
        columns="activation",
        values="latency_ratio",
        aggfunc="median",
    )
    table.columns.name = None
    return table.round(3).reset_index()


#: The planted effects (in units of d, normal noise) whose power the summary
#: quotes from the verdict simulation.
POWER_EFFECTS = (2.0, 5.0, 10.0)


def power_sentence(simulation: pd.DataFrame) -> str:
    """What "inconclusive" can hide at this design, from the verdict simulation:
    how often the rule calls a planted effect of 2, 5 and 10 d supported.
    Empty when the simulation has none of these scenarios.

    >>> table = pd.DataFrame({"true_effect": [0.0, 2.0, 5.0, 10.0, 5.0],
    ...     "distribution": ["normal"] * 4 + ["skewed"],
    ...     "supported": [0.0, 0.005, 0.24, 0.975, 0.18]})
    >>> power_sentence(table)
    'At this design the rule calls an effect of 2 d supported in 0.5% of \
simulated studies, 5 d in 24%, 10 d in 97.5% (Error rates): an inconclusive \
claim may still have an effect several times its smallest effect of interest.'
    >>> power_sentence(table.assign(supported=1.0)).split(", ")[2]
    '10 d in 100% (Error rates): an inconclusive claim may still have an effect \
several times its smallest effect of interest.'
    """
    if simulation.empty:
        return ""
    normal = simulation[simulation["distribution"] == "normal"]
    rates = [
        (effect, float(rows["supported"].iloc[0]))
        for effect in POWER_EFFECTS
        if len(rows := normal[np.isclose(normal["true_effect"], effect)])
    ]
    if not rates:
        return ""
    (effect, rate), *rest = rates
    said = [f"{effect:g} d supported in {100 * rate:.3g}% of simulated studies"]
    said += [f"{effect:g} d in {100 * rate:.3g}%" for effect, rate in rest]
    return (
        "At this design the rule calls an effect of "
        + ", ".join(said)
        + " (Error rates): an inconclusive claim may still have an effect "
        "several times its smallest effect of interest."
    )


def holm_family(scores: pd.DataFrame) -> dict[str, int]:
    """How many measured rows the deciding Holm family has and how many
    hypotheses its adjustment counts (each row's tests with a p-value).

    >>> scores = pd.DataFrame({"family": ["decides", "decides", ""],
    ...     "p_supported_holm": [0.1, float("nan"), float("nan")],
    ...     "p_contradicted_holm": [1.0, float("nan"), float("nan")],
    ...     "p_no_effect_holm": [1.0, float("nan"), float("nan")]})
    >>> holm_family(scores)
    {'rows': 1, 'hypotheses': 3}
    """
    adjusted = scores.loc[
        scores["family"] == claims.DECIDES, [f"{t}_holm" for t in stats.TESTS]
    ].notna()
    return {
        "rows": int(adjusted.any(axis=1).sum()),
        "hypotheses": int(adjusted.to_numpy().sum()),
    }


def summary_sentences(
    verdicts: pd.DataFrame,
    scores: pd.DataFrame,
    simulation: pd.DataFrame | None = None,
) -> list[str]:
    """The report's summary, written from the claim verdicts and, when some
    claim is inconclusive, the rule's power at this design (``simulation``,
    the ``verdict_simulation`` table: :func:`power_sentence`)."""
    counts = verdicts.verdict.value_counts()
    parts = [
        f"{counts.get(v, 0)} {v}" for v in claims.VERDICT_ORDER if counts.get(v, 0)
    ]
    primary = (
        scores[scores.primary].comparison.iloc[0] if scores.primary.any() else None
    )
    lines = [
        f"Of the argument's {len(verdicts)} claims, this study finds "
        + ", ".join(parts)
        + (f" (primary comparison: {primary})." if primary else ".")
    ]
    for row in verdicts.itertuples():
        if row.verdict in stats.DECISIVE | {stats.MIXED}:
            datasets = getattr(row, "datasets", "")
            i2 = getattr(row, "i2", np.nan)
            lines.append(
                f"{row.claim} ({row.verdict}): {stats.MEANING[row.verdict]}. "
                f"Evidence: {row.evidence}; lead effect "
                f"{row.effect:+.3g} [{row.ci_low:+.3g}, {row.ci_high:+.3g}] over "
                f"{getattr(row, 'n_conditions', row.n_pairs)} conditions."
                + (f" By dataset: {datasets}" if datasets else "")
                + (f" (I² {i2:.2f})." if datasets and np.isfinite(i2) else "")
            )
    for row in verdicts.itertuples():
        if getattr(row, "origin", ""):
            lines.append(f"{row.claim} at initialization: {row.origin}.")
    undecided = verdicts[verdicts.verdict == stats.INCONCLUSIVE].claim.tolist()
    if undecided:
        lines.append(f"Inconclusive on this sweep: {', '.join(undecided)}.")
        if simulation is not None and (power := power_sentence(simulation)):
            lines.append(power)
    missing = verdicts[verdicts.verdict == stats.NOT_MEASURED].claim.tolist()
    if missing:
        lines.append(
            f"Not measured (the sweep lacks what they need): {', '.join(missing)}."
        )
    return lines


def sha256_file(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def bibtex(
    study: Mapping, *, fingerprint: str, date: datetime.date, version: str = __version__
) -> str:
    """A BibTeX entry for the report; every value is plain text."""
    key = "geoctx_" + re.sub(r"\W", "", date.isoformat()) + "_" + fingerprint[:8]
    authors = " and ".join(a["name"] for a in study["authors"])

    def clean(text: str) -> str:
        return re.sub(r"[{}\\]", "", str(text))

    return (
        f"@techreport{{{key},\n"
        f"  title = {{{clean(study['title'])}}},\n"
        f"  author = {{{clean(authors)}}},\n"
        f"  year = {{{date.year}}},\n"
        f"  month = {{{date.month}}},\n"
        f"  institution = {{geoctx study report}},\n"
        f"  type = {{Study report}},\n"
        f"  note = {{Generated by the geoctx workflow version {version}; study "
        f"fingerprint sha256:{fingerprint}}}\n"
        "}\n"
    )


def _figure(path: str) -> dict:
    stem = Path(path).stem
    family, _, rest = stem.partition("_")
    if stem in CAPTIONS:
        caption = CAPTIONS[stem]
    elif family in CAPTIONS:
        caption = CAPTIONS[family].format(metric=rest, dataset=rest, attack=rest)
    else:
        caption = ""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return {"name": stem, "caption": caption, "data": data}


def _records(df: pd.DataFrame) -> list[dict]:
    return df.replace({np.nan: None}).to_dict("records")


def _breakable(text, marks: str = "_=") -> markupsafe.Markup:
    """``text`` escaped, with a line-break opportunity after each of ``marks``
    (``_`` and ``=``; table headers such as ``ε=0.1`` use ``_`` only).

    Evidence and condition names are long words joined by underscores; a
    narrow table column may wrap them there, never inside a word.

    >>> str(_breakable("knn_overlap <x>"))
    'knn_<wbr>overlap &lt;x&gt;'
    >>> str(_breakable("dead_fraction ε=0.1", "_"))
    'dead_<wbr>fraction ε=0.1'
    """
    escaped = markupsafe.escape(text)
    for mark in marks:
        escaped = escaped.replace(mark, markupsafe.Markup(f"{mark}<wbr>"))
    return escaped


def _item_records(scores: pd.DataFrame, rows: pd.DataFrame) -> list[dict]:
    """A claim's rows of one family, each with its per-dataset (C9: per batch
    size) estimates."""
    return [
        {**r, "datasets": _records(claims.estimates(scores, row))}
        for r, row in zip(_records(rows), rows.itertuples(), strict=True)
    ]


def render(
    *,
    tables: Mapping[str, pd.DataFrame],
    figures: Sequence[str],
    study: Mapping,
    config: Mapping,
    fingerprint: str,
    table_files: Mapping[str, str],
    commit: str,
    min_pairs: int = 3,
    date: datetime.date | None = None,
    machine_record: Mapping[str, str] | None = None,
    data_sources: Sequence[Mapping] = (),
) -> str:
    """Render the report as a string of HTML.

    ``machine_record`` is the record of :func:`geoctx.machine.platform_record`
    (this machine's by default). ``data_sources``: the ``meta.json`` of each
    file or scikit-learn table dataset (:mod:`geoctx.own_data`) with its
    ``dataset`` name, whose reading the report accounts for.
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("geoctx", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["breakable"] = _breakable
    date = date or datetime.date.today()
    runs = tables["runs"].sort_values(list(MODEL_KEYS)).reset_index(drop=True)
    scores = tables["claims"]
    verdicts = claims.claim_verdicts(scores)
    models = runs.assign(model=runs.apply(model_id, axis=1))
    figs = {f["name"]: f for f in map(_figure, figures)}
    n_failed = int((runs["status"] == names.FAILED_TO_LEARN).sum())
    claim_sections = []
    for row in verdicts.itertuples():
        rows = scores[scores.claim == row.claim]
        claim_sections.append(
            {
                "summary": row._asdict(),
                "deciding": _item_records(scores, rows[rows.family == claims.DECIDES]),
                "initialization": _item_records(
                    scores, rows[rows.family == claims.INITIALIZATION]
                ),
                "failed": failed_to_learn_note(row.claim, n_failed),
                "worst_case": (
                    worst_case_table(tables["robustness"])
                    if row.claim == "C4"
                    else pd.DataFrame()
                ),
                "figures": [figs[n] for n in CLAIM_FIGURES[row.claim] if n in figs],
            }
        )
    overall = scores[scores.family != ""]
    order = {name: i for i, name in enumerate(claims.FAMILIES)}
    appendix = overall.sort_values("family", key=lambda c: c.map(order), kind="stable")
    simulation = tables.get("verdict_simulation", pd.DataFrame())
    shown = {n for c in CLAIM_FIGURES.values() for n in c}
    geometry_figs = [
        f for n, f in figs.items() if n.startswith("geometry_") and n not in shown
    ]
    axes = {key: sorted(runs[key].unique().tolist()) for key in MODEL_KEYS}
    return env.get_template("report.html.j2").render(
        study=study,
        date=date.isoformat(),
        version=__version__,
        axes=axes,
        n_models=len(runs),
        n_diverged=int((runs["status"] == names.DIVERGED).sum()),
        n_failed=n_failed,
        min_test_accuracy=config["claims"]["min_test_accuracy"],
        families=claims.FAMILIES,
        appendix_rows=_records(appendix),
        n_breakdown_rows=int((scores.family == "").sum()),
        simulation=_records(simulation),
        design=simulation.iloc[0].to_dict() if len(simulation) else None,
        icc=inspect.signature(stats.simulation.study_error_rates)
        .parameters["icc"]
        .default,
        forest=figs.get("forest"),
        controls=controls(config, runs),
        saturation_tolerance=SATURATION_TOLERANCE,
        inactive_tolerance=f"{INACTIVE_TOLERANCE:g}",
        inactive_share=f"{INACTIVE_SHARE:.0%}",
        summary=summary_sentences(verdicts, scores, simulation),
        holm=holm_family(scores),
        verdicts=_records(verdicts),
        claim_sections=claim_sections,
        evidence=[
            {
                "claim": e.claim,
                "name": e.name,
                "description": e.description,
                "sign": "a < b" if e.predicted_sign < 0 else "a > b",
                "stage": e.stage or "—",
                "role": "decides" if e.decides else "shown beside",
                "needs_learning": "yes" if e.needs_learning else "no",
            }
            for e in evidence.EVIDENCE
        ],
        verdict_rule=VERDICT_RULE.format(min_pairs=min_pairs),
        stance=stats.STANCE,
        meaning=stats.MEANING,
        metrics=metric_definitions(config),
        limitations=LIMITATIONS,
        accuracy=accuracy_table(runs),
        training_methods=training_methods(config),
        rates=chosen_rates(tables["tuning"]),
        capped=capped_runs(runs),
        restarted=restarted_runs(runs),
        failed_everywhere=failed_at_every_rate(tables["tuning"]),
        trailing=trailing.report_rows(runs, tables["tuning"], tables.get("retrials")),
        trailing_margin=trailing.TRAILING_MARGIN,
        trailing_kinds=trailing.KIND_MEANING,
        plateau_note=trailing.PLATEAU_NOTE,
        trailing_figure=figs.get("trailing_curves"),
        units=unit_table(tables["units"]),
        robustness=robustness_table(tables["robustness"]),
        worst_case=worst_case_table(tables["robustness"]),
        has_transfer=bool(
            tables["robustness"].attack.str.startswith(names.TRANSFER_PREFIX).any()
        ),
        primary=config["claims"]["primary"],
        timing=config["inference"],
        latency=latency_table(tables["inference"]),
        training_figures=[
            figs[n]
            for n in (
                "accuracy_vs_depth",
                "learning_curves",
                "learning_rates",
                "grad_norm_by_layer",
            )
            if n in figs
        ],
        projection_figures=[f for n, f in figs.items() if n.startswith("projections_")],
        geometry_figures=geometry_figs,
        robustness_figures=[
            f
            for n, f in figs.items()
            if (n.startswith("robustness_") or n == "boundary_accuracy")
            and n not in shown
        ],
        models=_records(
            models[
                [
                    "model",
                    "status",
                    "test_accuracy",
                    "generalization_gap",
                    "epochs_run",
                    "wall_time_s",
                ]
            ]
        ),
        versions=package_versions(),
        machine=f"{cpu_name()} ({platform.machine()}, {platform.system()})",
        platform_record=machine_record or platform_record(),
        commit=commit,
        table_files={name: sha256_file(path) for name, path in table_files.items()},
        fingerprint=fingerprint,
        bibtex=bibtex(study, fingerprint=fingerprint, version=__version__, date=date),
        data_sources=[data_source_row(meta) for meta in data_sources],
        config_yaml=yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True),
    )


def data_source_row(meta: Mapping) -> dict:
    """One row of the report's account of a file or table dataset."""
    source = meta["source"]
    counts = [sum(c) for c in zip(*meta["class_counts"].values(), strict=True)]
    return {
        "dataset": meta["dataset"],
        "source": source.get("path") or f"scikit-learn {source['sklearn']}",
        "sha256": source.get("sha256", "—"),
        "rows": f"{meta['rows_read']} read, {meta['rows_dropped']} dropped",
        "features": len(meta["features"]),
        "ignored": ", ".join(meta["ignored_columns"]) or "—",
        "classes": ", ".join(
            f"{name} ({n})" for name, n in zip(meta["classes"], counts, strict=True)
        ),
        "sizes": " / ".join(str(meta["sizes"][s]) for s in ("train", "val", "test"))
        + f" (probe {meta['probe_points']})",
    }


def write_pdf(html_path, pdf_path) -> None:
    """Print the HTML report to PDF with WeasyPrint (needs the Pango library)."""
    import weasyprint

    weasyprint.HTML(filename=str(html_path)).write_pdf(str(pdf_path))

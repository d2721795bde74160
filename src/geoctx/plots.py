"""Figures of the study (seaborn). Plot functions take ``(df, *, ax=None)``,
draw on one axes and return it; :func:`facet` lays them out over a grid.
Nothing here saves a file: the calling script does.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from geoctx.config import ACTIVATIONS  # noqa: E402

#: Fixed colours so an activation looks the same in every figure.
_ORDER = (
    "relu",
    "sigmoid",
    "tanh",
    "gelu",
    "elu",
    "selu",
    "silu",
    "softplus",
    "leaky_relu",
)


_NAMES = list(_ORDER) + sorted(set(ACTIVATIONS) - set(_ORDER))
_COLOURS = sns.color_palette("colorblind", 10) + sns.color_palette("tab20", 20)


def palette(activations) -> dict[str, tuple]:
    """Colour per activation, fixed by name: the same in every figure and
    facet whatever subset of activations it shows."""
    names = sorted(set(activations), key=lambda a: (_NAMES.index(a), a))
    return {a: _COLOURS[_NAMES.index(a) % len(_COLOURS)] for a in names}


def t_interval(values, level: float = 0.95) -> tuple[float, float]:
    """The Student-t confidence interval of the mean of ``values``.

    ``mean ± t_{(1+level)/2, n-1} · sd / sqrt(n)`` with the sample SD
    (``ddof=1``): the interval for the few runs behind a point of a figure
    (three seeds give t = 4.30), where a bootstrap's resamples of three
    values cover little more than their range. One value gives the point
    itself; NaNs are left out.

    >>> [round(v, 4) for v in t_interval([1.0, 2.0, 3.0])]
    [-0.4841, 4.4841]
    """
    from scipy import stats

    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    mean = float(np.mean(values)) if values.size else np.nan
    if values.size < 2:
        return mean, mean
    half = stats.t.ppf((1 + level) / 2, values.size - 1) * stats.sem(values)
    return float(mean - half), float(mean + half)


def accuracy_interval(values, level: float = 0.95) -> tuple[float, float]:
    """:func:`t_interval` of an accuracy, cut to [0, 1] where no mean can
    lie (three seeds at 1.0, 1.0 and 0.5 would otherwise reach 1.55).

    >>> [round(v, 4) for v in accuracy_interval([1.0, 1.0, 0.5])]
    [0.1162, 1.0]
    """
    low, high = t_interval(values, level)
    return max(low, 0.0), min(high, 1.0)


def log_t_interval(values, level: float = 0.95) -> tuple[float, float]:
    """:func:`t_interval` on the log scale, back-transformed: the interval of
    the geometric mean, for a quantity drawn on a log axis (positive values
    only; others are left out).

    >>> [round(v, 4) for v in log_t_interval([1.0, 10.0, 100.0])]
    [0.0328, 3048.8616]
    """
    values = np.asarray(values, dtype=float)
    low, high = t_interval(np.log(values[values > 0]), level)
    return float(np.exp(low)), float(np.exp(high))


def geometric_mean(values) -> float:
    """The geometric mean of the positive ``values`` (the line that goes
    with :func:`log_t_interval`)."""
    values = np.asarray(values, dtype=float)
    return float(np.exp(np.mean(np.log(values[values > 0]))))


def _lines(
    df: pd.DataFrame, *, x: str, y: str, ax, errorbar=t_interval, estimator="mean"
):
    """One line per activation in its fixed colour, 95% t-interval over the
    runs behind each point (:func:`t_interval`)."""
    ax = ax or plt.gca()
    sns.lineplot(
        data=df,
        x=x,
        y=y,
        hue="activation",
        palette=palette(df["activation"]),
        estimator=estimator,
        errorbar=errorbar,
        marker="o",
        ax=ax,
    )
    return ax


def accuracy_vs_depth(df: pd.DataFrame, *, ax=None):
    """Test accuracy against depth, one line per activation, 95% t-interval."""
    ax = _lines(df, x="depth", y="test_accuracy", ax=ax, errorbar=accuracy_interval)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(df["depth"].unique()), labels=sorted(df["depth"].unique()))
    ax.set(xlabel="hidden layers", ylabel="test accuracy")
    return ax


def learning_curves(df: pd.DataFrame, *, ax=None):
    """Validation accuracy against epoch, one thin line per model (seed and
    initializer) in its activation's colour, drawn to the epoch it stopped:
    whether each curve had flattened is visible line by line."""
    ax = ax or plt.gca()
    df = df.assign(run=df["initializer"] + "/" + df["seed"].astype(str))
    sns.lineplot(
        data=df,
        x="epoch",
        y="val_accuracy",
        hue="activation",
        palette=palette(df["activation"]),
        units="run",
        estimator=None,
        lw=0.8,
        alpha=0.7,
        ax=ax,
    )
    ax.set(xlabel="epoch", ylabel="validation accuracy")
    return ax


def learning_rates(df: pd.DataFrame, *, ax=None):
    """The tuning criterion against the learning rate (log scale), one line
    per architecture in its activation's colour (line style: initializer),
    each chosen rate marked with a black-edged dot and each rate at which
    no tuning run learned (``status`` other than ``ok``) with a cross.
    ``df`` is the tuning table."""
    ax = ax or plt.gca()
    per_rate = df.groupby(
        ["activation", "initializer", "learning_rate"], as_index=False
    ).agg(
        score=("score", "first"),
        chosen=("chosen", "first"),
        learned=("status", lambda s: bool((s == "ok").any())),
    )
    per_rate = per_rate[np.isfinite(per_rate["score"])]
    colours = palette(per_rate["activation"])
    styles = dict(
        zip(
            sorted(df["initializer"].unique()), ["-", "--", ":", "-."] * 8, strict=False
        )
    )
    for (activation, initializer), line in per_rate.groupby(
        ["activation", "initializer"]
    ):
        ax.plot(
            line["learning_rate"],
            line["score"],
            color=colours[activation],
            ls=styles[initializer],
            lw=1,
            label=activation,
        )
    for initializer, style in styles.items():
        ax.plot([], [], color="grey", ls=style, lw=1, label=initializer)
    marks = [
        (per_rate["chosen"], {"edgecolors": "black", "zorder": 3}),
        (~per_rate["learned"], {"marker": "x", "s": 60, "zorder": 4}),
    ]
    for (rows, style), label in zip(marks, [None, "no run learned"], strict=True):
        points = per_rate[rows]
        ax.scatter(
            points["learning_rate"],
            points["score"],
            c=[colours[a] for a in points["activation"]],
            label=label,
            **style,
        )
    ax.set_xscale("log")
    criterion = df["criterion"].iloc[0] if len(df) else "criterion"
    ax.set(xlabel="learning rate", ylabel=f"mean final {criterion.replace('_', ' ')}")
    if criterion == "val_loss":
        ax.set_yscale("log")
    return ax


def run_curves(df: pd.DataFrame, *, y: str = "loss", ax=None):
    """Training ``y`` against epoch, one line per run of one trailing
    activation (:func:`geoctx.trailing.curves`): tuning runs solid in a
    colour per rate, study seeds dashed in grey, and retrials (a short study
    seed trained again at another rate) dotted in their rate's colour, each
    drawn to the epoch it stopped. The loss is on a log scale, so a plateau
    and an escape from it read as a flat stretch and a drop."""
    ax = ax or plt.gca()
    rates = sorted(df["learning_rate"].dropna().unique())
    colours = dict(zip(rates, sns.color_palette("viridis", len(rates)), strict=True))
    seeds = sorted(df.loc[df["source"] == "study", "run"].unique())
    greys = dict(zip(seeds, sns.color_palette("Greys_d", len(seeds)), strict=True))
    styles = {"tuning": ("-", 1.0), "study": ("--", 1.0), "retrial": (":", 1.6)}
    for (source, run), part in df.groupby(["source", "run"], sort=True):
        ls, lw = styles[source]
        colour = (
            greys[run] if source == "study" else colours[part["learning_rate"].iloc[0]]
        )
        ax.plot(part["epoch"], part[y], color=colour, ls=ls, lw=lw, label=run)
    if y == "loss":
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel=f"training {y}")
    return ax


def trailing_curves(df: pd.DataFrame) -> plt.Figure:
    """One row per trailing activation (``panel``), training loss left and
    training accuracy right (:func:`run_curves`); a one-line figure that
    says so when nothing trails."""
    panels = list(dict.fromkeys(df["panel"]))
    if not panels:
        fig, ax = plt.subplots(figsize=(6, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "No activation trails its cell's best.", ha="center")
        return fig
    fig, axes = plt.subplots(
        len(panels), 2, figsize=(11, 2.6 * len(panels)), squeeze=False
    )
    for (loss_ax, acc_ax), panel in zip(axes, panels, strict=True):
        part = df[df["panel"] == panel]
        run_curves(part, y="loss", ax=loss_ax)
        run_curves(part, y="accuracy", ax=acc_ax)
        loss_ax.set_title(panel, loc="left", fontsize=9)
        # beside the curves, never over them (a flat run sits anywhere)
        acc_ax.legend(
            fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False
        )
    fig.tight_layout()
    return fig


def grad_norm_by_layer(df: pd.DataFrame, *, ax=None):
    """Gradient norm of each layer's kernel (log scale): the geometric mean
    over runs and its 95% t-interval on the log scale."""
    ax = _lines(
        df,
        x="layer",
        y="value",
        ax=ax,
        errorbar=log_t_interval,
        estimator=geometric_mean,
    )
    ax.set_yscale("log")
    ax.set(xlabel="layer (last = logits)", ylabel="‖∂loss/∂W‖")
    return ax


def accuracy_vs_strength(df: pd.DataFrame, *, ax=None):
    """Accuracy against attack radius or noise level (``epsilon`` column),
    one line per activation, 95% t-interval."""
    ax = _lines(df, x="epsilon", y="value", ax=ax, errorbar=accuracy_interval)
    ax.set(xlabel="ε or σ (data std units)", ylabel="accuracy", ylim=(-0.02, 1.02))
    return ax


def boundary_accuracy(df: pd.DataFrame, *, ax=None):
    """Accuracy per distance-to-boundary bin (``epsilon`` holds the bin's
    upper quantile: 0.2 = the fifth of points closest to the boundary)."""
    ax = _lines(df, x="epsilon", y="value", ax=ax, errorbar=accuracy_interval)
    ax.set(xlabel="distance-to-boundary quantile bin (upper edge)", ylabel="accuracy")
    return ax


def latency_ratio(df: pd.DataFrame, *, ax=None):
    """Forward-pass latency relative to ReLU against depth (``latency_ratio``):
    the median over blocks of the per-block ratio, band the interquartile range."""
    ax = _lines(
        df, x="depth", y="latency_ratio", ax=ax, errorbar=("pi", 50), estimator="median"
    )
    ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
    ax.set(xlabel="hidden layers", ylabel="latency / ReLU latency")
    return ax


def metric_by_layer(df: pd.DataFrame, *, ax=None):
    """A geometry metric against relative depth (0 = input, 1 = logits),
    one line per activation, 95% t-interval."""
    df = df.assign(relative_depth=df["layer"] / (df["depth"] + 1))
    ax = _lines(df, x="relative_depth", y="value", ax=ax)
    ax.set(xlabel="relative depth (0 input, 1 logits)", ylabel=df["metric"].iloc[0])
    return ax


#: Colour of each verdict in the forest plot (stance colours of the report).
VERDICT_COLOURS = {
    "supported": "#1b7837",
    "contradicted": "#b2182b",
    "no effect": "#d6604d",
    "inconclusive": "#555555",
    "not measured": "#bbbbbb",
}
_DATASET_MARKERS = "osD^v<>ph*"


def forest(df: pd.DataFrame, *, ax=None):
    """The scorecard in one picture: each deciding item's effect and interval
    in units of its smallest effect of interest d, signed so that the
    predicted direction points right; the band ±1 (±d) shaded; each
    dataset's estimate as a small marker; items grouped by claim.

    ``df`` holds scorecard rows (:func:`geoctx.claims.forest_rows`):
    ``dataset == "all"`` rows are drawn as intervals coloured by verdict,
    the others as per-dataset points on their item's line. The x axis is
    symmetric-log beyond ±4 d so that large and small effects both show.
    """
    ax = ax or plt.gca()
    items = df[df["dataset"] == "all"].reset_index(drop=True)
    scale = items["predicted_sign"] / items["smallest_effect"]
    key = ["claim", "evidence", "stage"]
    y = {tuple(r): len(items) - 1 - i for i, r in enumerate(items[key].to_numpy())}
    ax.axvspan(-1, 1, color="0.9", zorder=0, label="±d")
    ax.axvline(0, color="0.6", lw=0.8, zorder=1)
    for i, r in items.iterrows():
        colour = VERDICT_COLOURS.get(r["verdict"], "#555555")
        lo, hi = sorted((r["ci_low"] * scale[i], r["ci_high"] * scale[i]))
        pos = y[tuple(r[key])]
        ax.plot([lo, hi], [pos, pos], color=colour, lw=2.2, solid_capstyle="butt")
        ax.plot(r["effect"] * scale[i], pos, "|", color=colour, ms=11, mew=2.2)
    points = df[df["dataset"] != "all"]
    datasets = sorted(points["dataset"].unique())
    per_item = items.set_index(key)
    for k, name in enumerate(datasets):
        part = points[points["dataset"] == name]
        rows = [tuple(r) for r in part[key].to_numpy()]
        keep = [r in y for r in rows]
        part = part[keep]
        ref = per_item.loc[[r for r, ok in zip(rows, keep, strict=True) if ok]]
        xs = part["effect"].to_numpy() * (
            ref["predicted_sign"].to_numpy() / ref["smallest_effect"].to_numpy()
        )
        ys = [y[r] + 0.22 for r in part[key].itertuples(index=False, name=None)]
        ax.scatter(
            xs, ys, s=14, marker=_DATASET_MARKERS[k % len(_DATASET_MARKERS)],
            facecolors="none", edgecolors="0.25", linewidths=0.8, label=name,
            zorder=3,
        )  # fmt: skip
    for _, r in items[items["effect"].isna()].iterrows():
        ax.text(0, y[tuple(r[key])], "not measured", color="0.5", fontsize=7,
                ha="center", va="center")  # fmt: skip
    labels = [
        f"{r.claim} {r.evidence}" + (f" ({r.stage})" if r.stage == "init" else "")
        for r in items.itertuples()
    ]
    ax.set_yticks([y[tuple(r)] for r in items[key].to_numpy()], labels=labels)
    for i in range(1, len(items)):
        if items.loc[i, "claim"] != items.loc[i - 1, "claim"]:
            ax.axhline(len(items) - i + 0.5, color="0.75", lw=0.6)
    ax.set_ylim(-0.7, len(items) - 0.3)
    _symlog_axis(ax)
    ax.set_xlabel("effect in units of d (predicted direction to the right)")
    handles = [
        plt.Line2D([], [], color=c, lw=2.2, label=v)
        for v, c in VERDICT_COLOURS.items()
        if v in set(items["verdict"])
    ]
    extra, names = ax.get_legend_handles_labels()
    ax.legend(
        handles=handles + extra,
        labels=[h.get_label() for h in handles] + names,
        loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=6, fontsize=7,
        frameon=False,
    )  # fmt: skip
    return ax


def _symlog_axis(ax) -> None:
    """Symmetric-log x axis, linear within ±4, limits that hold every mark,
    ticks at round multiples of d."""
    xs = np.concatenate(
        [np.ravel(line.get_xdata()) for line in ax.get_lines()]
        + [c.get_offsets()[:, 0] for c in ax.collections if len(c.get_offsets())]
    ).astype(np.float64)
    xs = xs[np.isfinite(xs)]
    top = max(2.0, float(np.abs(xs).max()) if xs.size else 2.0) * 1.5
    ax.set_xscale("symlog", linthresh=4, linscale=1.5)
    ax.set_xlim(-top, top)
    ticks = [t for t in (1, 2, 4, 10, 20, 50, 100, 200, 500, 1000) if t <= top]
    ax.set_xticks([-t for t in ticks[::-1]] + [0] + ticks)
    ax.set_xticklabels([f"{-t}" for t in ticks[::-1]] + ["0"] + [f"{t}" for t in ticks])
    ax.tick_params(axis="x", labelsize=7)


def _pca2(H: np.ndarray) -> np.ndarray:
    """Top-2 principal coordinates with signs fixed (largest loading positive)."""
    Hc = H - H.mean(axis=0)
    if H.shape[1] == 1:
        return np.column_stack([Hc[:, 0], np.zeros(len(H))])
    _, _, vt = np.linalg.svd(Hc, full_matrices=False)
    vt = vt[:2] * np.sign(vt[:2][np.arange(2), np.abs(vt[:2]).argmax(axis=1)])[:, None]
    return Hc @ vt.T


def projection(H: np.ndarray, y: np.ndarray, *, ax=None):
    """Scatter of the top-2 principal coordinates of ``H``, coloured by class."""
    ax = ax or plt.gca()
    H = np.asarray(H, dtype=np.float64)
    if not np.isfinite(H).all():
        ax.text(
            0.5,
            0.5,
            "not finite\n(diverged)",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set(xticks=[], yticks=[])
        return ax
    P = _pca2(H)
    colours = sns.color_palette("Set2", int(y.max()) + 1)
    ax.scatter(P[:, 0], P[:, 1], c=[colours[c] for c in y], s=6, lw=0, alpha=0.85)
    ax.set(xticks=[], yticks=[], aspect="equal", adjustable="datalim")
    for spine in ax.spines.values():
        spine.set_color("0.85")
    return ax


def projection_grid(layers: dict[str, list[np.ndarray]], y: np.ndarray) -> plt.Figure:
    """One row per activation, one column per layer: what the network does
    to the probe points (PCA of each layer's representation)."""
    names = list(layers)
    n_cols = max(len(v) for v in layers.values())
    fig, axes = plt.subplots(
        len(names), n_cols, figsize=(1.7 * n_cols, 1.8 * len(names)), squeeze=False
    )
    for i, name in enumerate(names):
        for j in range(n_cols):
            ax = axes[i, j]
            if j >= len(layers[name]):
                ax.set_visible(False)
                continue
            projection(layers[name][j], y, ax=ax)
            if i == 0:
                last = j == len(layers[name]) - 1
                ax.set_title(
                    "input" if j == 0 else ("logits" if last else f"layer {j}")
                )
        axes[i, 0].set_ylabel(name, fontsize=11)
    fig.tight_layout()
    return fig


def deepest(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of the deepest models of each dataset."""
    return df[df["depth"] == df.groupby("dataset")["depth"].transform("max")]


def facet(
    df: pd.DataFrame,
    plot: Callable,
    *,
    col: str,
    row: str | None = None,
    height: float = 3.2,
) -> plt.Figure:
    """Draw ``plot`` once per facet of ``df`` with one shared legend."""
    legend = {}
    cols = list(dict.fromkeys(df[col]))
    rows = list(dict.fromkeys(df[row])) if row else [None]
    fig, axes = plt.subplots(
        len(rows),
        len(cols),
        figsize=(height * 1.25 * len(cols) + 1.5, height * len(rows)),
        squeeze=False,
        sharex="col",
    )
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            ax = axes[i, j]
            part = (
                df[df[col] == c] if r is None else df[(df[col] == c) & (df[row] == r)]
            )
            if len(part):
                plot(part, ax=ax)
            ax.set_title(c if r is None else f"{r} · {c}")
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                legend.setdefault(label, handle)
            if ax.get_legend():
                ax.get_legend().remove()
    fig.legend(
        list(legend.values()),
        list(legend),
        title="activation",
        loc="center right",
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0, 1 - 1.2 / fig.get_figwidth(), 1))
    return fig

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


def _lines(
    df: pd.DataFrame, *, x: str, y: str, ax, errorbar=("ci", 95), estimator="mean"
):
    """One line per activation in its fixed colour, 95% CI over seeds."""
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
    """Test accuracy against depth, one line per activation, 95% CI over seeds."""
    ax = _lines(df, x="depth", y="test_accuracy", ax=ax)
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
    per architecture (activation and initializer) in its activation's
    colour, each chosen rate marked with a black-edged dot. ``df`` is the
    tuning table."""
    ax = ax or plt.gca()
    per_rate = df.groupby(
        ["activation", "initializer", "learning_rate"], as_index=False
    ).agg(score=("score", "first"), chosen=("chosen", "first"))
    per_rate = per_rate[np.isfinite(per_rate["score"])]
    colours = palette(per_rate["activation"])
    for (activation, _), line in per_rate.groupby(["activation", "initializer"]):
        ax.plot(
            line["learning_rate"],
            line["score"],
            color=colours[activation],
            lw=1,
            label=activation,
        )
    chosen = per_rate[per_rate["chosen"]]
    ax.scatter(
        chosen["learning_rate"],
        chosen["score"],
        c=[colours[a] for a in chosen["activation"]],
        edgecolors="black",
        zorder=3,
    )
    ax.set_xscale("log")
    criterion = df["criterion"].iloc[0] if len(df) else "criterion"
    ax.set(xlabel="learning rate", ylabel=f"mean final {criterion.replace('_', ' ')}")
    if criterion == "val_loss":
        ax.set_yscale("log")
    return ax


def grad_norm_by_layer(df: pd.DataFrame, *, ax=None):
    """Gradient norm of each layer's kernel (log scale), 95% CI over seeds."""
    ax = _lines(df, x="layer", y="value", ax=ax)
    ax.set_yscale("log")
    ax.set(xlabel="layer (last = logits)", ylabel="‖∂loss/∂W‖")
    return ax


def accuracy_vs_strength(df: pd.DataFrame, *, ax=None):
    """Accuracy against attack radius or noise level (``epsilon`` column),
    one line per activation, 95% CI over seeds."""
    ax = _lines(df, x="epsilon", y="value", ax=ax)
    ax.set(xlabel="ε or σ (data std units)", ylabel="accuracy", ylim=(-0.02, 1.02))
    return ax


def boundary_accuracy(df: pd.DataFrame, *, ax=None):
    """Accuracy per distance-to-boundary bin (``epsilon`` holds the bin's
    upper quantile: 0.2 = the fifth of points closest to the boundary)."""
    ax = _lines(df, x="epsilon", y="value", ax=ax)
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
    one line per activation, 95% CI over seeds."""
    df = df.assign(relative_depth=df["layer"] / (df["depth"] + 1))
    ax = _lines(df, x="relative_depth", y="value", ax=ax)
    ax.set(xlabel="relative depth (0 input, 1 logits)", ylabel=df["metric"].iloc[0])
    return ax


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

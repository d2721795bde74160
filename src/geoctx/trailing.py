"""Activations that trail the best activation of their cell, and why.

A cell is one condition of the sweep without the activation (dataset,
initializer, width, depth). An activation *trails* its cell when its mean
test accuracy over the study seeds is more than :data:`TRAILING_MARGIN`
below the best activation's mean in that cell. The best activation never
trails, tied activations neither, and an activation with a run whose test
accuracy is NaN (diverged) trails with a NaN gap: it has no accuracy to
compare. Each trailing activation gets one of four kinds
(:func:`classify`), computed from its study runs and its tuning table,
the first that applies; two of them, held-out only and seed-dependent,
are then split in two by the tuning table or by retrials (:data:`KINDS`
lists all eight):

- ``trails on held-out data only``: every study run fits its training
  data within the margin of the best activation's mean training accuracy,
  so it is not under-trained and the gap is one of generalization. Held-out
  data then split it as they split the other kinds: ``trails on held-out
  data at every tuned rate`` when no rate of the grid but the chosen one came
  within the margin in tuning and most study seeds fall short at the chosen
  rate (as for ``fails at every tuned rate`` below), or when every short
  seed falls short again on test data at every other rate (:func:`retry`);
  ``its short seeds generalize at another rate`` when one of them comes
  within the margin there (the rate chosen, not the activation, costs that
  seed its generalization). Without retrials it stays held-out only;
- ``fails at every tuned rate``: no rate of the grid but the chosen one
  came within the margin of the best activation's tuning result, and at
  the chosen rate fewer than half of the study seeds came within the
  margin of its test accuracy (those that did are listed): a failure most
  seeds do not leave at any tuned rate. The chosen rate is judged by the
  study seeds, not by the tuning seeds that chose it: their result is the
  best of the grid, so it is biased upwards by the choice (the winner's
  curse), while the study seeds are fresh runs at that rate;
- ``seed-dependent``: a study seed comes within the margin of the best
  activation's mean, or the tuning seeds at the chosen rate came within the
  margin of the best activation's tuning result: the architecture can
  learn the task at this rate, some seeds do not. The study seeds that
  fall short are then trained again at every other rate of the grid
  (:func:`retry`, the ``retrials`` table; a run that failed to learn at the
  chosen rate and was kept at another, :func:`geoctx.tuning.train_at_tuned_rates`,
  is its seed's result there), which splits the kind in two:
  ``its short seeds fit at another rate`` when one of them comes within
  the margin of the best activation's mean at another rate (the rate
  chosen, not the activation, fails that seed), and ``some seeds fail at
  every tuned rate`` when none does at any rate (a real failure of the
  activation from those seeds, at every tuned rate);
- ``trails at the chosen rate only``: another rate of the grid came within
  the margin in tuning, the chosen one did not.

The best activation's tuning result is its held-out accuracy at its
chosen rate (the tuning split's validation and test parts together, mean
over tuning seeds: ``held_out_accuracy`` of the tuning table); a rate's
result is its mean over the tuning seeds, a diverged run counting as 0.
Tuning is compared with tuning and study runs with study runs.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from geoctx.tables import SCHEMAS

log = logging.getLogger(__name__)

#: How far (in accuracy, 0.02 = 2 points) an activation may stay below the
#: best activation of its cell before the report lists it.
TRAILING_MARGIN = 0.02

#: The tables :func:`classify` reads, in its order of arguments.
TABLES = ("runs", "tuning", "retrials")

#: The keys of a cell: a model's keys without the activation and the seed.
CELL_KEYS = ["dataset", "initializer", "width", "depth"]

HELD_OUT_ONLY = "trails on held-out data only"
HELD_OUT_ELSEWHERE = "its short seeds generalize at another rate"
HELD_OUT_EVERY_RATE = "trails on held-out data at every tuned rate"
SEED_DEPENDENT = "seed-dependent"
SEEDS_FIT_ELSEWHERE = "its short seeds fit at another rate"
SEEDS_EVERY_RATE = "some seeds fail at every tuned rate"
CHOSEN_RATE_ONLY = "trails at the chosen rate only"
EVERY_RATE = "fails at every tuned rate"
#: The kinds :func:`classify` gives, with what each means: those of models
#: that fit their training data first, then from the most benign.
KIND_MEANING = {
    HELD_OUT_ONLY: (
        "every study run fits its training data within the margin of the best "
        "activation's mean training accuracy: it is not under-trained, and the "
        "gap is one of generalization, not yet split by rate (its short seeds "
        "were not trained again at every other rate)"
    ),
    HELD_OUT_ELSEWHERE: (
        "trails on held-out data only, and a study seed that falls short on test "
        "data at the chosen rate comes within the margin of the best "
        "activation's mean when trained again at another rate of the grid: the "
        "rate chosen, not the activation, costs that seed its generalization "
        "(the training protocol's shortfall, not evidence about the activation)"
    ),
    HELD_OUT_EVERY_RATE: (
        "every study run fits its training data at the chosen rate, and on "
        "held-out data it falls short at every tuned rate: no rate but the chosen "
        "one came within the margin in tuning and most study seeds fall short at "
        "the chosen rate, or every study seed that falls short at the chosen rate "
        "falls short again at every other rate of the grid when trained again "
        "there (those within the margin at the chosen rate are listed; at the "
        "other rates it may also fail to fit, as the tuning columns show): a real "
        "failure of this activation under this training at every tuned rate, one "
        "of generalization at the chosen rate"
    ),
    SEED_DEPENDENT: (
        "a study seed comes within the margin of the best activation's mean, or "
        "the tuning seeds did at the chosen rate: it learns the task at this rate "
        "on some seeds and not on others"
    ),
    SEEDS_FIT_ELSEWHERE: (
        "seed-dependent, and a study seed that falls short at the chosen rate "
        "comes within the margin of the best activation's mean when trained "
        "again at another rate of the grid: the rate chosen fails that seed, "
        "not the activation (the training protocol's shortfall, not evidence "
        "about the activation)"
    ),
    CHOSEN_RATE_ONLY: (
        "in tuning another rate of the grid came within the margin of the best "
        "activation's tuning result, the chosen rate did not"
    ),
    SEEDS_EVERY_RATE: (
        "seed-dependent, and every study seed that falls short at the chosen "
        "rate falls short again at every other rate of the grid when trained "
        "again there (those that fit at the chosen rate are listed): a real "
        "failure of this activation from those seeds, at every tuned rate"
    ),
    EVERY_RATE: (
        "no rate of the grid but the chosen one came within the margin of the "
        "best activation's tuning result, and at the chosen rate fewer than half "
        "of the study seeds came within the margin of its test accuracy (those "
        "that did are listed; the chosen rate is judged by the study seeds, as "
        "the tuning seeds' result there is the one that chose it): a real "
        "failure of this activation under this training, which most seeds do not "
        "leave at any tuned rate"
    ),
}
KINDS = tuple(KIND_MEANING)


def _check_margin(margin: float) -> None:
    if not (np.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin: {margin!r} is not a finite number >= 0")


def trailing(runs: pd.DataFrame, *, margin: float = TRAILING_MARGIN) -> pd.DataFrame:
    """The activations that trail their cell's best by more than ``margin``.

    ``runs`` has the runs table's keys and ``test_accuracy``. One row per
    trailing (cell, activation): the cell's keys, ``activation``,
    ``test_accuracy`` (its mean over seeds; NaN if a run has none),
    ``best_activation`` and ``best_accuracy`` (the cell's highest mean,
    the first by name on a tie) and ``gap`` (best minus its mean, > margin,
    or NaN).

    >>> runs = pd.DataFrame({"dataset": "moons", "initializer": "auto",
    ...     "width": 8, "depth": 2, "seed": [0, 1, 0, 1],
    ...     "activation": ["relu", "relu", "sigmoid", "sigmoid"],
    ...     "test_accuracy": [0.98, 0.96, 0.97, 0.90]})
    >>> row = trailing(runs).iloc[0]
    >>> row["activation"], row["best_activation"], round(float(row["gap"]), 6)
    ('sigmoid', 'relu', 0.035)
    """
    _check_margin(margin)
    means = (
        runs.groupby([*CELL_KEYS, "activation"])["test_accuracy"]
        .apply(lambda a: a.mean(skipna=False))
        .rename("test_accuracy")
        .reset_index()
        .sort_values([*CELL_KEYS, "activation"])
    )
    finite = means.dropna(subset=["test_accuracy"])
    best = finite.loc[finite.groupby(CELL_KEYS)["test_accuracy"].idxmax()].rename(
        columns={"activation": "best_activation", "test_accuracy": "best_accuracy"}
    )
    out = means.merge(best, on=CELL_KEYS)
    out["gap"] = out["best_accuracy"] - out["test_accuracy"]
    # rounding: a mean equal to the best's, summed in another order, is a tie
    keep = out["gap"].round(12).gt(margin) | out["gap"].isna()
    return out[keep].reset_index(drop=True)


def _rate_results(tuning: pd.DataFrame) -> pd.DataFrame:
    """Per architecture and rate: mean training and held-out accuracy over
    tuning seeds (diverged runs as 0), the statuses, and whether the rate
    was chosen."""
    keys = [*CELL_KEYS, "activation", "learning_rate"]
    table = tuning.assign(
        held_out_accuracy=tuning["held_out_accuracy"].fillna(0.0),
        train_accuracy=tuning["train_accuracy"].fillna(0.0),
    )
    return (
        table.groupby(keys)
        .agg(
            train_accuracy=("train_accuracy", "mean"),
            held_out_accuracy=("held_out_accuracy", "mean"),
            status=("status", lambda s: "/".join(sorted(set(s)))),
            epochs_run=("epochs_run", "max"),
            chosen=("chosen", "any"),
        )
        .reset_index()
    )


def rows_of(table: pd.DataFrame, cell: tuple, activation: str) -> pd.DataFrame:
    """The rows of ``table`` for one cell (values of :data:`CELL_KEYS`) and
    activation."""
    match = dict(zip(CELL_KEYS, cell, strict=True), activation=activation)
    return table[np.logical_and.reduce([table[k] == v for k, v in match.items()])]


def _fits_training_data(runs, seeds, cell, best_activation, margin) -> bool:
    """Whether every study run in ``seeds`` fits its training data within
    ``margin`` of the best activation's mean training accuracy in ``cell``
    (False without training accuracies, or with a NaN one)."""
    if "train_accuracy" not in runs or seeds.empty:
        return False
    best = rows_of(runs, cell, best_activation)["train_accuracy"].mean(skipna=False)
    # a NaN on either side compares False: no accuracy, no fit
    mine = seeds["train_accuracy"].round(12)
    return bool((mine >= round(best - margin, 12)).all())


def _untried_rates(seeds: pd.DataFrame, rates, chosen_rate: float) -> dict:
    """Each study seed's rates of the grid ``rates`` that no study run of it
    trained at: all but the chosen one, and but the rate a run that failed
    to learn at the chosen rate was kept at
    (:func:`geoctx.tuning.train_at_tuned_rates`). Its screen's rates count
    as untried: the screen scores no held-out data and keeps no curves."""
    grid = {float(r) for r in rates}
    return {
        int(run["seed"]): grid
        - {float(chosen_rate), float(run.get("learning_rate", chosen_rate))}
        for run in seeds.to_dict("records")
    }


#: The kinds of an activation whose every study run fits its training data.
HELD_OUT_KINDS = (HELD_OUT_ONLY, HELD_OUT_ELSEWHERE, HELD_OUT_EVERY_RATE)

#: What retrials make of the kinds they split: a kind whose short seeds are
#: trained again (:func:`retry`) -> (some short seed comes within the margin
#: at another rate, every short seed falls short at every rate).
RETRIED_KINDS = {
    SEED_DEPENDENT: (SEEDS_FIT_ELSEWHERE, SEEDS_EVERY_RATE),
    HELD_OUT_ONLY: (HELD_OUT_ELSEWHERE, HELD_OUT_EVERY_RATE),
}


def _retried_kind(retrials, row, short_seeds, untried, margin) -> tuple[str, list]:
    """A seed-dependent or held-out-only row's kind from its retrials
    (:data:`RETRIED_KINDS`): whether a study seed short at the chosen rate
    came within ``margin`` of the best mean at another rate (those seeds),
    or every such seed fell short at every rate it had not trained at
    (``untried``, :func:`_untried_rates`). Unchanged without a complete
    retrial of every short seed."""
    fit_elsewhere, every_rate = RETRIED_KINDS[row["kind"]]
    cell = tuple(row[k] for k in CELL_KEYS)
    mine = rows_of(retrials, cell, row["activation"])
    mine = mine[mine["seed"].isin(short_seeds)]
    tried = {
        int(seed): set(part["learning_rate"].astype(float))
        for seed, part in mine.groupby("seed")
    }
    fit = mine.loc[
        mine["test_accuracy"].round(12) >= round(row["best_accuracy"] - margin, 12),
        "seed",
    ]
    if len(fit):
        return fit_elsewhere, sorted({int(s) for s in fit})
    if all(tried.get(int(seed), set()) >= untried[seed] for seed in short_seeds):
        return every_rate, []
    return row["kind"], []


def classify(
    runs: pd.DataFrame,
    tuning: pd.DataFrame,
    retrials: pd.DataFrame | None = None,
    *,
    margin: float = TRAILING_MARGIN,
) -> pd.DataFrame:
    """:func:`trailing` with each row's ``kind`` (one of :data:`KINDS`),
    ``seeds_within`` (study seeds within the margin of the best mean),
    ``rates_within`` (tuning rates within the margin of the best
    activation's tuning result, ascending), ``best_tuning_accuracy``,
    ``chosen_rate``, ``short_seeds`` (the study seeds not within the
    margin) and ``seeds_fit_elsewhere`` (those of them that came within it
    at another rate when retried).

    ``tuning`` is the tuning table (one row per rate and tuning seed);
    ``retrials`` the table of :func:`retry`, which splits *seed-dependent*
    and *held-out only* rows by what their short seeds do at the other
    rates (:data:`RETRIED_KINDS`; without it, or for a row whose short
    seeds were not retried at every other rate, they keep their kind).
    """
    out = trailing(runs, margin=margin)
    rates = _rate_results(tuning)
    chosen = rates[rates["chosen"]].set_index([*CELL_KEYS, "activation"])
    rows = []
    for row in out.to_dict("records"):
        cell = tuple(row[k] for k in CELL_KEYS)
        best_key = (*cell, row["best_activation"])
        best_tuned = (
            float(chosen.loc[best_key, "held_out_accuracy"])
            if best_key in chosen.index
            else np.nan
        )
        mine = rows_of(rates, cell, row["activation"])
        within = mine["held_out_accuracy"].round(12) >= round(best_tuned - margin, 12)
        seeds = rows_of(runs, cell, row["activation"])
        seeds_within = seeds.loc[
            seeds["test_accuracy"].round(12)
            >= round(row["best_accuracy"] - margin, 12),
            "seed",
        ]
        chosen_within = bool((within & mine["chosen"]).any())
        # the chosen rate is judged by the study seeds (fresh runs at it),
        # not by the tuning result that chose it (the best of the grid)
        another_rate_within = bool((within & ~mine["chosen"]).any())
        most_seeds_short = 2 * len(seeds_within) < len(seeds)
        fails_everywhere = not another_rate_within and most_seeds_short
        if _fits_training_data(runs, seeds, cell, row["best_activation"], margin):
            kind = HELD_OUT_EVERY_RATE if fails_everywhere else HELD_OUT_ONLY
        elif fails_everywhere:
            kind = EVERY_RATE
        elif len(seeds_within) or chosen_within:
            kind = SEED_DEPENDENT
        else:
            kind = CHOSEN_RATE_ONLY
        short = sorted(int(s) for s in set(seeds["seed"]) - set(seeds_within))
        record = {
            **row,
            "kind": kind,
            "seeds_within": sorted(int(s) for s in seeds_within),
            "rates_within": sorted(float(r) for r in mine.loc[within, "learning_rate"]),
            "best_tuning_accuracy": best_tuned,
            "chosen_rate": (
                float(mine.loc[mine["chosen"], "learning_rate"].iloc[0])
                if mine["chosen"].any()
                else np.nan
            ),
            "short_seeds": short,
            "seeds_fit_elsewhere": [],
        }
        if kind in RETRIED_KINDS and retrials is not None and short:
            untried = _untried_rates(
                seeds, mine["learning_rate"], record["chosen_rate"]
            )
            record["kind"], record["seeds_fit_elsewhere"] = _retried_kind(
                retrials, record, short, untried, margin
            )
        rows.append(record)
    columns = [
        *out.columns,
        "kind",
        "seeds_within",
        "rates_within",
        "best_tuning_accuracy",
        "chosen_rate",
        "short_seeds",
        "seeds_fit_elsewhere",
    ]
    return pd.DataFrame(rows, columns=columns)


#: Columns of the retrials table (:func:`retry`), one row per short seed
#: and other rate, and of its training curves, one row per run and epoch:
#: their schemas' (:data:`geoctx.tables.SCHEMAS`).
RETRIAL_COLUMNS = SCHEMAS["retrials"].names
RETRIAL_CURVE_COLUMNS = SCHEMAS["retrial_history"].names


def retry(
    runs: pd.DataFrame,
    tuning: pd.DataFrame,
    split_of,
    settings,
    *,
    threads: int = 1,
    margin: float = TRAILING_MARGIN,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every short seed of every *seed-dependent* or *held-out only*
    row of :func:`classify` (:data:`RETRIED_KINDS`) again at every other
    rate of its tuning grid; the ``retrials`` table
    (:data:`RETRIAL_COLUMNS`) and its training curves.

    A short seed is a study seed whose test accuracy at the chosen rate is
    not within ``margin`` of the best activation's mean. It trains on its
    own split (``split_of(dataset, seed)``, its arrays) from its own
    initial weights, under the study's ``settings`` (a
    :class:`geoctx.training.TrainSettings`, whose rate is ignored), the
    other rates side by side in one graph as in tuning
    (:func:`geoctx.tuning.train_grid`, one stack per seed, so a seed's
    result does not depend on which other seeds fell short), and is
    scored on its training, validation and test arrays. The chosen rate's
    result is the study run itself, so it is not trained again, and
    neither is the rate a run that failed to learn there was kept at
    (:func:`geoctx.tuning.train_at_tuned_rates`): a seed is retried at the
    rates no study run of it trained at (none left: not retried).
    """
    from geoctx import tuning as tuning_stage

    rows, curves = [], []
    for pair in classify(runs, tuning, margin=margin).to_dict("records"):
        if pair["kind"] not in RETRIED_KINDS:
            continue
        cell = tuple(pair[k] for k in CELL_KEYS)
        grid = rows_of(tuning, cell, pair["activation"])["learning_rate"]
        untried = _untried_rates(
            rows_of(runs, cell, pair["activation"]), grid, pair["chosen_rate"]
        )
        keys = {k: pair[k] for k in CELL_KEYS} | {"activation": pair["activation"]}
        for seed in pair["short_seeds"]:
            rates = sorted(untried[seed])
            if not rates:
                continue
            log.info(
                "retrying %s seed %d (the activation trails %s by %.3f; "
                "chosen rate %g) at rates %s",
                "/".join(str(v) for v in keys.values()),
                seed,
                pair["best_activation"],
                pair["gap"],
                pair["chosen_rate"],
                rates,
            )
            table, history = tuning_stage.train_grid(
                {seed: split_of(keys["dataset"], seed)},
                tuning_stage.Cell.of(keys),
                settings,
                learning_rates=rates,
                seeds=[seed],
                threads=threads,
                parts=("train", "val", "test"),
            )
            rows.append(table.assign(**keys, chosen_rate=pair["chosen_rate"]))
            curves.append(history)
    if not rows:
        return (
            pd.DataFrame(columns=RETRIAL_COLUMNS),
            pd.DataFrame(columns=RETRIAL_CURVE_COLUMNS),
        )
    return (
        pd.concat(rows, ignore_index=True)[RETRIAL_COLUMNS],
        pd.concat(curves, ignore_index=True)[RETRIAL_CURVE_COLUMNS],
    )


def _joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def listing(classified: pd.DataFrame) -> str:
    """The rows of :func:`classify` in words, one clause per kind (in the
    order of :data:`KINDS`), activations and initializers grouped, e.g.
    ``sigmoid with glorot_uniform on circles and spirals (fails at every
    tuned rate)``; config/README.md quotes it for the default study.

    >>> rows = pd.DataFrame({"dataset": ["spirals", "circles"],
    ...     "initializer": "he_normal", "activation": "sigmoid",
    ...     "kind": EVERY_RATE})
    >>> listing(rows)
    'sigmoid with he_normal on circles and spirals (fails at every tuned rate)'
    """
    clauses = []
    for kind in KINDS:
        mine = classified[classified["kind"] == kind]
        if mine.empty:
            continue
        groups = [
            f"{activation} with {initializer} on {_joined(sorted(rows['dataset']))}"
            for (activation, initializer), rows in mine.groupby(
                ["activation", "initializer"], sort=True
            )
        ]
        clauses.append(f"{_joined(groups)} ({kind})")
    return "; ".join(clauses)


def report_rows(
    runs: pd.DataFrame,
    tuning: pd.DataFrame,
    retrials: pd.DataFrame | None = None,
    *,
    margin: float = TRAILING_MARGIN,
) -> list[dict]:
    """The report's records: each trailing activation with its study seeds'
    test accuracies, every tuning rate's outcome (mean training and
    held-out accuracy over the tuning seeds, status, epochs, whether chosen) and its
    short seeds' retrials (``retried``: per seed, its rows of the retrials
    table by rate)."""
    rates = _rate_results(tuning)
    records = []
    for row in classify(runs, tuning, retrials, margin=margin).to_dict("records"):
        cell = tuple(row[k] for k in CELL_KEYS)
        seeds = rows_of(runs, cell, row["activation"]).sort_values("seed")
        mine = rows_of(rates, cell, row["activation"]).sort_values("learning_rate")
        retried = (
            rows_of(retrials, cell, row["activation"])
            if retrials is not None
            else pd.DataFrame(columns=RETRIAL_COLUMNS)
        ).sort_values(["seed", "learning_rate"])
        records.append(
            {
                **row,
                "cell": "{dataset}/{initializer}/w{width}_d{depth}".format(**row),
                "seeds": [
                    (int(s), float(a))
                    for s, a in zip(seeds["seed"], seeds["test_accuracy"], strict=True)
                ],
                "rates": mine.to_dict("records"),
                "retried": [
                    (int(seed), part.to_dict("records"))
                    for seed, part in retried.groupby("seed", sort=True)
                ],
            }
        )
    return records


def curves(
    history: pd.DataFrame,
    tuning_history: pd.DataFrame,
    cells: pd.DataFrame,
    retrial_history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The training curves of the trailing activations ``cells`` (rows of
    :func:`trailing`, or of :func:`classify`): every tuning rate's, every
    study seed's and every retrial's loss and accuracy per epoch, long,
    with ``panel`` (``cell · activation``, then the kind if ``cells`` has
    one), ``source`` (``tuning``, ``study`` or ``retrial``),
    ``learning_rate`` (NaN for a study run) and ``run`` (``lr <rate>`` for
    a tuning run, ``seed <n>`` for a study run, ``seed <n> lr <rate>`` for
    a retrial).
    """
    keys = [*CELL_KEYS, "activation"]
    wanted = cells[keys].drop_duplicates()
    study = history.merge(wanted, on=keys)
    study = study.assign(
        run=[f"seed {s}" for s in study["seed"]], source="study", learning_rate=np.nan
    )
    retried = (
        retrial_history
        if retrial_history is not None
        else pd.DataFrame(columns=RETRIAL_CURVE_COLUMNS)
    ).merge(wanted, on=keys)
    retried = retried.assign(
        run=[
            f"seed {s} lr {r:g}"
            for s, r in zip(retried["seed"], retried["learning_rate"], strict=True)
        ],
        source="retrial",
    )
    tuned = tuning_history.merge(wanted, on=keys)
    several = tuned["seed"].nunique() > 1  # name the tuning seed only if needed
    tuned = tuned.assign(
        run=[
            f"lr {r:g}" + (f" s{s}" if several else "")
            for r, s in zip(tuned["learning_rate"], tuned["seed"], strict=True)
        ],
        source="tuning",
    )
    columns = [*keys, "run", "source", "learning_rate", "epoch", "loss", "accuracy"]
    parts = [part[columns] for part in (study, tuned, retried) if len(part)]
    both = (
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    )
    panel = (
        both["dataset"]
        + " · "
        + both["initializer"]
        + " · d"
        + both["depth"].astype(str)
        + " · "
        + both["activation"]
    )
    if "kind" in cells:
        kinds = both[keys].merge(cells[[*keys, "kind"]], on=keys, how="left")
        panel = panel + " (" + kinds["kind"].to_numpy() + ")"
    return both.assign(panel=panel)


#: How the convergence rule treats plateaus, and what a longer window did to
#: the deep-sigmoid cells that trailed under one window for every run,
#: measured by ``benchmarks/plateau_window.py`` (the report shows it under
#: the table of trailing activations).
PLATEAU_NOTE = (
    "The convergence rule stops a run whose training loss improved by less "
    "than the tolerance over the last window of epochs; while a run's "
    "training accuracy is below training.convergence.fitted_accuracy the "
    "window is the longer unfitted_window, because a deep sigmoid network "
    "can sit on a plateau short of fitting its data, a saddle that some runs "
    "leave given time. Measured with one window for every run "
    "(benchmarks/plateau_window.py: the 12 study models of four deep-sigmoid "
    "cells, spirals with Glorot and He, digits with He and circles with "
    "Glorot initialization, retrained at their chosen rates with the same "
    "tolerance and cap), the runs that left the plateau (training accuracy "
    "above 0.95) went from 1 of 12 with a window of 50 epochs to 5 with 200, "
    "8 with 500 and 8 with the 3,000-epoch cap alone: some seeds never leave "
    "it, so no window fixes every cell, and such cells are listed here with "
    "the seeds that did."
)

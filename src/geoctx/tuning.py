"""Choose each architecture's learning rate on seeds the study does not use.

For one architecture cell (dataset, activation, initializer, width, depth)
:func:`tune` trains a model for every learning rate of a grid and every
tuning seed (each on its own split of the data, or all on one), each to
convergence under the study's own stopping rule
(:func:`geoctx.stopping.converged`), and :func:`choose` picks the rate with
the best held-out criterion, averaged over the tuning seeds:

- ``held_out_accuracy``: the highest mean final accuracy on the tuning
  split's held-out data, its validation and test parts together (no study
  number is measured on a tuning seed's split, so both parts are free to
  score the choice: a larger sample than validation alone), ties going to
  the lower loss on the same data;
- ``val_loss``: the lowest mean final validation loss;
- ``val_accuracy``: the highest mean final validation accuracy, ties
  going to the lower validation loss.

A diverged run scores the worst value; remaining ties go to the smaller
rate. Study models then train with the chosen rate (:func:`chosen_rate`), so every
activation gets the same tuning effort rather than the same learning rate;
a study run that fails to learn there tries the other rates in the
criterion's order (:func:`rates_in_order`,
:func:`train_at_tuned_rates`).

The grid's models of one cell train together, in one compiled graph
(:class:`geoctx.stacked.Stack`), each computing what it would alone, up to
float rounding; a rate's result is reproducible for the same grid and
tuning seeds, not across grids.

Columns of the tuning table (one row per learning rate and tuning seed):
the cell's keys, ``learning_rate``, ``seed``, ``status`` (``ok``,
``diverged`` or ``failed_to_learn``, as a study run's:
:func:`geoctx.stopping.run_status`), ``epochs_run``,
``plateaued``, ``hit_cap``, final ``train_loss``/``train_accuracy``/
``val_loss``/``val_accuracy``/``test_loss``/``test_accuracy`` and
``held_out_loss``/``held_out_accuracy`` (validation and test parts
together, weighted by their sizes), ``criterion`` (its name), ``score``
(the rate's criterion over its seeds) and ``chosen``. :func:`tune_with_curves`
also returns every tuning run's training curve (the ``tuning_history``
table: the cell's keys, ``learning_rate``, ``seed``, ``epoch`` from 1 and
that epoch's training ``loss`` and ``accuracy``), so the report can show a
plateau, or an escape from one, at every rate.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from geoctx.names import OK
from geoctx.stacked import stack_of

log = logging.getLogger(__name__)

#: criterion -> (run column it averages, whether higher is better, the run
#: column whose mean breaks its ties before the smaller rate does). An
#: accuracy's ties break by the loss on the same points: an accuracy on
#: hundreds of points ties often (every rate fits circles), and the loss
#: still ranks such rates.
CRITERIA = {
    "held_out_accuracy": ("held_out_accuracy", True, "held_out_loss"),
    "val_loss": ("val_loss", False, None),
    "val_accuracy": ("val_accuracy", True, "val_loss"),
}
#: What each criterion is, in the words of the report's methods.
CRITERION_WORDS = {
    "held_out_accuracy": (
        "the highest mean final accuracy on the tuning split's held-out data "
        "(its validation and test parts together; ties to the lower loss there)"
    ),
    "val_loss": "the lowest mean final validation loss",
    "val_accuracy": (
        "the highest mean final validation accuracy (ties to the lower validation loss)"
    ),
}
#: The held-out parts of a tuning split the held_out_* columns pool.
HELD_OUT_PARTS = ("val", "test")


@dataclass(frozen=True)
class Cell:
    """The keys of one architecture: a model's keys without the seed."""

    dataset: str
    activation: str
    initializer: str
    width: int
    depth: int

    @classmethod
    def of(cls, keys) -> Cell:
        """The cell of a mapping with these keys (strings allowed, as wildcards)."""
        return cls(
            dataset=str(keys["dataset"]),
            activation=str(keys["activation"]),
            initializer=str(keys["initializer"]),
            width=int(keys["width"]),
            depth=int(keys["depth"]),
        )


def _per_rate(runs: pd.DataFrame, column: str, higher: bool) -> pd.Series:
    """``column``'s mean over each rate's seeds, a non-finite value the worst."""
    worst = -math.inf if higher else math.inf
    values = runs[column].astype(float).where(np.isfinite(runs[column]), worst)
    return values.groupby(runs["learning_rate"]).mean()


def _scores(runs: pd.DataFrame, criterion: str) -> pd.DataFrame:
    """Per rate of ``runs``, best first: ``score`` (the criterion's mean
    over the seeds, a non-finite value the worst) and ``tie`` (its tie
    break's mean, or 0)."""
    if criterion not in CRITERIA:
        raise ValueError(
            f"criterion: {criterion!r} is not one of {', '.join(CRITERIA)}"
        )
    column, higher, tie = CRITERIA[criterion]
    table = pd.DataFrame({"score": _per_rate(runs, column, higher)})
    table["tie"] = _per_rate(runs, tie, False) if tie else 0.0
    table["rate"] = table.index
    return table.assign(key=-table["score"] if higher else table["score"]).sort_values(
        ["key", "tie", "rate"]
    )


def ranked(runs: pd.DataFrame, *, criterion: str) -> list[float]:
    """The rates of ``runs`` (one row per rate and seed) from the best to
    the worst by ``criterion``: its mean over the seeds (a non-finite value
    the worst), then its tie break's mean (:data:`CRITERIA`), then the
    smaller rate.

    >>> runs = pd.DataFrame({"learning_rate": [0.01, 0.003, 0.001],
    ...     "held_out_accuracy": [1.0, 1.0, 0.9],
    ...     "held_out_loss": [0.02, 0.01, 0.3]})
    >>> ranked(runs, criterion="held_out_accuracy")
    [0.003, 0.01, 0.001]
    """
    return [float(r) for r in _scores(runs, criterion).index]


def choose(runs: pd.DataFrame, *, criterion: str) -> pd.DataFrame:
    """Score each learning rate over its seeds and mark the best one.

    ``runs`` has one row per rate and seed with ``learning_rate`` and the
    criterion's columns; returns it with ``criterion``, ``score`` and
    ``chosen`` added. A non-finite value counts as the worst
    (:func:`ranked` gives the order).

    >>> runs = pd.DataFrame({"learning_rate": [0.01, 0.01, 0.001, 0.001],
    ...                      "val_loss": [0.2, 0.4, 0.1, float("nan")]})
    >>> choose(runs, criterion="val_loss")[["learning_rate", "score", "chosen"]]
       learning_rate  score  chosen
    0          0.010    0.3    True
    1          0.010    0.3    True
    2          0.001    inf   False
    3          0.001    inf   False
    """
    scores = _scores(runs, criterion)
    return runs.assign(
        criterion=criterion,
        score=runs["learning_rate"].map(scores["score"]),
        chosen=runs["learning_rate"] == scores.index[0],
    )


def chosen_rate(table: pd.DataFrame) -> float:
    """The learning rate a tuning table chose.

    >>> table = pd.DataFrame({"learning_rate": [0.1, 0.01], "chosen": [False, True]})
    >>> chosen_rate(table)
    0.01
    """
    rates = table.loc[table["chosen"], "learning_rate"].unique()
    if len(rates) != 1:
        raise ValueError(f"a tuning table chooses one rate, this one {list(rates)}")
    return float(rates[0])


def rates_in_order(table: pd.DataFrame) -> list[float]:
    """A tuning table's rates, the chosen one first, then from the best
    to the worst by its criterion (:func:`ranked`): the order in which a
    study run that fails to learn tries them (:func:`train_at_tuned_rates`).

    >>> table = pd.DataFrame({"learning_rate": [0.01, 0.003, 0.001],
    ...     "criterion": "val_loss", "val_loss": [0.2, float("nan"), 0.1],
    ...     "chosen": [True, False, False]})
    >>> rates_in_order(table)
    [0.01, 0.001, 0.003]
    """
    chosen = chosen_rate(table)
    criteria = set(table["criterion"])
    if len(criteria) != 1:
        raise ValueError(
            f"a tuning table has one criterion, this one {sorted(criteria)}"
        )
    others = ranked(table, criterion=criteria.pop())
    return [chosen, *(rate for rate in others if rate != chosen)]


def failed_everywhere(table: pd.DataFrame) -> pd.DataFrame:
    """The architectures whose every tuning run, at every rate and seed,
    failed to learn or diverged: a failure at every tuned rate, not of the
    choice. One row per architecture, its keys only.

    >>> table = pd.DataFrame({"dataset": "moons", "activation": ["relu"] * 2
    ...     + ["sigmoid"] * 2, "initializer": "auto", "width": 8, "depth": 2,
    ...     "status": ["ok", "failed_to_learn", "failed_to_learn", "diverged"]})
    >>> failed_everywhere(table).to_dict("records")
    [{'dataset': 'moons', 'activation': 'sigmoid', 'initializer': 'auto', \
'width': 8, 'depth': 2}]
    """
    keys = list(Cell.__dataclass_fields__)
    learned = table["status"].eq(OK).groupby([table[k] for k in keys]).any()
    return learned[~learned].index.to_frame(index=False)


#: Columns of the tuning curves after the cell's keys.
CURVE_COLUMNS = ["learning_rate", "seed", "epoch", "loss", "accuracy"]


def tune(data: Mapping, cell: Cell, settings, **options) -> pd.DataFrame:
    """Train ``cell`` at every rate and seed together; the tuning table.

    Takes the arguments of :func:`tune_with_curves` and leaves out the curves.
    """
    return tune_with_curves(data, cell, settings, **options)[0]


def tune_with_curves(
    data: Mapping,
    cell: Cell,
    settings,
    *,
    learning_rates: list[float],
    seeds: list[int],
    criterion: str,
    threads: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train ``cell`` at every rate and seed together; the tuning table and
    the training curves of its runs (one row per rate, seed and epoch).

    ``data`` is the arrays of one split that every tuning seed trains on,
    or ``{seed: arrays}``, each tuning seed's own split (as each study seed
    has its own: a rate is then chosen across splits as well as seeds).
    ``settings`` is the study's :class:`geoctx.training.TrainSettings`
    (its own learning rate is ignored). With one rate nothing is trained:
    the table has one row per seed with NaN scores, that rate chosen, and
    there are no curves.
    """
    if settings.optimizer != "adam":
        raise ValueError(
            f"training.optimizer: {settings.optimizer!r}; learning-rate tuning "
            "trains the grid together with Adam only"
        )
    keys = asdict(cell)
    if len(learning_rates) == 1:
        _splits(data, seeds)  # every seed has a split, of one shape
        rows = [
            {"learning_rate": rate, "seed": seed, "status": OK}
            for rate in learning_rates
            for seed in seeds
        ]
        runs = pd.DataFrame(rows).assign(epochs_run=0, plateaued=False, hit_cap=False)
        for part in ("train", *HELD_OUT_PARTS, "held_out"):
            for name in ("loss", "accuracy"):
                runs[f"{part}_{name}"] = math.nan
        curves = pd.DataFrame(columns=CURVE_COLUMNS).assign(**keys)
        return choose(runs, criterion=criterion).assign(chosen=True, **keys), curves
    runs, curves = train_grid(
        data,
        cell,
        settings,
        learning_rates=learning_rates,
        seeds=seeds,
        threads=threads,
        parts=("train", *HELD_OUT_PARTS),
    )
    runs = _with_held_out(runs, _splits(data, seeds))
    return choose(runs, criterion=criterion).assign(**keys), curves


def _with_held_out(runs: pd.DataFrame, splits: Mapping) -> pd.DataFrame:
    """``runs`` with ``held_out_loss`` and ``held_out_accuracy``: each run's
    mean over its split's :data:`HELD_OUT_PARTS` together, each part
    weighted by its number of points (a NaN part gives NaN). The accuracy
    is the parts' whole hits over their points, so two runs with as many
    hits have the same accuracy, bit for bit, and the loss breaks the tie
    (:data:`CRITERIA`), not rounding."""
    sizes = {
        part: runs["seed"].map({s: len(splits[s][f"y_{part}"]) for s in splits})
        for part in HELD_OUT_PARTS
    }
    total = sum(sizes.values())
    hits = sum(
        np.rint(runs[f"{part}_accuracy"] * sizes[part]) for part in HELD_OUT_PARTS
    )
    loss = sum(runs[f"{part}_loss"] * sizes[part] for part in HELD_OUT_PARTS)
    return runs.assign(held_out_loss=loss / total, held_out_accuracy=hits / total)


def train_grid(
    data: Mapping,
    cell: Cell,
    settings,
    *,
    learning_rates: list[float],
    seeds: list[int],
    threads: int = 1,
    parts: tuple[str, ...] = ("train", "val"),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train ``cell`` at every rate and seed together
    (:class:`geoctx.stacked.Stack`), each model to convergence; one row per
    rate and seed (its status, epochs, ``plateaued``, ``hit_cap`` and final
    loss and accuracy on each split of ``parts``) and the training curves
    (:data:`CURVE_COLUMNS` and the cell's keys). ``data`` as in
    :func:`tune_with_curves`; any number of rates, one included."""
    from geoctx import stopping, training

    pairs = [(rate, seed) for rate in learning_rates for seed in seeds]
    splits = _splits(data, seeds)
    keys = asdict(cell)
    weights = [
        training.initial_weights(
            training.ModelSpec(**keys, seed=seed),
            settings,
            splits[seed],
            threads=threads,
        )
        for seed in seeds
    ]
    stack = stack_of(
        [weights[seeds.index(seed)] for _, seed in pairs],
        rates=[rate for rate, _ in pairs],
        activation=cell.activation,
        batch_size=settings.batch_size,
    )
    model_splits = [splits[seed] for _, seed in pairs]
    histories = stack.fit(model_splits, settings, seeds=[seed for _, seed in pairs])
    final = stack.scores(model_splits, parts=parts)
    n_classes = training.class_count(model_splits[0])
    rows = []
    for i, (rate, seed) in enumerate(pairs):
        history = histories[i]
        diverged = not np.isfinite(history["loss"]).all() or not all(
            math.isfinite(final[part][0][i]) for part in parts
        )
        # a diverged model's accuracy is argmax of NaN logits (class 0's
        # share): no score, as a study run's (geoctx.training._evaluate)
        scores = {
            f"{part}_{name}": math.nan if diverged else float(final[part][j][i])
            for part in parts
            for j, name in enumerate(("loss", "accuracy"))
        }
        plateaued = stopping.converged(
            history["loss"], history["accuracy"], **settings.convergence
        )
        rows.append(
            {
                "learning_rate": rate,
                "seed": seed,
                "status": stopping.run_status(
                    final["train"][1][i],
                    n_classes=n_classes,
                    diverged=diverged,
                    margin=settings.failed_to_learn_margin,
                ),
                "epochs_run": len(history),
                "plateaued": bool(plateaued and not diverged),
                "hit_cap": bool(len(history) == settings.epochs and not plateaued),
                **scores,
            }
        )
        log.info("rate %g seed %d: %s", rate, seed, rows[-1])
    curves = pd.concat(
        [
            histories[i].assign(
                learning_rate=rate, seed=seed, epoch=np.arange(1, len(histories[i]) + 1)
            )
            for i, (rate, seed) in enumerate(pairs)
        ],
        ignore_index=True,
    )[CURVE_COLUMNS].assign(**keys)
    return pd.DataFrame(rows), curves


def train_at_tuned_rates(
    data: Mapping,
    spec,
    settings,
    *,
    rates: list[float],
    threads: int = 1,
):
    """A study model: :func:`geoctx.training.train_model` at ``rates[0]``,
    the architecture's tuned rate; a run that fails to learn its training
    data there, or diverges, is started again at the grid's other rates.

    ``rates`` are the tuning table's rates, the chosen one first, then from
    the best criterion to the worst (:func:`rates_in_order`).
    When the run at the chosen rate does not end ``ok``, the other rates are
    screened together, from the same initial weights and on the same split,
    in one stacked graph (:func:`train_grid`, this seed only,
    so the screen does not depend on other models). The first of them in
    tuning's order that learned in the screen is trained again by
    :func:`geoctx.training.train_model`, the path of every study model, and kept if it
    learns there too. If none does, the run at the chosen rate is kept with
    its status: it failed at every tuned rate. The run records the chosen
    rate (``tuned_rate``) and how many rates the screen tried
    (``rates_screened``, 0 when the chosen rate learned); ``learning_rate``
    is the rate the kept model trained at. The decision reads the training
    data only, as restarting a run that diverged does in practice.
    """
    from dataclasses import replace

    from geoctx import training

    def at(rate):
        return replace(settings, learning_rate=float(rate))

    result = training.train_model(data, spec, at(rates[0]), threads=threads)
    others = [float(rate) for rate in rates[1:]]
    if result.run["status"] == OK or not others:
        return result
    log.warning(
        "%s at the tuned rate %g "
        "(training accuracy %.4f): screening the other rates %s",
        result.run["status"].replace("_", " "),
        rates[0],
        result.run["train_accuracy"],
        ", ".join(f"{rate:g}" for rate in others),
    )
    keys = asdict(spec)
    screen, _ = train_grid(
        data,
        Cell.of(keys),
        settings,
        learning_rates=others,
        seeds=[spec.seed],
        threads=threads,
    )
    learned = set(screen.loc[screen["status"] == OK, "learning_rate"])
    kept = result
    for rate in (rate for rate in others if rate in learned):
        again = training.train_model(data, spec, at(rate), threads=threads)
        log.info(
            "started again at %g: status=%s, training accuracy %.4f",
            rate,
            again.run["status"],
            again.run["train_accuracy"],
        )
        if again.run["status"] == OK:
            kept = again
            break
    else:
        log.warning("learned at no tuned rate: the run at %g is kept", rates[0])
    kept.run.update(tuned_rate=float(rates[0]), rates_screened=len(others))
    return kept


def _splits(data: Mapping, seeds: list[int]) -> dict[int, dict[str, np.ndarray]]:
    """Each tuning seed's arrays: its own split, or the one split given."""
    if "X_train" in data:
        return dict.fromkeys(seeds, data)
    missing = [seed for seed in seeds if seed not in data]
    if missing:
        raise ValueError(f"tuning seeds {missing} have no split in {sorted(data)}")
    shapes = {tuple(data[seed]["X_train"].shape) for seed in seeds}
    if len(shapes) > 1:
        raise ValueError(
            f"the tuning seeds' splits train on arrays of shapes {sorted(shapes)}; "
            "stacked, they must have one"
        )
    return {seed: data[seed] for seed in seeds}

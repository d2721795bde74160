"""A seed-dependent or held-out-only activation's short seeds, trained again
at the other rates: what the retrial says (known tables, a simulation) and
that it trains them as the study would (a real training against
train_model)."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from test_trailing import CELL, runs, tuning, with_training

from geoctx import tables, trailing, training

# relu fits at both rates; sigmoid's tuning seed fits at its chosen 0.01 and
# at 0.003, and of its three study seeds only seed 0 does (0.985 against
# relu's 0.99): a seed-dependent activation whose short seeds are 1 and 2
STUDY = runs({"relu": [0.99, 0.99, 0.99], "sigmoid": [0.985, 0.6, 0.55]})
TUNED = tuning(
    {
        "relu": {0.001: 0.99, 0.01: 0.99},
        "sigmoid": {0.001: 0.6, 0.003: 0.975, 0.01: 0.985},
    },
    {"relu": 0.01, "sigmoid": 0.01},
)


def retrials(accuracy: dict[int, dict[float, float]]) -> pd.DataFrame:
    """A retrials table of sigmoid in CELL: ``{seed: {rate: test accuracy}}``."""
    return pd.DataFrame(
        [
            {
                **CELL,
                "activation": "sigmoid",
                "seed": seed,
                "learning_rate": rate,
                "chosen_rate": 0.01,
                "test_accuracy": acc,
            }  # fmt: skip
            for seed, rates in accuracy.items()
            for rate, acc in rates.items()
        ],
        columns=trailing.RETRIAL_COLUMNS,
    )


def kind_of(retried, study=STUDY, tuned=TUNED) -> dict:
    (row,) = trailing.classify(study, tuned, retried).to_dict("records")
    return row


def test_without_retrials_the_short_seeds_stay_seed_dependent():
    row = kind_of(None)
    assert row["kind"] == trailing.SEED_DEPENDENT
    assert row["short_seeds"] == [1, 2] and row["seeds_fit_elsewhere"] == []


def held_out(study: pd.DataFrame) -> pd.DataFrame:
    """``study`` with every run fitting its training data (1.0)."""
    return with_training(study, {a: [1.0] * 3 for a in study["activation"].unique()})


@pytest.mark.parametrize(
    ("retried", "outcome", "elsewhere"),
    [
        # no short seed comes within 2 points of relu's 0.99 at any other rate
        (
            {1: {0.001: 0.6, 0.003: 0.969}, 2: {0.001: 0.5, 0.003: math.nan}},
            "every rate",
            [],
        ),
        # seed 2 reaches 0.97, exactly 2 points below 0.99, at 0.003: the rate
        # chosen failed it, not the activation
        (
            {1: {0.001: 0.6, 0.003: 0.6}, 2: {0.001: 0.5, 0.003: 0.97}},
            "elsewhere",
            [2],
        ),
        # seed 2 was not tried at 0.003: nothing is concluded
        ({1: {0.001: 0.6, 0.003: 0.6}, 2: {0.001: 0.5}}, "open", []),
        # a seed that fit at the chosen rate, retried, counts for nothing
        (
            {
                0: {0.001: 0.99},
                1: {0.001: 0.6, 0.003: 0.6},
                2: {0.001: 0.5, 0.003: 0.6},
            },
            "every rate",
            [],
        ),
    ],
)
@pytest.mark.parametrize(
    ("study", "kind"),
    [
        (STUDY, trailing.SEED_DEPENDENT),
        # every run fits its training data: held out only, split alike
        (held_out(STUDY), trailing.HELD_OUT_ONLY),
    ],
)
def test_the_retrial_splits_the_kinds_it_retries(
    retried, outcome, elsewhere, study, kind
):
    assert kind_of(None, study)["kind"] == kind
    fit_elsewhere, every_rate = trailing.RETRIED_KINDS[kind]
    expected = {"every rate": every_rate, "elsewhere": fit_elsewhere, "open": kind}
    row = kind_of(retrials(retried), study)
    assert row["kind"] == expected[outcome]
    assert row["seeds_fit_elsewhere"] == elsewhere


def test_retrials_change_no_other_kind():
    # every tuning rate of sigmoid stays 2.1 points short: fails at every
    # tuned rate, whatever a retrial of its seeds says
    tuned = tuning(
        {"relu": {0.001: 0.99, 0.01: 0.99}, "sigmoid": {0.001: 0.969, 0.01: 0.969}},
        {"relu": 0.01, "sigmoid": 0.01},
    )
    study = runs({"relu": [0.99] * 3, "sigmoid": [0.6, 0.6, 0.6]})
    retried = retrials({s: {0.001: 0.99} for s in range(3)})
    assert kind_of(retried, study, tuned)["kind"] == trailing.EVERY_RATE


def simulated(p_fit: float, n_cells: int, *, seed: int, fits_training=False):
    """``n_cells`` copies of STUDY (one width each) whose two short seeds
    each come within the margin at each of the two other rates with
    probability ``p_fit`` (0.99), or not (0.6); with ``fits_training``,
    every run fits its training data (a held-out-only row)."""
    rng = np.random.default_rng(seed)
    study, tuned, retried = [], [], []
    for width in range(n_cells):
        fits = rng.random((2, 2)) < p_fit
        accuracy = {
            s: dict(zip([0.001, 0.003], np.where(fits[i], 0.99, 0.6), strict=True))
            for i, s in enumerate([1, 2])
        }
        study.append((held_out(STUDY) if fits_training else STUDY).assign(width=width))
        tuned.append(TUNED.assign(width=width))
        retried.append(retrials(accuracy).assign(width=width))
    return (pd.concat(parts, ignore_index=True) for parts in (study, tuned, retried))


@pytest.mark.parametrize(
    ("fits_training", "kinds"),
    [
        (False, (trailing.SEEDS_EVERY_RATE, trailing.SEEDS_FIT_ELSEWHERE)),
        (True, (trailing.HELD_OUT_EVERY_RATE, trailing.HELD_OUT_ELSEWHERE)),
    ],
)
@pytest.mark.parametrize(
    ("p_fit", "expected"),
    [
        # the activation works at the other rates (each try fits with
        # probability 0.9): labelled a failure at every rate only when all 4
        # tries fail, P = 0.1**4
        (0.9, 0.1**4),
        # a planted failure (each try fits with probability 0.05): P = 0.95**4
        (0.05, 0.95**4),
        # half and half: P = 0.5**4
        (0.5, 0.5**4),
    ],
)
def test_every_rate_follows_the_chance_that_no_try_fits(
    p_fit, expected, fits_training, kinds
):
    # Reference: the product of independent tries above; tolerance 4
    # standard errors of a proportion over 600 cells (at least 0.005). The
    # same for a row that fits its training data (held out only), whose
    # tries are judged on test data alike.
    n_cells = 600
    study, tuned, retried = simulated(
        p_fit, n_cells, seed=7, fits_training=fits_training
    )
    found = trailing.classify(study, tuned, retried)["kind"]
    assert set(found) <= set(kinds)
    labelled = (found == kinds[0]).mean()
    tolerance = max(4 * math.sqrt(expected * (1 - expected) / n_cells), 0.005)
    assert abs(labelled - expected) < tolerance


def test_the_retrial_kind_does_not_depend_on_seed_labels_or_names():
    study, tuned, retried = simulated(0.5, 80, seed=3)
    kinds = trailing.classify(study, tuned, retried).set_index("width")["kind"]
    relabel = {"seed": {0: 9, 1: 4, 2: 6}}
    names = {"activation": {"relu": "z_relu", "sigmoid": "a_sigmoid"}}
    again = trailing.classify(
        study.replace(relabel).replace(names).sample(frac=1, random_state=2),
        tuned.replace(names),
        retried.replace(relabel).replace(names).sample(frac=1, random_state=4),
    ).set_index("width")["kind"]
    pd.testing.assert_series_equal(kinds.sort_index(), again.sort_index())


# A real retrial: tanh in a small cell, short seed 1 trained again at 0.001
SETTINGS = training.TrainSettings(
    epochs=6, batch_size=32, convergence={"window": 50, "tolerance": 0.001}
)
SMALL = {"dataset": "moons", "initializer": "glorot_uniform", "width": 8, "depth": 3}


@pytest.fixture(scope="module")
def retried(small_moons):
    study = runs({"relu": [0.99, 0.99], "tanh": [0.99, 0.5]}, **SMALL)
    tuned = tuning(
        {"relu": {0.001: 0.99, 0.03: 0.99}, "tanh": {0.001: 0.9, 0.03: 0.99}},
        {"relu": 0.03, "tanh": 0.03},
    ).assign(**SMALL)
    table, curves = trailing.retry(
        study, tuned, lambda dataset, seed: small_moons, SETTINGS
    )
    return study, tuned, table, curves


def test_retry_trains_each_short_seed_at_every_other_rate(retried):
    study, tuned, table, curves = retried
    assert table[["activation", "seed", "learning_rate", "chosen_rate"]].to_dict(
        "records"
    ) == [
        {"activation": "tanh", "seed": 1, "learning_rate": 0.001, "chosen_rate": 0.03}
    ]
    assert len(curves) == SETTINGS.epochs
    # both tables have their schemas, and the report's classification uses it
    tables.to_table(table, "retrials")
    tables.to_table(curves, "retrial_history")
    (row,) = trailing.classify(study, tuned, table).to_dict("records")
    fits = table["test_accuracy"].iloc[0] >= 0.99 - trailing.TRAILING_MARGIN
    assert row["kind"] == (
        trailing.SEEDS_FIT_ELSEWHERE if fits else trailing.SEEDS_EVERY_RATE
    )


def test_retry_leaves_rows_the_tuning_table_settles(small_moons):
    # tanh fits its training data, falls short on test data on both seeds,
    # and no other rate came within 2 points in tuning: it trails on held-out
    # data at every tuned rate already, and nothing is trained again
    study = with_training(
        runs({"relu": [0.99, 0.99], "tanh": [0.9, 0.9]}, **SMALL),
        {"relu": [1.0, 1.0], "tanh": [1.0, 1.0]},
    )
    tuned = tuning(
        {"relu": {0.001: 0.99, 0.03: 0.99}, "tanh": {0.001: 0.9, 0.03: 0.9}},
        {"relu": 0.03, "tanh": 0.03},
    ).assign(**SMALL)
    (row,) = trailing.classify(study, tuned).to_dict("records")
    assert row["kind"] == trailing.HELD_OUT_EVERY_RATE
    table, curves = trailing.retry(
        study, tuned, lambda dataset, seed: small_moons, SETTINGS
    )
    assert table.empty and curves.empty


def test_retry_trains_the_short_seeds_of_a_held_out_only_row(small_moons):
    # tanh fits its training data but seed 1 falls short on test data, and
    # the tuning seed came within 2 points at 0.001 too: retried there
    study = with_training(
        runs({"relu": [0.99, 0.99], "tanh": [0.99, 0.5]}, **SMALL),
        {"relu": [1.0, 1.0], "tanh": [1.0, 1.0]},
    )
    tuned = tuning(
        {"relu": {0.001: 0.99, 0.03: 0.99}, "tanh": {0.001: 0.98, 0.03: 0.99}},
        {"relu": 0.03, "tanh": 0.03},
    ).assign(**SMALL)
    (row,) = trailing.classify(study, tuned).to_dict("records")
    assert row["kind"] == trailing.HELD_OUT_ONLY
    table, _ = trailing.retry(study, tuned, lambda dataset, seed: small_moons, SETTINGS)
    assert table[["activation", "seed", "learning_rate"]].to_dict("records") == [
        {"activation": "tanh", "seed": 1, "learning_rate": 0.001}
    ]
    (row,) = trailing.classify(study, tuned, table).to_dict("records")
    assert row["kind"] in {trailing.HELD_OUT_ELSEWHERE, trailing.HELD_OUT_EVERY_RATE}


def test_a_retrial_is_the_study_run_at_that_rate(retried, small_moons):
    # train_model at 0.001 for seed 1, alone: the same scores up to float
    # rounding (tolerance as tests/test_tuning.py's stacked-vs-alone test)
    _, _, table, curves = retried
    alone = training.train_model(
        small_moons,
        training.ModelSpec(activation="tanh", seed=1, **SMALL),
        dataclasses.replace(SETTINGS, learning_rate=0.001),
    )
    row = table.iloc[0]
    assert row["epochs_run"] == alone.run["epochs_run"]
    for column in ("train_loss", "val_loss", "test_loss"):
        assert row[column] == pytest.approx(alone.run[column], rel=1e-4, abs=1e-5)
    for column in ("train_accuracy", "val_accuracy", "test_accuracy"):
        assert row[column] == pytest.approx(alone.run[column], abs=1e-6)
    assert curves["loss"].to_numpy() == pytest.approx(
        alone.history["loss"].to_numpy(), rel=1e-4, abs=1e-5
    )


def test_nothing_to_retry_gives_empty_tables_with_their_schemas():
    table, curves = trailing.retry(
        runs({"relu": [0.99], "tanh": [0.99]}), TUNED, None, SETTINGS
    )
    assert table.empty and curves.empty
    tables.to_table(table, "retrials")
    tables.to_table(curves, "retrial_history")

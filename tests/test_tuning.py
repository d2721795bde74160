"""Learning-rate tuning: stacked models train as they would alone; the choice."""

import dataclasses
import math

import pandas as pd
import pytest

from geoctx import stacked, stopping, tables, training, tuning
from geoctx.training import ModelSpec, TrainSettings


@pytest.fixture(scope="module")
def data(small_moons):
    return small_moons


SETTINGS = TrainSettings(
    epochs=6, batch_size=32, convergence={"window": 50, "tolerance": 0.001}
)
CELL = tuning.Cell("moons", "tanh", "glorot_uniform", 8, 3)


def tune_cell(splits, rates, seeds, *, settings=SETTINGS, criterion="val_loss"):
    """The tuning table and curves of CELL at these rates and seeds."""
    return tuning.tune_with_curves(
        splits,
        CELL,
        settings,
        learning_rates=rates,
        seeds=seeds,
        criterion=criterion,
    )


@pytest.fixture(scope="module")
def tuned_with_curves(data):
    return tune_cell(data, [0.001, 0.03], [5, 6])


@pytest.fixture(scope="module")
def tuned(tuned_with_curves):
    return tuned_with_curves[0]


@pytest.mark.parametrize(("rate", "seed"), [(0.001, 5), (0.03, 6)])
def test_a_stacked_run_is_the_run_trained_alone(data, tuned_with_curves, rate, seed):
    tuned, curves = tuned_with_curves
    # train_model on its own, with Keras's optimizer: the same curve and end
    alone = training.train_model(
        data,
        ModelSpec(**dataclasses.asdict(CELL), seed=seed),
        dataclasses.replace(SETTINGS, learning_rate=rate),
    )
    row = tuned[(tuned["learning_rate"] == rate) & (tuned["seed"] == seed)].iloc[0]
    assert row["epochs_run"] == alone.run["epochs_run"] == SETTINGS.epochs
    for part in ("train", "val", "test"):
        for name in ("loss", "accuracy"):
            column = f"{part}_{name}"
            assert row[column] == pytest.approx(alone.run[column], rel=1e-4, abs=1e-5)
    # the held-out scores pool validation and test points: each part's score
    # weighted by its number of points
    n_val, n_test = len(data["y_val"]), len(data["y_test"])
    for name in ("loss", "accuracy"):
        pooled = (
            alone.run[f"val_{name}"] * n_val + alone.run[f"test_{name}"] * n_test
        ) / (n_val + n_test)
        assert row[f"held_out_{name}"] == pytest.approx(pooled, rel=1e-4, abs=1e-5)
    # its training curve, epoch by epoch, is the one train_model records
    curve = curves[(curves["learning_rate"] == rate) & (curves["seed"] == seed)]
    assert list(curve["epoch"]) == list(alone.history["epoch"])
    for column in ("loss", "accuracy"):
        assert list(curve[column]) == pytest.approx(
            list(alone.history[column]), rel=1e-4, abs=1e-5
        )
    assert (curve[list(dataclasses.asdict(CELL))] == dataclasses.asdict(CELL)).all(
        axis=None
    )


def test_a_stacked_model_does_not_depend_on_its_neighbours(data, tuned):
    single, _ = tune_cell(data, [0.03, 0.1], [6])
    a = tuned[(tuned["learning_rate"] == 0.03) & (tuned["seed"] == 6)].iloc[0]
    b = single[single["learning_rate"] == 0.03].iloc[0]
    for column in ("train_loss", "val_loss", "val_accuracy"):
        assert a[column] == pytest.approx(b[column], rel=1e-5, abs=1e-6)


def tuned_on(splits):
    """The tuning table of seeds 5 and 6 at 0.03 and 0.1 on ``splits``."""
    return tune_cell(splits, [0.03, 0.1], [5, 6])[0]


def test_each_tuning_seed_trains_on_its_own_split(data):
    # seed 6 on a reflected copy of the split (other points, same shapes):
    # its run is the one train_model gives on that split, and seed 5's is
    # the one it gives on the shared split
    reflected = {
        key: -value if key.startswith("X_") else value for key, value in data.items()
    }
    table = tuned_on({5: data, 6: reflected}).set_index(["learning_rate", "seed"])
    for seed, split in ((5, data), (6, reflected)):
        alone = training.train_model(
            split,
            ModelSpec(**dataclasses.asdict(CELL), seed=seed),
            dataclasses.replace(SETTINGS, learning_rate=0.03),
        ).run
        for column in ("train_loss", "val_loss", "val_accuracy"):
            assert table.loc[(0.03, seed), column] == pytest.approx(
                alone[column], rel=1e-4, abs=1e-5
            )
    shared = tuned_on(data).set_index(["learning_rate", "seed"])
    assert table.loc[(0.03, 6), "val_loss"] != shared.loc[(0.03, 6), "val_loss"]


def test_a_tuning_seed_without_a_split_is_refused(data):
    with pytest.raises(ValueError, match=r"tuning seeds \[6\] have no split"):
        tuned_on({5: data})
    fewer = dict(data, X_train=data["X_train"][:-4], y_train=data["y_train"][:-4])
    with pytest.raises(ValueError, match="must have one"):
        tuned_on({5: data, 6: fewer})


def flat_and_learning(data, settings):
    """The tuning table, by rate, of a flat run (1e-9) and a learning one."""
    table, _ = tune_cell(
        data, [1e-9, 0.01], [5], settings=settings, criterion="val_accuracy"
    )
    return table.set_index("learning_rate")


def test_each_stacked_model_stops_at_its_own_plateau(data):
    # a rate of 1e-9 leaves the loss flat: it converges after the window and
    # leaves the stack, while 0.01 keeps improving to the cap, and ends
    # where it would alone
    settings = dataclasses.replace(
        SETTINGS, epochs=30, convergence={"window": 5, "tolerance": 0.001}
    )
    table = flat_and_learning(data, settings)
    assert table.loc[1e-9, "epochs_run"] == 6
    assert table.loc[1e-9, "plateaued"] and not table.loc[1e-9, "hit_cap"]
    assert table.loc[0.01, "epochs_run"] == 30
    assert table.loc[0.01, "hit_cap"] and not table.loc[0.01, "plateaued"]
    assert table.loc[0.01, "chosen"] and not table.loc[1e-9, "chosen"]


def test_a_stack_traces_its_epoch_once_as_models_leave(data):
    settings = dataclasses.replace(
        SETTINGS, epochs=12, convergence={"window": 3, "tolerance": 0.001}
    )
    table = flat_and_learning(data, settings)
    assert table.loc[1e-9, "epochs_run"] < table.loc[0.01, "epochs_run"]
    # two models, then one: one graph for any size of the stack
    (stack,) = [s for key, s in stacked._STACKS.items() if key[0] == CELL.activation]
    (epoch,) = stack._epochs.values()
    assert epoch.function.experimental_get_tracing_count() == 1


def test_a_stacked_run_short_of_fitting_waits_the_unfitted_window(data):
    # as a study run does (tests/test_training.py): the flat run at 1e-9 is
    # below an unreachable fitted accuracy, so its plateau lasts 8 epochs
    settings = dataclasses.replace(
        SETTINGS,
        epochs=30,
        convergence={
            "window": 5,
            "tolerance": 0.001,
            "fitted_accuracy": 1.01,
            "unfitted_window": 8,
        },
    )
    table = flat_and_learning(data, settings)
    assert table.loc[1e-9, "epochs_run"] == 9 and table.loc[1e-9, "plateaued"]
    # a run's status is a study run's rule on its training accuracy
    assert table.loc[0.01, "status"] == "ok"
    assert table.loc[1e-9, "status"] == stopping.run_status(
        table.loc[1e-9, "train_accuracy"],
        n_classes=2,
        diverged=False,
        margin=settings.failed_to_learn_margin,
    )
    spec = ModelSpec(**dataclasses.asdict(CELL), seed=5)
    for rate in (1e-9, 0.01):
        alone = training.train_model(
            data, spec, dataclasses.replace(settings, learning_rate=rate)
        ).run
        for column in ("train_loss", "val_loss", "val_accuracy"):
            assert table.loc[rate, column] == pytest.approx(
                alone[column], rel=1e-4, abs=1e-5
            )


def test_choose_averages_seeds_and_breaks_ties_to_the_smaller_rate():
    runs = pd.DataFrame(
        {
            "learning_rate": [0.1, 0.1, 0.01, 0.01, 0.001],
            "val_accuracy": [1.0, 0.6, 0.8, 0.8, 0.8],
            "val_loss": [0.3] * 5,
        }
    )
    out = choose = tuning.choose(runs, criterion="val_accuracy")
    assert list(out["score"]) == pytest.approx([0.8] * 5)
    assert tuning.chosen_rate(choose) == 0.001
    # a lower validation loss breaks the tie first
    lower = runs.assign(val_loss=[0.3, 0.3, 0.2, 0.2, 0.3])
    assert tuning.chosen_rate(tuning.choose(lower, criterion="val_accuracy")) == 0.01
    diverged = runs.assign(val_accuracy=[math.nan, 0.99, 0.5, 0.5, 0.4])
    assert tuning.chosen_rate(tuning.choose(diverged, criterion="val_accuracy")) == 0.01


def test_held_out_accuracy_breaks_its_ties_by_the_held_out_loss():
    runs = pd.DataFrame(
        {
            "learning_rate": [0.01, 0.01, 0.003, 0.003, 0.001, 0.001],
            "held_out_accuracy": [1.0, 0.98, 0.99, 0.99, 0.99, 0.99],
            "held_out_loss": [0.05, 0.07, 0.02, 0.04, 0.03, 0.03],
        }
    )
    # all three tie at 0.99; 0.003 has the lowest mean loss (0.03, as 0.001,
    # and 0.01's 0.06), and of 0.003 and 0.001 the smaller rate wins
    assert tuning.ranked(runs, criterion="held_out_accuracy") == [0.001, 0.003, 0.01]
    chosen = tuning.choose(runs, criterion="held_out_accuracy")
    assert tuning.chosen_rate(chosen) == 0.001
    assert tuning.rates_in_order(chosen) == [0.001, 0.003, 0.01]
    # a lower loss at 0.01 makes it first; a higher accuracy beats any loss
    lower = runs.assign(held_out_loss=[0.01, 0.01, 0.02, 0.04, 0.03, 0.03])
    assert tuning.ranked(lower, criterion="held_out_accuracy")[0] == 0.01
    better = runs.assign(held_out_accuracy=[0.99, 0.99, 0.99, 0.99, 0.995, 0.99])
    assert tuning.ranked(better, criterion="held_out_accuracy")[0] == 0.001
    # a diverged run is the worst accuracy, whatever its loss; row order is
    # irrelevant
    diverged = runs.assign(
        held_out_accuracy=[math.nan, 1.0, 1.0, 1.0, 1.0, 1.0],
        held_out_loss=[0.0, 0.0, 0.02, 0.04, 0.03, 0.03],
    )
    assert tuning.ranked(
        diverged.sample(frac=1, random_state=3), criterion="held_out_accuracy"
    ) == [0.001, 0.003, 0.01]


def test_equal_held_out_hits_tie_exactly_and_the_loss_decides():
    # 697 of 720 held-out points right at both rates, split differently
    # between validation (270) and test (450): 261 + 436 and 263 + 434. The
    # pooled accuracies are equal bit for bit, so the lower loss wins; a
    # weighted mean of the parts' float accuracies differs in the last bits.
    splits = {1000: {"y_val": [0] * 270, "y_test": [0] * 450}}
    runs = pd.DataFrame(
        {
            "learning_rate": [0.01, 0.001],
            "seed": 1000,
            "val_accuracy": [261 / 270, 263 / 270],
            "test_accuracy": [436 / 450, 434 / 450],
            "val_loss": [0.30, 0.10],
            "test_loss": [0.30, 0.10],
        }
    )
    pooled = tuning._with_held_out(runs, splits)
    assert pooled["held_out_accuracy"].tolist() == [697 / 720, 697 / 720]
    assert pooled["held_out_loss"].tolist() == pytest.approx([0.30, 0.10])
    assert tuning.ranked(pooled, criterion="held_out_accuracy") == [0.001, 0.01]
    # and with the losses the other way round, the other rate
    swapped = pooled.assign(held_out_loss=[0.1, 0.3])
    assert tuning.ranked(swapped, criterion="held_out_accuracy") == [0.01, 0.001]


def test_a_diverged_tuning_run_has_no_scores_and_ranks_last(data):
    # ReLU at 1e12: the weights overflow, NaN logits, whose argmax would
    # otherwise score class 0's share of the points as an accuracy
    table, _ = tuning.tune_with_curves(
        data,
        dataclasses.replace(CELL, activation="relu"),
        SETTINGS,
        learning_rates=[0.001, 1e12],
        seeds=[5],
        criterion="held_out_accuracy",
    )
    row = table.set_index("learning_rate").loc[1e12]
    assert row["status"] == "diverged"
    for part in ("train", "val", "test", "held_out"):
        assert math.isnan(row[f"{part}_loss"]) and math.isnan(row[f"{part}_accuracy"])
    assert tuning.rates_in_order(table) == [0.001, 1e12]


def test_every_criterion_is_in_the_config_schema_and_the_methods_words():
    from geoctx.config import load_schema

    schema = load_schema()["properties"]["tuning"]["properties"]["criterion"]
    assert set(schema["enum"]) == set(tuning.CRITERIA) == set(tuning.CRITERION_WORDS)
    assert schema["default"] in tuning.CRITERIA
    # an accuracy's ties break by the loss on the same points, a loss has none
    for column, higher, tie in tuning.CRITERIA.values():
        assert tie == (column.replace("accuracy", "loss") if higher else None)


def test_one_rate_trains_nothing_and_is_chosen(data):
    table, curves = tune_cell(data, [0.004], [7, 8])
    assert len(table) == 2 and table["chosen"].all()
    assert tuning.chosen_rate(table) == 0.004 and (table["epochs_run"] == 0).all()
    # no curve, and still a table of the tuning_history schema
    assert tables.to_table(curves, "tuning_history").num_rows == 0


def test_the_curves_fit_their_table_schema(tuned_with_curves):
    table, curves = tuned_with_curves
    written = tables.to_table(curves, "tuning_history").to_pandas()
    # one row per epoch each run trained
    runs = written.groupby(["learning_rate", "seed"])["epoch"].max()
    assert (
        runs.to_dict()
        == table.set_index(["learning_rate", "seed"])["epochs_run"].to_dict()
    )


def test_unknown_criterion_and_optimizer_are_refused(data):
    with pytest.raises(ValueError, match="criterion: 'loss'"):
        tuning.choose(pd.DataFrame({"learning_rate": [0.1]}), criterion="loss")
    with pytest.raises(ValueError, match="training.optimizer: 'sgd'"):
        tune_cell(
            data,
            [0.1, 0.2],
            [1],
            settings=dataclasses.replace(SETTINGS, optimizer="sgd"),
        )


def test_the_figure_crosses_the_rates_no_run_learned():
    import matplotlib

    matplotlib.use("Agg")
    from geoctx import plots

    table = pd.DataFrame(
        {
            "activation": ["sigmoid"] * 4,
            "initializer": "auto",
            "learning_rate": [0.001, 0.001, 0.01, 0.01],
            "seed": [1, 2, 1, 2],
            # 0.001: one seed learned; 0.01: neither did
            "status": ["ok", "failed_to_learn", "failed_to_learn", "diverged"],
            "criterion": "val_loss",
            "score": [0.3, 0.3, 0.7, 0.7],
            "chosen": [True, True, False, False],
        }
    )
    ax = plots.learning_rates(table)
    crosses = [c for c in ax.collections if c.get_label() == "no run learned"]
    assert [tuple(p) for p in crosses[0].get_offsets()] == [(0.01, 0.7)]

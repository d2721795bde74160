"""A study run that fails to learn at its tuned rate starts again at the
grid's other rates: the order it tries them in, a real training in each
outcome (learned at once, learned at another rate, learned at none), and
what the trailing report then counts as tried."""

import dataclasses

import numpy as np
import pandas as pd
from test_retrials import STUDY, TUNED, kind_of, retrials

from geoctx import trailing, training, tuning

# deep sigmoid on two moons: at 1e-7 and 1e-6 it stays at its initial
# constant output (half the points right: failed to learn); at 0.03 it fits
SETTINGS = training.TrainSettings(
    epochs=40, batch_size=32, convergence={"window": 50, "tolerance": 0.001}
)
SPEC = training.ModelSpec(
    dataset="moons",
    activation="sigmoid",
    initializer="glorot_uniform",
    width=8,
    depth=4,
    seed=3,
)


def table(scores: dict[float, float], chosen: float, criterion="val_loss"):
    return pd.DataFrame(
        {
            "learning_rate": list(scores),
            "criterion": criterion,
            "score": list(scores.values()),
            "chosen": [rate == chosen for rate in scores],
        }
    )


def test_the_chosen_rate_comes_first_then_the_best_scores():
    scores = {0.01: 0.3, 0.003: 0.1, 0.001: float("inf"), 0.0003: 0.2}
    assert tuning.rates_in_order(table(scores, 0.003)) == [0.003, 0.0003, 0.01, 0.001]
    # a higher-is-better criterion reverses the order; row order is irrelevant
    accuracy = table({0.01: 0.7, 0.003: 0.9, 0.001: 0.8}, 0.003, "val_accuracy")
    assert tuning.rates_in_order(accuracy) == [0.003, 0.001, 0.01]
    shuffled = accuracy.sample(frac=1, random_state=0)
    assert tuning.rates_in_order(shuffled) == [0.003, 0.001, 0.01]


def train(data, rates):
    return training.train_at_tuned_rates(data, SPEC, SETTINGS, rates=rates)


def alone(data, rate):
    return training.train_model(
        data, SPEC, dataclasses.replace(SETTINGS, learning_rate=rate)
    )


def same_run(a, b):
    """Two results of the same training: identical weights, scores, curves."""
    for x, y in zip(a.model.get_weights(), b.model.get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)
    pd.testing.assert_frame_equal(
        a.history.drop(columns="epoch_time_s"), b.history.drop(columns="epoch_time_s")
    )
    keep = [
        k for k in a.run if k not in ("wall_time_s", "tuned_rate", "rates_screened")
    ]
    assert {k: a.run[k] for k in keep} == {k: b.run[k] for k in keep}


def test_a_run_that_learns_at_its_tuned_rate_is_not_started_again(small_moons):
    result = train(small_moons, [0.03, 1e-7])
    assert result.run["status"] == "ok"
    assert result.run["learning_rate"] == result.run["tuned_rate"] == 0.03
    assert result.run["rates_screened"] == 0


def test_a_run_that_fails_is_kept_at_the_first_rate_that_learns(small_moons):
    first = alone(small_moons, 1e-7)
    assert first.run["status"] == "failed_to_learn"
    result = train(small_moons, [1e-7, 1e-6, 0.03])
    assert result.run["status"] == "ok"
    assert result.run["learning_rate"] == 0.03
    assert result.run["tuned_rate"] == 1e-7 and result.run["rates_screened"] == 2
    # the kept model is the one train_model gives at 0.03 on its own, from
    # the same initial weights: the screen decided, it did not train it
    same_run(result, alone(small_moons, 0.03))
    for x, y in zip(
        result.init_model.get_weights(), first.init_model.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(x, y)


def test_a_run_that_learns_at_no_rate_keeps_the_tuned_rate(small_moons):
    result = train(small_moons, [1e-7, 1e-6])
    assert result.run["status"] == "failed_to_learn"
    assert result.run["learning_rate"] == result.run["tuned_rate"] == 1e-7
    assert result.run["rates_screened"] == 1
    same_run(result, alone(small_moons, 1e-7))


# The trailing report: STUDY's sigmoid seeds 1 and 2 are short at the chosen
# 0.01 in a grid of 0.001, 0.003 and 0.01 (tests/test_retrials.py)


def restarted(seed: int, rate: float, screened: int) -> pd.DataFrame:
    study = STUDY.assign(learning_rate=0.01, tuned_rate=0.01, rates_screened=0)
    mine = (study["activation"] == "sigmoid") & (study["seed"] == seed)
    study.loc[mine, ["learning_rate", "rates_screened"]] = [rate, screened]
    return study


def test_a_restarted_seed_is_retried_at_the_rates_it_did_not_train_at():
    # seed 1 failed at 0.01 and was kept at 0.003, still short: only 0.001 is
    # left to try for it, so its retrial there completes the row
    study = restarted(1, 0.003, 2)
    done = retrials({1: {0.001: 0.6}, 2: {0.001: 0.5, 0.003: 0.5}})
    assert kind_of(done, study)["kind"] == trailing.SEEDS_EVERY_RATE
    # without it the row stays open
    open_ = retrials({2: {0.001: 0.5, 0.003: 0.5}})
    assert kind_of(open_, study)["kind"] == trailing.SEED_DEPENDENT


def test_a_seed_that_learned_at_no_rate_needs_no_retrial(small_moons):
    # seed 1 was screened at both other rates and learned at neither
    study = restarted(1, 0.01, 2)
    done = retrials({2: {0.001: 0.5, 0.003: 0.5}})
    assert kind_of(done, study)["kind"] == trailing.SEEDS_EVERY_RATE
    # and the retrial job trains seed 2 only, at both other rates
    asked = []

    def split_of(dataset, seed):
        asked.append(seed)
        return small_moons

    table, _ = trailing.retry(study, TUNED, split_of, SETTINGS)
    assert asked == [2]
    assert sorted(table["learning_rate"]) == [0.001, 0.003]

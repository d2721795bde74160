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
            criterion: list(scores.values()),
            # no tie to break: each rate scores differently
            "val_loss": list(scores.values()),
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
    return tuning.train_at_tuned_rates(data, SPEC, SETTINGS, rates=rates)


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
    assert alone(small_moons, 1e-7).run["status"] == "failed_to_learn"
    # 0.01 and 0.03 both learn: the first in tuning's order is kept
    assert alone(small_moons, 0.03).run["status"] == "ok"
    result = train(small_moons, [1e-7, 1e-6, 0.01, 0.03])
    assert result.run["status"] == "ok"
    assert result.run["learning_rate"] == 0.01
    assert result.run["tuned_rate"] == 1e-7 and result.run["rates_screened"] == 3
    # the kept model is the one train_model gives at 0.01 on its own, from
    # the same initial weights: the screen decided, it did not train it
    same_run(result, alone(small_moons, 0.01))


def failing_at(rate: float, status: str, monkeypatch):
    """train_model as it is, but a run at ``rate`` ends with ``status``."""
    real = training.train_model

    def train_model(data, spec, settings, **options):
        result = real(data, spec, settings, **options)
        if settings.learning_rate == rate:
            result.run["status"] = status
        return result

    monkeypatch.setattr(training, "train_model", train_model)


def test_a_rate_that_learned_in_the_screen_but_not_alone_is_passed_over(
    small_moons, monkeypatch
):
    failing_at(0.01, "failed_to_learn", monkeypatch)
    result = train(small_moons, [1e-7, 0.01, 0.03])
    assert result.run["status"] == "ok" and result.run["learning_rate"] == 0.03


def test_a_run_that_diverges_at_its_tuned_rate_starts_again(small_moons, monkeypatch):
    failing_at(0.03, "diverged", monkeypatch)
    result = train(small_moons, [0.03, 0.01])
    assert result.run["status"] == "ok" and result.run["learning_rate"] == 0.01
    assert result.run["tuned_rate"] == 0.03 and result.run["rates_screened"] == 1


def test_a_grid_of_one_rate_has_nothing_to_start_again_at(small_moons):
    result = train(small_moons, [1e-7])
    assert result.run["status"] == "failed_to_learn"
    assert result.run["rates_screened"] == 0


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


def retried_seeds(study, small_moons) -> dict:
    """The retrial job's rates for each seed it trains (sigmoid in CELL)."""
    table, _ = trailing.retry(study, TUNED, lambda dataset, seed: small_moons, SETTINGS)
    return {
        int(seed): sorted(part["learning_rate"]) for seed, part in table.groupby("seed")
    }


def test_a_restarted_seed_is_retried_at_the_rates_it_did_not_train_at(small_moons):
    # seed 1 failed at 0.01 and was kept at 0.003, still short: only 0.001 is
    # left to try for it, so its retrial there completes the row
    study = restarted(1, 0.003, 2)
    done = retrials({1: {0.001: 0.6}, 2: {0.001: 0.5, 0.003: 0.5}})
    assert kind_of(done, study)["kind"] == trailing.SEEDS_EVERY_RATE
    # without it the row stays open
    open_ = retrials({2: {0.001: 0.5, 0.003: 0.5}})
    assert kind_of(open_, study)["kind"] == trailing.SEED_DEPENDENT
    # and the retrial job trains seed 1 at 0.001 only
    assert retried_seeds(study, small_moons) == {1: [0.001], 2: [0.001, 0.003]}


def test_a_seed_that_learned_at_no_rate_is_retried_at_every_other(small_moons):
    # seed 1 was screened at both other rates and kept at the chosen one: the
    # screen scores no held-out data, so the retrial trains it again there
    study = restarted(1, 0.01, 2)
    assert retried_seeds(study, small_moons) == {1: [0.001, 0.003], 2: [0.001, 0.003]}
    done = retrials({2: {0.001: 0.5, 0.003: 0.5}})
    assert kind_of(done, study)["kind"] == trailing.SEED_DEPENDENT

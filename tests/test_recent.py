"""The per-process caches of compiled graphs keep their latest architectures."""

import dataclasses
import pickle

import numpy as np
import pytest

from geoctx import training
from geoctx.recent import Recent


def test_recent_drops_the_least_recently_used():
    cache = Recent(2)
    cache["a"] = 1
    cache.setdefault("b", []).append(2)
    assert cache.get("a") == 1  # reading "a" makes "b" the oldest
    cache["c"] = 3
    assert list(cache) == ["a", "c"]
    assert cache.get("b", "gone") == "gone"
    cache["a"] = 4  # setting makes it the newest
    cache["d"] = 5
    assert dict(cache) == {"a": 4, "d": 5}


def test_recent_copies_and_pickles_whole_and_in_order():
    cache = Recent(40)
    for i in range(40):
        cache[i] = str(i)
    cache[3]  # the most recently used
    order = list(cache)
    for other in (cache.copy(), pickle.loads(pickle.dumps(cache))):
        assert isinstance(other, Recent) and other.size == 40
        assert list(other.items()) == [(key, str(key)) for key in order]
    assert list(cache) == order  # copying is not reading


@pytest.mark.parametrize("size", [0, -1, 1.5])
def test_recent_needs_a_positive_integer_size(size):
    with pytest.raises(ValueError, match="size must be a positive integer"):
        Recent(size)


def test_a_trainer_dropped_from_the_cache_trains_the_same(monkeypatch, small_moons):
    # one architecture kept: training another drops the first, which is
    # traced again when it comes back, with the same numbers
    data = small_moons
    monkeypatch.setattr(training, "_TRAINERS", Recent(1))
    settings = training.TrainSettings(epochs=3, batch_size=32)
    spec = training.ModelSpec(
        dataset="moons",
        activation="relu",
        initializer="he_normal",
        width=8,
        depth=2,
        seed=0,
    )
    other = dataclasses.replace(spec, activation="tanh")
    first = training.train_model(data, spec, settings)
    training.train_model(data, other, settings)
    assert len(training._TRAINERS) == 1
    again = training.train_model(data, spec, settings)
    for a, b in zip(first.model.get_weights(), again.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    timed = ["epoch_time_s"]  # wall time, the one column that may differ
    assert first.history.drop(columns=timed).equals(again.history.drop(columns=timed))

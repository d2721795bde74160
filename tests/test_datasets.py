"""Datasets: shapes, balance, determinism, exact boundary distances."""

import numpy as np
import pytest

from geoctx import datasets
from geoctx.config import GENERATORS

SPLIT = {"test_fraction": 0.25, "validation_fraction": 0.2, "probe_points": 50}


def build(generator, **params):
    return datasets.make_dataset({"generator": generator, **params}, **SPLIT)


@pytest.mark.parametrize("generator", sorted(GENERATORS))
def test_splits_shapes_balance_and_standardization(generator):
    params = {} if generator == "digits" else {"n_samples": 400}
    arrays, meta = build(generator, **params)
    n = sum(len(arrays[f"y_{s}"]) for s in datasets.SPLITS)
    assert n == (1797 if generator == "digits" else 400)
    assert len(arrays["y_test"]) == pytest.approx(0.25 * n, abs=1)
    for split in datasets.SPLITS:
        X, y = arrays[f"X_{split}"], arrays[f"y_{split}"]
        assert X.shape == (len(y), meta["n_features"])
        assert X.dtype == np.float32
        assert np.isfinite(X).all()
        counts = np.bincount(y, minlength=meta["n_classes"])
        assert counts.max() - counts.min() <= max(2, 0.05 * len(y))
    train = arrays["X_train"].astype(float)
    np.testing.assert_allclose(train.mean(axis=0), 0, atol=1e-5)
    assert np.sqrt(np.mean(train.var(axis=0))) == pytest.approx(1, rel=1e-5)
    probe = arrays["probe_index"]
    assert len(probe) == 50 and len(np.unique(probe)) == 50
    assert probe.max() < len(arrays["y_test"])


@pytest.mark.parametrize("generator", ["moons", "spirals", "mnist1d"])
def test_same_seed_same_data_other_seed_other_data(generator):
    a, meta_a = build(generator, n_samples=200, seed=3)
    b, meta_b = build(generator, n_samples=200, seed=3)
    c, meta_c = build(generator, n_samples=200, seed=4)
    assert meta_a["sha256"] == meta_b["sha256"] != meta_c["sha256"]
    np.testing.assert_array_equal(a["X_train"], b["X_train"])


def _rows(arrays, split):
    """The points of one split as a set of row tuples (order-free)."""
    return {tuple(row) for row in np.round(arrays[f"X_{split}"], 5)}


def test_each_split_seed_draws_its_own_split_of_the_same_points():
    shared, _ = build("moons", n_samples=400, seed=3)
    again, _ = datasets.make_dataset(
        {"generator": "moons", "n_samples": 400, "seed": 3}, **SPLIT, split_seed=None
    )
    one, meta = datasets.make_dataset(
        {"generator": "moons", "n_samples": 400, "seed": 3}, **SPLIT, split_seed=1
    )
    one_again, _ = datasets.make_dataset(
        {"generator": "moons", "n_samples": 400, "seed": 3}, **SPLIT, split_seed=1
    )
    two, _ = datasets.make_dataset(
        {"generator": "moons", "n_samples": 400, "seed": 3}, **SPLIT, split_seed=2
    )
    # None is the shared split, a seed is reproducible, two seeds differ
    np.testing.assert_array_equal(shared["X_test"], again["X_test"])
    zero, _ = datasets.make_dataset(
        {"generator": "moons", "n_samples": 400, "seed": 3}, **SPLIT, split_seed=0
    )
    np.testing.assert_array_equal(zero["X_test"], shared["X_test"])
    np.testing.assert_array_equal(one["X_test"], one_again["X_test"])
    assert _rows(one, "test") != _rows(two, "test") != _rows(shared, "test")
    probes = [a["X_test"][a["probe_index"]] for a in (one, two)]  # 50 of 100
    assert not np.array_equal(*probes)
    assert meta["splits"]["split_seed"] == 1
    # the same 400 points, split another way: the sizes match
    sizes = [sum(len(a[f"y_{s}"]) for s in datasets.SPLITS) for a in (one, two)]
    assert sizes == [400, 400]


@pytest.mark.parametrize("split_seed", [-1, 1.5, True])
def test_bad_split_seed_is_named(split_seed):
    with pytest.raises(ValueError, match="split_seed"):
        datasets.split_seed_for(0, split_seed)


def test_circle_distances_are_exact_on_noiseless_circles():
    data = datasets.circles(n_samples=200, noise=0.0, factor=0.4)
    # both noiseless circles are 0.3 from the boundary at radius 0.7
    np.testing.assert_allclose(data.boundary_distance, 0.3, atol=1e-12)
    arrays, _ = datasets.make_dataset(
        {"generator": "circles", "n_samples": 200, "noise": 0.0, "factor": 0.4}, **SPLIT
    )
    np.testing.assert_allclose(
        arrays["boundary_distance_test"], 0.3 / float(arrays["scale"]), rtol=1e-9
    )


def test_sphere_distances_on_known_points():
    data = datasets.nested_spheres(n_samples=300, noise=0.0, radii=(1.0, 2.0, 4.0))
    radius = np.linalg.norm(data.X, axis=1)
    np.testing.assert_allclose(radius, np.array([1.0, 2.0, 4.0])[data.y])
    expected = np.array([0.5, 0.5, 1.0])[data.y]  # boundaries at 1.5 and 3.0
    np.testing.assert_allclose(data.boundary_distance, expected, atol=1e-12)


def test_spiral_arms_are_classes():
    data = datasets.spirals(n_samples=300, noise=0.0, arms=3)
    assert set(data.y) == {0, 1, 2}
    r = np.linalg.norm(data.X, axis=1)
    angle = np.arctan2(data.X[:, 1], data.X[:, 0])
    expected = 2 * np.pi * 1.5 * r + 2 * np.pi * data.y / 3
    np.testing.assert_allclose(np.cos(angle - expected), 1, atol=1e-9)


def test_disks_sit_in_the_holes_of_the_rings():
    data = datasets.disks_in_holes(n_samples=600, holes=2)
    cell = np.round(data.X[:, 0] / 3.0)
    r = np.hypot(data.X[:, 0] - 3.0 * cell, data.X[:, 1])
    assert r[data.y == 0].max() <= 0.6
    assert r[data.y == 1].min() >= 1.0 and r[data.y == 1].max() <= 1.4


def test_rings_interlock():
    data = datasets.interlocked_rings(n_samples=400, noise=0.0)
    ring0, ring1 = data.X[data.y == 0], data.X[data.y == 1]
    np.testing.assert_allclose(np.linalg.norm(ring0, axis=1), 1)
    np.testing.assert_allclose(np.linalg.norm(ring1 - [1, 0, 0], axis=1), 1)
    # ring 1 pierces the plane of ring 0 once inside it and once outside it
    crossing = ring1[np.abs(ring1[:, 2]) < 0.05]
    assert (np.linalg.norm(crossing, axis=1) < 1).any() and (
        np.linalg.norm(crossing, axis=1) > 1
    ).any()


def test_unknown_generator_and_too_many_digits_fail_clearly():
    with pytest.raises(ValueError, match="unknown dataset generator 'mnist'"):
        datasets.generate("mnist")
    with pytest.raises(ValueError, match="n_samples=5000 exceeds the 1797"):
        datasets.digits(n_samples=5000)


def test_mnist1d_default_size_gives_the_published_training_split():
    # Greydanus & Kobak train on 4,000 points; make_dataset alone would round
    # 6667 down to 6660 (666 per class)
    arrays, meta = datasets.make_dataset(
        {"generator": "mnist1d"},
        test_fraction=0.25,
        validation_fraction=0.2,
        probe_points=256,
    )
    assert meta["sizes"] == {"train": 4000, "val": 1000, "test": 1667}
    assert meta["class_counts"]["train"] == [400] * 10


def test_subsample_drops_fewer_points_than_classes_one_per_class():
    data = datasets.mnist1d(n_samples=95, seed=1)
    counts = np.bincount(data.y)
    assert len(data.y) == 95 and sorted(set(counts)) == [9, 10]
    assert (counts == 9).sum() == 5

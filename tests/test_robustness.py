"""Known-answer and property tests of geoctx.robustness."""

import dataclasses

import keras
import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax
from sklearn.datasets import make_moons

from geoctx import names
from geoctx import robustness as rb
from geoctx.robustness import rows as rb_rows
from geoctx.robustness.settings import prepare


@pytest.fixture(scope="module")
def moons():
    """A tanh MLP trained a few epochs on standardised two moons."""
    x, y = make_moons(700, noise=0.15, random_state=0)
    x = ((x - x.mean(0)) / x.std(0)).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(16, activation="tanh"),
            keras.layers.Dense(16, activation="tanh"),
            keras.layers.Dense(2),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.02),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(x[:400], y[:400], epochs=15, batch_size=32, verbose=0)
    split = {
        "model": model,
        "x_val": x[400:500],
        "y_val": y[400:500],
        "x_test": x[500:],
        "y_test": y[500:],
    }
    assert rb.accuracy(model, split["x_test"], split["y_test"]) > 0.9
    return split


def _linear_binary(d=5, seed=3):
    """A single Dense layer with 2 logits and its analytic boundary (w, b)."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(2)])
    kernel, bias = (v.astype(np.float64) for v in model.get_weights())
    model.set_weights([kernel.astype(np.float32), np.array([0.1, -0.2], np.float32)])
    return model, kernel[:, 1] - kernel[:, 0], -0.3


# Zero budget ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "attack",
    [
        lambda m, x, y: rb.fgsm(m, x, y, epsilon=0.0),
        lambda m, x, y: rb.pgd(m, x, y, epsilon=0.0, norm="linf"),
        lambda m, x, y: rb.pgd(m, x, y, epsilon=0.0, norm="l2", clip=(0.0, 0.1)),
    ],
)
def test_zero_epsilon_returns_inputs_unchanged(moons, attack):
    x, y = moons["x_test"], moons["y_test"]
    x_adv = attack(moons["model"], x, y)
    assert x_adv is not x
    np.testing.assert_array_equal(x_adv, x)


def test_zero_epsilon_and_zero_sigma_give_clean_accuracy_exactly(moons):
    model, x, y = moons["model"], moons["x_test"], moons["y_test"]
    clean = rb.accuracy(model, x, y)
    for attack in ("fgsm_linf", "pgd_linf", "pgd_l2"):
        result = rb.attack_accuracy(model, x, y, attack=attack, epsilons=[0.3, 0.0])
        assert list(result) == [0.3, 0.0]
        assert result[0.0] == clean
        assert result[0.3] < clean
    noise = rb.gaussian_noise_accuracy(model, x, y, sigmas=[0.0, 0.5], n_draws=3)
    assert noise[0.0] == clean
    assert noise[0.5] < clean


# Monotonicity and attack strength ---------------------------------------------------

EPSILONS = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5]


@pytest.mark.parametrize("attack", ["fgsm_linf", "pgd_linf", "pgd_l2"])
def test_attack_accuracy_is_non_increasing_in_epsilon(moons, attack):
    model, x, y = moons["model"], moons["x_test"], moons["y_test"]
    acc = list(
        rb.attack_accuracy(model, x, y, attack=attack, epsilons=EPSILONS).values()
    )
    assert np.all(np.diff(acc) <= 0), acc
    assert acc[-1] < acc[0] - 0.2, acc


def test_gaussian_noise_accuracy_is_non_increasing_up_to_monte_carlo_error(moons):
    # One sigma's standard error is sqrt(a(1-a)/(n draws)) ~ 0.004 here, and the
    # draws are shared across sigmas; 0.01 is a 2.5-sigma allowance for the noise.
    model, x, y = moons["model"], moons["x_test"], moons["y_test"]
    sigmas = [0.0, 0.1, 0.2, 0.4, 0.8, 1.6]
    acc = list(
        rb.gaussian_noise_accuracy(
            model, x, y, sigmas=sigmas, scale=x.std(0), n_draws=20, rng=1
        ).values()
    )
    assert np.all(np.diff(acc) <= 0.01), acc
    assert acc[-1] < acc[0] - 0.2, acc


def test_gaussian_noise_scale_multiplies_sigma(moons):
    model, x, y = moons["model"], moons["x_test"], moons["y_test"]
    a = rb.gaussian_noise_accuracy(model, x, y, sigmas=[0.6], scale=2.0, rng=4)
    b = rb.gaussian_noise_accuracy(model, x, y, sigmas=[1.2], scale=1.0, rng=4)
    assert a[0.6] == pytest.approx(b[1.2], abs=1e-12)


@pytest.mark.parametrize(("steps", "factor"), [(1, 0.1), (10, 2.5)])
def test_pgd_is_never_weaker_than_fgsm(moons, steps, factor):
    # One short step from a random start is much weaker than FGSM: the guarantee
    # comes from keeping the FGSM point as a candidate.
    model, x, y = moons["model"], moons["x_test"], moons["y_test"]
    options = {"epsilons": EPSILONS[1:], "steps": steps, "step_size_factor": factor}
    fgsm = rb.attack_accuracy(model, x, y, attack="fgsm_linf", **options)
    pgd = rb.attack_accuracy(model, x, y, attack="pgd_linf", **options)
    for epsilon in EPSILONS[1:]:
        assert pgd[epsilon] <= fgsm[epsilon]


def test_pgd_result_is_what_attack_accuracy_reports(moons):
    model, x, y = moons["model"], moons["x_test"], moons["y_test"]
    x_adv = rb.pgd(model, x, y, epsilon=0.3, steps=10, rng=5)
    fgsm = rb.accuracy(model, rb.fgsm(model, x, y, epsilon=0.3), y)
    assert rb.accuracy(model, x_adv, y) <= fgsm


def test_pgd_is_reproducible_from_its_seed(moons):
    model, x, y = moons["model"], moons["x_test"], moons["y_test"]
    a = rb.pgd(model, x, y, epsilon=0.2, norm="l2", steps=3, rng=7)
    b = rb.pgd(
        model, x, y, epsilon=0.2, norm="l2", steps=3, rng=np.random.default_rng(7)
    )
    c = rb.pgd(model, x, y, epsilon=0.2, norm="l2", steps=3, rng=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def _pgd_restart_after_restart(model, x, y, epsilon, *, norm, loss, steps, rng, clip):
    """The PGD search written plainly: three restarts one after the other."""
    from geoctx import autodiff
    from geoctx.robustness._common import _clip_bounds, _finish, _predict_logits
    from geoctx.robustness.gradient import _l2_normalize, _project, _random_in_ball
    from geoctx.robustness.worst_case import _WorstCase

    bounds, x64, step_size = _clip_bounds(clip, x), x.astype(np.float64), epsilon / 4
    worst = _WorstCase(x, _predict_logits(model, x), y, loss)
    for _ in range(3):
        current = _finish(x64, _random_in_ball(rng, epsilon, norm, x.shape), bounds)
        for _ in range(steps):
            logits, gradient = autodiff.logits_and_input_gradient(
                model, current, y, loss=loss
            )
            worst.offer(current, logits)
            gradient = gradient.astype(np.float64)
            direction = np.sign(gradient) if norm == "linf" else _l2_normalize(gradient)
            delta = current.astype(np.float64) - x64 + step_size[:, None] * direction
            current = _finish(x64, _project(delta, epsilon, norm), bounds)
        worst.offer(current, _predict_logits(model, current))
    return worst


@pytest.mark.parametrize("loss", ["cross_entropy", "margin"])
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_restarts_side_by_side_equal_restarts_one_by_one(moons, norm, loss):
    from geoctx.robustness._common import _clip_bounds
    from geoctx.robustness.gradient import _pgd_search

    model, x, y = moons["model"], moons["x_test"], moons["y_test"]
    epsilon = np.linspace(0.05, 0.6, len(x))  # per point, as the bisection uses
    clip = (-1.5, 1.5)
    expected = _pgd_restart_after_restart(
        model,
        x,
        y,
        epsilon,
        norm=norm,
        loss=loss,
        steps=4,
        rng=np.random.default_rng(3),
        clip=clip,
    )
    # blocks of 128 rows straddle the restarts (3 x 200 rows)
    found = _pgd_search(
        model,
        x,
        y,
        epsilon,
        norm=norm,
        steps=4,
        step_size=epsilon / 4,
        restarts=3,
        rng=np.random.default_rng(3),
        bounds=_clip_bounds(clip, x),
        batch_size=128,
        loss=loss,
    )
    assert expected.fooled.any() and not expected.fooled.all()
    np.testing.assert_array_equal(found.x, expected.x)
    np.testing.assert_array_equal(found.fooled, expected.fooled)
    np.testing.assert_array_equal(found.loss, expected.loss)


@pytest.mark.parametrize("attack", ["pgd_linf", "pgd_l2", "pgd_margin_linf"])
def test_outcomes_only_sweep_has_the_same_outcomes(moons, attack):
    model, x, y = moons["model"], moons["x_test"], moons["y_test"]
    options = {"attack": attack, "epsilons": [0, 0.1, 0.3, 0.6], "steps": 5}
    full = rb.attack_sweep(model, x, y, rng=4, **options)
    short = rb.attack_sweep(model, x, y, rng=4, outcomes_only=True, **options)
    assert 0 < np.mean(full[0.6].correct) < np.mean(full[0.1].correct)
    for epsilon, out in full.items():
        np.testing.assert_array_equal(short[epsilon].correct, out.correct)
        # points still classified correctly keep their highest-loss example
        np.testing.assert_array_equal(short[epsilon].x[out.correct], out.x[out.correct])


# Gradient masking: margin loss against cross-entropy ------------------------------


def _scaled_linear(scale, d=5, n=400, seed=0):
    """A linear binary model with logits times ``scale`` (boundary unchanged),
    noisy labels, and each point's signed margin distance ``(w.x + b) y~``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    w, b = rng.standard_normal(d), 0.1
    y = (x @ w + b > 0).astype(int)
    noisy = rng.random(n) < 0.1
    y[noisy] = 1 - y[noisy]
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(2)])
    kernel = np.stack([-w / 2, w / 2], axis=1) * scale
    model.set_weights([kernel.astype(np.float32), np.float32([-b / 2, b / 2]) * scale])
    return model, x, y, (x.astype(np.float64) @ w + b) * (2 * y - 1), w


# A point is robust at radius e iff its margin over the dual norm of w exceeds
# e; an exact tie would need a point at distance exactly e (probability 0),
# so the tolerance is one point in 400 for float32 rounding at the boundary.
@pytest.mark.parametrize(("norm", "dual"), [("linf", 1), ("l2", 2)])
def test_margin_pgd_reaches_analytic_robust_accuracy_where_cross_entropy_is_masked(
    norm, dual
):
    epsilons = [0.1, 0.2, 0.4] if norm == "l2" else [0.05, 0.1, 0.2]
    options = {"epsilons": epsilons, "steps": 10, "restarts": 1}
    for scale in (1.0, 1000.0):
        model, x, y, margin, w = _scaled_linear(scale)
        truth = {e: np.mean(margin / np.linalg.norm(w, ord=dual) > e) for e in epsilons}
        margin_pgd = rb.attack_accuracy(
            model, x, y, attack=f"pgd_margin_{norm}", **options
        )
        cross_entropy = rb.attack_accuracy(model, x, y, attack=f"pgd_{norm}", **options)
        for e in epsilons:
            assert margin_pgd[e] == pytest.approx(truth[e], abs=1 / 400)
            if scale == 1.0:  # unsaturated: both losses find the analytic answer
                assert cross_entropy[e] == pytest.approx(truth[e], abs=1 / 400)
            else:  # softmax saturates in float32: cross-entropy gradients vanish
                assert cross_entropy[e] > truth[e] + 0.02
    # at scale 1000 only points the random start already pushes over are found
    assert cross_entropy[epsilons[-1]] > truth[epsilons[-1]] + 0.15


def test_margin_loss_gradient_is_the_logit_difference():
    model, x, y, _, w = _scaled_linear(1000.0, n=8)
    from geoctx import autodiff

    gradient = autodiff.input_gradient(model, x, y, loss="margin")
    # d/dx (z_other - z_y) = -+ 1000 w: away from the true class
    expected = -1000.0 * np.where(y[:, None] == 1, 1, -1) * w
    np.testing.assert_allclose(gradient, expected, rtol=1e-5)
    with pytest.raises(ValueError, match="loss"):
        autodiff.input_gradient(model, x, y, loss="hinge")


# Budgets and data range -----------------------------------------------------------


@pytest.mark.parametrize(
    ("norm", "order"), [("linf", np.inf), ("l2", 2)], ids=["linf", "l2"]
)
def test_perturbations_stay_in_ball_and_data_range(moons, norm, order):
    model, x, y = moons["model"], moons["x_test"].copy(), moons["y_test"]
    low, high = np.quantile(x, 0.1, axis=0), np.quantile(x, 0.9, axis=0)
    x[0] = high + 0.5  # a clean point outside the nominal range
    epsilon = 0.4
    # 20 steps of 2.5 epsilon / 20: long enough to reach the box's faces
    options = {"epsilon": epsilon, "norm": norm, "clip": (low, high), "steps": 20}
    outputs = [rb.pgd(model, x, y, restarts=2, **options)]
    if norm == "linf":
        outputs.append(rb.fgsm(model, x, y, epsilon=epsilon, clip=(low, high)))
    for x_adv in outputs:
        delta = x_adv.astype(np.float64) - x
        assert np.all(np.linalg.norm(delta, ord=order, axis=1) <= epsilon + 1e-6)
        inside = np.all((x >= low) & (x <= high), axis=1)
        assert np.all((x_adv[inside] >= low) & (x_adv[inside] <= high))
        assert np.any(x_adv[inside] == high) or np.any(x_adv[inside] == low)
        # the outside point is never pushed further out
        assert np.all(x_adv[0] <= x[0])
        assert np.any(delta != 0)


# Minimal adversarial distance and Lipschitz ---------------------------------------


def test_minimal_distance_of_linear_binary_model_is_analytic():
    model, w, b = _linear_binary()
    x = np.random.default_rng(0).normal(size=(256, 5)).astype(np.float32)
    margin = x.astype(np.float64) @ w + b
    y = (margin > 0).astype(int)
    y[:20] = 1 - y[:20]  # misclassified points
    expected = np.abs(margin) / np.linalg.norm(w)
    distance = rb.minimal_adversarial_distance(model, x, y)
    np.testing.assert_array_equal(distance[:20], 0.0)
    np.testing.assert_allclose(distance[20:], expected[20:], rtol=0.02)


def test_minimal_distance_respects_clip():
    model, w, b = _linear_binary(d=2, seed=4)
    x = np.random.default_rng(1).uniform(-1, 1, size=(64, 2)).astype(np.float32)
    y = (x.astype(np.float64) @ w + b > 0).astype(int)
    free = rb.minimal_adversarial_distance(model, x, y)
    boxed = rb.minimal_adversarial_distance(model, x, y, clip=(-1.0, 1.0))
    assert np.all(boxed >= free * (1 - 1e-4))
    # Points whose nearest boundary point lies outside the box need a longer way.
    foot = x - ((x @ w + b) / (w @ w))[:, None] * w
    outside = np.any(np.abs(foot) > 1.0, axis=1) & np.all(np.isfinite(boxed))
    assert np.all(boxed[outside] > free[outside] * 1.01)


def test_minimal_distance_of_constant_classifier_is_infinite():
    # Zero gradients everywhere and no point predicted otherwise: nothing can
    # change the prediction of class 0, class-1 points are already wrong.
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.set_weights([np.zeros((3, 2), np.float32), np.array([1.0, 0.0], np.float32)])
    x = np.random.default_rng(0).normal(size=(8, 3))
    y = np.array([0, 1] * 4)
    with pytest.warns(RuntimeWarning, match="no adversarial example found for 4"):
        distance = rb.minimal_adversarial_distance(model, x, y)
    np.testing.assert_array_equal(distance, [np.inf, 0.0] * 4)


def test_minimal_distance_is_below_nearest_point_predicted_otherwise(moons):
    model, x, y = moons["model"], moons["x_test"][:100], moons["y_test"][:100]
    distance = rb.minimal_adversarial_distance(model, x, y)
    predicted = np.argmax(model.predict_on_batch(x), axis=1)
    pairwise = np.linalg.norm(x[:, None] - x[None], axis=2)
    bound = np.where(predicted[None] != y[:, None], pairwise, np.inf).min(axis=1)
    assert np.all(distance <= bound + 1e-5)
    assert np.all(distance[predicted != y] == 0)
    assert np.all(distance[predicted == y] > 0)


@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_relative_lipschitz_of_linear_binary_model_is_inverse_median_distance(scale):
    model, x, y, margin, w = _scaled_linear(scale, n=101)
    result = rb.lipschitz_estimate(model, x)
    expected = 1 / np.median(np.abs(margin) / np.linalg.norm(w))
    # the same whatever the logit scale; the raw constant scales with it
    assert result["lipschitz_relative_mean"] == pytest.approx(expected, rel=1e-4)
    assert result["lipschitz_relative_max"] == pytest.approx(expected, rel=1e-4)
    raw = scale * np.linalg.norm(np.stack([-w / 2, w / 2], axis=1), ord=2)
    assert result["lipschitz_max"] == pytest.approx(raw, rel=1e-5)


def test_lipschitz_of_single_dense_layer_is_kernel_spectral_norm():
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    kernel = model.get_weights()[0].astype(np.float64)
    x = np.random.default_rng(0).normal(size=(10, 4))
    result = rb.lipschitz_estimate(model, x)
    expected = np.linalg.norm(kernel, ord=2)
    assert result["lipschitz_max"] == pytest.approx(expected, rel=1e-5)
    assert result["lipschitz_mean"] == pytest.approx(expected, rel=1e-5)


# Transfer -------------------------------------------------------------------------


def test_transfer_sweep_from_itself_is_the_white_box_sweep(moons):
    model, x, y = moons["model"], moons["x_test"], moons["y_test"]
    options = {"epsilons": [0.0, 0.3], "steps": 5, "restarts": 1, "rng": 2}
    white = rb.attack_sweep(model, x, y, attack="pgd_margin_linf", **options)
    transfer = rb.transfer_sweep(model, model, x, y, **options)
    for epsilon in (0.0, 0.3):
        np.testing.assert_array_equal(transfer[epsilon].correct, white[epsilon].correct)


def test_examples_crafted_on_a_source_are_computed_once_and_exactly(moons, monkeypatch):
    model, x, y = moons["model"], moons["x_test"][:60], moons["y_test"][:60]
    keras.utils.set_random_seed(9)
    source = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    options = {"epsilons": [0.0, 0.3], "steps": 3, "restarts": 2}
    # the reference: a plain sweep on the source, from a generator in one state
    expected_rng = np.random.default_rng(5)
    expected = rb.attack_sweep(
        source, x, y, attack="pgd_margin_linf", rng=expected_rng, **options
    )
    sweeps = []
    original = rb.transfer.attack_sweep
    monkeypatch.setattr(
        rb.transfer,
        "attack_sweep",
        lambda *a, **k: sweeps.append(1) or original(*a, **k),
    )
    for target in (model, model, source):  # one cell: the same source, 3 targets
        rng = np.random.default_rng(5)
        out = rb.transfer_sweep(target, source, x, y, rng=rng, **options)
        for epsilon in (0.0, 0.3):
            np.testing.assert_array_equal(out[epsilon].x, expected[epsilon].x)
        # the generator ends where the sweep leaves it, memo or not
        assert rng.bit_generator.state == expected_rng.bit_generator.state
    assert len(sweeps) == 1
    # anything the sweep reads changes the crafting: the generator's state ...
    rb.transfer_sweep(model, source, x, y, rng=np.random.default_rng(6), **options)
    # ... the source's weights
    source.set_weights([w + 0.1 for w in source.get_weights()])
    rb.transfer_sweep(model, source, x, y, rng=np.random.default_rng(5), **options)
    # ... and the points
    rb.transfer_sweep(model, source, x[:30], y[:30], rng=5, **options)
    assert len(sweeps) == 4


def test_transfer_from_itself_is_white_box_pgd(moons):
    model, x, y = moons["model"], moons["x_test"], moons["y_test"]
    options = {"epsilon": 0.3, "steps": 5, "rng": 2}
    white_box = rb.accuracy(model, rb.pgd(model, x, y, **options), y)
    assert rb.transfer_accuracy(model, model, x, y, **options) == white_box
    clean = rb.accuracy(model, x, y)
    assert rb.transfer_accuracy(model, model, x, y, epsilon=0.0) == clean


def test_transfer_from_an_unrelated_model_is_weaker(moons):
    model, x, y = moons["model"], moons["x_test"], moons["y_test"]
    keras.utils.set_random_seed(9)
    untrained = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    transfer = rb.transfer_accuracy(model, untrained, x, y, epsilon=0.3, steps=5)
    white_box = rb.accuracy(model, rb.pgd(model, x, y, epsilon=0.3, steps=5), y)
    assert transfer > white_box + 0.1


# Distance to the boundary -----------------------------------------------------------


def test_nearest_other_class_distance_by_hand():
    x = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [0.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    np.testing.assert_allclose(
        rb.nearest_other_class_distance(x, y),
        [5.0, np.sqrt(18), np.sqrt(85), np.sqrt(18)],
    )
    reference_x, reference_y = np.array([[0.0, 2.0], [9.0, 9.0]]), np.array([1, 0])
    np.testing.assert_allclose(
        rb.nearest_other_class_distance(
            x, y, reference_x=reference_x, reference_y=reference_y
        ),
        [2.0, np.sqrt(61), np.sqrt(10), 1.0],
    )


def test_boundary_stratified_accuracy_by_hand():
    model, w, b = _linear_binary(d=2)
    x = np.random.default_rng(2).normal(size=(100, 2)).astype(np.float32)
    margin = x.astype(np.float64) @ w + b
    distance = np.abs(margin) / np.linalg.norm(w)
    y = (margin > 0).astype(int)
    closest = np.argsort(distance)[:10]
    y[closest] = 1 - y[closest]
    bins = rb.boundary_stratified_accuracy(
        model, x, y, distance, quantiles=(0.0, 0.2, 0.6, 1.0)
    )
    np.testing.assert_array_equal(bins["n"], [20, 40, 40])
    np.testing.assert_allclose(bins["accuracy"], [0.5, 1.0, 1.0])
    np.testing.assert_allclose(bins["quantile_high"], [0.2, 0.6, 1.0])
    assert bins["distance_high"][-1] == distance.max()
    assert bins["distance_low"][0] == distance.min()


# Calibration ----------------------------------------------------------------------


def test_ece_of_calibrated_predictions_is_near_zero():
    rng = np.random.default_rng(0)
    n = 200_000
    confidence = rng.uniform(0.5, 1.0, size=n)
    predicted = rng.integers(0, 2, size=n)
    y = np.where(rng.uniform(size=n) < confidence, predicted, 1 - predicted)
    probs = np.where(predicted[:, None] == [0, 1], confidence[:, None], 0.0)
    probs += np.where(predicted[:, None] == [0, 1], 0.0, 1 - confidence[:, None])
    assert rb.expected_calibration_error(probs, y) < 0.02
    # The same confidences with labels drawn at 0.5 are far from calibrated.
    coin = rng.integers(0, 2, size=n)
    assert rb.expected_calibration_error(probs, coin) > 0.2


def test_ece_of_confident_wrong_predictions_is_one():
    y = np.arange(60) % 3
    probs = np.eye(3)[(y + 1) % 3]
    assert rb.expected_calibration_error(probs, y) == pytest.approx(1.0)


def test_ece_by_hand():
    probs = [[0.9, 0.1], [0.9, 0.1], [0.3, 0.7], [0.4, 0.6]]
    # bin (0.8, 0.9]: acc 1/2, conf 0.9; bin (0.6, 0.7]: acc 1, conf 0.7;
    # bin (0.5, 0.6]: acc 0, conf 0.6.
    expected = (2 * 0.4 + 0.3 + 0.6) / 4
    ece = rb.expected_calibration_error(probs, [0, 1, 1, 0], n_bins=10)
    assert ece == pytest.approx(expected)


@pytest.mark.parametrize("true_temperature", [0.5, 2.5])
def test_temperature_scaling_recovers_known_temperature(true_temperature):
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=3.0, size=(20_000, 4))
    probs = softmax(logits / true_temperature, axis=1)
    y = (rng.uniform(size=(len(probs), 1)) > probs.cumsum(axis=1)).sum(axis=1)
    fitted = rb.fit_temperature(logits, y)
    assert fitted == pytest.approx(true_temperature, rel=0.05)
    before = rb.expected_calibration_error(rb.apply_temperature(logits, 1.0), y)
    after = rb.expected_calibration_error(rb.apply_temperature(logits, fitted), y)
    assert after < 0.02 < before


# The whole evaluation --------------------------------------------------------------

FAST = rb.RobustnessSettings(
    sigmas=(0.0, 0.5),
    n_draws=2,
    epsilons=(0.0, 0.1, 0.3),
    pgd_steps=5,
    pgd_restarts=1,
    min_distance_steps=5,
    min_distance_bisections=4,
    boundary_quantiles=(0.0, 0.5, 1.0),
)


COORDINATES = ["attack", "epsilon", "metric"]


def test_evaluate_robustness_table(moons):
    model = moons["model"]
    keras.utils.set_random_seed(1)
    reference = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    data = {key: moons[key] for key in ("x_test", "y_test", "x_val", "y_val")}
    data["clip"] = (-3.0, 3.0)
    table = rb.evaluate_robustness(
        model,
        data,
        transfer_models={"relu": reference},
        settings=FAST,
        attacked_points=64,
    )

    assert list(table.columns) == list(rb.COLUMNS)
    assert table.dtypes["epsilon"] == np.float64 and table.dtypes["value"] == np.float64
    attacked = {
        *names.GRADIENT_ATTACKS,
        "transfer_from_relu",
        *names.WORST_CASE.values(),
    }
    assert set(table["attack"]) == set(rb.ATTACKS) | {"transfer_from_relu"}
    assert set(table["metric"]) == set(rb.METRICS)
    assert not table.duplicated(["attack", "epsilon", "metric"]).any()
    accuracy = table.set_index(["attack", "epsilon", "metric"])["value"]
    clean = rb.accuracy(model, data["x_test"], data["y_test"])
    assert accuracy[("clean", 0.0, "accuracy")] == clean
    assert accuracy[("gaussian", 0.0, "accuracy")] == clean
    # every attack reads its epsilon-0 value on the same probe points
    probe_clean = {
        accuracy[(a, 0.0, m)] for a in attacked for m in rb.OUTCOME_METRICS[:2]
    }
    assert len(probe_clean) == 1
    for attack in attacked:
        for epsilon in FAST.epsilons:
            acc, clean_acc, flip, drop = (
                accuracy[(attack, epsilon, m)] for m in rb.OUTCOME_METRICS
            )
            assert clean_acc in probe_clean
            assert drop == pytest.approx(clean_acc - acc)
            assert 0 <= flip <= 1
            worst = "worst_case_l2" if attack.endswith("l2") else "worst_case_linf"
            assert accuracy[(worst, epsilon, "accuracy")] <= acc
    for epsilon in FAST.epsilons:
        pgd, fgsm = (
            accuracy[(a, epsilon, "accuracy")] for a in ("pgd_linf", "fgsm_linf")
        )
        assert pgd <= fgsm
    summary = table[table["attack"] == "none"].set_index("metric")["value"]
    assert table.loc[table["attack"] == "none", "epsilon"].isna().all()
    q25, median, q75 = (
        summary[f"min_adv_distance_{q}"] for q in ("q25", "median", "q75")
    )
    assert 0 <= q25 <= median <= q75
    assert summary["lipschitz_mean"] <= summary["lipschitz_max"]
    assert summary["temperature"] > 0
    bins = table[table["metric"] == "accuracy_boundary_bin"]
    assert bins["epsilon"].tolist() == [0.5, 1.0]


def test_evaluate_robustness_does_not_depend_on_the_batch_size(moons):
    keras.utils.set_random_seed(1)
    reference = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    data = {key: moons[key] for key in ("x_test", "y_test", "x_val", "y_val")}
    tables = [
        rb.evaluate_robustness(
            moons["model"],
            data,
            transfer_models={"relu": reference},
            settings=dataclasses.replace(FAST, pgd_restarts=3),
            attacked_points=64,
            batch_size=batch_size,
        )
        for batch_size in (4096, 50)
    ]
    pd.testing.assert_frame_equal(*tables, check_exact=True)


def test_evaluate_robustness_uses_given_probe_and_boundary_distance(moons):
    model = moons["model"]
    data = {key: moons[key] for key in ("x_test", "y_test", "x_val", "y_val")}
    data["probe_index"] = np.arange(10)
    data["boundary_distance_test"] = np.arange(len(data["y_test"]), dtype=float)
    data["data_std"] = 1.0
    table = rb.evaluate_robustness(model, data, settings=FAST, attacked_points=64)
    assert not table["attack"].str.startswith(names.TRANSFER_PREFIX).any()
    first_ten = rb.accuracy(model, data["x_test"][:10], data["y_test"][:10])
    row = table.query("attack == 'pgd_l2' and epsilon == 0 and metric == 'accuracy'")
    row = row["value"]
    assert row.item() == first_ten
    upper = table.query("metric == 'boundary_distance_upper'")["value"]
    assert upper.tolist() == pytest.approx([0.5 * (len(data["y_test"]) - 1), 199.0])


def test_evaluate_robustness_is_invariant_to_the_unit_of_the_inputs(moons):
    # Doubling the inputs and halving the first kernel leaves every logit
    # unchanged (powers of two are exact), so only the Lipschitz rows change.
    model = moons["model"]
    doubled = keras.models.clone_model(model)
    weights = model.get_weights()
    doubled.set_weights([weights[0] / 2, *weights[1:]])
    data = {key: moons[key] for key in ("x_test", "y_test", "x_val", "y_val")}
    data["clip"] = (-1.5, 1.5)
    twice = {
        "X_test": 2 * data["x_test"],
        "y_test": data["y_test"],
        "X_val": 2 * data["x_val"],
        "y_val": data["y_val"],
        "clip": (-3.0, 3.0),
        "scale": np.array(123.0),  # the datasets' raw-unit scale: must be ignored
    }
    a = rb.evaluate_robustness(model, data, settings=FAST, attacked_points=64)
    b = rb.evaluate_robustness(doubled, twice, settings=FAST, attacked_points=64)
    pd.testing.assert_frame_equal(a[COORDINATES], b[COORDINATES])
    lipschitz = a["metric"].str.startswith("lipschitz")
    np.testing.assert_allclose(
        a["value"][~lipschitz], b["value"][~lipschitz], rtol=1e-6
    )
    np.testing.assert_allclose(
        a["value"][lipschitz], 2 * b["value"][lipschitz], rtol=1e-5
    )


def _value(table, attack, metric, epsilon=None):
    rows = table[(table["attack"] == attack) & (table["metric"] == metric)]
    if epsilon is not None:
        rows = rows[rows["epsilon"] == epsilon]
    return rows["value"].item()


def test_evaluate_robustness_units_follow_data_std(moons):
    model = moons["model"]
    data = {key: moons[key] for key in ("x_test", "y_test", "x_val", "y_val")}
    base = rb.evaluate_robustness(
        model, {**data, "data_std": 1.0}, settings=FAST, attacked_points=64
    )
    wide = rb.evaluate_robustness(
        model, {**data, "data_std": 2.0}, settings=FAST, attacked_points=64
    )
    median = "min_adv_distance_median"
    assert _value(wide, "none", median) == pytest.approx(
        _value(base, "none", median) / 2
    )
    # sigma 0.5 in units of std 2 is sigma 1 in units of 1: more noise, lower accuracy
    assert _value(wide, "gaussian", "accuracy", 0.5) < _value(
        base, "gaussian", "accuracy", 0.5
    )
    assert _value(wide, "pgd_l2", "accuracy", 0.3) < _value(
        base, "pgd_l2", "accuracy", 0.3
    )


def test_settings_are_frozen_validated_and_serialisable():
    settings = rb.RobustnessSettings(epsilons=[0.0, 0.1])
    assert settings.epsilons == (0.0, 0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.seed = 1
    assert dataclasses.asdict(settings)["pgd_steps"] == rb.gradient.PGD_STEPS
    with pytest.raises(ValueError, match="n_draws"):
        rb.RobustnessSettings(n_draws=0)
    with pytest.raises(ValueError, match="epsilons"):
        rb.RobustnessSettings(epsilons=(0.1, -0.1))
    with pytest.raises(ValueError, match="quantiles"):
        rb.RobustnessSettings(boundary_quantiles=(0.0, 0.5))


# Validation -------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m, x, y: rb.accuracy(m, x[:, 0], y), "x must be 2-D"),
        (lambda m, x, y: rb.accuracy(m, x, y[:-1]), "y must have shape"),
        (lambda m, x, y: rb.fgsm(m, x, y, epsilon=-0.1), "epsilon must be"),
        (lambda m, x, y: rb.pgd(m, x, y, epsilon=0.1, norm="l1"), "'l1'"),
        (lambda m, x, y: rb.pgd(m, x, y, epsilon=0.1, restarts=0), "restarts"),
        (lambda m, x, y: rb.fgsm(m, x, y, epsilon=0.1, clip=(1.0, 0.0)), "clip"),
        (lambda m, x, y: rb.attack_accuracy(m, x, y, attack="cw", epsilons=[0]), "cw"),
        (
            lambda m, x, y: rb.gaussian_noise_accuracy(m, x, y, sigmas=[np.nan]),
            "sigmas",
        ),
        (
            lambda m, x, y: rb.boundary_stratified_accuracy(
                m, x, y, np.ones(len(y)), quantiles=(0.2, 1.0)
            ),
            "quantiles",
        ),
        (lambda m, x, y: rb.expected_calibration_error(x, y), "probs"),
        (lambda m, x, y: rb.apply_temperature(x, 0.0), "temperature"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(moons, call, match):
    with pytest.raises(ValueError, match=match):
        call(moons["model"], moons["x_test"], moons["y_test"])


def test_table_has_pandas_string_columns(moons):
    data = {key: moons[key] for key in ("x_test", "y_test", "x_val", "y_val")}
    table = rb.evaluate_robustness(
        moons["model"], data, settings=FAST, attacked_points=64
    )
    assert pd.api.types.is_string_dtype(table["attack"])
    assert pd.api.types.is_string_dtype(table["metric"])


# Row builders, one metric family at a time ---------------------------------------


def _sign_model():
    """Logits ``(x, -x)`` of a 1-D input: class 0 exactly when x > 0."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2)])
    model.set_weights([np.array([[1.0, -1.0]], np.float32), np.zeros(2, np.float32)])
    return model


SIGN_DATA = {
    "x_test": np.array([[1.0], [2.0], [-1.0], [-3.0]]),
    "y_test": np.array([0, 0, 0, 1]),
    "x_val": np.array([[1.0], [-1.0]]),
    "y_val": np.array([0, 1]),
    "boundary_distance": np.array([1.0, 2.0, 3.0, 4.0]),
    "data_std": 2.0,
}


def test_clean_rows_hold_the_test_accuracy():
    settings = rb.RobustnessSettings()
    inputs = prepare(SIGN_DATA, settings)
    # x = -1 is predicted as class 1 but labelled 0
    assert rb_rows.clean_rows(_sign_model(), inputs, settings) == [
        ("clean", 0.0, "accuracy", 0.75)
    ]


def test_boundary_rows_bin_accuracy_and_upper_distance_in_std_units():
    settings = rb.RobustnessSettings(boundary_quantiles=(0.0, 0.5, 1.0))
    inputs = prepare(SIGN_DATA, settings)
    # edges 1, 2.5, 4: the near bin holds the two correct points
    assert rb_rows.boundary_rows(_sign_model(), inputs, settings) == [
        ("clean", 0.5, "accuracy_boundary_bin", 1.0),
        ("clean", 0.5, "boundary_distance_upper", 1.25),
        ("clean", 1.0, "accuracy_boundary_bin", 0.5),
        ("clean", 1.0, "boundary_distance_upper", 2.0),
        # error 0 near the boundary, 0.5 far from it
        ("none", np.nan, "error_near_minus_far", -0.5),
    ]


def test_attack_rows_at_zero_radius_are_the_probe_accuracy():
    # epsilon 0 is added to a grid without it
    settings = rb.RobustnessSettings(epsilons=(0.5,), pgd_steps=2, pgd_restarts=1)
    inputs = prepare({**SIGN_DATA, "probe_index": np.array([0, 2])}, settings)
    rows = rb_rows.attack_rows(_sign_model(), inputs, settings)
    zero = [row for row in rows if row[1] == 0.0]
    attacks = (*names.GRADIENT_ATTACKS, *names.WORST_CASE.values())
    expected = {"accuracy": 0.5, "clean_accuracy": 0.5, "flip_rate": 0.0}
    expected["accuracy_drop"] = 0.0
    assert zero == [(a, 0.0, m, v) for a in attacks for m, v in expected.items()]
    assert {row[1] for row in rows} == {0.0, 0.5}


def test_outcome_rows_by_hand():
    rows = rb_rows.outcome_rows(
        "pgd_linf", {0.0: [1, 1, 0, 0], 0.2: [0, 1, 1, 0]}, [1, 1, 0, 0]
    )
    table = {(e, m): v for _, e, m, v in rows}
    assert table[(0.0, "accuracy")] == table[(0.0, "clean_accuracy")] == 0.5
    assert table[(0.0, "flip_rate")] == 0.0
    # one of the two clean-correct points flips; a clean-wrong point turning
    # correct raises accuracy but is no flip
    assert table[(0.2, "accuracy")] == 0.5
    assert table[(0.2, "flip_rate")] == 0.5
    assert table[(0.2, "accuracy_drop")] == 0.0
    nothing_correct = rb_rows.outcome_rows(
        "gaussian", {0.5: [0.0, 0.5]}, [False, False]
    )
    assert np.isnan(dict((m, v) for _, _, m, v in nothing_correct)["flip_rate"])
    with pytest.raises(ValueError, match="same points"):
        rb_rows.outcome_rows("pgd_l2", {0.1: [1, 0]}, [True])


def test_worst_case_is_per_point_over_the_attacks_of_each_norm():
    outcomes = {
        "fgsm_linf": {0.1: [1, 1, 1, 0]},
        "pgd_margin_linf": {0.1: [1, 1, 0, 1]},
        "transfer_from_relu": {0.1: [1, 0, 1, 1]},
        "pgd_l2": {0.1: [0, 1, 1, 1]},
    }
    worst = rb_rows.worst_case_outcomes(
        {a: {e: np.array(v, bool) for e, v in o.items()} for a, o in outcomes.items()}
    )
    assert worst["worst_case_linf"][0.1].tolist() == [True, False, False, False]
    assert worst["worst_case_l2"][0.1].tolist() == [False, True, True, True]
    # the mean of per-attack accuracies (0.75 each) would hide this
    assert worst["worst_case_linf"][0.1].mean() == 0.25


def test_min_distance_rows_are_over_correctly_classified_points_only():
    # sign model: the correct points 1, 2 and -3 are 1, 2 and 3 from the
    # boundary x = 0, in std units (2) 0.5, 1 and 1.5; x = -1 is misclassified
    settings = rb.RobustnessSettings(min_distance_bisections=12)
    inputs = prepare(SIGN_DATA, settings)
    rows = dict(
        (m, v)
        for _, _, m, v in rb_rows.min_distance_rows(_sign_model(), inputs, settings)
    )
    assert rows["min_adv_distance_median"] == pytest.approx(1.0, abs=1e-3)
    assert rows["min_adv_distance_q25"] == pytest.approx(0.75, abs=1e-3)
    assert rows["min_adv_distance_q75"] == pytest.approx(1.25, abs=1e-3)


def test_gaussian_rows_flip_nothing_at_sigma_zero():
    settings = rb.RobustnessSettings(sigmas=(2.0,), n_draws=3)
    inputs = prepare(SIGN_DATA, settings)
    rows = {
        (e, m): v
        for _, e, m, v in rb_rows.gaussian_rows(_sign_model(), inputs, settings)
    }
    assert rows[(0.0, "accuracy")] == rows[(0.0, "clean_accuracy")] == 0.75
    assert rows[(0.0, "flip_rate")] == 0.0
    assert rows[(2.0, "clean_accuracy")] == 0.75
    assert rows[(2.0, "flip_rate")] > 0


def test_prepare_rejects_settings_of_another_type():
    with pytest.raises(ValueError, match="RobustnessSettings"):
        prepare(SIGN_DATA, {"seed": 0})


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_outcomes_only_pgd_stops_at_the_first_fooling_iterate(moons, norm, monkeypatch):
    from geoctx import autodiff
    from geoctx.robustness.gradient import _pgd_search

    model, x, y = moons["model"], moons["x_test"], moons["y_test"]
    epsilon = np.linspace(0.05, 0.8, len(x))
    rows = []
    gradient = autodiff.logits_and_input_gradient

    def counted(model, x, y, **options):
        rows.append(len(x))
        return gradient(model, x, y, **options)

    monkeypatch.setattr(autodiff, "logits_and_input_gradient", counted)
    options = {"norm": norm, "steps": 6, "step_size": epsilon / 3, "restarts": 3}
    options |= {"bounds": None, "batch_size": 4096}  # one call a step, as evaluated
    full = _pgd_search(model, x, y, epsilon, rng=np.random.default_rng(5), **options)
    full_rows, rows[:] = sum(rows), []
    short = _pgd_search(
        model,
        x,
        y,
        epsilon,
        rng=np.random.default_rng(5),
        outcomes_only=True,
        **options,
    )
    assert full.fooled.sum() > 20 and not full.fooled.all()
    np.testing.assert_array_equal(short.fooled, full.fooled)
    kept = ~full.fooled  # points never fooled keep their highest-loss example
    np.testing.assert_array_equal(short.x[kept], full.x[kept])
    np.testing.assert_array_equal(short.loss[kept], full.loss[kept])
    # a fooled point's example fools the model, inside its ball
    predicted = np.argmax(model.predict(short.x, verbose=0), axis=1)
    assert np.all(predicted[full.fooled] != y[full.fooled])
    distance = short.x.astype(np.float64) - x
    size = (
        np.abs(distance).max(1) if norm == "linf" else np.linalg.norm(distance, axis=1)
    )
    assert np.all(size <= epsilon * (1 + 1e-5) + 1e-6)
    # points fooled by an iterate stop being attacked, so every step costs less
    assert len(rows) == 6 and rows[-1] < rows[0] and sum(rows) < full_rows

"""geoctx's FGSM and PGD against an independent implementation.

Reference: IBM's Adversarial Robustness Toolbox (ART) 1.20.1
(``adversarial-robustness-toolbox`` on PyPI, pinned in requirements-dev.txt),
its ``FastGradientMethod`` and ``ProjectedGradientDescent`` run through
``TensorFlowV2Classifier`` on the very Keras 3 model file geoctx attacks.

Both sides attack real models: a sigmoid and a ReLU MLP built by
:func:`geoctx.models.build_mlp`, trained a few seeded epochs on two moons
from :mod:`geoctx.datasets`, saved to ``.keras`` and loaded back.

Tolerances:

- FGSM is deterministic, so the adversarial points must agree to float32
  rounding (1e-5 in input units) and the accuracies to one probe point.
- PGD starts at random points, and geoctx's version also keeps the worst
  case over the clean point, the FGSM point and every iterate where ART
  keeps only the last iterate of each restart, so the two robust
  accuracies may differ by chance and geoctx may be slightly stronger. They
  must agree within a binomial 3-sigma bound on the probe size n,
  ``3 * sqrt(p (1 - p) / n)`` with p the mean of the two accuracies (about
  0.07 for n = 400 at p = 0.3).
"""

import keras
import numpy as np
import pytest

from geoctx import datasets, models, robustness

art_classification = pytest.importorskip("art.estimators.classification")
art_evasion = pytest.importorskip("art.attacks.evasion")

pytestmark = pytest.mark.slow

STEPS = 20
RESTARTS = 2
STEP_SIZE_FACTOR = 2.5
PROBE_SIZE = 400
ART_NORMS = {"linf": np.inf, "l2": 2}


@pytest.fixture(scope="module", params=["sigmoid", "relu"])
def saved_model(request, tmp_path_factory):
    """A seeded MLP trained on standardised moons, saved and loaded back."""
    arrays = datasets.split_and_standardize(
        datasets.moons(n_samples=1500, noise=0.15, seed=0),
        test_fraction=0.3,
        validation_fraction=0.1,
        probe_points=PROBE_SIZE,
        seed=0,
    )
    keras.utils.set_random_seed(0)
    model = models.build_mlp(2, 2, activation=request.param, width=32, depth=2)
    model.compile(
        optimizer=keras.optimizers.Adam(0.03),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(arrays["X_train"], arrays["y_train"], epochs=20, batch_size=64, verbose=0)
    path = tmp_path_factory.mktemp(request.param) / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    probe = arrays["probe_index"]
    x, y = arrays["X_test"][probe], arrays["y_test"][probe]
    assert len(y) == PROBE_SIZE
    assert robustness.accuracy(loaded, x, y) > 0.9, "the model did not learn"
    return loaded, x, y


def _art_classifier(model):
    return art_classification.TensorFlowV2Classifier(
        model=model,
        nb_classes=2,
        input_shape=(2,),
        loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )


def _three_sigma(p_a, p_b, n):
    p = (p_a + p_b) / 2
    return 3 * np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("epsilon", [0.1, 0.3])
def test_fgsm_matches_art(saved_model, epsilon):
    model, x, y = saved_model
    reference = art_evasion.FastGradientMethod(
        _art_classifier(model), norm=np.inf, eps=epsilon, batch_size=len(x)
    ).generate(x, y=y)
    ours = robustness.fgsm(model, x, y, epsilon=epsilon)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-5)
    ours_accuracy = robustness.attack_accuracy(
        model, x, y, attack="fgsm_linf", epsilons=[epsilon]
    )[epsilon]
    assert ours_accuracy == pytest.approx(
        robustness.accuracy(model, reference, y), abs=1 / len(y)
    )
    assert ours_accuracy < robustness.accuracy(model, x, y), "FGSM changed nothing"


@pytest.mark.parametrize(
    ("norm", "epsilon"),
    [("linf", 0.1), ("linf", 0.3), ("l2", 0.15), ("l2", 0.4)],
)
def test_pgd_matches_art(saved_model, norm, epsilon):
    model, x, y = saved_model
    # ART draws its random starts from numpy's global generator.
    np.random.seed(0)  # noqa: NPY002
    x_art = art_evasion.ProjectedGradientDescent(
        _art_classifier(model),
        norm=ART_NORMS[norm],
        eps=epsilon,
        eps_step=STEP_SIZE_FACTOR * epsilon / STEPS,
        max_iter=STEPS,
        num_random_init=RESTARTS,
        batch_size=len(x),
        verbose=False,
    ).generate(x, y=y)
    reference = robustness.accuracy(model, x_art, y)
    ours = robustness.attack_accuracy(
        model,
        x,
        y,
        attack=f"pgd_{norm}",
        epsilons=[epsilon],
        steps=STEPS,
        restarts=RESTARTS,
        step_size_factor=STEP_SIZE_FACTOR,
        rng=0,
    )[epsilon]
    x_ours = robustness.pgd(
        model,
        x,
        y,
        epsilon=epsilon,
        norm=norm,
        steps=STEPS,
        restarts=RESTARTS,
        step_size=STEP_SIZE_FACTOR * epsilon / STEPS,
        rng=0,
    )
    clean = robustness.accuracy(model, x, y)
    assert reference < clean, "the reference attack changed nothing"
    assert abs(ours - reference) <= _three_sigma(ours, reference, len(y))
    assert abs(robustness.accuracy(model, x_ours, y) - reference) <= _three_sigma(
        ours, reference, len(y)
    )
    ord_ = np.inf if norm == "linf" else 2
    assert np.linalg.norm(x_ours - x, ord=ord_, axis=1).max() <= epsilon * (1 + 1e-5)

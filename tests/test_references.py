"""The geometry instrument against published results and reference code.

Each test names its reference and its tolerance. The unit tests in
test_geometry.py check analytic cases; these check that the instrument
reproduces what other people's code or papers found on small cases.
"""

import keras
import numpy as np
import pytest
from sklearn.datasets import make_swiss_roll

from geoctx import datasets, geometry, models, robustness, training

skdim = pytest.importorskip("skdim")


# TwoNN against scikit-dimension ----------------------------------------------------


def _rotated_ball(n, dim, ambient, seed):
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(ambient, ambient)))[0][:dim]
    return skdim.datasets.hyperBall(n, dim, random_state=seed) @ basis


MANIFOLDS = {
    # name: (points, intrinsic dimension)
    "sphere S2 in R3": (lambda: skdim.datasets.hyperSphere(2000, 2, random_state=0), 2),
    "swiss roll in R3": (lambda: make_swiss_roll(2000, random_state=0)[0], 2),
    "twin peaks in R4": (
        lambda: skdim.datasets.hyperTwinPeaks(2000, 3, random_state=0),
        3,
    ),
    "5-ball rotated into R20": (lambda: _rotated_ball(2000, 5, 20, 0), 5),
    "10-ball in R10": (lambda: skdim.datasets.hyperBall(3000, 10, random_state=0), 10),
}


@pytest.mark.parametrize("discard_fraction", [0.1, 0.2])
@pytest.mark.parametrize("name", MANIFOLDS)
def test_twonn_equals_scikit_dimension(name, discard_fraction):
    """Reference: scikit-dimension 0.5.0, ``skdim.id.TwoNN`` (linear fit).

    Both implement Facco et al. (2017)'s least-squares fit through the
    origin, so on points without duplicates they must agree to floating
    point (relative 1e-9); both must also be within 10% of the manifold's
    known dimension (Facco et al. report a few percent at n ~ 2000).
    """
    make, dimension = MANIFOLDS[name]
    X = make()
    ours = geometry.twonn_dimension(X, discard_fraction=discard_fraction)
    reference = skdim.id.TwoNN(discard_fraction=discard_fraction).fit(X).dimension_
    assert ours == pytest.approx(reference, rel=1e-9)
    assert ours == pytest.approx(dimension, rel=0.10)


def test_twonn_with_duplicates_equals_scikit_dimension_on_distinct_points():
    """Reference: scikit-dimension 0.5.0, ``skdim.id.TwoNN``.

    The two differ on purpose when rows repeat: geoctx keeps one copy of
    each repeated row, scikit-dimension drops every point whose nearest
    neighbour is at distance 0 (with a warning). geoctx on the data with
    duplicates must equal scikit-dimension on the distinct rows (relative
    1e-9).
    """
    X = skdim.datasets.hyperBall(1000, 3, random_state=0)
    with_duplicates = np.r_[X, X[:50]]
    reference = skdim.id.TwoNN().fit(np.unique(with_duplicates, axis=0)).dimension_
    assert geometry.twonn_dimension(with_duplicates) == pytest.approx(
        reference, rel=1e-9
    )


# Topology through trained networks ------------------------------------------------

TOPOLOGY_SEEDS = (0, 1, 3)


def _train_until_fit(x, y, *, activation, seed, chunk=20, max_epochs=120):
    """A 6 x 16 MLP trained in chunks of epochs until 99% training accuracy."""
    training.configure_backend(threads=1, seed=seed)
    model = models.build_mlp(2, 2, activation=activation, width=16, depth=6)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    for _ in range(max_epochs // chunk):
        model.fit(x, y, epochs=chunk, batch_size=128, verbose=0)
        if robustness.accuracy(model, x, y) >= 0.99:
            break
    return model


def _loops_vanish_at(x, y, model):
    """First layer (0 = input) after which no class has a loop (summed Betti-1 0).

    ``depth + 1`` if the last hidden layer still has one.
    """
    hidden = models.layer_outputs_model(model).predict(x, verbose=0)[:-1]
    loops = [
        sum(b1 for _, b1 in geometry.betti_numbers_per_class(h, y).values())
        for h in [x, *hidden]
    ]
    return max(i for i, b1 in enumerate(loops) if b1 > 0) + 1


@pytest.fixture(scope="module")
def disks_in_holes():
    data = datasets.disks_in_holes(n_samples=1200, holes=3, seed=0)
    x = (data.X - data.X.mean(axis=0)) / data.X.std()
    return x.astype(np.float32), data.y


def test_disks_in_holes_input_topology(disks_in_holes):
    """The instrument reads the input as Naitzat et al. (2020)'s D-I setting:
    three disks (Betti (3, 0)) and three annuli around them, whose three
    loops are seen (Betti-1 = 3); the annuli are 0.2 apart, within the
    neighbour graph's reach, so they count as one component."""
    x, y = disks_in_holes
    assert geometry.betti_numbers_per_class(x, y) == {0: (3, 0), 1: (1, 3)}


@pytest.mark.slow
def test_relu_removes_loops_earlier_than_tanh(disks_in_holes):
    """Reference: Naitzat, Zhitnikov & Lim (2020), "Topology of deep neural
    networks" (JMLR 21): trained ReLU networks simplify the topology of each
    class faster through depth than tanh networks (tanh is a homeomorphism,
    so only the linear maps can change topology; ReLU folds).

    Small version: 6 x 16 MLPs trained to >= 97% training accuracy on the
    disks in holes, three seeds per activation, TensorFlow ops deterministic
    (measured: loops vanish at layers 5, 4, 5 for ReLU and 7, 7, 6 for tanh).
    Tolerance: averaged over
    the seeds, the layer from which no class has a loop comes at least one
    layer earlier for ReLU than for tanh.
    """
    x, y = disks_in_holes
    vanish = {}
    for activation in ("relu", "tanh"):
        layers = []
        for seed in TOPOLOGY_SEEDS:
            model = _train_until_fit(x, y, activation=activation, seed=seed)
            assert robustness.accuracy(model, x, y) >= 0.97, (activation, seed)
            layers.append(_loops_vanish_at(x, y, model))
        vanish[activation] = layers
    assert np.mean(vanish["relu"]) <= np.mean(vanish["tanh"]) - 1, vanish


# Trajectory length through random tanh networks -----------------------------------

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(101)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _mean_field_chi1(weight_variance):
    """Poole et al. (2016): chi_1 = sigma_w^2 E[tanh'(sqrt(q*) z)^2], sigma_b = 0.

    ``q*`` is the fixed point of ``q -> sigma_w^2 E[tanh(sqrt(q) z)^2]``,
    ``z`` standard normal (Gauss-Hermite quadrature, 101 nodes).
    """
    q = 1.0
    for _ in range(2000):
        q = weight_variance * np.sum(_WEIGHTS * np.tanh(np.sqrt(q) * _NODES) ** 2)
    slope = 1.0 / np.cosh(np.sqrt(q) * _NODES) ** 2
    return weight_variance * np.sum(_WEIGHTS * slope**2)


def _length_ratios(weight_variance, *, width, depth, n_points, seed):
    """Trajectory length ratio of a circle at each layer of a random tanh MLP.

    Weights are N(0, sigma_w^2 / fan_in), biases 0. The circle lies in a
    random plane of R^width, centred at 0, with radius sqrt(width) (so
    every point has squared norm 1 per unit).
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(500, width))
    circle = geometry.input_circle(X - X.mean(axis=0), n_points=n_points)
    circle *= np.sqrt(width) / np.linalg.norm(circle[0])
    h, ratios = circle, []
    for _ in range(depth):
        kernel = rng.normal(scale=np.sqrt(weight_variance / width), size=(width,) * 2)
        h = np.tanh(h @ kernel)
        ratios.append(geometry.trajectory_length_ratio(circle, h))
    return np.array(ratios)


def _per_layer_factor(ratios, first_layer):
    """exp of the least-squares slope of log(ratio) against depth."""
    layers = np.arange(first_layer, len(ratios) + 1)
    return float(np.exp(np.polyfit(layers, np.log(ratios[first_layer - 1 :]), 1)[0]))


WIDTH, DEPTH, N_POINTS, SEEDS = 150, 10, 8000, (0, 1, 2)


@pytest.mark.slow
@pytest.mark.parametrize("weight_variance", [0.25, 0.5, 0.8, 4.0, 16.0])
def test_trajectory_length_follows_mean_field_rate(weight_variance):
    """References: Poole et al. (2016), Raghu et al. (2017).

    In a wide random tanh network with zero biases a short piece of curve
    is stretched by sqrt(chi_1) per layer once the preactivations settle at
    their fixed-point variance (Poole et al.), so a closed curve's length
    grows exponentially with depth in the chaotic regime (chi_1 > 1,
    Raghu et al.'s trajectory growth) and shrinks exponentially in the
    ordered regime (sigma_w^2 < 1, where q* = 0 and sqrt(chi_1) = sigma_w).
    Averaged over three networks of width 150, the ratio must be strictly
    monotone through depth (increasing when chi_1 > 1, decreasing
    otherwise) and the per-layer factor, fitted on layers 3-10, must be
    within 5% of sqrt(chi_1).
    """
    ratios = np.mean(
        [
            _length_ratios(
                weight_variance, width=WIDTH, depth=DEPTH, n_points=N_POINTS, seed=s
            )
            for s in SEEDS
        ],
        axis=0,
    )
    rate = np.sqrt(_mean_field_chi1(weight_variance))
    steps = np.diff(ratios[1:])
    if rate > 1:
        assert np.all(steps > 0), ratios
        assert ratios[-1] > 2.0
    else:
        assert np.all(steps < 0), ratios
        assert ratios[-1] < 0.5
    assert _per_layer_factor(ratios, 3) == pytest.approx(rate, rel=0.05)


def test_mean_field_rate_has_known_values():
    """Poole et al. (2016): for tanh with sigma_b = 0, q* = 0 and
    chi_1 = sigma_w^2 when sigma_w^2 <= 1; chaos (chi_1 > 1) beyond."""
    assert _mean_field_chi1(0.5) == pytest.approx(0.5, rel=1e-6)
    assert _mean_field_chi1(4.0) > 1.0
    assert _mean_field_chi1(16.0) > _mean_field_chi1(4.0)


@pytest.mark.slow
def test_trajectory_sampling_is_fine_enough():
    """The chaotic case's curve is sampled finely enough: doubling the
    points changes the deepest layer's length ratio by under 1%
    (the rule geometry.curve_rtol applies)."""
    kwargs = {"width": WIDTH, "depth": DEPTH, "seed": 0}
    coarse = _length_ratios(16.0, n_points=N_POINTS, **kwargs)[-1]
    fine = _length_ratios(16.0, n_points=2 * N_POINTS, **kwargs)[-1]
    assert coarse == pytest.approx(fine, rel=0.01)

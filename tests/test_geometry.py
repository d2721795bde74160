"""Tests for geoctx.geometry: hand-computable answers, trusted references
(scikit-learn, closed forms) and properties shared by every metric."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness as sklearn_trustworthiness

from geoctx import geometry as geo
from geoctx.config import LAYER_METRICS

# --------------------------------------------------------------------------
# data whose answer is known
# --------------------------------------------------------------------------


def _orthogonal(rng, rows, cols):
    """A (rows, cols) matrix with orthonormal columns (rows >= cols)."""
    q, _ = np.linalg.qr(rng.normal(size=(rows, cols)))
    return q


def _circle(rng, n, centre=(0.0, 0.0), radius=1.0):
    t = rng.uniform(0, 2 * np.pi, n)
    return np.asarray(centre) + radius * np.c_[np.cos(t), np.sin(t)]


def _disk(rng, n):
    r = np.sqrt(rng.uniform(size=n))
    t = rng.uniform(0, 2 * np.pi, n)
    return np.c_[r * np.cos(t), r * np.sin(t)]


def _layer_data(seed, n=60):
    """Inputs, a ReLU layer with dead regions (duplicate rows) and labels."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    H = np.maximum(0.0, X @ rng.normal(size=(2, 12)) - 0.8)
    y = (X[:, 0] > np.median(X[:, 0])).astype(int)
    return X, H, y


def _independent_data(seed, n=60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    H = rng.normal(size=(n, 7))
    y = rng.permutation(np.repeat([0, 1, 2], n // 3))
    return X, H, y


DATASETS = {
    "relu-seed0": lambda: _layer_data(0),
    "relu-seed1": lambda: _layer_data(1),
    "tanh": lambda: (lambda X, H, y: (X, np.tanh(3 * H), y))(*_layer_data(2)),
    "independent": lambda: _independent_data(3),
}


# --------------------------------------------------------------------------
# properties of every per-layer metric
# --------------------------------------------------------------------------

INF = math.inf


def _summed_betti(H, y):
    return np.sum(list(geo.betti_numbers_per_class(H, y).values()), axis=0)


# Each per-layer metric on its own, as ``metric(X, H, y, *, n_neighbors) -> float``.
SINGLE = {
    "distance_spearman": lambda X, H, y, *, n_neighbors=10: geo.distance_spearman(X, H),
    "distance_contrast": lambda X, H, y, *, n_neighbors=10: geo.distance_contrast(H),
    "knn_overlap": lambda X, H, y, *, n_neighbors=10: geo.knn_overlap(
        X, H, n_neighbors=n_neighbors
    ),
    "trustworthiness": lambda X, H, y, *, n_neighbors=10: geo.trustworthiness(
        X, H, n_neighbors=n_neighbors
    ),
    "continuity": lambda X, H, y, *, n_neighbors=10: geo.continuity(
        X, H, n_neighbors=n_neighbors
    ),
    "linear_cka": lambda X, H, y, *, n_neighbors=10: geo.linear_cka(X, H),
    "twonn_dimension": lambda X, H, y, *, n_neighbors=10: geo.twonn_dimension(H),
    "effective_rank": lambda X, H, y, *, n_neighbors=10: geo.effective_rank(H),
    "betti_0": lambda X, H, y, *, n_neighbors=10: float(_summed_betti(H, y)[0]),
    "betti_1": lambda X, H, y, *, n_neighbors=10: float(_summed_betti(H, y)[1]),
    "linear_probe_accuracy": lambda X, H, y, *, n_neighbors=10: (
        geo.linear_probe_accuracy(H, y)
    ),
}

# Closed ranges each metric promises; a new metric must declare its own.
BOUNDS = {
    "distance_spearman": (-1.0, 1.0),
    "distance_contrast": (0.0, INF),
    "knn_overlap": (0.0, 1.0),
    "trustworthiness": (0.0, 1.0),
    "continuity": (0.0, 1.0),
    "linear_cka": (0.0, 1.0),
    "twonn_dimension": (0.0, INF),
    "effective_rank": (1.0, INF),  # upper bound min(n - 1, d) checked below
    "betti_0": (1.0, INF),
    "betti_1": (0.0, INF),
    "linear_probe_accuracy": (0.0, 1.0),
}

# A standardized-feature probe is not rotation invariant; everything else is.
NOT_ROTATION_INVARIANT = {"linear_probe_accuracy"}


def test_all_metrics_returns_the_listed_metrics_in_order():
    assert set(BOUNDS) == set(SINGLE) == set(LAYER_METRICS)
    X, H, y = _layer_data(0)
    assert list(geo.all_metrics(X, H, y)) == list(LAYER_METRICS)


@pytest.mark.parametrize("data", DATASETS)
def test_all_metrics_equals_each_metric_alone(data):
    X, H, y = DATASETS[data]()
    shared = geo.all_metrics(X, H, y, n_neighbors=5)
    for name, metric in SINGLE.items():
        assert shared[name] == pytest.approx(
            metric(X, H, y, n_neighbors=5), rel=1e-12
        ), name


def test_all_metrics_keeps_an_input_only_for_that_input_and_k():
    # what depends on X alone is kept between calls: every call must still
    # give each metric's own value exactly, whichever X and n_neighbors came before
    calls = [
        (*_layer_data(0)[:2], 5),
        (_layer_data(0)[0], _layer_data(1)[1], 5),
        (*_layer_data(0)[:2], 7),
        (*_independent_data(3)[:2], 5),
        (*_layer_data(0)[:2], 5),
    ]
    y = np.repeat([0, 1], 30)
    for X, H, k in calls:
        shared = geo.all_metrics(X, H, y, n_neighbors=k)
        for name, metric in SINGLE.items():
            assert shared[name] == metric(X, H, y, n_neighbors=k), name


@pytest.mark.parametrize("seed", range(4))
def test_distance_spearman_is_scipys_spearmanr_exactly(seed):
    # reference: scipy.stats.spearmanr of the pdist distances, ties included
    # (points on an integer grid share many distances); exact
    from scipy.spatial.distance import pdist
    from scipy.stats import spearmanr

    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, size=(40, 2)).astype(float)
    H = np.c_[X, rng.normal(size=40)] if seed % 2 else rng.normal(size=(40, 5))
    expected = spearmanr(pdist(X), pdist(H)).statistic
    assert geo.distance_spearman(X, H) == expected
    assert (
        geo.all_metrics(X, H, np.arange(40) % 2, n_neighbors=5)["distance_spearman"]
        == expected
    )


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("name", list(SINGLE))
def test_metric_within_bounds(name, data):
    X, H, y = DATASETS[data]()
    value = SINGLE[name](X, H, y, n_neighbors=5)
    low, high = BOUNDS[name]
    assert low <= value <= high
    if name == "effective_rank":
        assert value <= min(H.shape[0] - 1, H.shape[1]) + 1e-9
    if name.startswith("betti_"):
        assert value == int(value)


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("name", list(SINGLE))
def test_metric_invariant_to_point_order(name, data):
    X, H, y = DATASETS[data]()
    perm = np.random.default_rng(7).permutation(X.shape[0])
    metric = SINGLE[name]
    assert metric(X[perm], H[perm], y[perm], n_neighbors=5) == pytest.approx(
        metric(X, H, y, n_neighbors=5), rel=1e-10, abs=1e-12
    )


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("name", list(SINGLE))
def test_metric_invariant_to_similarity_of_layer(name, data):
    X, H, y = DATASETS[data]()
    rng = np.random.default_rng(11)
    metric = SINGLE[name]
    expected = metric(X, H, y, n_neighbors=5)
    # A power-of-two scale and translation leave every metric exactly alone.
    assert metric(X, 8.0 * H + 3.0, y, n_neighbors=5) == pytest.approx(
        expected, rel=1e-10
    )
    if name not in NOT_ROTATION_INVARIANT:
        Q = _orthogonal(rng, H.shape[1], H.shape[1])
        assert metric(X, H @ Q, y, n_neighbors=5) == pytest.approx(expected, rel=1e-9)


def test_probe_is_not_rotation_invariant_as_declared():
    # Keeps NOT_ROTATION_INVARIANT honest: standardising per feature after
    # a rotation that mixes a huge and a tiny feature changes the probe.
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 50)
    H = np.c_[rng.normal(size=100) * 100, y + 0.3 * rng.normal(size=100)]
    Q = _orthogonal(rng, 2, 2)
    assert geo.linear_probe_accuracy(H, y) != geo.linear_probe_accuracy(H @ Q, y)


# --------------------------------------------------------------------------
# distance preservation, neighbourhoods, CKA under isometries
# --------------------------------------------------------------------------

PRESERVATION = {
    "distance_spearman": geo.distance_spearman,
    "knn_overlap": lambda X, H: geo.knn_overlap(X, H, n_neighbors=7),
    "trustworthiness": lambda X, H: geo.trustworthiness(X, H, n_neighbors=7),
    "continuity": lambda X, H: geo.continuity(X, H, n_neighbors=7),
    "linear_cka": geo.linear_cka,
}


@pytest.mark.parametrize("name", PRESERVATION)
@pytest.mark.parametrize("transform", ["identity", "rotation", "embedding"])
def test_isometry_preserves_everything(name, transform):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 4))
    if transform == "identity":
        H = X.copy()
    elif transform == "rotation":
        H = X @ _orthogonal(rng, 4, 4)
    else:
        H = X @ _orthogonal(rng, 30, 4).T
    assert PRESERVATION[name](X, H) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("name", PRESERVATION)
def test_independent_noise_is_far_from_preserving(name):
    rng = np.random.default_rng(6)
    X, H = rng.normal(size=(150, 4)), rng.normal(size=(150, 4))
    assert PRESERVATION[name](X, H) < 0.7


def test_identity_with_tied_distances_keeps_neighbourhoods():
    # Integer grid: many exactly tied distances, shared by both spaces.
    X = np.array([[i, j] for i in range(6) for j in range(5)], dtype=float)
    assert geo.knn_overlap(X, X, n_neighbors=5) == pytest.approx(1.0, abs=1e-12)
    assert geo.trustworthiness(X, X, n_neighbors=5) == pytest.approx(1.0, abs=1e-12)
    assert geo.continuity(X, X, n_neighbors=5) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("k", [1, 3, 10, 24])
def test_trustworthiness_matches_sklearn(k):
    rng = np.random.default_rng(k)
    X = rng.normal(size=(50, 6))
    H = np.tanh(X @ rng.normal(size=(6, 3)))
    expected = sklearn_trustworthiness(X, H, n_neighbors=k)
    assert geo.trustworthiness(X, H, n_neighbors=k) == pytest.approx(
        expected, abs=1e-12
    )
    swapped = sklearn_trustworthiness(H, X, n_neighbors=k)
    assert geo.continuity(X, H, n_neighbors=k) == pytest.approx(swapped, abs=1e-12)


def test_ties_in_layer_count_as_random_tie_breaking():
    # With no ties in X, fractional neighbour membership in H is the average
    # over random tie-breaks, i.e. over tiny random jitters of H.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(24, 2))
    H = np.round(X[:, :1] * 2)  # many points glued together
    k = 4
    jittered = [H + 1e-9 * rng.normal(size=H.shape) for _ in range(400)]
    trust = np.mean([sklearn_trustworthiness(X, J, n_neighbors=k) for J in jittered])
    overlap = np.mean([geo.knn_overlap(X, J, n_neighbors=k) for J in jittered])
    assert geo.trustworthiness(X, H, n_neighbors=k) == pytest.approx(trust, abs=5e-3)
    assert geo.knn_overlap(X, H, n_neighbors=k) == pytest.approx(overlap, abs=5e-3)


def test_knn_overlap_hand_example():
    # 1-D points 0, 1, 3, 7: nearest neighbours (k=1) are 1, 0, 1, 3.
    X = np.array([[0.0], [1.0], [3.0], [7.0]])
    # Layer moves the last point next to the first: 0, 1, 3, -0.5 has
    # nearest neighbours 3, 0, 1, 0, so points 0 and 3 lose theirs.
    H = np.array([[0.0], [1.0], [3.0], [-0.5]])
    assert geo.knn_overlap(X, H, n_neighbors=1) == pytest.approx(0.5)


small_clouds = arrays(
    np.float64,
    st.tuples(st.integers(5, 12), st.integers(1, 3)),
    elements=st.integers(0, 3).map(float),
)


@settings(max_examples=60, deadline=None)
@given(X=small_clouds, seed=st.integers(0, 2**16))
def test_neighbourhood_metrics_with_heavy_ties(X, seed):
    rng = np.random.default_rng(seed)
    H = np.maximum(0.0, X @ rng.integers(-1, 2, size=(X.shape[1], 2)))
    if np.ptp(X, axis=0).max() == 0 or np.ptp(H, axis=0).max() == 0:
        return  # degenerate clouds are tested separately
    k = 2
    perm = rng.permutation(X.shape[0])
    for metric in (geo.knn_overlap, geo.trustworthiness, geo.continuity):
        value = metric(X, H, n_neighbors=k)
        assert -1e-12 <= value <= 1 + 1e-12
        assert metric(X[perm], H[perm], n_neighbors=k) == pytest.approx(
            value, abs=1e-12
        )
        assert metric(X, X, n_neighbors=k) == pytest.approx(1.0, abs=1e-12)
    assert geo.continuity(X, H, n_neighbors=k) == geo.trustworthiness(
        H, X, n_neighbors=k
    )


def test_distance_spearman_detects_reordered_distances():
    X = np.array([[0.0], [1.0], [3.0]])  # distances 1, 3, 2
    H = np.array([[0.0], [3.0], [1.0]])  # distances 3, 1, 2: order reversed
    assert geo.distance_spearman(X, H) == pytest.approx(-1.0)
    H = np.array([[0.0], [2.0], [3.0]])  # distances 2, 3, 1
    assert geo.distance_spearman(X, H) == pytest.approx(0.5)  # 1 - 6*2/(3*8)


def test_distance_spearman_is_one_for_monotone_distortion():
    # Bending a segment into an arc shorter than a half circle maps every
    # distance d to the chord 2 sin(d / 2): non-linear, order-preserving.
    X = np.array([[0.0], [0.4], [1.3], [2.5], [3.0]])  # no tied distances
    H = np.c_[np.cos(X[:, 0]), np.sin(X[:, 0])]
    assert geo.distance_spearman(X, H) == pytest.approx(1.0)


def test_distance_contrast_hand_example_and_scale_invariance():
    line = np.array([[0.0], [1.0], [2.0]])  # distances 1, 1, 2
    assert geo.distance_contrast(line) == pytest.approx(1 / (2 * math.sqrt(2)))
    rng = np.random.default_rng(0)
    H = rng.normal(size=(40, 5))
    expected = geo.distance_contrast(H)
    assert geo.distance_contrast(7.3 * H - 2.0) == pytest.approx(expected, rel=1e-12)


def test_distance_contrast_falls_when_distances_concentrate():
    rng = np.random.default_rng(1)
    low_dim = rng.normal(size=(100, 2))
    high_dim = rng.normal(size=(100, 500))  # concentration of measure
    assert geo.distance_contrast(high_dim) < 0.1 < geo.distance_contrast(low_dim)


# --------------------------------------------------------------------------
# CKA
# --------------------------------------------------------------------------


def _cka_by_hsic(X, H):
    """Kornblith et al.'s HSIC form with an explicit centring matrix."""
    n = X.shape[0]
    C = np.eye(n) - np.ones((n, n)) / n
    Kx, Kh = C @ X @ X.T @ C, C @ H @ H.T @ C
    return np.sum(Kx * Kh) / (np.linalg.norm(Kx) * np.linalg.norm(Kh))


def test_linear_cka_hand_example():
    # One feature each: CKA is the squared Pearson correlation, here 0.8^2.
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    h = np.array([[0.0], [1.0], [3.0], [2.0]])
    assert geo.linear_cka(x, h) == pytest.approx(0.64)


@pytest.mark.parametrize("shape", [(40, 3, 5), (12, 30, 50)])  # both code paths
def test_linear_cka_matches_hsic_form(shape):
    n, dx, dh = shape
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, dx))
    H = np.tanh(X @ rng.normal(size=(dx, dh))) + 0.5 * rng.normal(size=(n, dh))
    assert geo.linear_cka(X, H) == pytest.approx(_cka_by_hsic(X, H), rel=1e-10)


def test_linear_cka_invariances_and_symmetry():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 4))
    H = np.maximum(0, X @ rng.normal(size=(4, 9)))
    value = geo.linear_cka(X, H)
    Q = _orthogonal(rng, 9, 9)
    assert geo.linear_cka(X, 3.7 * H @ Q + 1.0) == pytest.approx(value, rel=1e-10)
    assert geo.linear_cka(H, X) == pytest.approx(value, rel=1e-12)
    assert geo.linear_cka(X, rng.normal(size=(60, 9))) < 0.5


# --------------------------------------------------------------------------
# dimension and rank
# --------------------------------------------------------------------------


@pytest.mark.parametrize("d", [2, 5])
def test_twonn_recovers_linear_subspace_dimension(d):
    rng = np.random.default_rng(d)
    Z = rng.normal(size=(2000, d))
    H = Z @ _orthogonal(rng, 20, d).T
    assert geo.twonn_dimension(H) == pytest.approx(d, rel=0.15)


def test_twonn_is_the_linear_fit_through_the_origin():
    # Points 0, 1, 3, 7 on a line: (r1, r2) = (1, 3), (1, 2), (2, 3), (4, 6),
    # so the sorted mu are 1.5, 1.5, 2, 3 and F_i = i / 4. The last point
    # (F = 1) is always left out of the fit.
    H = np.array([[0.0], [1.0], [3.0], [7.0]])
    x = np.log([1.5, 1.5, 2.0])
    y = -np.log(1 - np.array([1, 2, 3]) / 4)
    expected = np.dot(x, y) / np.dot(x, x)
    assert geo.twonn_dimension(H, discard_fraction=0.0) == pytest.approx(expected)


def test_twonn_ignores_duplicate_rows():
    rng = np.random.default_rng(0)
    H = rng.normal(size=(300, 3))
    with_duplicates = np.r_[H, H[:100], H[:10]]
    assert geo.twonn_dimension(with_duplicates) == geo.twonn_dimension(H)


def test_twonn_lattice_is_degenerate():
    grid = np.array([[i, j] for i in range(8) for j in range(8)], dtype=float)
    with pytest.warns(RuntimeWarning, match="equidistant"):
        assert math.isnan(geo.twonn_dimension(grid, discard_fraction=0.0))


def test_effective_rank_of_equal_singular_values_is_their_number():
    rng = np.random.default_rng(0)
    n, d = 50, 6
    # Orthonormal columns orthogonal to the all-ones vector are centred.
    U = np.linalg.qr(np.c_[np.ones(n), rng.normal(size=(n, d))])[0][:, 1:]
    H = 4.0 * U @ _orthogonal(rng, d, d).T
    np.testing.assert_allclose(np.linalg.svd(H, compute_uv=False), 4.0)
    assert geo.effective_rank(H) == pytest.approx(d, rel=1e-12)
    assert geo.effective_rank(np.vstack([np.eye(3), -np.eye(3)])) == pytest.approx(3)


def test_effective_rank_of_rank_one_matrix_is_one():
    rng = np.random.default_rng(0)
    H = np.outer(rng.normal(size=40), rng.normal(size=10))
    assert geo.effective_rank(H) == pytest.approx(1.0, abs=1e-9)


def test_effective_rank_ignores_a_shared_offset():
    rng = np.random.default_rng(0)
    H = rng.normal(size=(200, 2)) @ np.diag([1.0, 1.0])
    shifted = np.c_[H, np.zeros((200, 3))] + 0.5  # sigmoid-like 0.5 mean
    assert geo.effective_rank(shifted) == pytest.approx(geo.effective_rank(H))


# --------------------------------------------------------------------------
# topology
# --------------------------------------------------------------------------


def test_betti_of_a_circle():
    rng = np.random.default_rng(0)
    assert geo.betti_numbers(_circle(rng, 200)) == (1, 1)


def test_betti_of_two_disjoint_circles():
    rng = np.random.default_rng(1)
    H = np.r_[_circle(rng, 150), _circle(rng, 150, centre=(3.0, 0.0))]
    assert geo.betti_numbers(H) == (2, 2)


def test_betti_of_a_filled_disk_subsampled():
    rng = np.random.default_rng(2)
    H = _disk(rng, 1000)  # more than max_points: farthest-point subsample
    assert geo.betti_numbers(H) == (1, 0)
    perm = rng.permutation(1000)
    assert geo.betti_numbers(H[perm]) == (1, 0)


def test_betti_of_circle_embedded_in_a_wide_layer():
    rng = np.random.default_rng(3)
    circle = _circle(rng, 250) @ _orthogonal(rng, 64, 2).T
    noisy = circle + 0.02 * rng.normal(size=circle.shape)
    assert geo.betti_numbers(noisy) == (1, 1)


def test_betti_loop_resolution_is_about_three_times_graph_neighbors():
    # Documented: a loop needs roughly 3 * graph_neighbors (= 42) points along it.
    def ring(n):
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return np.c_[np.cos(t), np.sin(t)]

    assert geo.betti_numbers(ring(60)) == (1, 1)
    assert geo.betti_numbers(ring(30)) == (1, 0)
    assert geo.betti_numbers(ring(30), graph_neighbors=6) == (1, 1)


def test_betti_ignores_duplicate_points():
    # Dead or saturated units map many inputs to one vector; without
    # de-duplication every point's neighbours would be its own copies.
    rng = np.random.default_rng(6)
    copies = np.repeat(_circle(rng, 200), 20, axis=0)
    assert geo.betti_numbers(copies, max_points=5000) == (1, 1)


def test_betti_random_subsample_uses_the_generator():
    rng = np.random.default_rng(4)
    H = _circle(rng, 600)
    assert geo.betti_numbers(H, subsample="random", rng=0) == (1, 1)
    assert geo.betti_numbers(H, max_points=20, subsample="random", rng=0) == (1, 0)


def test_betti_per_class():
    rng = np.random.default_rng(5)
    ring = _circle(rng, 200, radius=2.0)
    inside = 0.5 * _disk(rng, 300)
    H = np.r_[ring, inside]
    y = np.array(["ring"] * 200 + ["disk"] * 300)
    assert geo.betti_numbers_per_class(H, y) == {"disk": (1, 0), "ring": (1, 1)}


def test_betti_of_a_constant_cloud_is_one_point():
    assert geo.betti_numbers(np.ones((10, 3))) == (1, 0)


# --------------------------------------------------------------------------
# trajectory length and Jacobians
# --------------------------------------------------------------------------


def test_trajectory_length_ratio_identity_and_scaling():
    rng = np.random.default_rng(0)
    curve = rng.normal(size=(30, 3))
    assert geo.trajectory_length_ratio(curve, curve) == pytest.approx(1.0)
    assert geo.trajectory_length_ratio(curve, 2.5 * curve) == pytest.approx(2.5)


def test_trajectory_length_counts_the_closing_segment():
    triangle = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # 1 + sqrt2 + 1
    stretched = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]])  # 2 + sqrt5 + 1
    expected = (3 + math.sqrt(5)) / (2 + math.sqrt(2))
    assert geo.trajectory_length_ratio(triangle, stretched) == pytest.approx(expected)


def test_input_circle_lies_in_the_principal_plane():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)) @ np.diag([3.0, 2.0, 0.5, 0.2, 0.1]) + 1.0
    n_points = 64
    circle = geo.input_circle(X, n_points=n_points)
    pca = PCA(n_components=2).fit(X)
    offsets = circle - X.mean(axis=0)
    in_plane = offsets @ pca.components_.T @ pca.components_
    np.testing.assert_allclose(offsets, in_plane, atol=1e-10)
    radius = np.std(X @ pca.components_[0])
    np.testing.assert_allclose(np.linalg.norm(offsets, axis=1), radius)
    # Equally spaced and closed: a regular polygon's perimeter.
    perimeter = 2 * n_points * radius * math.sin(math.pi / n_points)
    steps = np.linalg.norm(np.roll(circle, -1, axis=0) - circle, axis=1)
    np.testing.assert_allclose(steps, perimeter / n_points)


def _linear(a, b, angle=0.7):
    """Forward map of a 2-D curve through a 3x2 map with singular values a, b."""
    rotation = np.array(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
    )
    A = _orthogonal(np.random.default_rng(0), 3, 2) @ np.diag([a, b]) @ rotation
    return lambda c: [c, c @ A.T]


def test_trajectory_of_a_circle_through_a_linear_map_is_an_ellipse():
    from scipy.special import ellipe

    a, b = 3.0, 1.0
    X = np.random.default_rng(1).normal(size=(100, 2)) @ np.diag([2.0, 1.0])
    circle, (layer_0, ellipse), converged = geo.refined_trajectory(
        _linear(a, b), X, n_points=16
    )
    assert converged
    r = np.linalg.norm(circle[0] - X.mean(axis=0))
    perimeter = 4 * a * r * ellipe(1 - (b / a) ** 2)  # complete elliptic integral
    assert geo.trajectory_length_ratio(circle, ellipse) == pytest.approx(
        perimeter / (2 * math.pi * r), rel=1e-3
    )
    rms_radius = r * math.sqrt((a**2 + b**2) / 2)
    assert geo.trajectory_length_scaled(circle, ellipse) == pytest.approx(
        perimeter / rms_radius / (2 * math.pi), rel=1e-3
    )
    assert geo.trajectory_length_scaled(layer_0, layer_0) == pytest.approx(1.0)


def test_scaled_trajectory_length_ignores_the_layer_scale():
    rng = np.random.default_rng(0)
    curve, layer = rng.normal(size=(40, 2)), rng.normal(size=(40, 5))
    expected = geo.trajectory_length_scaled(curve, layer)
    assert geo.trajectory_length_scaled(curve, 7.0 * layer + 3.0) == pytest.approx(
        expected
    )
    assert geo.trajectory_length_scaled(curve, 2.0 * curve) == pytest.approx(1.0)


def _chaotic_tanh(width=100, depth=6, sigma_w=4.0):
    """A random tanh network deep in the chaotic regime (Poole et al. 2016)."""
    rng = np.random.default_rng(0)
    shapes = [(2, width)] + [(width, width)] * (depth - 1)
    weights = [rng.normal(scale=sigma_w / math.sqrt(n), size=(n, m)) for n, m in shapes]

    def forward(c):
        layers = [c]
        for W in weights:
            layers.append(np.tanh(layers[-1] @ W))
        return layers

    return forward


def test_refinement_converges_on_a_chaotic_tanh_network():
    forward = _chaotic_tanh()
    X = np.random.default_rng(1).normal(size=(200, 2))
    reference = geo.input_circle(X, n_points=40_000)
    truth = geo.trajectory_length_ratio(reference, forward(reference)[-1])
    coarse = geo.input_circle(X, n_points=100)
    undersampled = geo.trajectory_length_ratio(coarse, forward(coarse)[-1])
    circle, curves, converged = geo.refined_trajectory(forward, X, n_points=100)
    assert converged and len(circle) > 100
    refined = geo.trajectory_length_ratio(circle, curves[-1])
    assert undersampled < 0.8 * truth  # 100 points miss a fifth of the length
    assert refined == pytest.approx(truth, rel=0.01)
    # The refined curve is the circle with more points, each mapped once.
    np.testing.assert_allclose(circle, geo.input_circle(X, n_points=len(circle)))
    np.testing.assert_allclose(curves[-1], forward(circle)[-1], atol=1e-12)


def test_refinement_stops_at_the_cap():
    X = np.random.default_rng(1).normal(size=(200, 2))
    circle, _, converged = geo.refined_trajectory(
        _chaotic_tanh(), X, n_points=100, max_points=400
    )
    assert not converged and len(circle) == 400


def test_jacobian_spectrum_identity():
    J = np.tile(np.eye(3), (10, 1, 1))
    spectrum = geo.jacobian_spectrum(J)
    assert spectrum["jacobian_log_sv_mean"] == pytest.approx(0.0, abs=1e-12)
    assert spectrum["jacobian_condition"] == pytest.approx(1.0)


def test_jacobian_spectrum_known_values():
    J = np.stack([np.diag([2.0, 1.0]), np.diag([2.0, 1.0]), np.diag([4.0, 0.0])])
    spectrum = geo.jacobian_spectrum(J)
    floor = 4.0 * 2 * np.finfo(np.float64).eps  # largest value x dimension x eps
    # The zero direction is kept at the floor, not dropped.
    expected = (2 * math.log(2) + math.log(4) + math.log(floor)) / 6
    assert spectrum["jacobian_log_sv_mean"] == pytest.approx(expected)
    assert spectrum["jacobian_condition"] == pytest.approx(2.0)  # median(2, 2, 4/fl)
    assert spectrum["jacobian_collapsed_fraction"] == pytest.approx(1 / 6)


def test_jacobian_spectrum_of_a_half_dead_layer_is_not_an_isometry():
    J = np.tile(np.diag([1.0, 1.0, 0.0, 0.0]), (3, 1, 1))
    spectrum = geo.jacobian_spectrum(J)
    floor = 4 * np.finfo(np.float64).eps
    assert spectrum["jacobian_collapsed_fraction"] == 0.5
    assert spectrum["jacobian_log_sv_mean"] == pytest.approx(math.log(floor) / 2)
    assert spectrum["jacobian_condition"] == pytest.approx(1 / floor)


def test_jacobian_spectrum_floor_is_that_of_the_dtype_and_the_layer_scale():
    # 1e-9 is far above float64's floor, below float32's (3 * 1.19e-7).
    J = np.diag([1.0, 1.0, 1e-9])[None]
    assert geo.jacobian_spectrum(J)["jacobian_collapsed_fraction"] == 0.0
    as32 = geo.jacobian_spectrum(J.astype(np.float32))
    assert as32["jacobian_collapsed_fraction"] == pytest.approx(1 / 3)
    # A point whose whole Jacobian vanishes collapses against the others' scale.
    spectrum = geo.jacobian_spectrum(np.stack([np.eye(2), np.zeros((2, 2))]))
    floor = 2 * np.finfo(np.float64).eps
    assert spectrum["jacobian_collapsed_fraction"] == 0.5
    assert spectrum["jacobian_log_sv_mean"] == pytest.approx(math.log(floor) / 2)
    assert spectrum["jacobian_condition"] == 1.0


def test_jacobian_spectrum_of_zero_jacobians_is_fully_collapsed():
    with pytest.warns(RuntimeWarning, match="every Jacobian is zero"):
        spectrum = geo.jacobian_spectrum(np.zeros((3, 4, 2)))
    assert spectrum["jacobian_collapsed_fraction"] == 1.0
    assert math.isnan(spectrum["jacobian_log_sv_mean"])


def test_jacobian_spectrum_of_rectangular_jacobians():
    rng = np.random.default_rng(0)
    Q = _orthogonal(rng, 16, 2)  # isometric embedding of the 2-D input
    spectrum = geo.jacobian_spectrum(np.stack([Q, 3.0 * Q]))
    assert spectrum["jacobian_log_sv_mean"] == pytest.approx(math.log(3) / 2)
    assert spectrum["jacobian_condition"] == pytest.approx(1.0)


# --------------------------------------------------------------------------
# linear probe
# --------------------------------------------------------------------------


def test_linear_probe_separable_data():
    rng = np.random.default_rng(0)
    H = rng.normal(size=(200, 5))
    y = (H @ np.array([1.0, -2.0, 0.5, 0.0, 1.0]) > 0).astype(int)
    H = H + 0.5 * np.outer(2 * y - 1, [1.0, -2.0, 0.5, 0.0, 1.0])  # add a margin
    assert geo.linear_probe_accuracy(H, y) == 1.0


@pytest.mark.parametrize("classes", [2, 3, 10])
@pytest.mark.parametrize("seed", [0, 1])
def test_linear_probe_is_scikit_learns_cross_validated_pipeline(classes, seed):
    # reference: cross_val_predict over make_pipeline(StandardScaler(),
    # LogisticRegression()) on the same canonical order and folds; exact
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=120)
    H = rng.normal(size=(120, 6)) + 0.8 * y[:, None] * rng.normal(size=6)
    order = np.lexsort((*H.T[::-1], y))
    predicted = cross_val_predict(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        H[order],
        y[order],
        cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=seed),
    )
    expected = float(np.mean(predicted == y[order]))
    assert geo.linear_probe_accuracy(H, y, seed=seed) == expected


def test_linear_probe_refuses_a_layer_that_overflows_when_scaled():
    # finite, but its standardisation is not: scikit-learn's own check
    # refuses it, as cross_val_predict over the pipeline does
    H = np.repeat([[1e308], [-1e308]], 10, axis=0) * np.linspace(1, 1.5, 20)[:, None]
    with pytest.raises(ValueError, match="infinity|NaN"):
        geo.linear_probe_accuracy(H, np.repeat([0, 1], 10))


def test_linear_probe_random_labels_near_chance():
    rng = np.random.default_rng(1)
    H = rng.normal(size=(400, 5))
    y = rng.integers(0, 2, size=400)
    assert abs(geo.linear_probe_accuracy(H, y) - 0.5) < 0.08


# --------------------------------------------------------------------------
# validation and degenerate input
# --------------------------------------------------------------------------

GOOD = np.random.default_rng(0).normal(size=(10, 3))
LABELS = np.repeat([0, 1], 5)


def _with(value, index=(0, 0)):
    bad = GOOD.copy()
    bad[index] = value
    return bad


INVALID = [
    (lambda: geo.knn_overlap(GOOD[:, 0], GOOD), "X must be 2-D"),
    (lambda: geo.distance_spearman(GOOD, GOOD[:9]), "H has 9 points but X has 10"),
    (lambda: geo.linear_cka(GOOD, _with(np.nan)), "H contains 1 NaN"),
    (lambda: geo.distance_contrast(_with(np.inf)), "H contains 1 NaN or inf"),
    (lambda: geo.effective_rank(np.empty((5, 0))), "H is empty"),
    (lambda: geo.distance_spearman(GOOD[:2], GOOD[:2]), "2 point.*at least 3"),
    (
        lambda: geo.knn_overlap(GOOD, GOOD, n_neighbors=10),
        "n_neighbors=10 is out of range for n=10",
    ),
    (
        lambda: geo.knn_overlap(GOOD, GOOD, n_neighbors=0),
        "n_neighbors=0 is out of range",
    ),
    (
        lambda: geo.trustworthiness(GOOD, GOOD, n_neighbors=5),
        r"n_neighbors=5 .*n_neighbors < n/2",
    ),
    (
        lambda: geo.continuity(GOOD, GOOD, n_neighbors=2.5),
        "n_neighbors must be an integer",
    ),
    (lambda: geo.twonn_dimension(GOOD, discard_fraction=1.0), "discard_fraction"),
    (lambda: geo.betti_numbers(GOOD, subsample="random"), "needs rng"),
    (lambda: geo.betti_numbers(GOOD, subsample="grid"), "subsample must be"),
    (lambda: geo.betti_numbers(GOOD, scale=0), "scale must be"),
    (lambda: geo.betti_numbers(GOOD, max_points=0), "max_points"),
    (lambda: geo.betti_numbers_per_class(GOOD, LABELS[:9]), "y must be 1-D"),
    (lambda: geo.linear_probe_accuracy(GOOD, np.zeros(10)), "single class"),
    (lambda: geo.linear_probe_accuracy(GOOD, LABELS, folds=6), "fewer than folds"),
    (lambda: geo.linear_probe_accuracy(GOOD, LABELS, folds=1), "folds must be"),
    (lambda: geo.linear_probe_accuracy(GOOD, LABELS, max_iter=0), "max_iter must be"),
    (lambda: geo.linear_probe_accuracy(GOOD, LABELS * np.nan), "y contains NaN"),
    (lambda: geo.jacobian_spectrum(GOOD), "J must be 3-D"),
    (lambda: geo.trajectory_length_ratio(GOOD, GOOD[:-1]), "curve_layer has 9"),
    (lambda: geo.input_circle(GOOD[:, :1]), "at least 2 features"),
    (lambda: geo.input_circle(GOOD, n_points=2), "n_points"),
    (lambda: geo.trajectory_length_scaled(GOOD, GOOD[:-1]), "curve_layer has 9"),
    (lambda: geo.refined_trajectory(list, GOOD, rtol=1.0), "rtol must be"),
    (lambda: geo.refined_trajectory(list, GOOD, max_points=100), "max_points must"),
    (lambda: geo.all_metrics(GOOD, GOOD, LABELS, n_neighbors=5), r"n_neighbors < n/2"),
]


@pytest.mark.parametrize("call, message", INVALID)
def test_invalid_input_raises_naming_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()


CONSTANT = np.full((20, 4), 0.1)
INPUT = np.random.default_rng(1).normal(size=(20, 2))
DEGENERATE = {
    "distance_spearman": lambda: geo.distance_spearman(INPUT, CONSTANT),
    "distance_contrast": lambda: geo.distance_contrast(CONSTANT),
    "knn_overlap": lambda: geo.knn_overlap(INPUT, CONSTANT),
    "trustworthiness": lambda: geo.trustworthiness(INPUT, CONSTANT, n_neighbors=5),
    "continuity": lambda: geo.continuity(INPUT, CONSTANT, n_neighbors=5),
    "linear_cka": lambda: geo.linear_cka(INPUT, CONSTANT),
    "twonn_dimension": lambda: geo.twonn_dimension(CONSTANT),
    "effective_rank": lambda: geo.effective_rank(CONSTANT),
    "trajectory_length_ratio": lambda: geo.trajectory_length_ratio(CONSTANT, INPUT),
    "trajectory_length_scaled": lambda: geo.trajectory_length_scaled(INPUT, CONSTANT),
    "jacobian_spectrum": lambda: geo.jacobian_spectrum(np.zeros((3, 4, 2)))[
        "jacobian_condition"
    ],
}


@pytest.mark.parametrize("name", DEGENERATE)
def test_constant_representation_warns_and_returns_nan(name):
    with pytest.warns(RuntimeWarning, match="returning NaN"):
        assert math.isnan(DEGENERATE[name]())


def test_all_metrics_on_a_constant_layer():
    y = np.repeat([0, 1], 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = geo.all_metrics(INPUT, CONSTANT, y, n_neighbors=3)
    assert caught and all(w.category is RuntimeWarning for w in caught)
    undefined = set(BOUNDS) - {"betti_0", "betti_1", "linear_probe_accuracy"}
    assert all(math.isnan(scores[name]) for name in undefined)
    assert (scores["betti_0"], scores["betti_1"]) == (2.0, 0.0)  # a point per class
    assert 0.0 <= scores["linear_probe_accuracy"] <= 1.0


def test_all_metrics_on_a_constant_input_keeps_layer_only_metrics():
    X = np.zeros((30, 2))
    _, H, y = _layer_data(4, n=30)
    with pytest.warns(RuntimeWarning, match="returning NaN"):
        scores = geo.all_metrics(X, H, y, n_neighbors=3)
    assert math.isnan(scores["linear_cka"]) and math.isnan(scores["continuity"])
    for name in ("distance_contrast", "twonn_dimension", "effective_rank"):
        assert scores[name] == pytest.approx(SINGLE[name](X, H, y))

"""Dataset generators, splits and isotropic standardization.

Every generator returns a :class:`Dataset`: points ``X`` (n, d), integer
labels ``y`` (n,), and, where the true decision boundary is known
analytically (``circles``, ``nested_spheres``), each point's Euclidean
distance to it. All randomness comes from a ``numpy.random.Generator``
seeded by the dataset's own ``seed``; nothing is downloaded.

Standardization is *isotropic*: features are centred and divided by one
common scale (the root mean square of the per-feature standard deviations,
from the training split). Per-feature scaling would stretch the geometry
this study measures; a single scale keeps every distance ratio, so the
boundary distances stay exact in standardized units.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import train_test_split

from geoctx.config import GENERATORS
from geoctx.sources import DATA_SOURCES

SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    """Points, labels and (optionally) distances to the true boundary."""

    X: np.ndarray
    y: np.ndarray
    boundary_distance: np.ndarray | None = None
    info: dict = field(default_factory=dict)


# -- generators ---------------------------------------------------------------


def moons(*, n_samples=2000, noise=0.1, seed=0) -> Dataset:
    """Two interleaving half circles (scikit-learn's ``make_moons``)."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return Dataset(X, y)


def circles(*, n_samples=2000, noise=0.05, factor=0.5, seed=0) -> Dataset:
    """Two concentric circles (scikit-learn's ``make_circles``).

    The true boundary is taken as the circle of radius ``(1 + factor) / 2``,
    midway between the two noiseless circles; ``boundary_distance`` is
    ``| ||x|| - (1 + factor) / 2 |``.
    """
    from sklearn.datasets import make_circles

    X, y = make_circles(
        n_samples=n_samples, noise=noise, factor=factor, random_state=seed
    )
    radius = (1.0 + factor) / 2.0
    distance = np.abs(np.linalg.norm(X, axis=1) - radius)
    return Dataset(X, y, distance, {"boundary": f"circle of radius {radius}"})


def spirals(*, n_samples=2000, noise=0.05, arms=2, turns=1.5, seed=0) -> Dataset:
    """``arms`` interleaved Archimedean spirals in 2-D, one class per arm.

    Arm ``k`` is ``r (cos(theta + 2 pi k / arms), sin(...))`` with
    ``r = t`` and ``theta = 2 pi turns t`` for ``t`` uniform in ``[0.05, 1]``,
    plus isotropic Gaussian noise of standard deviation ``noise``.
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % arms
    t = rng.uniform(0.05, 1.0, n_samples)
    theta = 2 * np.pi * turns * t + 2 * np.pi * y / arms
    X = np.column_stack([t * np.cos(theta), t * np.sin(theta)])
    X += rng.normal(scale=noise, size=X.shape)
    return Dataset(X, y)


def _unit_sphere(rng, n, dim):
    v = rng.normal(size=(n, dim))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def nested_spheres(*, n_samples=2000, noise=0.05, radii=(1.0, 2.0), seed=0) -> Dataset:
    """Concentric spherical shells in 3-D, one class per shell.

    Points are uniform on each sphere, moved radially by Gaussian noise.
    The true boundaries are the spheres midway between consecutive radii;
    ``boundary_distance`` is the distance to the nearest of them.
    """
    radii = np.asarray(radii, dtype=float)
    if np.any(np.diff(radii) <= 0):
        raise ValueError(f"nested_spheres: radii must increase, got {radii.tolist()}")
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % len(radii)
    r = radii[y] + rng.normal(scale=noise, size=n_samples)
    X = _unit_sphere(rng, n_samples, 3) * r[:, None]
    boundaries = (radii[:-1] + radii[1:]) / 2
    distance = np.min(np.abs(r[:, None] - boundaries[None, :]), axis=1)
    return Dataset(X, y, distance, {"boundary": f"spheres of radii {boundaries}"})


def disks_in_holes(*, n_samples=2000, holes=3, seed=0) -> Dataset:
    """Disks sitting inside the holes of annuli (Naitzat et al. 2020, D-I).

    ``holes`` unit cells in a row, 3 apart. In each, class 0 is uniform on
    the disk of radius 0.6 and class 1 uniform on the annulus between radii
    1.0 and 1.4 around it: class 1 has ``holes`` holes, each filled by a
    component of class 0, so no linear map can separate the classes.
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % 2
    cell = rng.integers(0, holes, n_samples)
    inner, outer = 0.6, (1.0, 1.4)
    # uniform in area: radius ~ sqrt(uniform) between the radii
    lo = np.where(y == 0, 0.0, outer[0] ** 2)
    hi = np.where(y == 0, inner**2, outer[1] ** 2)
    r = np.sqrt(rng.uniform(lo, hi))
    phi = rng.uniform(0, 2 * np.pi, n_samples)
    X = np.column_stack([3.0 * cell + r * np.cos(phi), r * np.sin(phi)])
    return Dataset(X, y)


def interlocked_rings(*, n_samples=2000, noise=0.05, pairs=1, seed=0) -> Dataset:
    """Pairs of interlocked (Hopf-linked) rings in 3-D (Naitzat et al. 2020, D-II).

    Class 0 is a unit circle in the xy-plane; class 1 a unit circle in the
    xz-plane through its centre-offset (1, 0, 0), so the two rings link.
    Pairs are placed 4 apart along y; points get isotropic Gaussian noise.
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % 2
    pair = rng.integers(0, pairs, n_samples)
    phi = rng.uniform(0, 2 * np.pi, n_samples)
    c, s = np.cos(phi), np.sin(phi)
    ring0 = np.column_stack([c, s, np.zeros_like(c)])
    ring1 = np.column_stack([1.0 + c, np.zeros_like(c), s])
    X = np.where((y == 0)[:, None], ring0, ring1)
    X[:, 1] += 4.0 * pair
    X += rng.normal(scale=noise, size=X.shape)
    return Dataset(X, y)


def digits(*, n_samples=1797, seed=0) -> Dataset:
    """scikit-learn's 8x8 handwritten digits (1797 images, shipped with it)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    data = Dataset(X.astype(float), y, info={"value_range": [0.0, 16.0]})
    return _subsample(data, n_samples, seed, "digits")


def mnist1d(*, n_samples=6667, seed=0) -> Dataset:
    """MNIST-1D (Greydanus & Kobak), generated offline by ``mnist1d``.

    Calls ``mnist1d.data.make_dataset`` with the package's default
    arguments except ``num_samples`` and ``seed``; the package's own
    train/test split is undone (this module splits every dataset the same
    way). ``make_dataset`` makes ``num_samples // 10`` points per class, so
    the next multiple of 10 is generated and a stratified subsample keeps
    ``n_samples``. The default, 6667, gives the published 4,000 training
    points with the default splits (test 0.25, validation 0.2 of the rest:
    4000 / 1000 / 1667). ``make_dataset`` seeds numpy's global RNG; geoctx
    itself never draws from it.

    >>> mnist1d(n_samples=95).X.shape
    (95, 40)
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = -(-n_samples // 10) * 10
    args.seed = seed
    data = make_dataset(args)
    X = np.concatenate([data["x"], data["x_test"]]).astype(float)
    y = np.concatenate([data["y"], data["y_test"]]).astype(int)
    return _subsample(Dataset(X, y), n_samples, seed, "mnist1d")


def _subsample(data: Dataset, n_samples, seed, name) -> Dataset:
    if n_samples is None or n_samples == len(data.y):
        return data
    if n_samples > len(data.y):
        raise ValueError(
            f"{name}: n_samples={n_samples} exceeds the {len(data.y)} points it has"
        )
    classes = np.unique(data.y)
    n_drop = len(data.y) - n_samples
    if n_drop < len(classes):
        # too few to stratify with train_test_split: one point of each of
        # n_drop random classes, which is as stratified as it gets
        rng = np.random.default_rng(seed)
        drop = [
            rng.choice(np.flatnonzero(data.y == c))
            for c in rng.choice(classes, n_drop, replace=False)
        ]
        keep = np.setdiff1d(np.arange(len(data.y)), drop)
    else:
        keep, _ = train_test_split(
            np.arange(len(data.y)),
            train_size=n_samples,
            stratify=data.y,
            random_state=seed,
        )
    keep = np.sort(keep)
    return Dataset(data.X[keep], data.y[keep], info=data.info)


def file(
    *, path=None, label=None, features=None, drop_missing=False, sha256=None, seed=0
) -> Dataset:
    """A CSV, Parquet or NPZ file (:func:`geoctx.own_data.read_table`).

    ``sha256``, when given, must be the file's: the workflow fills it in
    when it checks the file, so a file edited since then is refused rather
    than read. ``seed`` seeds the split only.
    """
    from geoctx import own_data

    digest = own_data.file_sha256(path)
    if sha256 is not None and digest != sha256:
        raise ValueError(
            f"{path} changed since the workflow checked it (SHA-256 {digest}, "
            f"expected {sha256}); run the workflow again"
        )
    table = own_data.read_table(
        path, label=label, features=features, drop_missing=drop_missing
    )
    info = own_data.file_info(table, path=str(path), sha256=digest)
    return Dataset(table.X, table.y, info=info)


def sklearn(*, name=None, seed=0) -> Dataset:
    """A table scikit-learn ships: wine, breast_cancer or iris (``load_<name>``).

    >>> sklearn(name="iris").X.shape
    (150, 4)
    """
    from geoctx import own_data

    table = own_data.load_sklearn_table(name)
    return Dataset(table.X, table.y, info=own_data.file_info(table, sklearn=name))


GENERATOR_FUNCTIONS = {
    "moons": moons,
    "circles": circles,
    "spirals": spirals,
    "nested_spheres": nested_spheres,
    "disks_in_holes": disks_in_holes,
    "interlocked_rings": interlocked_rings,
    "digits": digits,
    "mnist1d": mnist1d,
    "file": file,
    "sklearn": sklearn,
}
assert set(GENERATOR_FUNCTIONS) == set(GENERATORS) | set(DATA_SOURCES)


def generate(generator: str, **params) -> Dataset:
    """Run the named generator with its parameters.

    >>> generate("moons", n_samples=100, seed=1).X.shape
    (100, 2)
    """
    if generator not in GENERATOR_FUNCTIONS:
        raise ValueError(
            f"unknown dataset generator {generator!r}; "
            f"valid: {', '.join(GENERATOR_FUNCTIONS)}"
        )
    return GENERATOR_FUNCTIONS[generator](**params)


# -- splits ---------------------------------------------------------------------


def split_and_standardize(
    data: Dataset,
    *,
    test_fraction: float,
    validation_fraction: float,
    probe_points: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """Stratified train/val/test split, isotropic standardization, probe subset.

    Returns a flat dict of arrays, ready for ``numpy.savez``:
    ``X_<split>``, ``y_<split>``, ``boundary_distance_<split>`` (when the
    dataset has it, in standardized units), ``probe_index`` (indices into
    the test split, stratified, sorted), ``mean`` and ``scale``.
    """
    n = len(data.y)
    index = np.arange(n)
    rest, test = train_test_split(
        index, test_size=test_fraction, stratify=data.y, random_state=seed
    )
    train, val = train_test_split(
        rest,
        test_size=validation_fraction,
        stratify=data.y[rest],
        random_state=seed + 1,
    )
    mean = data.X[train].mean(axis=0)
    scale = float(np.sqrt(np.mean(data.X[train].var(axis=0))))
    if not np.isfinite(scale) or scale == 0:
        raise ValueError("dataset has zero variance on its training split")
    arrays: dict[str, np.ndarray] = {"mean": mean, "scale": np.array(scale)}
    for name, idx in zip(
        SPLITS, (np.sort(train), np.sort(val), np.sort(test)), strict=True
    ):
        arrays[f"X_{name}"] = ((data.X[idx] - mean) / scale).astype(np.float32)
        arrays[f"y_{name}"] = data.y[idx].astype(np.int64)
        if data.boundary_distance is not None:
            arrays[f"boundary_distance_{name}"] = data.boundary_distance[idx] / scale
    if "value_range" in data.info:
        low, high = data.info["value_range"]
        arrays["clip_low"] = ((low - mean) / scale).astype(np.float32)
        arrays["clip_high"] = ((high - mean) / scale).astype(np.float32)
    n_test = len(arrays["y_test"])
    if probe_points >= n_test:
        probe = np.arange(n_test)
    else:
        probe, _ = train_test_split(
            np.arange(n_test),
            train_size=probe_points,
            stratify=arrays["y_test"],
            random_state=seed + 2,
        )
    arrays["probe_index"] = np.sort(probe)
    return arrays


def fingerprint(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of the arrays."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def split_seed_for(dataset_seed: int, split_seed: int | None) -> int:
    """The seed of one split: ``dataset_seed + 3 * split_seed``.

    :func:`split_and_standardize` draws from the seed and the next two, so
    the splits of one dataset never share a random state; split seed 0 (and
    ``None``, the one shared split) is the dataset's own seed, so the first
    model seed keeps the split a shared-split study gives it.

    >>> split_seed_for(3, None), split_seed_for(3, 0), split_seed_for(3, 2)
    (3, 3, 9)
    """
    if split_seed is None:
        return int(dataset_seed)
    if isinstance(split_seed, bool) or int(split_seed) != split_seed or split_seed < 0:
        raise ValueError(f"split_seed must be an integer >= 0, got {split_seed!r}")
    return int(dataset_seed) + 3 * int(split_seed)


def make_dataset(
    spec: dict,
    *,
    test_fraction: float,
    validation_fraction: float,
    probe_points: int,
    split_seed: int | None = None,
) -> tuple[dict[str, np.ndarray], dict]:
    """Generate, split and standardize one configured dataset.

    ``spec`` is the dataset's config entry (``generator`` plus its
    parameters); the points come from its ``seed``. ``split_seed`` (a model
    seed) draws that seed's own train/val/test split and probe set from
    those points (:func:`split_seed_for`); None gives the dataset's one
    shared split. Returns the arrays and a metadata dict (parameters, seeds,
    shapes, class counts, data range, SHA-256 of the arrays).
    """
    spec = dict(spec)
    generator = spec.pop("generator")
    seed = int(spec.get("seed", 0))
    data = generate(generator, **spec)
    arrays = split_and_standardize(
        data,
        test_fraction=test_fraction,
        validation_fraction=validation_fraction,
        probe_points=probe_points,
        seed=split_seed_for(seed, split_seed),
    )
    X_all = np.concatenate([arrays[f"X_{s}"] for s in SPLITS])
    meta = {
        "generator": generator,
        "params": spec,
        "seed": seed,
        "n_features": int(data.X.shape[1]),
        "n_classes": int(len(np.unique(data.y))),
        "sizes": {s: int(len(arrays[f"y_{s}"])) for s in SPLITS},
        "class_counts": {s: np.bincount(arrays[f"y_{s}"]).tolist() for s in SPLITS},
        "probe_points": int(len(arrays["probe_index"])),
        "has_boundary_distance": data.boundary_distance is not None,
        "standardization": {"scale": float(arrays["scale"]), "kind": "isotropic"},
        "data_range": [float(X_all.min()), float(X_all.max())],
        "splits": {
            "test_fraction": test_fraction,
            "validation_fraction": validation_fraction,
            "split_seed": split_seed,
        },
        "sha256": fingerprint(arrays),
        **data.info,
    }
    return arrays, meta


def load(path) -> dict[str, np.ndarray]:
    """Load the arrays written for one dataset (``data.npz``).

    Raises :class:`geoctx.storage.UnreadableFileError` naming the file if it
    cannot be read.
    """
    from geoctx.storage import load_npz

    return load_npz(path)

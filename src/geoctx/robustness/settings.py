"""What a robustness evaluation measures: its settings and its prepared inputs.

:class:`RobustnessSettings` holds the ``robustness:`` config section;
:func:`prepare` turns one dataset's arrays into the :class:`EvaluationData`
every row builder of :mod:`geoctx.robustness.rows` reads (probe subset, clip
box, the data's scale, the distance of each point to the true boundary).
The names of the table's columns, attacks and metrics are defined here too.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from geoctx.autodiff import check_arrays
from geoctx.names import GRADIENT_ATTACKS, WORST_CASE
from geoctx.robustness._common import (
    _check_grid,
    _check_nonnegative,
    _check_positive_int,
    _check_quantiles,
)
from geoctx.robustness.gradient import (
    PGD_RESTARTS,
    PGD_STEP_SIZE_FACTOR,
    PGD_STEPS,
)

#: Columns of the tidy table returned by :func:`evaluate_robustness`.
COLUMNS = ("attack", "epsilon", "metric", "value")
#: Values of the ``attack`` column, besides ``transfer_from_<activation>``.
ATTACKS = ("clean", "gaussian", *GRADIENT_ATTACKS, *WORST_CASE.values(), "none")
#: Metrics of every (attack, epsilon), all on the same points (:func:`outcome_rows`).
OUTCOME_METRICS = ("accuracy", "clean_accuracy", "flip_rate", "accuracy_drop")
#: Values of the ``metric`` column.
METRICS = (
    *OUTCOME_METRICS,
    "accuracy_boundary_bin",
    "boundary_distance_upper",
    "min_adv_distance_median",
    "min_adv_distance_q25",
    "min_adv_distance_q75",
    "lipschitz_max",
    "lipschitz_mean",
    "lipschitz_relative_max",
    "lipschitz_relative_mean",
    "error_near_minus_far",
    "ece",
    "ece_temperature_scaled",
    "temperature",
)
_STREAMS = ("probe", "gaussian", *GRADIENT_ATTACKS, "transfer")


@dataclasses.dataclass(frozen=True)
class RobustnessSettings:
    """Every grid and setting of :func:`evaluate_robustness`.

    The fields and defaults are those of the ``robustness:`` config section
    (without ``transfer_from``, which only picks the workflow's transfer
    source models). Save ``dataclasses.asdict(settings)`` next to the
    outputs.

    Attributes
    ----------
    sigmas : tuple of float
        Gaussian noise levels, in units of the data std.
    n_draws : int
        Noise draws per sigma.
    epsilons : tuple of float
        Attack radii in data-std units (see :func:`evaluate_robustness`).
    pgd_steps, pgd_restarts : int
        PGD iterations per restart and random restarts, of every PGD attack
        (defaults chosen by ``benchmarks/attack_convergence.py``).
    pgd_step_size_factor : float
        PGD step size is ``factor * epsilon / pgd_steps``; the PGD search of
        the minimal adversarial distance uses it too.
    min_distance_steps, min_distance_bisections : int
        PGD steps and bisection rounds of the minimal adversarial distance.
    boundary_quantiles : tuple of float
        Quantile edges (0 to 1) of the boundary-distance bins.
    ece_bins : int
        Equal-width confidence bins of the ECE.
    seed : int
        Seeds every random choice (independent streams per component).

    Examples
    --------
    >>> RobustnessSettings(epsilons=[0, 0.1]).epsilons
    (0.0, 0.1)
    """

    sigmas: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0)
    n_draws: int = 10
    epsilons: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5)
    pgd_steps: int = PGD_STEPS
    pgd_restarts: int = PGD_RESTARTS
    pgd_step_size_factor: float = PGD_STEP_SIZE_FACTOR
    min_distance_steps: int = 10
    min_distance_bisections: int = 10
    boundary_quantiles: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    ece_bins: int = 15
    seed: int = 0

    def __post_init__(self):
        for name in ("sigmas", "epsilons"):
            grid = tuple(_check_grid(getattr(self, name), name))
            object.__setattr__(self, name, grid)
        quantiles = _check_quantiles(self.boundary_quantiles)
        object.__setattr__(self, "boundary_quantiles", tuple(quantiles.tolist()))
        for name in (
            "n_draws",
            "pgd_steps",
            "pgd_restarts",
            "min_distance_steps",
            "ece_bins",
        ):
            _check_positive_int(getattr(self, name), name)
        _check_positive_int(self.min_distance_bisections, "min_distance_bisections", 0)
        _check_positive_int(self.seed, "seed", 0)
        _check_nonnegative(self.pgd_step_size_factor, "pgd_step_size_factor")


@dataclasses.dataclass(frozen=True, eq=False)
class EvaluationData:
    """What every row builder reads: the splits, the probe points and the unit.

    Build it with :func:`prepare`. ``streams`` holds one random generator per
    randomised metric family (``probe``, ``gaussian``, ``fgsm_linf``,
    ``pgd_linf``, ``pgd_l2``, ``transfer``); a row builder advances its own
    stream, so run each builder once per :class:`EvaluationData`.

    Attributes
    ----------
    x, y : ndarray, shapes (n, d) and (n,)
        The test split.
    x_val, y_val : ndarray, shapes (m, d) and (m,)
        The validation split (temperature fitting).
    probe : ndarray of int, shape (p,)
        Indices into the test split of the attacked points.
    std : float
        The data's standard deviation, the unit of every radius and distance.
    clip : (low, high) or None
        Data range of the attacks.
    boundary : ndarray, shape (n,), or None
        Given distance of each test point to the decision boundary.
    streams : dict of numpy.random.Generator
    batch_size : int
        Rows per forward/backward call.
    """

    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    probe: np.ndarray
    std: float
    clip: tuple | None
    boundary: np.ndarray | None
    streams: dict
    batch_size: int

    @property
    def x_probe(self):
        return self.x[self.probe]

    @property
    def y_probe(self):
        return self.y[self.probe]

    @property
    def l2_unit(self):
        """An L2 radius of ``e`` is ``e * std * sqrt(d)`` in input units."""
        return self.std * np.sqrt(self.x.shape[1])


def _lookup(data, *names):
    for name in names:
        if name in data:
            return data[name]
    raise ValueError(f"data has no key {' or '.join(map(repr, names))}")


def prepare(data, settings, *, attacked_points=256, batch_size=1024) -> EvaluationData:
    """Check ``data`` and fix the probe points, unit and random streams.

    Parameters
    ----------
    data : dict
        As in :func:`evaluate_robustness`.
    settings : RobustnessSettings
        Its ``seed`` seeds the streams.
    attacked_points : int, default 256
        Attacked points drawn at random when ``data`` has no ``probe_index``.
    batch_size : int, default 1024
        Rows per forward/backward call.

    Returns
    -------
    EvaluationData

    Examples
    --------
    >>> x = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    >>> data = {"x_test": x, "y_test": [0, 1, 0], "x_val": x, "y_val": [0, 1, 0]}
    >>> inputs = prepare(data, RobustnessSettings(), attacked_points=2)
    >>> inputs.probe.size, inputs.std
    (2, 1.632993161855452)
    """
    if not isinstance(settings, RobustnessSettings):
        raise ValueError(f"settings must be RobustnessSettings, got {type(settings)}")
    attacked_points = _check_positive_int(attacked_points, "attacked_points")
    batch_size = _check_positive_int(batch_size, "batch_size")
    x, y = check_arrays(
        _lookup(data, "x_test", "X_test"), _lookup(data, "y_test"), x_name="x_test"
    )
    x_val, y_val = check_arrays(
        _lookup(data, "x_val", "X_val"), _lookup(data, "y_val"), x_name="x_val"
    )
    seeds = np.random.SeedSequence(settings.seed).spawn(len(_STREAMS))
    streams = {
        name: np.random.default_rng(seed)
        for name, seed in zip(_STREAMS, seeds, strict=True)
    }
    std = data.get("data_std")
    std = np.sqrt(np.mean(x.var(axis=0, dtype=np.float64))) if std is None else std
    std = float(std)
    if not np.isfinite(std) or std <= 0:
        raise ValueError(f"data_std must be a finite number > 0, got {std}")
    probe = data.get("probe_index")
    if probe is None:
        size = min(attacked_points, len(x))
        probe = np.sort(streams["probe"].choice(len(x), size=size, replace=False))
    probe = np.asarray(probe)
    if probe.ndim != 1 or probe.size == 0 or not np.issubdtype(probe.dtype, np.integer):
        raise ValueError(f"probe_index must be a non-empty 1-D integer array: {probe}")
    boundary = data.get("boundary_distance", data.get("boundary_distance_test"))
    return EvaluationData(
        x=x,
        y=y,
        x_val=x_val,
        y_val=y_val,
        probe=probe,
        std=std,
        clip=data.get("clip"),
        boundary=boundary,
        streams=streams,
        batch_size=batch_size,
    )

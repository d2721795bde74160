"""Every robustness and calibration metric of one trained model, as a tidy table.

:func:`evaluate_robustness` measures in units of the data's standard deviation
(see its docstring) and returns rows ``(attack, epsilon, metric, value)``. It
is the concatenation of one row builder per metric family (``*_rows``), each
of which takes the model, the :class:`EvaluationData` built by
:func:`prepare` and the :class:`RobustnessSettings`, so each can be run and
tested alone. Attack families first compute per-point outcomes
(``*_outcomes``: for each attack and epsilon, whether each probe point is
still classified correctly); :func:`worst_case_outcomes` combines them per
norm and :func:`outcome_rows` turns any outcome into the four rows of
evidence conditioned on clean correctness. :func:`evaluate_run` applies it
to one saved model of the sweep.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from geoctx import storage
from geoctx.names import ATTACK_NORMS, GRADIENT_ATTACKS, WORST_CASE, transfer_attack
from geoctx.robustness._common import (
    _check_grid,
    _check_inputs,
    _check_nonnegative,
    _check_positive_int,
    _check_quantiles,
    _predict_logits,
)
from geoctx.robustness.attacks import (
    PGD_RESTARTS,
    PGD_STEP_SIZE_FACTOR,
    PGD_STEPS,
    accuracy,
    attack_sweep,
    gaussian_noise_correct,
    transfer_sweep,
)
from geoctx.robustness.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
)
from geoctx.robustness.distance import (
    boundary_stratified_accuracy,
    lipschitz_estimate,
    minimal_adversarial_distance,
    nearest_other_class_distance,
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


def prepare(data, settings, *, probe_size=256, batch_size=1024) -> EvaluationData:
    """Check ``data`` and fix the probe points, unit and random streams.

    Parameters
    ----------
    data : dict
        As in :func:`evaluate_robustness`.
    settings : RobustnessSettings
        Its ``seed`` seeds the streams.
    probe_size : int, default 256
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
    >>> inputs = prepare(data, RobustnessSettings(), probe_size=2)
    >>> inputs.probe.size, inputs.std
    (2, 1.632993161855452)
    """
    if not isinstance(settings, RobustnessSettings):
        raise ValueError(f"settings must be RobustnessSettings, got {type(settings)}")
    probe_size = _check_positive_int(probe_size, "probe_size")
    batch_size = _check_positive_int(batch_size, "batch_size")
    x, y = _check_inputs(
        _lookup(data, "x_test", "X_test"), _lookup(data, "y_test"), x_name="x_test"
    )
    x_val, y_val = _check_inputs(
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
        size = min(probe_size, len(x))
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


def _rows(attack, metric, values):
    return [(attack, float(eps), metric, float(v)) for eps, v in values.items()]


def _summary_rows(values):
    return [("none", np.nan, metric, float(v)) for metric, v in values.items()]


def _percentiles(values, quantiles):
    """Linear-interpolation quantiles that stay ``inf`` (not NaN) past an inf."""
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    out = []
    for q in quantiles:
        position = (len(ordered) - 1) * q
        low, high = int(np.floor(position)), int(np.ceil(position))
        if ordered[low] == ordered[high]:
            out.append(ordered[low])
        else:
            step = ordered[high] - ordered[low]
            out.append(ordered[low] + step * (position - low))
    return out


# Row builders, one per metric family ---------------------------------------------


def clean_rows(model, inputs: EvaluationData, settings: RobustnessSettings) -> list:
    """``clean, 0, accuracy`` on the whole test split."""
    value = accuracy(model, inputs.x, inputs.y, batch_size=inputs.batch_size)
    return [("clean", 0.0, "accuracy", value)]


def outcome_rows(attack, outcomes, clean_correct) -> list:
    """The four rows of evidence of one attack, per epsilon, on the same points.

    ``accuracy`` is the mean of ``outcomes[e]`` (raw accuracy under attack),
    ``clean_accuracy`` the mean of ``clean_correct`` (the same points,
    unperturbed), ``flip_rate`` the fraction of clean-correct points that
    the attack gets misclassified (NaN if there is none) and
    ``accuracy_drop`` is ``clean_accuracy - accuracy``.

    Parameters
    ----------
    attack : str
    outcomes : dict
        ``{epsilon: array (n,)}``: per point, 1 if still classified correctly
        under the attack, 0 if not (or the fraction of noise draws
        classified correctly).
    clean_correct : array_like of bool, shape (n,)

    Returns
    -------
    list of (attack, epsilon, metric, value)

    Examples
    --------
    >>> rows = outcome_rows("pgd_linf", {0.1: [1, 0, 0, 0]}, [1, 1, 0, 0])
    >>> [(metric, value) for _, _, metric, value in rows]
    [('accuracy', 0.25), ('clean_accuracy', 0.5), ('flip_rate', 0.5), \
('accuracy_drop', 0.25)]
    """
    clean = np.asarray(clean_correct, dtype=bool)
    rows = []
    for epsilon, outcome in outcomes.items():
        outcome = np.asarray(outcome, dtype=np.float64)
        if outcome.shape != clean.shape:
            raise ValueError(
                f"outcomes[{epsilon}] has shape {outcome.shape}, clean_correct "
                f"{clean.shape}: they must describe the same points"
            )
        acc, clean_acc = float(np.mean(outcome)), float(np.mean(clean))
        flip = 1.0 - float(np.mean(outcome[clean])) if clean.any() else np.nan
        values = {
            "accuracy": acc,
            "clean_accuracy": clean_acc,
            "flip_rate": flip,
            "accuracy_drop": clean_acc - acc,
        }
        rows += [(attack, float(epsilon), m, v) for m, v in values.items()]
    return rows


def _epsilons(settings):
    """The configured radii with 0 (the clean points) always first."""
    return sorted({0.0, *settings.epsilons})


def gradient_outcomes(
    model, inputs: EvaluationData, settings: RobustnessSettings
) -> dict:
    """``{attack: {e: correct (p,)}}`` of every white-box gradient attack."""
    outcomes = {}
    for attack in GRADIENT_ATTACKS:
        unit = inputs.l2_unit if ATTACK_NORMS[attack] == "l2" else inputs.std
        epsilons = _epsilons(settings)
        result = attack_sweep(
            model,
            inputs.x_probe,
            inputs.y_probe,
            attack=attack,
            epsilons=[e * unit for e in epsilons],
            clip=inputs.clip,
            steps=settings.pgd_steps,
            restarts=settings.pgd_restarts,
            step_size_factor=settings.pgd_step_size_factor,
            rng=inputs.streams[attack],
            batch_size=inputs.batch_size,
        )
        outcomes[attack] = {e: result[e * unit].correct for e in epsilons}
    return outcomes


def transfer_outcomes(
    model, sources: dict, inputs: EvaluationData, settings: RobustnessSettings
) -> dict:
    """``{transfer_from_<a>: {e: correct (p,)}}``: margin PGD L-inf crafted on
    ``sources[a]`` (a model with activation ``a``), judged by ``model``."""
    outcomes = {}
    for activation, source in sources.items():
        epsilons = _epsilons(settings)
        result = transfer_sweep(
            model,
            source,
            inputs.x_probe,
            inputs.y_probe,
            epsilons=[e * inputs.std for e in epsilons],
            attack="pgd_margin_linf",
            clip=inputs.clip,
            steps=settings.pgd_steps,
            restarts=settings.pgd_restarts,
            step_size_factor=settings.pgd_step_size_factor,
            rng=inputs.streams["transfer"],
            batch_size=inputs.batch_size,
        )
        outcomes[transfer_attack(activation)] = {
            e: result[e * inputs.std].correct for e in epsilons
        }
    return outcomes


def worst_case_outcomes(outcomes: dict) -> dict:
    """Per norm and epsilon, a point is robust only if it survives every attack.

    Transfer attacks (``transfer_from_*``) count as L-inf attacks.

    Parameters
    ----------
    outcomes : dict
        ``{attack: {epsilon: correct (n,)}}`` of attacks run on the same points.

    Returns
    -------
    dict
        ``{"worst_case_linf" | "worst_case_l2": {epsilon: correct (n,)}}`` for
        each norm with at least one attack.

    Examples
    --------
    >>> out = worst_case_outcomes(
    ...     {"pgd_linf": {0.1: [True, True, False]},
    ...      "transfer_from_relu": {0.1: [True, False, True]}}
    ... )
    >>> out["worst_case_linf"][0.1].tolist()
    [True, False, False]
    """
    worst = {}
    for attack, by_epsilon in outcomes.items():
        norm = ATTACK_NORMS.get(attack, "linf")
        combined = worst.setdefault(WORST_CASE[norm], {})
        for epsilon, correct in by_epsilon.items():
            correct = np.asarray(correct, dtype=bool)
            combined[epsilon] = combined.get(epsilon, correct) & correct
    return worst


def gaussian_rows(model, inputs: EvaluationData, settings: RobustnessSettings) -> list:
    """``gaussian, sigma, m`` for the outcome metrics, noise std ``sigma * std``.

    On the whole test split: per point, the fraction of noise draws
    classified correctly.
    """
    sigmas = sorted({0.0, *settings.sigmas})
    noise = gaussian_noise_correct(
        model,
        inputs.x,
        inputs.y,
        sigmas=sigmas,
        scale=inputs.std,
        n_draws=settings.n_draws,
        rng=inputs.streams["gaussian"],
        batch_size=inputs.batch_size,
    )
    return outcome_rows("gaussian", noise, noise[0.0] == 1)


def attack_rows(
    model,
    inputs: EvaluationData,
    settings: RobustnessSettings,
    transfer_models: dict | None = None,
) -> list:
    """Outcome rows of every gradient, transfer and worst-case attack.

    All on the probe points, at every epsilon and at 0; ``transfer_models``
    maps an activation to the model the ``transfer_from_<activation>``
    examples are crafted on.
    """
    outcomes = gradient_outcomes(model, inputs, settings)
    outcomes |= transfer_outcomes(model, transfer_models or {}, inputs, settings)
    outcomes |= worst_case_outcomes(outcomes)
    clean = outcomes["fgsm_linf"][0.0]
    rows = []
    for attack, by_epsilon in outcomes.items():
        rows += outcome_rows(attack, by_epsilon, clean)
    return rows


def boundary_rows(model, inputs: EvaluationData, settings: RobustnessSettings) -> list:
    """Accuracy by distance to the boundary, and the near-minus-far error.

    ``clean, q, accuracy_boundary_bin`` and ``clean, q,
    boundary_distance_upper``: one pair per distance bin, ``q`` the bin's
    upper quantile, the second row its upper distance in ``std`` units. Then
    ``none, NaN, error_near_minus_far``: the error rate in the bin nearest
    the boundary minus that in the farthest bin (positive when errors
    concentrate near the boundary; it does not move with a uniform change of
    accuracy).
    """
    boundary = inputs.boundary
    if boundary is None:
        boundary = nearest_other_class_distance(inputs.x, inputs.y)
    bins = boundary_stratified_accuracy(
        model,
        inputs.x,
        inputs.y,
        boundary,
        quantiles=settings.boundary_quantiles,
        batch_size=inputs.batch_size,
    )
    rows = []
    for q, acc, edge in zip(
        bins["quantile_high"], bins["accuracy"], bins["distance_high"], strict=True
    ):
        rows.append(("clean", float(q), "accuracy_boundary_bin", float(acc)))
        rows.append(
            ("clean", float(q), "boundary_distance_upper", float(edge) / inputs.std)
        )
    near_minus_far = (1 - bins["accuracy"][0]) - (1 - bins["accuracy"][-1])
    return rows + _summary_rows({"error_near_minus_far": near_minus_far})


def min_distance_rows(
    model, inputs: EvaluationData, settings: RobustnessSettings
) -> list:
    """``none, NaN, min_adv_distance_{median,q25,q75}`` in ``std`` units.

    Over the probe points the model classifies correctly (a misclassified
    point has distance 0 by definition, which would reward low accuracy);
    NaN when there is none.
    """
    distance = minimal_adversarial_distance(
        model,
        inputs.x_probe,
        inputs.y_probe,
        clip=inputs.clip,
        reference_x=inputs.x,
        steps=settings.min_distance_steps,
        step_size_factor=settings.pgd_step_size_factor,
        bisections=settings.min_distance_bisections,
        batch_size=inputs.batch_size,
    )
    logits = _predict_logits(model, inputs.x_probe, inputs.batch_size)
    correct = np.argmax(logits, axis=1) == inputs.y_probe
    q25, median, q75 = (
        _percentiles(distance[correct] / inputs.std, (0.25, 0.5, 0.75))
        if correct.any()
        else [np.nan] * 3
    )
    return _summary_rows(
        {
            "min_adv_distance_median": median,
            "min_adv_distance_q25": q25,
            "min_adv_distance_q75": q75,
        }
    )


def lipschitz_rows(model, inputs: EvaluationData, settings: RobustnessSettings) -> list:
    """``none, NaN, lipschitz_{max,mean}`` and ``lipschitz_relative_{max,mean}``.

    Over the probe points; see :func:`lipschitz_estimate` for the units.
    """
    batch_size = min(inputs.batch_size, 256)
    return _summary_rows(
        lipschitz_estimate(model, inputs.x_probe, batch_size=batch_size)
    )


def calibration_rows(
    model, inputs: EvaluationData, settings: RobustnessSettings
) -> list:
    """``none, NaN, ece | ece_temperature_scaled | temperature`` on the test split.

    The temperature is fitted on the validation split.
    """
    b = inputs.batch_size
    logits = _predict_logits(model, inputs.x, b)
    temperature = fit_temperature(_predict_logits(model, inputs.x_val, b), inputs.y_val)
    return _summary_rows(
        {
            "ece": expected_calibration_error(
                apply_temperature(logits, 1.0), inputs.y, n_bins=settings.ece_bins
            ),
            "ece_temperature_scaled": expected_calibration_error(
                apply_temperature(logits, temperature),
                inputs.y,
                n_bins=settings.ece_bins,
            ),
            "temperature": temperature,
        }
    )


# The whole evaluation -------------------------------------------------------------


def evaluate_robustness(
    model,
    data,
    *,
    transfer_models=None,
    settings=None,
    probe_size=256,
    batch_size=1024,
) -> pd.DataFrame:
    """All robustness and calibration metrics of one trained model, tidy.

    Units. Everything is measured in units of the data's standard deviation
    ``std`` (``data["data_std"]``, else the root mean square over features of
    the per-feature std of the test inputs; 1 for geoctx's isotropically
    standardized splits). Gaussian noise has std ``sigma * std`` on every
    feature. An attack radius ``e`` is ``e * std`` for L-inf and
    ``e * std * sqrt(d)`` for L2: the norm of a perturbation of ``e * std`` on
    every coordinate, and the typical norm of the Gaussian noise at
    ``sigma = e``. The ``epsilon`` column holds ``e`` (or sigma). Distances
    (``min_adv_distance_*``, ``boundary_distance_upper``) are L2 distances
    divided by ``std`` (so a ``pgd_l2`` row at ``e`` is a radius of
    ``e * sqrt(d)`` on that scale); ``lipschitz_*`` are in logit units per
    input unit.

    Which points. Clean, Gaussian, boundary-stratified and calibration rows use
    all of ``x_test``; attacks, minimal distance and Lipschitz rows use the
    probe points. Every (attack, epsilon) has the four rows of
    :func:`outcome_rows` on the same points, and epsilon (sigma) 0 is always
    present, its ``accuracy`` equal to ``clean_accuracy``.

    Rows (``attack, epsilon, metric``), one row builder per family:

    - ``clean, 0, accuracy`` (the whole test split);
    - ``gaussian, sigma, m`` for each sigma and ``m`` in ``accuracy``,
      ``clean_accuracy``, ``flip_rate``, ``accuracy_drop``;
    - the same four metrics for ``fgsm_linf``, ``pgd_linf``, ``pgd_l2``
      (cross-entropy), ``pgd_margin_linf``, ``pgd_margin_l2``
      (Carlini-Wagner margin), ``transfer_from_<a>`` for each activation
      ``a`` of ``transfer_models`` (margin PGD L-inf crafted on that model)
      and ``worst_case_linf``, ``worst_case_l2`` (per point, robust only if
      it survives every attack of that norm at that epsilon, transfers
      counting as L-inf), at each epsilon;
    - ``clean, q, accuracy_boundary_bin`` and ``clean, q,
      boundary_distance_upper`` per distance bin, where ``q`` is the bin's
      upper quantile (e.g. 0.2 = the 20 % of points closest to the boundary)
      and the second row is that bin's upper distance (in ``std`` units);
    - ``none, NaN, m`` for ``m`` in ``min_adv_distance_median``,
      ``min_adv_distance_q25``, ``min_adv_distance_q75`` (correctly
      classified probe points only), ``lipschitz_max``, ``lipschitz_mean``,
      ``lipschitz_relative_max``, ``lipschitz_relative_mean`` (scale-free,
      see :func:`lipschitz_estimate`), ``error_near_minus_far``, ``ece``,
      ``ece_temperature_scaled`` (test ECE after a temperature fitted on the
      validation split) and ``temperature``.

    Parameters
    ----------
    model : keras.Model
        Maps ``(n, d)`` to logits.
    data : dict
        ``x_test`` (n, d), ``y_test`` (n,), ``x_val`` (m, d), ``y_val`` (m,)
        (``X_test`` and ``X_val`` are accepted too, as written by
        :func:`geoctx.datasets.split_and_standardize`); optional
        ``probe_index`` (indices into the test split; default a random
        subset of ``probe_size``), ``boundary_distance`` or
        ``boundary_distance_test`` (n,) (default
        :func:`nearest_other_class_distance` within the test split), ``clip``
        ((low, high) data range, or None) and ``data_std`` (float). Other keys
        are ignored; in particular the datasets' ``scale`` (the raw-unit
        standardization scale) is not read.
    transfer_models : dict, optional
        ``{activation: keras.Model}``, the sources of the transfer attacks.
    settings : RobustnessSettings, optional
        Defaults to ``RobustnessSettings()``.
    probe_size : int, default 256
        Attacked points when ``data`` has no ``probe_index``.
    batch_size : int, default 1024
        Rows per forward/backward call.

    Returns
    -------
    pandas.DataFrame
        Columns ``attack`` (str), ``epsilon`` (float64), ``metric`` (str),
        ``value`` (float64).

    Examples
    --------
    >>> df = evaluate_robustness(model, data, transfer_models={"relu": other})
    ... # doctest: +SKIP
    >>> df.query("attack == 'pgd_linf'")  # doctest: +SKIP
    """
    settings = RobustnessSettings() if settings is None else settings
    inputs = prepare(data, settings, probe_size=probe_size, batch_size=batch_size)
    rows = clean_rows(model, inputs, settings)
    rows += gaussian_rows(model, inputs, settings)
    rows += attack_rows(model, inputs, settings, transfer_models)
    rows += boundary_rows(model, inputs, settings)
    rows += min_distance_rows(model, inputs, settings)
    rows += lipschitz_rows(model, inputs, settings)
    rows += calibration_rows(model, inputs, settings)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return table.astype(
        {"attack": "str", "epsilon": "float64", "metric": "str", "value": "float64"}
    )


#: Run statuses whose model classifies (if only at chance): it gets rows.
USABLE_STATUSES = ("ok", "failed_to_learn")


def evaluate_run(
    model_path,
    data: dict,
    *,
    status: str,
    keys: dict,
    settings: RobustnessSettings,
    transfer_sources: dict | None = None,
) -> pd.DataFrame:
    """:func:`evaluate_robustness` of one saved model of the sweep, with its keys.

    A model whose status is not in :data:`USABLE_STATUSES` (a diverged one)
    gets no rows (its accuracy is undefined); likewise a transfer source
    gives no rows unless usable. ``data`` holds the arrays of
    :func:`geoctx.datasets.split_and_standardize`; its ``clip_low`` /
    ``clip_high`` (a natural value range, e.g. pixel intensities) become the
    attacks' clip box. ``transfer_sources`` maps an activation to
    ``(model path, status)`` of the matched model with that activation.

    Returns the tidy table with the model keys as leading columns.
    """
    columns = [*keys, *COLUMNS]
    if status not in USABLE_STATUSES:
        warnings.warn(f"model status is {status!r}: no robustness rows", stacklevel=2)
        return pd.DataFrame(columns=columns)
    model = storage.load_model(model_path)
    sources = {
        activation: storage.load_model(path)
        for activation, (path, source_status) in (transfer_sources or {}).items()
        if source_status in USABLE_STATUSES
    }
    data = dict(data)
    if "clip_low" in data:
        data["clip"] = (data["clip_low"], data["clip_high"])
    table = evaluate_robustness(model, data, transfer_models=sources, settings=settings)
    return table.assign(**keys)[columns]

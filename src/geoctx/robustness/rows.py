"""One row builder per robustness metric family.

Each ``*_rows`` function takes the model, the
:class:`~geoctx.robustness.settings.EvaluationData` built by
:func:`~geoctx.robustness.settings.prepare` and the
:class:`~geoctx.robustness.settings.RobustnessSettings`, and returns rows
``(attack, epsilon, metric, value)``, so each family can be run and tested
alone. Attack families first compute per-point outcomes (``*_outcomes``: for
each attack and epsilon, whether each probe point is still classified
correctly); :func:`worst_case_outcomes` combines them per norm and
:func:`outcome_rows` turns any outcome into the four rows of evidence
conditioned on clean correctness.
"""

from __future__ import annotations

import numpy as np

from geoctx.names import ATTACK_NORMS, GRADIENT_ATTACKS, WORST_CASE, transfer_attack
from geoctx.robustness._common import (
    _predict_logits,
)
from geoctx.robustness.attacks import (
    accuracy,
    attack_sweep,
    gaussian_noise_correct,
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
from geoctx.robustness.settings import (
    EvaluationData,
    RobustnessSettings,
)
from geoctx.robustness.transfer import transfer_sweep


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
            outcomes_only=True,
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


#: Test points the data-only distance to the boundary is measured on when the
#: boundary is not known: each point's nearest point of another class costs
#: time quadratic in the points (a k-d tree does not help in many
#: dimensions: 25,000 points of 100 features take about a minute), so a
#: larger test split is subsampled, the same points every time (from the
#: settings' seed). Every built-in dataset's test split is smaller.
BOUNDARY_MAX_POINTS = 5000


def boundary_rows(model, inputs: EvaluationData, settings: RobustnessSettings) -> list:
    """Accuracy by distance to the boundary, and the near-minus-far error.

    ``clean, q, accuracy_boundary_bin`` and ``clean, q,
    boundary_distance_upper``: one pair per distance bin, ``q`` the bin's
    upper quantile, the second row its upper distance in ``std`` units. Then
    ``none, NaN, error_near_minus_far``: the error rate in the bin nearest
    the boundary minus that in the farthest bin (positive when errors
    concentrate near the boundary; it does not move with a uniform change of
    accuracy). Without a given boundary, at most :data:`BOUNDARY_MAX_POINTS`
    test points are binned, by their distance to the nearest point of
    another class among them.
    """
    x, y, boundary = inputs.x, inputs.y, inputs.boundary
    if boundary is None:
        if len(y) > BOUNDARY_MAX_POINTS:
            rng = np.random.default_rng(settings.seed)
            keep = np.sort(rng.choice(len(y), BOUNDARY_MAX_POINTS, replace=False))
            x, y = x[keep], y[keep]
        boundary = nearest_other_class_distance(x, y)
    bins = boundary_stratified_accuracy(
        model,
        x,
        y,
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

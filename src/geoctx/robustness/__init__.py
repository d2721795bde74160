"""Robustness and calibration of trained classifiers.

One module per idea:

- :mod:`~geoctx.robustness.worst_case`   the worst-case judge and the attack
  losses (cross-entropy, Carlini-Wagner margin);
- :mod:`~geoctx.robustness.gradient`     FGSM, FGM and PGD (L-inf, L2, random
  restarts);
- :mod:`~geoctx.robustness.attacks`      accuracy and per-point outcomes
  clean, under Gaussian noise and under a gradient attack over radii;
- :mod:`~geoctx.robustness.transfer`     transfer attacks, crafted once per
  source;
- :mod:`~geoctx.robustness.distance`     minimal adversarial distance,
  nearest-other-class distance, boundary-stratified accuracy, Lipschitz;
- :mod:`~geoctx.robustness.calibration`  expected calibration error and
  temperature scaling;
- :mod:`~geoctx.robustness.settings`     :class:`RobustnessSettings`, the
  prepared inputs and the table's names;
- :mod:`~geoctx.robustness.rows`         one row builder per metric family;
- :mod:`~geoctx.robustness.evaluate`     the tidy per-model table.

Naming follows the package convention: ``*_score`` is higher-is-better,
``*_error`` is lower-is-better, anything else is a plain noun. Models are Keras
models mapping float32 inputs ``(n, d)`` to logits ``(n, n_classes)``; labels
are integer class indices. Arrays go in and come out as numpy. Randomness
comes only from ``numpy.random.Generator`` objects built from an ``rng``
keyword (a seed or a Generator), never from a global RNG. Gradients come from
:mod:`geoctx.autodiff`. Attack functions take epsilons in input-data units;
:func:`evaluate_robustness` takes them in units of the data's standard
deviation.
"""

from geoctx.robustness.attacks import (
    Attacked,
    accuracy,
    attack_accuracy,
    attack_sweep,
    gaussian_noise_accuracy,
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
from geoctx.robustness.evaluate import evaluate_robustness, evaluate_run
from geoctx.robustness.gradient import fgsm, pgd
from geoctx.robustness.rows import outcome_rows, worst_case_outcomes
from geoctx.robustness.settings import (
    ATTACKS,
    COLUMNS,
    METRICS,
    OUTCOME_METRICS,
    EvaluationData,
    RobustnessSettings,
    prepare,
)
from geoctx.robustness.transfer import transfer_accuracy, transfer_sweep

__all__ = [
    "ATTACKS",
    "COLUMNS",
    "METRICS",
    "OUTCOME_METRICS",
    "Attacked",
    "EvaluationData",
    "RobustnessSettings",
    "accuracy",
    "apply_temperature",
    "attack_accuracy",
    "attack_sweep",
    "boundary_stratified_accuracy",
    "evaluate_robustness",
    "evaluate_run",
    "expected_calibration_error",
    "fgsm",
    "fit_temperature",
    "gaussian_noise_accuracy",
    "gaussian_noise_correct",
    "lipschitz_estimate",
    "minimal_adversarial_distance",
    "nearest_other_class_distance",
    "outcome_rows",
    "pgd",
    "prepare",
    "transfer_accuracy",
    "transfer_sweep",
    "worst_case_outcomes",
]

"""Names the study tables use (attacks, run statuses, stages, analyses), once.

The workflow's figure list (``workflow/rules/common.smk``), the package
modules that write the tables and those that read them all take these names
from here, so they cannot drift apart; this module imports nothing heavy (no
TensorFlow), so the workflow and the table schemas can read it too.

Attacks and their norm (the worst case of a norm is taken over every attack
of that norm run at the same epsilon, per point, as AutoAttack reports):

- ``fgsm_linf``, ``pgd_linf`` (cross-entropy loss), ``pgd_margin_linf``
  (Carlini-Wagner margin loss) and ``transfer_from_<activation>`` (margin
  PGD L-inf crafted on the matched model with that activation): L-inf;
- ``pgd_l2`` and ``pgd_margin_l2``: L2;
- ``gaussian`` (epsilon = sigma) belongs to no norm ball.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: ``runs.status`` of a run that trained and learned, one whose loss became
#: NaN or infinite, and one whose test accuracy stayed near chance.
OK, DIVERGED, FAILED_TO_LEARN = "ok", "diverged", "failed_to_learn"
RUN_STATUSES = (OK, DIVERGED, FAILED_TO_LEARN)

#: Stages a model is measured at (``stage`` columns); "" in the claims table
#: for quantities of the whole run (accuracy) or of untrained timed models.
STAGES = ("init", "trained", "")

#: The analyses of the scorecard (``claims.analysis``): every model, and only
#: the models that reached ``claims.min_test_accuracy``.
MAIN, SENSITIVITY = "main", "sensitivity"
ANALYSES = (MAIN, SENSITIVITY)
# The claims scorecard's Holm families ("" marks an estimate-only row).
FAMILY_NAMES = ("decides", "initialization", "controls", "sensitivity")

#: White-box gradient attacks, each run on the model itself.
GRADIENT_ATTACKS = (
    "fgsm_linf",
    "pgd_linf",
    "pgd_l2",
    "pgd_margin_linf",
    "pgd_margin_l2",
)
#: Norm of every gradient attack.
ATTACK_NORMS = {attack: attack.rsplit("_", 1)[1] for attack in GRADIENT_ATTACKS}
#: Per-point worst case over the attacks of each norm.
WORST_CASE = {"linf": "worst_case_linf", "l2": "worst_case_l2"}
#: Prefix of the transfer attacks' names.
TRANSFER_PREFIX = "transfer_from_"
#: Activations whose matched models transfer attacks are crafted on, by default.
TRANSFER_FROM = ("sigmoid", "relu")


def transfer_attack(activation: str) -> str:
    """Name of the transfer attack crafted on the model with ``activation``.

    Examples
    --------
    >>> transfer_attack("relu")
    'transfer_from_relu'
    """
    return f"{TRANSFER_PREFIX}{activation}"


def transfer_sources(
    activation: str, activations: Iterable[str], transfer_from: Iterable[str]
) -> list[str]:
    """Activations whose matched models attack a model with ``activation``.

    Those of ``transfer_from`` that are in the sweep, except ``activation``.

    Examples
    --------
    >>> transfer_sources("tanh", ["sigmoid", "tanh", "relu"], ["sigmoid", "relu"])
    ['sigmoid', 'relu']
    >>> transfer_sources("relu", ["sigmoid", "relu"], ["sigmoid", "relu", "gelu"])
    ['sigmoid']
    """
    sweep = set(activations)
    return [a for a in transfer_from if a in sweep and a != activation]


def attack_names(activations: Sequence[str], transfer_from: Iterable[str]) -> list[str]:
    """Every attack of a sweep's robustness table except ``clean`` and ``none``.

    Examples
    --------
    >>> attack_names(["sigmoid", "tanh"], ["sigmoid", "relu"])  # doctest: +ELLIPSIS
    ['gaussian', 'fgsm_linf', ..., 'transfer_from_sigmoid', 'worst_case_linf', ...]
    >>> "transfer_from_relu" in attack_names(["relu"], ["relu"])
    False
    """
    sources = {
        source
        for activation in activations
        for source in transfer_sources(activation, activations, transfer_from)
    }
    transfers = [transfer_attack(a) for a in transfer_from if a in sources]
    return ["gaussian", *GRADIENT_ATTACKS, *transfers, *WORST_CASE.values()]

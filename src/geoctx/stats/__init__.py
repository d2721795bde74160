"""Condition-level comparisons, multiplicity control and verdicts for the
claims scorecard.

Every claim C1-C9 of the study is scored the same way: take a tidy table (one
row per observation), pair the two levels of a factor (e.g. ``activation`` =
``"sigmoid"`` vs ``"relu"``) on a matched unit (the ``match_on`` columns,
e.g. dataset, initializer, width, depth and seed), average the paired
differences ``a - b`` within each *condition* (the unit without its seed:
seeds of one condition share data and are not independent), and infer on
the condition means. A summary becomes one of the verdicts in
:data:`VERDICTS` (a claim's items combine into one of :data:`CLAIM_VERDICTS`;
every verdict name is defined here, nowhere else):

- :func:`paired_differences`    tidy table -> one row per matched unit
- :func:`condition_means`       pairs -> one mean per condition
- :func:`studentized_ci`        bootstrap-t interval of the mean of condition means
- :func:`cluster_bootstrap_ci`  BCa interval, conditions then seeds resampled
                                (a comparison; it under-covers at 12 conditions)
- :func:`bootstrap_ci`          the same, every unit its own condition
- :func:`effect_tests`          minimal-effect and equivalence t-tests of one row
- :func:`t_greater`             one-sided one-sample t-test
- :func:`sign_flip_p`           exact sign-flip test on condition means (robustness)
- :func:`sign_flip_two_sided`   its two-sided form, the scorecard's ``p_sign_flip``
- :func:`heterogeneity`         I^2 and between-dataset SD
- :func:`holm`                  Holm-Bonferroni adjusted p-values (NaN-aware)
- :func:`effect_size`           standardised paired effect ``d_z = mean / sd``
- :func:`verdict`               the decision rule (documented there)
- :func:`combine`               a claim's item verdicts -> the claim's verdict
- :func:`compare`               one comparison -> one scorecard row (a dict)
- :func:`score_table`           one family of rows -> Holm, then verdicts
- :func:`summarise`             pairs and conditions -> the numbers of one row
- :func:`simulate_verdicts`     the rule's error rates and power, by simulation
- :func:`error_rates`           the report's table of them, at the study's design

None of the quantities here is a ``*_score`` or ``*_error``: all are plain
nouns (a difference, an interval, a p-value, a verdict) with no "better"
direction. The direction a claim predicts is given explicitly by
``predicted_sign``.

Randomness (bootstrap, random sign patterns, simulation) comes from a
:class:`numpy.random.Generator` built from a ``seed`` keyword; nothing
touches the global RNG. Degenerate input (fewer than two conditions, a
factor level absent from the table) warns and yields NaN / an empty table,
so the claim is reported as ``"not measured"`` instead of failing the whole
scorecard.

Modules: :mod:`~geoctx.stats.resampling` (pairs, conditions, bootstrap,
effect size), :mod:`~geoctx.stats.ttests` (the rule's tests),
:mod:`~geoctx.stats.permutation` (sign-flip tests),
:mod:`~geoctx.stats.heterogeneity`, :mod:`~geoctx.stats.multiplicity`
(Holm), :mod:`~geoctx.stats.decision` (the verdict rule),
:mod:`~geoctx.stats.simulation` (its operating characteristics); this package
re-exports their public API.
"""

from geoctx.stats.decision import (
    AGAINST,
    CLAIM_VERDICTS,
    CONTRADICTED,
    DECISIVE,
    INCONCLUSIVE,
    MEANING,
    MIXED,
    NO_EFFECT,
    NOT_MEASURED,
    STANCE,
    SUPPORTED,
    TESTS,
    VERDICTS,
    combine,
    compare,
    score_table,
    summarise,
    verdict,
)
from geoctx.stats.heterogeneity import heterogeneity
from geoctx.stats.multiplicity import holm
from geoctx.stats.permutation import min_p, sign_flip_p, sign_flip_two_sided
from geoctx.stats.resampling import (
    bootstrap_ci,
    cluster_bootstrap_ci,
    condition_means,
    effect_size,
    paired_differences,
    studentized_ci,
)
from geoctx.stats.simulation import SCENARIOS, error_rates, simulate_verdicts
from geoctx.stats.ttests import effect_tests, t_greater

__all__ = [
    "SUPPORTED",
    "CONTRADICTED",
    "NO_EFFECT",
    "MIXED",
    "INCONCLUSIVE",
    "NOT_MEASURED",
    "VERDICTS",
    "CLAIM_VERDICTS",
    "AGAINST",
    "DECISIVE",
    "STANCE",
    "MEANING",
    "TESTS",
    "paired_differences",
    "condition_means",
    "studentized_ci",
    "cluster_bootstrap_ci",
    "bootstrap_ci",
    "effect_tests",
    "t_greater",
    "sign_flip_p",
    "sign_flip_two_sided",
    "min_p",
    "heterogeneity",
    "holm",
    "effect_size",
    "verdict",
    "combine",
    "compare",
    "score_table",
    "summarise",
    "SCENARIOS",
    "error_rates",
    "simulate_verdicts",
]

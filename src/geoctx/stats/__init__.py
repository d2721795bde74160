"""Paired comparisons, multiplicity control and verdicts for the claims scorecard.

Every claim C1-C9 of the study is scored the same way: take a tidy table (one
row per observation), pair the two levels of a factor (e.g. ``activation`` =
``"sigmoid"`` vs ``"relu"``) on a matched unit (the unique combination of the
``match_on`` columns, e.g. dataset, initializer, width, depth and seed),
summarise the paired differences ``a - b`` and turn the summary into one of the
verdicts in :data:`VERDICTS` (a claim's items combine into one of
:data:`CLAIM_VERDICTS`; every verdict name is defined here, nowhere else):

- :func:`paired_differences`  tidy table -> one row per matched unit
- :func:`bootstrap_ci`        percentile bootstrap CI of the mean difference
- :func:`wilcoxon_p`          two-sided Wilcoxon signed-rank p-value
- :func:`wilcoxon_min_p`      the smallest p-value that test can reach at ``n``
- :func:`holm`                Holm-Bonferroni adjusted p-values (NaN-aware)
- :func:`effect_size`         standardised paired effect ``d_z = mean / sd``
- :func:`verdict`             the decision rule (documented there)
- :func:`combine`             a claim's item verdicts -> the claim's verdict
- :func:`compare`             one comparison -> one scorecard row (a dict)
- :func:`score_table`         rows -> table with ``p_holm``, ``p_floor``, verdict
- :func:`simulate_verdicts`   the rule's error rates and power, by simulation

None of the quantities here is a ``*_score`` or ``*_error``: all are plain
nouns (a difference, an interval, a p-value, a verdict) with no "better"
direction. The direction a claim predicts is given explicitly by
``predicted_sign``.

Randomness (the bootstrap only) comes from a :class:`numpy.random.Generator`
built from the ``seed`` keyword; nothing touches the global RNG. Degenerate
input (fewer than two matched units, a factor level absent from the table)
warns and yields NaN / an empty table, so the claim is reported as
``"not measured"`` instead of failing the whole scorecard.

Modules: :mod:`~geoctx.stats.resampling` (paired differences, bootstrap,
Wilcoxon, effect size), :mod:`~geoctx.stats.multiplicity` (Holm),
:mod:`~geoctx.stats.decision` (the verdict rule),
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
    VERDICTS,
    combine,
    compare,
    score_table,
    verdict,
)
from geoctx.stats.multiplicity import holm
from geoctx.stats.resampling import (
    bootstrap_ci,
    effect_size,
    paired_differences,
    wilcoxon_min_p,
    wilcoxon_p,
)
from geoctx.stats.simulation import simulate_verdicts

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
    "paired_differences",
    "bootstrap_ci",
    "wilcoxon_p",
    "wilcoxon_min_p",
    "holm",
    "effect_size",
    "verdict",
    "combine",
    "compare",
    "score_table",
    "simulate_verdicts",
]

"""The worst-case judge: per point, the candidate input that hurts a model most.

An attack offers candidates (the clean input, one-step points, every PGD
iterate, examples from other radii) and the judge keeps, per point, one that
fools the model, else the one with the highest loss. The losses are the
cross-entropy and the Carlini-Wagner margin ``max_{j != y} z_j - z_y``: the
cross-entropy's gradient is exactly zero in float32 once the true logit leads
by enough (its softmax saturates), the margin's never for that reason.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp


def _cross_entropy(logits, y):
    logits = np.asarray(logits, dtype=np.float64)
    return logsumexp(logits, axis=1) - logits[np.arange(len(y)), y]


def _margin(logits, y):
    """Carlini-Wagner margin ``max_{j != y} z_j - z_y``: > 0 iff misclassified."""
    logits = np.array(logits, dtype=np.float64)
    rows = np.arange(len(y))
    true = logits[rows, y].copy()
    logits[rows, y] = -np.inf
    return logits.max(axis=1) - true


_LOSSES = {"cross_entropy": _cross_entropy, "margin": _margin}


def _loss_of(attack):
    return "margin" if "_margin_" in attack else "cross_entropy"


def _check_loss(loss):
    if loss not in _LOSSES:
        raise ValueError(f"loss must be one of {tuple(_LOSSES)}, got {loss!r}")
    return loss


class _WorstCase:
    """Per point, the candidate input that fools the model, else the highest loss."""

    def __init__(self, x, logits, y, loss="cross_entropy"):
        if y.max() >= logits.shape[1]:
            raise ValueError(
                f"y has label {y.max()} but the model has {logits.shape[1]} classes"
            )
        self.y = y
        self.x = x.copy()
        self.score = _LOSSES[loss]
        self.fooled = np.argmax(logits, axis=1) != y
        self.loss = self.score(logits, y)

    def judge(self, logits, rows=None):
        """Per row of ``logits`` (of the points ``rows``): fooled, loss."""
        y = self.y if rows is None else self.y[rows]
        return np.argmax(logits, axis=1) != y, self.score(logits, y)

    def offer(self, candidate, logits, rows=None, judged=None):
        """Offer one candidate per point, or per point of ``rows`` (indices);
        ``judged`` is ``judge(logits, rows)`` if already known."""
        fooled, loss = self.judge(logits, rows) if judged is None else judged
        rows = np.arange(len(self.y)) if rows is None else rows
        better = (fooled & ~self.fooled[rows]) | (
            (fooled == self.fooled[rows]) & (loss > self.loss[rows])
        )
        self.x[rows[better]] = candidate[better]
        self.fooled[rows[better]] = fooled[better]
        self.loss[rows[better]] = loss[better]

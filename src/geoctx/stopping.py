"""When a training run stops, and what it became.

The rules every run of the study is judged by, the tuning runs'
(:mod:`geoctx.tuning`) as the study models' (:mod:`geoctx.training`):
:func:`converged`, the stopping rule (a plateau of the training loss, not
a budget); :func:`run_status`, whether the run learned, judged on its
training data; :func:`best_epoch`, the epoch a monitored value was best.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geoctx.names import DIVERGED, FAILED_TO_LEARN, OK

__all__ = ["best_epoch", "converged", "run_status"]


def converged(
    losses,
    accuracies=None,
    *,
    window: int,
    tolerance: float,
    fitted_accuracy: float = 0.0,
    unfitted_window: int = 0,
) -> bool:
    """Whether a training-loss curve has plateaued.

    True when the best loss of the last ``window`` epochs improved on the
    best loss before them by less than ``tolerance`` times the first
    epoch's loss. Relative to where training started, not to the current
    loss: a fitting model's loss keeps falling by a steady fraction long
    after its gains stop mattering. False with ``window`` epochs or fewer.

    A run that has not fit its training data (its last epoch's training
    accuracy, the last of ``accuracies``: the mean over that epoch's
    batches as they train, not a fresh pass; below ``fitted_accuracy``) sits
    on a flat stretch that some runs leave given time (a saddle, as deep
    sigmoid networks show): its plateau must last ``unfitted_window``
    epochs (if longer than ``window``) before it counts.

    >>> converged([1.0, 0.5, 0.4, 0.3999], window=2, tolerance=0.01)
    False
    >>> converged([1.0, 0.5, 0.4, 0.3999, 0.3998], window=2, tolerance=0.01)
    True
    >>> converged([1.0, 0.5, 0.4, 0.3999, 0.3998], [0.5] * 5, window=2,
    ...     tolerance=0.01, fitted_accuracy=0.9, unfitted_window=4)
    False
    """
    values = np.asarray(losses, dtype=float)
    last = np.asarray(accuracies if accuracies is not None else [], dtype=float)
    if last.size and last[-1] < fitted_accuracy:
        window = max(window, unfitted_window)
    if len(values) <= window:
        return False
    gain = np.min(values[:-window]) - np.min(values[-window:])
    return bool(gain < tolerance * values[0])


def run_status(
    train_accuracy: float, *, n_classes: int, diverged: bool, margin: float
) -> str:
    """``"diverged"``, ``"failed_to_learn"`` or ``"ok"``.

    A run failed to learn when its final training accuracy closed at most
    the fraction ``margin`` of the gap between chance, ``1 / n_classes``,
    and a perfect fit: ``accuracy <= chance + margin * (1 - chance)``.
    Judged on the training data, so it asks whether the model fit what it
    was trained on, not whether that generalized. Divergence takes
    precedence.

    >>> run_status(0.28, n_classes=10, diverged=False, margin=0.2)
    'failed_to_learn'
    >>> run_status(0.61, n_classes=2, diverged=False, margin=0.2)
    'ok'
    """
    if diverged:
        return DIVERGED
    chance = 1.0 / n_classes
    if not train_accuracy > chance + margin * (1.0 - chance):
        return FAILED_TO_LEARN
    return OK


def best_epoch(history: pd.DataFrame, *, monitor: str = "val_accuracy") -> int:
    """The first epoch (from 1) with the best ``monitor`` value.

    Best is the highest accuracy or the lowest loss; with no finite value,
    the last epoch.

    >>> best_epoch(pd.DataFrame({"val_accuracy": [0.5, 0.9, 0.9, 0.8]}))
    2
    """
    values = history[monitor].to_numpy(dtype=float)
    if not np.isfinite(values).any():
        return len(values)
    values = np.where(np.isfinite(values), values, np.nan)
    pick = np.nanargmax if "accuracy" in monitor else np.nanargmin
    return int(pick(values)) + 1

"""Calibration: expected calibration error and temperature scaling.

``expected_calibration_error`` is in [0, 1], lower is better (an ``_error``).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from geoctx.autodiff import check_arrays
from geoctx.robustness._common import _check_positive_int


def _check_probabilities(probs, y):
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2:
        raise ValueError(f"probs must be 2-D (n, n_classes), got shape {probs.shape}")
    if (
        not np.all(np.isfinite(probs))
        or np.any(probs < 0)
        or np.any(probs > 1)
        or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    ):
        raise ValueError("probs must hold probabilities in [0, 1] that sum to 1")
    _, y = check_arrays(probs, y, x_name="probs")
    if y.max() >= probs.shape[1]:
        raise ValueError(
            f"y has label {y.max()} but probs has {probs.shape[1]} classes"
        )
    return probs, y


def expected_calibration_error(probs, y, *, n_bins=15) -> float:
    """Expected calibration error (Guo et al., 2017), equal-width bins.

    ``ECE = sum_b |B_b| / n * |accuracy(B_b) - confidence(B_b)|`` where the
    confidence of a prediction is its largest probability and bin ``b`` holds
    confidences in ``((b - 1) / n_bins, b / n_bins]``.

    Parameters
    ----------
    probs : array_like, shape (n, n_classes)
        Predicted class probabilities (rows sum to 1).
    y : array_like of int, shape (n,)
    n_bins : int, default 15

    Returns
    -------
    float
        In [0, 1], lower is better.

    Examples
    --------
    >>> expected_calibration_error([[0.9, 0.1], [0.9, 0.1]], [0, 1], n_bins=10)
    0.4
    """
    probs, y = _check_probabilities(probs, y)
    n_bins = _check_positive_int(n_bins, "n_bins")
    confidence = probs.max(axis=1)
    correct = np.argmax(probs, axis=1) == y
    bins = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    gap = np.bincount(
        bins, weights=correct.astype(np.float64) - confidence, minlength=n_bins
    )
    return float(np.sum(np.abs(gap)) / len(y))


def apply_temperature(logits, temperature):
    """Softmax probabilities of ``logits / temperature``.

    Parameters
    ----------
    logits : array_like, shape (n, n_classes)
    temperature : float
        > 0; 1 gives the plain softmax.

    Returns
    -------
    ndarray, shape (n, n_classes), float64

    Examples
    --------
    >>> apply_temperature([[0.0, 0.0]], 2.0)
    array([[0.5, 0.5]])
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or not np.all(np.isfinite(logits)):
        raise ValueError(f"logits must be finite and 2-D, got shape {logits.shape}")
    temperature = float(temperature)
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return softmax(logits / temperature, axis=1)


def fit_temperature(logits_val, y_val, *, bounds=(1e-2, 1e2)) -> float:
    """Temperature minimising the validation NLL (Guo et al., 2017).

    A bounded 1-D search over ``log T`` (``scipy.optimize.minimize_scalar``).

    Parameters
    ----------
    logits_val : array_like, shape (n, n_classes)
        Validation logits.
    y_val : array_like of int, shape (n,)
    bounds : (float, float), default (0.01, 100)
        Search range of T.

    Returns
    -------
    float
        The temperature T > 0; apply it with :func:`apply_temperature`.

    Examples
    --------
    >>> T = fit_temperature(logits_val, y_val)  # doctest: +SKIP
    >>> probs = apply_temperature(logits_test, T)  # doctest: +SKIP
    """
    _, y = check_arrays(logits_val, y_val, x_name="logits_val", y_name="y_val")
    logits = np.asarray(logits_val, dtype=np.float64)
    if y.max() >= logits.shape[1]:
        raise ValueError(
            f"y_val has label {y.max()} but logits_val has {logits.shape[1]} classes"
        )
    low, high = (float(b) for b in bounds)
    if not 0 < low < high < np.inf:
        raise ValueError(f"bounds must satisfy 0 < low < high, got {bounds}")
    rows = np.arange(len(y))

    def nll(log_t):
        return -np.mean(log_softmax(logits / np.exp(log_t), axis=1)[rows, y])

    result = minimize_scalar(
        nll,
        bounds=(np.log(low), np.log(high)),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(result.x))

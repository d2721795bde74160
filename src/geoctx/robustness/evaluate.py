"""Every robustness and calibration metric of one trained model, as a tidy table.

:func:`evaluate_robustness` measures in units of the data's standard deviation
(see its docstring) and returns rows ``(attack, epsilon, metric, value)``. It
is the concatenation of the row builders of :mod:`geoctx.robustness.rows`,
one per metric family, on the inputs :func:`~geoctx.robustness.settings.prepare`
builds. :func:`evaluate_run` applies it to one saved model of the sweep.
"""

from __future__ import annotations

import warnings

import pandas as pd

from geoctx import storage
from geoctx.names import (
    FAILED_TO_LEARN,
    OK,
)
from geoctx.robustness.rows import (
    attack_rows,
    boundary_rows,
    calibration_rows,
    clean_rows,
    gaussian_rows,
    lipschitz_rows,
    min_distance_rows,
)
from geoctx.robustness.settings import COLUMNS, RobustnessSettings, prepare


def evaluate_robustness(
    model,
    data,
    *,
    transfer_models=None,
    settings=None,
    attacked_points=256,
    batch_size=4096,
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
        subset of ``attacked_points``), ``boundary_distance`` or
        ``boundary_distance_test`` (n,) (default
        :func:`nearest_other_class_distance` within the test split, at most
        ``rows.BOUNDARY_MAX_POINTS`` of its points), ``clip``
        ((low, high) data range, or None) and ``data_std`` (float). Other keys
        are ignored; in particular the datasets' ``scale`` (the raw-unit
        standardization scale) is not read.
    transfer_models : dict, optional
        ``{activation: keras.Model}``, the sources of the transfer attacks.
    settings : RobustnessSettings, optional
        Defaults to ``RobustnessSettings()``.
    attacked_points : int, default 256
        Attacked points when ``data`` has no ``probe_index``.
    batch_size : int, default 4096
        Rows per forward/backward call (PGD attacks all restarts of a point
        at once); the table does not depend on it.

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
    inputs = prepare(
        data, settings, attacked_points=attacked_points, batch_size=batch_size
    )
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
USABLE_STATUSES = (OK, FAILED_TO_LEARN)


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

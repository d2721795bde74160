"""Geometry of a layer's representation compared with the input.

Every function is pure: arrays in, numbers out, nothing persisted. ``X`` of
shape ``(n, d_in)`` is the input representation and ``H`` of shape
``(n, d_layer)`` a layer's representation of the *same* ``n`` points in the
*same* order. The heavy lifting is done by maintained libraries (scipy,
scikit-learn, ripser); each docstring says which.

Naming: the study's convention is that ``*_score`` is higher-is-better and
``*_error``/``*_loss`` lower-is-better. The names here are fixed by the study
design and carry no suffix, so each docstring states what is returned and its
range. In short:

=============================  ================  ==============================
function                       range             reading
=============================  ================  ==============================
``distance_spearman``          [-1, 1]           higher: global distances kept
``distance_contrast``          [0, inf)          near 0: distances concentrated
``knn_overlap``                [0, 1]            higher: neighbourhoods kept
``trustworthiness``            [0, 1]            higher: no false neighbours
``continuity``                 [0, 1]            higher: no torn neighbourhoods
``linear_cka``                 [0, 1]            higher: similar to the input
``twonn_dimension``            (0, inf)          intrinsic dimension
``effective_rank``             [1, min(n-1, d)]  number of used directions
``betti_numbers``              ints              components (>= 1), loops
``trajectory_length_ratio``    [0, inf)          > 1 stretches, < 1 contracts
``trajectory_length_scaled``   [0, inf)          > 1 folds, whatever the scale
``jacobian_spectrum``          dict              0 and 1 for an isometry
``linear_probe_accuracy``      [0, 1]            higher: labels linearly decodable
=============================  ================  ==============================

Validation happens at the boundary: bad input (wrong number of dimensions,
mismatched ``n``, NaN/inf, too few points, ``k`` too large, ...) raises
``ValueError`` naming the bad value. Degenerate but valid input (a constant
representation, all points identical) emits a ``RuntimeWarning`` and returns
NaN; the docstrings list the exceptions (Betti numbers and the linear probe
are well defined on a constant representation).

Distances tie when a layer maps several inputs to the same vector (dead ReLU
regions, saturated sigmoids). The neighbourhood metrics then use fractional
neighbour membership instead of breaking ties by point order, so that every
metric is a function of the point set alone: permuting the points never
changes a result.

:func:`all_metrics` computes every per-layer metric at once, sharing the
pairwise distance matrices; its keys are :data:`geoctx.config.LAYER_METRICS`.

One module per metric family of the study: :mod:`~geoctx.geometry.distances`,
:mod:`~geoctx.geometry.neighbourhoods`, :mod:`~geoctx.geometry.similarity`,
:mod:`~geoctx.geometry.dimension`, :mod:`~geoctx.geometry.topology`,
:mod:`~geoctx.geometry.isometry` and :mod:`~geoctx.geometry.probing`;
:mod:`~geoctx.geometry.per_layer` combines them. This package re-exports
their public API. The workflow's per-layer stage, which turns them into
tables, is :mod:`geoctx.geometry.stage`.
"""

from geoctx.geometry.dimension import effective_rank, twonn_dimension
from geoctx.geometry.distances import distance_contrast, distance_spearman
from geoctx.geometry.isometry import (
    input_circle,
    jacobian_spectrum,
    refined_trajectory,
    trajectory_length_ratio,
    trajectory_length_scaled,
)
from geoctx.geometry.neighbourhoods import continuity, knn_overlap, trustworthiness
from geoctx.geometry.per_layer import all_metrics
from geoctx.geometry.probing import linear_probe_accuracy
from geoctx.geometry.similarity import linear_cka
from geoctx.geometry.topology import betti_numbers, betti_numbers_per_class

__all__ = [
    "all_metrics",
    "betti_numbers",
    "betti_numbers_per_class",
    "continuity",
    "distance_contrast",
    "distance_spearman",
    "effective_rank",
    "input_circle",
    "jacobian_spectrum",
    "knn_overlap",
    "linear_cka",
    "linear_probe_accuracy",
    "refined_trajectory",
    "trajectory_length_ratio",
    "trajectory_length_scaled",
    "trustworthiness",
    "twonn_dimension",
]

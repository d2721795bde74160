"""Per-layer geometry of one model: the workflow's geometry stage.

:func:`geometry_table` needs only the probe representations the training
job exported (no TensorFlow). :func:`jacobian_table` needs the model itself
(Jacobians by autodiff, and the input circle mapped through the layers); it
imports Keras lazily so the rest of the module stays light.

Both are parts of a model's evaluation (:mod:`geoctx.evaluation`). Both
return tidy rows ``stage, layer, metric, value`` with layer 0 the
input, ``1..depth`` the hidden layers and ``depth + 1`` the logits. Both
take one :class:`GeometrySettings`, the config's ``geometry`` section.
"""

from __future__ import annotations

import hashlib
import logging
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoctx import geometry
from geoctx.config import JACOBIAN_METRICS, LAYER_METRICS
from geoctx.geometry.topology import MAX_POINTS
from geoctx.recent import Recent

log = logging.getLogger(__name__)

COLUMNS = ["stage", "layer", "metric", "value"]


@dataclass(frozen=True)
class GeometrySettings:
    """The geometry stage's settings: the config's ``geometry`` section.

    Field names and defaults are those of the section in
    ``workflow/schemas/config.schema.yaml`` (a test checks they agree);
    ``config/README.md`` explains each. :func:`geometry_table` uses
    ``measured_points``, ``n_neighbors``, ``betti_max_points``, ``probe_folds``
    and ``seed``;
    :func:`jacobian_table` uses ``jacobian_points``, ``curve_points``,
    ``curve_rtol``, ``curve_max_points`` and ``seed``; ``projection_depth``
    only chooses the models of a figure.

    Examples
    --------
    >>> GeometrySettings(n_neighbors=5).betti_max_points
    150
    """

    measured_points: int = 256
    n_neighbors: int = 10
    betti_max_points: int = MAX_POINTS
    probe_folds: int = 5
    jacobian_points: int = 64
    curve_points: int = 200
    curve_rtol: float = 0.01
    curve_max_points: int = 25_600
    projection_depth: int | None = None
    seed: int = 0


def probe_subset(n_probe: int, size: int, *, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``size`` of the ``n_probe`` probe points (all if fewer)."""
    if size >= n_probe:
        return np.arange(n_probe)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_probe, size=size, replace=False))


def _layers(representations: dict, stage: str) -> list[np.ndarray]:
    n = sum(1 for key in representations if key.startswith(f"{stage}/"))
    return [representations[f"{stage}/layer_{i}"] for i in range(n)]


def geometry_table(
    representations: dict[str, np.ndarray],
    y: np.ndarray,
    settings: GeometrySettings = GeometrySettings(),
) -> pd.DataFrame:
    """Every :func:`geoctx.geometry.all_metrics` metric at every layer and stage.

    ``representations`` maps ``"<stage>/layer_<i>"`` to the probe points'
    representation (``layer_0`` is the input); ``y`` their labels. Layer 0
    is included: its values are the metrics' identity values, a check.
    Metrics that are undefined for a layer (e.g. a collapsed
    representation) are NaN, with the warning logged.
    """
    stages = sorted({key.split("/")[0] for key in representations})
    s = settings
    index = probe_subset(len(y), s.measured_points, seed=s.seed)
    y = np.asarray(y)[index]
    rows = []
    for stage in stages:
        layers = _layers(representations, stage)
        X = layers[0][index]
        for i, H in enumerate(layers):
            t0 = time.perf_counter()
            if not np.isfinite(H).all():
                log.warning(
                    "%s layer %d is not finite (diverged run): NaN rows", stage, i
                )
                rows += [(stage, i, name, np.nan) for name in LAYER_METRICS]
                continue
            values, messages = _measured(X, H[index], y, s)
            for message in messages:
                log.warning("%s layer %d: %s", stage, i, message)
            rows += [(stage, i, name, float(v)) for name, v in values.items()]
            log.info("%s layer %d: %.2fs", stage, i, time.perf_counter() - t0)
    return pd.DataFrame(rows, columns=COLUMNS)


# (X, H, y, settings) -> values and warnings of the latest layers measured:
# every stage's input layer repeats, and so does every model's of a cell (the
# same probe points), so a process measures it once
_MEASURED: Recent = Recent(8)


def _measured(X, H, y, settings: GeometrySettings):
    """:func:`geoctx.geometry.all_metrics` of one layer and its warnings."""
    digest = hashlib.blake2b()
    for array in (X, H, y):
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        if array.dtype == object:  # labels as Python objects: by value
            digest.update(repr(array.tolist()).encode())
        else:
            digest.update(np.ascontiguousarray(array).tobytes())
    s = settings
    options = {
        "n_neighbors": s.n_neighbors,
        "betti_max_points": s.betti_max_points,
        "folds": s.probe_folds,
        "seed": s.seed,
    }
    key = (digest.digest(), tuple(options.items()))
    if key not in _MEASURED:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            values = geometry.all_metrics(X, H, y, **options)
        _MEASURED[key] = values, {str(w.message) for w in caught}
    return _MEASURED[key]


def jacobian_table(
    models: dict,
    X: np.ndarray,
    settings: GeometrySettings = GeometrySettings(),
) -> pd.DataFrame:
    """Local isometry and trajectory length at every layer, per stage.

    ``models`` maps a stage (``init``, ``trained``) to its Keras model; ``X``
    are the probe inputs. For each layer: the Jacobian spectrum of the
    input-to-layer map at ``settings.jacobian_points`` probe points
    (``jacobian_log_sv_mean``, ``jacobian_condition``,
    ``jacobian_collapsed_fraction``), and the length of the input circle
    (:func:`geoctx.geometry.input_circle`, in the probe's top-2 principal
    plane) after the layer over its input length (``trajectory_length_ratio``,
    Raghu et al. 2017) and the same in units of each curve's extent
    (``trajectory_length_scaled``). The circle starts with
    ``settings.curve_points`` points, doubled per stage until every layer's
    length converges (:func:`geoctx.geometry.refined_trajectory`).
    """
    from geoctx import autodiff
    from geoctx.models import layer_outputs_model

    s = settings
    points = X[probe_subset(len(X), s.jacobian_points, seed=s.seed)]
    runner, outputs = _shared_runner(models.values())
    rows = []
    for stage, model in models.items():
        if runner is not None:
            runner.set_weights(model.get_weights())
            model = runner
        else:
            outputs = layer_outputs_model(model)
        circle, curves, converged = geometry.refined_trajectory(
            lambda c, outputs=outputs: _layer_outputs(outputs, c),
            X,
            n_points=s.curve_points,
            rtol=s.curve_rtol,
            max_points=s.curve_max_points,
        )
        log.info("%s: input circle of %d points", stage, len(circle))
        if not converged:
            log.warning(
                "%s: curve lengths still changed by more than %g at %d points",
                stage,
                s.curve_rtol,
                len(circle),
            )
        jacobians = None
        if all(np.isfinite(c).all() for c in curves):
            jacobians = autodiff.all_layer_jacobians(model, points)
        for i, curve in enumerate(curves):
            if jacobians is None:
                log.warning(
                    "%s layer %d is not finite (diverged run): NaN rows", stage, i
                )
                rows += [(stage, i, name, np.nan) for name in JACOBIAN_METRICS]
                continue
            J = jacobians[i]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                values = {
                    **geometry.jacobian_spectrum(J),
                    "trajectory_length_ratio": geometry.trajectory_length_ratio(
                        curves[0], curve
                    ),
                    "trajectory_length_scaled": geometry.trajectory_length_scaled(
                        curves[0], curve
                    ),
                }
            for w in {str(w.message) for w in caught}:
                log.warning("%s layer %d: %s", stage, i, w)
            rows += [(stage, i, name, float(values[name])) for name in JACOBIAN_METRICS]
    return pd.DataFrame(rows, columns=COLUMNS)


# architecture -> (runner, its layer-outputs model), kept for their graphs
# (the latest architectures used)
_RUNNERS: Recent = Recent()


def _shared_runner(models):
    """One model to evaluate every model on, if they share one architecture,
    and its layer-outputs model; ``(None, None)`` if the models differ.

    Evaluating each stage on the same model object (its weights set per
    stage) traces its forward pass and its Jacobians once instead of once
    per model: the traced graphs read the weights when run, so the values
    are those of each model's own graph. The runner is a clone kept per
    architecture (not per initializer, which only drew the initial
    weights), so a process evaluating many models traces them once.
    """
    import keras

    from geoctx.models import layer_outputs_model

    models = list(models)
    if len(models) < 2:
        return None, None
    first = _architecture(models[0])
    if any(_architecture(model) != first for model in models[1:]):
        return None, None
    key = repr(first)
    if key not in _RUNNERS:
        runner = keras.models.clone_model(models[0])
        _RUNNERS[key] = (runner, layer_outputs_model(runner))
    return _RUNNERS[key]


#: Layer settings that only draw initial weights: a runner's graphs do not
#: depend on them (it is given each model's weights).
_NOT_IN_GRAPH = ("name", "kernel_initializer", "bias_initializer")


def _architecture(model):
    """The layers' classes, configs (without names and initializers) and
    weight shapes."""
    layers = []
    for layer in model.layers:
        config = {k: v for k, v in layer.get_config().items() if k not in _NOT_IN_GRAPH}
        shapes = [tuple(w.shape) for w in layer.weights]
        layers.append((type(layer).__name__, repr(config), shapes))
    return type(model).__name__, layers


def _layer_outputs(outputs_model, x: np.ndarray) -> list[np.ndarray]:
    """``[x, *layer outputs]`` in inference mode, in blocks of 4096 rows.

    The blocks of :func:`geoctx.training.layer_representations`, so the
    values are the same (:func:`geoctx.autodiff.predict`: one compiled
    function for every size of curve).
    """
    from geoctx import autodiff

    x = np.asarray(x, dtype=np.float32)
    return [x, *autodiff.predict(outputs_model, x, batch_size=4096)]

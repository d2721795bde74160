"""Where a job's CPU goes: start-up, loading, tracing, compiling and computing.

A job's process CPU (``time.process_time``: every thread of the process)
is split into phases:

- ``startup``: everything before the job's script logs its first line (the
  interpreter and imports of a plain process; next to nothing for a child of
  the job server, whose imports were paid once in the server), and every
  import after it (an ``import`` statement that loads new modules);
- ``load``: reading data, representations and models from disk
  (:mod:`geoctx.storage` and :func:`geoctx.datasets.load` run in
  :func:`phase` ``"load"``);
- ``trace``: TensorFlow building a graph for a ``tf.function`` (Keras's own
  train and predict steps included): running the Python function
  symbolically, autograph included. Measured exactly, as the CPU inside
  TensorFlow's concrete-function construction;
- ``compile``: the first execution of a newly traced graph (graph
  optimization and kernel creation) beyond the cost of running it, that is
  the rest of the call that traced minus the fastest later call of the same
  function. A function never called again counts its whole first call, so
  this is an upper bound;
- ``compute``: the rest.

Nested phases count once, in the outermost. A job server child reports its
phases in the server's accounting file (:mod:`geoctx.jobserver`); a plain
process logs them as its last log line.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import logging
import sys
import time
import weakref

__all__ = ["PHASES", "count_tracing", "job_started", "phase", "restart", "summary"]

#: Phases measured inside a job; ``compute`` is what remains.
PHASES = ("startup", "load", "trace", "compile")

_totals = dict.fromkeys(PHASES, 0.0)
_origin = [0.0]  # the process CPU at which this job's process began
_active: list[str] = []  # the phase being measured, if any (outermost only)
_patched: list = []
_logging_at_exit: list[bool] = []
# tf.function -> _FirstRuns, for the compile estimate
_first_runs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CALL = "tf.function call"  # marks a call being measured in _active


class _FirstRuns:
    """One function's first runs of new graphs, against its fastest later call.

    Its share of ``compile`` is the sum over first runs of ``max(0, run -
    fastest later call)``, or of the whole runs while there is no later call.
    """

    def __init__(self):
        self.runs: list[float] = []
        self.fastest = float("inf")
        self.counted = 0.0

    def update(self, *, first: float | None = None, later: float | None = None):
        if first is not None:
            self.runs.append(first)
        if later is not None:
            self.fastest = min(self.fastest, later)
        floor = 0.0 if self.fastest == float("inf") else self.fastest
        counted = sum(max(0.0, run - floor) for run in self.runs)
        _totals["compile"] += counted - self.counted
        self.counted = counted


def restart() -> None:
    """Account from here on as if a new process began here: a job server
    worker (:mod:`geoctx.jobserver`) calls this before each job it runs."""
    _origin[0] = time.process_time()
    _totals.update(dict.fromkeys(PHASES, 0.0))
    _first_runs.clear()


def job_started(*, log_at_exit: bool = True) -> None:
    """Record the CPU spent so far as start-up; reset the other phases.

    With ``log_at_exit``, the phases are logged when the process exits
    normally (a job server child reports them to the server instead).
    """
    _totals.update(dict.fromkeys(PHASES, 0.0))
    _first_runs.clear()
    _totals["startup"] = time.process_time() - _origin[0]
    _count_imports()
    if log_at_exit and not _logging_at_exit:
        atexit.register(_log_summary)
        _logging_at_exit.append(True)


def _count_imports() -> None:
    """Count the CPU of ``import`` statements that load modules as start-up."""
    if getattr(builtins.__import__, "_counts_imports", False):
        return
    original = builtins.__import__

    def counted(name, globals=None, locals=None, fromlist=(), level=0):
        if _active or (level == 0 and not fromlist and name in sys.modules):
            return original(name, globals, locals, fromlist, level)
        _active.append("startup")
        start = time.process_time()
        try:
            return original(name, globals, locals, fromlist, level)
        finally:
            _totals["startup"] += time.process_time() - start
            _active.pop()

    counted._counts_imports = True
    builtins.__import__ = counted


@contextlib.contextmanager
def phase(name: str):
    """Count the CPU of the ``with`` body as ``name`` (outermost phase only).

    Examples
    --------
    >>> with phase("load"):
    ...     _ = sum(range(10))
    >>> summary()["load_cpu_s"] >= 0
    True
    """
    if name not in PHASES:
        raise ValueError(f"unknown phase {name!r}; expected one of {PHASES}")
    if _active:
        yield
        return
    _active.append(name)
    start = time.process_time()
    try:
        yield
    finally:
        _totals[name] += time.process_time() - start
        _active.pop()


def count_tracing() -> bool:
    """Count TensorFlow's tracing as ``trace`` and first runs as ``compile``.

    Patches, once per process, TensorFlow's concrete-function construction
    (the tracing) and the call of its function class (to tell first runs of
    a new graph from later calls). Returns whether tracing is being counted:
    False if either has changed shape, in which case both phases stay 0 and
    count as compute.
    """
    import tensorflow as tf

    try:
        from tensorflow.python.eager.polymorphic_function import (
            tracing_compilation,
        )
    except ImportError:
        return False
    cls = type(tf.function(lambda x: x))
    if cls in _patched:
        return True
    create = getattr(tracing_compilation, "_create_concrete_function", None)
    if create is None or not hasattr(cls, "experimental_get_tracing_count"):
        return False
    original_call = cls.__call__

    def traced(*args, **kwargs):
        if _active not in ([], [_CALL]):  # inside another phase, or tracing
            return create(*args, **kwargs)
        _active.append("trace")
        start = time.process_time()
        try:
            return create(*args, **kwargs)
        finally:
            _totals["trace"] += time.process_time() - start
            _active.pop()

    def call(self, *args, **kwargs):
        if _active:
            return original_call(self, *args, **kwargs)
        before = self.experimental_get_tracing_count()
        traced_before = _totals["trace"]
        start = time.process_time()
        _active.append(_CALL)
        try:
            return original_call(self, *args, **kwargs)
        finally:
            _active.pop()
            run = time.process_time() - start - (_totals["trace"] - traced_before)
            new_graph = self.experimental_get_tracing_count() != before
            with contextlib.suppress(TypeError):  # not weakly referenceable
                runs = _first_runs.setdefault(self, _FirstRuns())
                runs.update(**{"first" if new_graph else "later": run})

    tracing_compilation._create_concrete_function = traced
    cls.__call__ = call
    _patched.extend([cls, tracing_compilation])
    return True


def summary() -> dict[str, float]:
    """CPU seconds per phase since :func:`job_started`, and in all.

    Keys: ``startup_cpu_s``, ``load_cpu_s``, ``trace_cpu_s``,
    ``compile_cpu_s``, ``compute_cpu_s`` and ``cpu_s`` (the process's CPU,
    start-up included, since it began or since :func:`restart`).
    """
    total = time.process_time() - _origin[0]
    out = {f"{name}_cpu_s": round(_totals[name], 3) for name in PHASES}
    measured = sum(_totals.values())
    out["compute_cpu_s"] = round(max(total - measured, 0.0), 3)
    out["cpu_s"] = round(total, 3)
    return out


def _log_summary() -> None:
    import resource

    costs = summary()
    total = costs.pop("cpu_s")
    parts = ", ".join(f"{k.removesuffix('_cpu_s')} {v:.2f} s" for k, v in costs.items())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    logging.getLogger("geoctx").info(
        "job CPU: %.2f s (%s); peak RSS %.0f MB", total, parts, peak_mb
    )

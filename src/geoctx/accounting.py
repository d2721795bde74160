"""Where a job's CPU goes: start-up, loading, tracing and computing.

A job's process CPU (``time.process_time``: every thread of the process)
is split into phases:

- ``startup``: everything before the job's script logs its first line (the
  interpreter and imports of a plain process; next to nothing for a child of
  the job server, whose imports were paid once in the server);
- ``load``: reading data, representations and models from disk
  (:mod:`geoctx.storage` and :func:`geoctx.datasets.load` run in
  :func:`phase` ``"load"``);
- ``trace``: calls of compiled TensorFlow functions (``tf.function``, Keras's
  own predict step included) that traced a new graph; such a call's whole
  CPU counts, its first execution included, so this is an upper bound on
  tracing and compiling;
- ``compute``: the rest.

Nested phases count once, in the outermost. A job server child reports its
phases in the server's accounting file (:mod:`geoctx.jobserver`); a plain
process logs them as its last log line.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import time

__all__ = ["PHASES", "count_tracing", "job_started", "phase", "summary"]

#: Phases measured inside a job; ``compute`` is what remains.
PHASES = ("startup", "load", "trace")

_totals = dict.fromkeys(PHASES, 0.0)
_active: list[str] = []  # the phase being measured, if any (outermost only)
_started: list[float] = []
_patched: list[type] = []
_logging_at_exit: list[bool] = []


def job_started(*, log_at_exit: bool = True) -> None:
    """Record the CPU spent so far as start-up; reset the other phases.

    With ``log_at_exit``, the phases are logged when the process exits
    normally (a job server child reports them to the server instead).
    """
    _totals.update(dict.fromkeys(PHASES, 0.0))
    _totals["startup"] = time.process_time()
    _started[:] = [time.process_time()]
    if log_at_exit and not _logging_at_exit:
        atexit.register(_log_summary)
        _logging_at_exit.append(True)


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
    """Count the CPU of every ``tf.function`` call that traces as ``trace``.

    Patches the call of TensorFlow's function class once per process; returns
    whether tracing is being counted (False if TensorFlow's function class
    has changed shape, in which case ``trace`` stays 0 and counts as compute).
    """
    import tensorflow as tf

    cls = type(tf.function(lambda x: x))
    if cls in _patched:
        return True
    original = cls.__call__
    if not hasattr(cls, "experimental_get_tracing_count"):
        return False

    def call(self, *args, **kwargs):
        if _active:
            return original(self, *args, **kwargs)
        before = self.experimental_get_tracing_count()
        start = time.process_time()
        _active.append("trace?")
        try:
            return original(self, *args, **kwargs)
        finally:
            _active.pop()
            if self.experimental_get_tracing_count() != before:
                _totals["trace"] += time.process_time() - start

    cls.__call__ = call
    _patched.append(cls)
    return True


def summary() -> dict[str, float]:
    """CPU seconds per phase since :func:`job_started`, and in all.

    Keys: ``startup_cpu_s``, ``load_cpu_s``, ``trace_cpu_s``,
    ``compute_cpu_s`` and ``cpu_s`` (the process's CPU, start-up included).
    """
    total = time.process_time()
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

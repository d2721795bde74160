"""Running one job in a server child or a pool worker, as ``python
script.py`` would, and accounting for its cost (:mod:`geoctx.jobserver`)."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import resource
import signal
import socket
import struct
import sys
import time
import traceback
import warnings
from pathlib import Path

from geoctx.jobserver._wire import LENGTH, open_nofollow, recv_exact

#: Set in a job's environment: its script runs in the server already.
ENV_CHILD = "GEOCTX_JOBSERVER_CHILD"
#: The file each job's cost is appended to (the server sets it).
ACCOUNTING: str | None = None
WORKER_STATUS = struct.Struct("!i?")  # a worker's job status, and whether it retires


def work(control: socket.socket, worker_rss_mb: float) -> int:
    """A pool worker: run each job the server sends, answer its status.

    Retires (returns) when the server closes the connection, or after a job
    that left its resident memory above ``worker_rss_mb``.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    done = 0
    try:
        while True:
            msg, fds, _, _ = socket.recv_fds(control, LENGTH.size, 3)
            header = msg + (recv_exact(control, LENGTH.size - len(msg)) or b"")
            if len(header) < LENGTH.size or len(fds) != 3:
                return 0
            payload = recv_exact(control, LENGTH.unpack(header)[0])
            if payload is None:
                return 0
            code = _run_pooled(json.loads(payload), fds, devnull, fresh=done == 0)
            done += 1
            _release_free_memory()
            retire = rss_mb() > worker_rss_mb
            control.sendall(WORKER_STATUS.pack(code, retire))
            if retire:
                return 0
    finally:  # the worker's whole CPU: its jobs' and what it did between them
        usage = resource.getrusage(resource.RUSAGE_SELF)
        append(
            {
                "event": "worker",
                "pid": os.getpid(),
                "jobs": done,
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
            }
        )


def _run_pooled(request: dict, fds: list[int], devnull: int, *, fresh: bool) -> int:
    """Run one job in this worker, then undo what it changed in the process."""
    import logging

    path, filters = list(sys.path), list(warnings.filters)
    take_streams(fds)
    try:
        return run(request, reset_keras=not fresh)
    finally:
        for handler in logging.root.handlers[:]:
            logging.root.removeHandler(handler)
            handler.close()
        sys.path[:], warnings.filters[:] = path, filters
        for fd in (0, 1, 2):  # let go of the client's streams
            os.dup2(devnull, fd)


def take_streams(fds: list[int]) -> None:
    """Make a client's stdin, stdout and stderr this process's 0, 1 and 2."""
    for stream_fd, fd in zip((0, 1, 2), fds, strict=True):
        os.dup2(fd, stream_fd)
        os.close(fd)


def _release_free_memory() -> None:
    """Free a finished job's objects and return the heap's free memory to
    the system.

    A job's models and graphs are reference cycles, which Python's
    collector rarely reaches in a long-lived process: collected here. What
    survives (the graphs and models kept for later jobs) is then frozen, as
    the server froze its imports' objects, so the next collection scans
    only the next job's objects (it scanned every kept graph: 0.1-0.2 s a
    job on the default study). The C allocator keeps freed pages, so a
    worker's resident memory would read as its largest job's: glibc's
    ``malloc_trim`` returns them (nothing without glibc). Either way the
    worker would grow by every job and retire early, losing its graphs.
    """
    import ctypes

    gc.collect()
    gc.freeze()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)  # the process's own symbols, libc's


def rss_mb() -> float:
    """This process's resident memory now, in MB."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(request: dict, *, reset_keras: bool = False) -> int:
    """Run one script as ``python script.py`` would; return its exit status.

    With ``reset_keras``, Keras's session is cleared first (its name counters
    and global state as in a fresh process; a worker's earlier jobs left them).
    """
    from geoctx import accounting

    usage = resource.getrusage(resource.RUSAGE_SELF)
    started_cpu, started = usage.ru_utime + usage.ru_stime, time.monotonic()
    accounting.restart()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"], **{ENV_CHILD: "1"})
    sys.argv = request["argv"]
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the job's own streams
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    if reset_keras and "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session(free_memory=False)
    namespace = {"__name__": "__main__", "__file__": request["script"]}
    try:
        # the text the server checked (:func:`geoctx.jobserver.server.script_source`)
        exec(compile(request["source"], request["script"], "exec"), namespace)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (exit_.code is not None)
    except BaseException:
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if ACCOUNTING:
        _account(
            namespace.get("snakemake"),
            int(code),
            pool=request.get("pool"),
            wall_s=time.monotonic() - started,
            started_cpu=started_cpu,
        )
    return int(code)


def _account(job, code: int, *, pool, wall_s: float, started_cpu: float) -> None:
    """Append this job's cost to the accounting file (one JSON line): its
    wall time, CPU and peak RSS, and its CPU by phase (:mod:`geoctx.accounting`).
    """
    from geoctx import accounting

    usage = resource.getrusage(resource.RUSAGE_SELF)
    record = {
        "event": "job",
        "rule": getattr(job, "rule", None),
        "wildcards": dict(job.wildcards.items()) if job is not None else {},
        "pool": pool,
        "exit": code,
        "wall_s": round(wall_s, 3),
        **accounting.summary(),
        "cpu_s": round(usage.ru_utime + usage.ru_stime - started_cpu, 3),
        "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "rss_mb": round(rss_mb(), 1),
        "pid": os.getpid(),
    }
    append(record)


def append(record: dict, path: str | None = None) -> None:
    path = path or ACCOUNTING
    if path:
        with contextlib.suppress(OSError):
            fd = open_nofollow(path, os.O_WRONLY | os.O_APPEND)
            with open(fd, "a") as fh:
                fh.write(json.dumps(record) + "\n")


def account_workflow(accounting: str) -> None:
    """Append the calling process's own CPU (the Snakemake process that
    plans and schedules the run) to ``accounting``."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    append(
        {"event": "workflow", "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)},
        accounting,
    )

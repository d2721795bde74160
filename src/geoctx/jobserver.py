"""A fork server that starts the workflow's Python jobs with the imports done.

Every job of the workflow is a new Python process, and importing Keras with
TensorFlow costs several seconds of CPU in each, more than most jobs spend
computing. On a local run the workflow starts one server (its ``onstart``
handler), which imports the heavy modules once and then forks one child per
job. The child runs the job's script exactly as ``python script.py`` would:
same working directory, environment, standard streams (passed over the
socket) and exit status. A job whose client goes away (Snakemake cancelled
it) is killed.

The server's own process never runs TensorFlow, so each child starts from
the state a fresh process has right after the imports: results do not
depend on the server (the test suite compares study fingerprints with and
without it). Cluster jobs never see a server and run as plain processes.

A script opts in with its first statement::

    from geoctx.jobserver import delegate; delegate()

:func:`delegate` returns at once inside a server child, or when no server
is running for this run (``GEOCTX_JOBSERVER`` unset or its server gone);
otherwise it hands the script to the server and exits with the job's status.

This module imports nothing heavy itself: it runs in every job's client.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback
from pathlib import Path

__all__ = ["delegate", "serve", "start", "stop", "PRELOAD", "ENV_SOCKET"]

#: The environment variable that names the server's socket for a run.
ENV_SOCKET = "GEOCTX_JOBSERVER"
_ENV_CHILD = "GEOCTX_JOBSERVER_CHILD"

#: Modules the server imports once, before it forks any job.
PRELOAD = (
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "scipy.stats",
    "sklearn.linear_model",
    "sklearn.manifold",
    "matplotlib.pyplot",
    "seaborn",
    "tensorflow",
    "keras",
    "snakemake.iocontainers",
    "snakemake.logging",
    "snakemake.shell",
    "geoctx.logs",
    "geoctx.datasets",
    "geoctx.models",
    "geoctx.training",
    "geoctx.evaluation",
    "geoctx.tables",
    "geoctx.geometry",
    "geoctx.robustness",
    "geoctx.claims",
    "geoctx.plots",
)

_ACCOUNTING: str | None = None
_STARTED: dict[str, subprocess.Popen] = {}
_LENGTH = struct.Struct("!I")
_STATUS = struct.Struct("!i")
_READY_TIMEOUT_S = 300.0


def delegate(argv: list[str] | None = None) -> None:
    """Run this script in the run's job server if there is one, then exit.

    Returns (and the script goes on in this process) inside a server child,
    or when no server serves this run.
    """
    if os.environ.get(_ENV_CHILD) == "1":
        return
    path = os.environ.get(ENV_SOCKET)
    if not path:
        return
    conn = _connect(path)
    if conn is None:
        return
    argv = list(sys.argv if argv is None else argv)
    request = {
        "script": os.path.abspath(argv[0]),
        "argv": argv,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
    }
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    payload = json.dumps(request).encode()
    socket.send_fds(conn, [_LENGTH.pack(len(payload)) + payload], [0, 1, 2])
    data = _recv_exact(conn, _STATUS.size)
    if data is None:
        print("geoctx job server stopped while running this job", file=sys.stderr)
        raise SystemExit(1)
    raise SystemExit(_STATUS.unpack(data)[0])


def _connect(path: str) -> socket.socket | None:
    """A connection to a ready server, or None if no server serves this run.

    Waits while the server is still importing (its pid file names a live
    process but the socket is not bound yet).
    """
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while True:
        if os.path.exists(path):
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                conn.connect(path)
                return conn
            except OSError:
                conn.close()
                return None
        if not _alive(_read_pid(path)) or time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def _read_pid(path: str) -> int | None:
    try:
        return int(Path(f"{path}.pid").read_text())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _recv_exact(conn: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve(
    path: str,
    *,
    watch_pid: int | None = None,
    preload=PRELOAD,
    accounting: str | None = None,
    poll_s: float = 0.5,
) -> None:
    """Import ``preload``, listen on ``path`` and fork a child per request.

    Runs until SIGTERM, or until ``watch_pid`` (the Snakemake process that
    started it) is gone and no job is running; it looks for that every
    ``poll_s`` seconds. A job's status goes to its client as soon as the job
    exits (SIGCHLD wakes the server), not at the next look. Each job appends
    one JSON line to ``accounting`` (if given) with its rule, wildcards, exit
    status, wall and CPU seconds and peak RSS: Snakemake's ``benchmark:``
    files measure the client process, not the forked job.
    """
    global _ACCOUNTING
    _ACCOUNTING = accounting
    started = time.process_time()
    for name in preload:
        importlib.import_module(name)
    imports_s = time.process_time() - started
    print(
        f"imported {len(preload)} modules in {imports_s:.2f} s of CPU; serving",
        flush=True,
    )
    _append({"event": "imports", "modules": len(preload), "cpu_s": round(imports_s, 3)})
    staging = f"{path}.staging"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(staging)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(staging)
    listener.listen(64)
    os.replace(staging, path)  # clients connect only once the imports are done
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    # a signal (a job exiting, SIGTERM) writes to `wake`, which ends the wait
    wake, wake_w = os.pipe()
    for fd in (wake, wake_w):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    jobs: dict[int, socket.socket] = {}  # child pid -> its client's connection
    try:
        while not stopping:
            waiting = [listener, wake, *jobs.values()]
            readable, _, _ = select.select(waiting, [], [], poll_s)
            for sock in readable:
                if sock is listener:
                    _accept(listener, jobs, (wake, wake_w))
                elif sock is wake:
                    with contextlib.suppress(BlockingIOError):
                        while os.read(wake, 512):
                            pass
                else:  # a client went away before its job ended: cancel the job
                    pid = next(p for p, c in jobs.items() if c is sock)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            _reap(jobs)
            if watch_pid is not None and not jobs and not _alive(watch_pid):
                break
    finally:
        for pid in jobs:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        listener.close()
        signal.set_wakeup_fd(-1)
        for fd in (wake, wake_w):
            os.close(fd)
        for leftover in (path, f"{path}.pid"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)


def _accept(
    listener: socket.socket, jobs: dict[int, socket.socket], wake: tuple[int, int]
) -> None:
    conn, _ = listener.accept()
    msg, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    try:
        (length,) = _LENGTH.unpack(msg[: _LENGTH.size])
        payload = msg[_LENGTH.size :]
        rest = (
            _recv_exact(conn, length - len(payload)) if len(payload) < length else b""
        )
        if rest is None or len(fds) != 3:
            raise ValueError("incomplete request")
        request = json.loads(payload + rest)
    except ValueError:
        for fd in fds:
            os.close(fd)
        conn.close()
        return
    pid = os.fork()
    if pid == 0:  # the job
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in wake:
                os.close(fd)
            for other in (conn, listener, *jobs.values()):
                other.close()
            for stream_fd, fd in zip((0, 1, 2), fds, strict=True):
                os.dup2(fd, stream_fd)
                os.close(fd)
            code = _run(request)
        finally:
            os._exit(code)
    for fd in fds:
        os.close(fd)
    jobs[pid] = conn


def _run(request: dict) -> int:
    """Run one script as ``python script.py`` would; return its exit status."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"], **{_ENV_CHILD: "1"})
    sys.argv = request["argv"]
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the job's own streams
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    started = time.monotonic()
    namespace = {"__name__": "__main__", "__file__": request["script"]}
    try:
        source = Path(request["script"]).read_text()
        exec(compile(source, request["script"], "exec"), namespace)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (exit_.code is not None)
    except BaseException:
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if _ACCOUNTING:
        _account(namespace.get("snakemake"), int(code), time.monotonic() - started)
    return int(code)


def _account(job, code: int, wall_s: float) -> None:
    """Append this job's cost to the accounting file (one JSON line): its
    wall time, CPU and peak RSS, and its CPU by phase (:mod:`geoctx.accounting`).
    """
    from geoctx import accounting

    usage = resource.getrusage(resource.RUSAGE_SELF)
    record = {
        "event": "job",
        "rule": getattr(job, "rule", None),
        "wildcards": dict(job.wildcards.items()) if job is not None else {},
        "exit": code,
        "wall_s": round(wall_s, 3),
        **accounting.summary(),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }
    _append(record)


def _append(record: dict, path: str | None = None) -> None:
    path = path or _ACCOUNTING
    if path:
        with contextlib.suppress(OSError), open(path, "a") as fh:
            fh.write(json.dumps(record) + "\n")


def account_workflow(accounting: str) -> None:
    """Append the calling process's own CPU (the Snakemake process that
    plans and schedules the run) to ``accounting``."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _append(
        {"event": "workflow", "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)},
        accounting,
    )


def _reap(jobs: dict[int, socket.socket]) -> None:
    while jobs:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = jobs.pop(pid, None)
        if conn is None:
            continue
        with contextlib.suppress(OSError):
            conn.sendall(_STATUS.pack(os.waitstatus_to_exitcode(status)))
        conn.close()


def start(
    path: str,
    *,
    log: str,
    accounting: str | None = None,
    env: dict | None = None,
    preload=PRELOAD,
    poll_s: float = 0.5,
) -> subprocess.Popen:
    """Start a server for this process's run in the background.

    Jobs find it through :data:`ENV_SOCKET`, which this sets in the current
    environment (jobs inherit it). The server logs to ``log`` and appends each
    job's cost to ``accounting`` (see :func:`serve`, also for ``poll_s``).
    """
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "geoctx.jobserver",
                path,
                f"--watch={os.getpid()}",
                f"--preload={','.join(preload)}",
                f"--poll-seconds={poll_s}",
                *([f"--accounting={Path(accounting).resolve()}"] if accounting else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    Path(f"{path}.pid").write_text(str(proc.pid))
    os.environ[ENV_SOCKET] = path
    _STARTED[path] = proc
    return proc


def stop(path: str, *, timeout: float = 30.0) -> None:
    """Stop the server serving ``path`` (if any) and forget it.

    Waits for a server this process started, so its jobs' CPU is accounted
    to this process's children like that of any other job.
    """
    pid = _read_pid(path)
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
    proc = _STARTED.pop(path, None)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    os.environ.pop(ENV_SOCKET, None)


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m geoctx.jobserver", description=__doc__.split("\n")[0]
    )
    parser.add_argument("socket", help="path of the Unix socket to serve on")
    parser.add_argument("--watch", type=int, help="stop when this process is gone")
    parser.add_argument(
        "--preload", default=",".join(PRELOAD), help="modules to import first"
    )
    parser.add_argument("--accounting", help="append each job's cost here (JSON lines)")
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=0.5,
        help="how often to check that the watched process is alive",
    )
    args = parser.parse_args(argv)
    serve(
        args.socket,
        watch_pid=args.watch,
        preload=args.preload.split(","),
        accounting=args.accounting,
        poll_s=args.poll_seconds,
    )


if __name__ == "__main__":
    main()

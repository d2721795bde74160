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

A script whose jobs gain from what an earlier job left in its process
names a *pool* (``delegate(pool=...)``): its jobs run one after another in
long-lived worker processes forked from the server, one worker per job
running at once, so a compiled graph a job traced (such as a training
epoch, :mod:`geoctx.training`) serves the pool's later jobs of the same
architecture. Such a script must not depend on the order its pool's jobs
run in: the package's caches give the same results, bit for bit, as a
fresh process (tests check). Between jobs a worker resets what a job
changes in its process (directory, environment, streams, logging,
``sys.path``, warnings, Keras's session); one whose resident memory
exceeds ``worker_rss_mb`` after a job exits and is replaced.

This module imports nothing heavy itself: it runs in every job's client.
"""

from __future__ import annotations

import contextlib
import gc
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
import warnings
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
_WORKER_STATUS = struct.Struct("!i?")  # a worker's job status, and whether it retires
_READY_TIMEOUT_S = 300.0
#: A worker whose resident memory exceeds this after a job is replaced.
WORKER_RSS_MB = 1536.0


def delegate(argv: list[str] | None = None, *, pool: str | None = None) -> None:
    """Run this script in the run's job server if there is one, then exit.

    Returns (and the script goes on in this process) inside a server child,
    or when no server serves this run. With ``pool``, the job runs in one
    of the pool's long-lived workers (see the module's docstring): jobs
    share a pool only if they need the same process settings, so its name
    should say them (e.g. the thread count).
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
        "pool": pool,
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
    worker_rss_mb: float = WORKER_RSS_MB,
) -> None:
    """Import ``preload``, listen on ``path`` and run each request's job.

    A job runs in a child forked for it, or, if its request names a pool,
    in an idle worker of that pool (a new one if none is idle; one whose
    resident memory exceeds ``worker_rss_mb`` after a job is retired).
    Runs until SIGTERM, or until ``watch_pid`` (the Snakemake process that
    started it) is gone and no job is running; it looks for that every
    ``poll_s`` seconds. A job's status goes to its client as soon as the job
    exits (SIGCHLD or the worker's answer wakes the server), not at the next
    look. Each job appends one JSON line to ``accounting`` (if given) with
    its rule, wildcards, pool, exit status, wall and CPU seconds, peak RSS
    (a worker's peak so far) and RSS at its end, and the pid of the process
    that ran it: Snakemake's ``benchmark:`` files measure the client
    process, not the job.
    """
    global _ACCOUNTING
    _ACCOUNTING = accounting
    started = time.process_time()
    for name in preload:
        importlib.import_module(name)
    imports_s = time.process_time() - started
    # the imports' objects live as long as the server: a garbage collection
    # in a child (a worker's after each job) need not scan them
    gc.freeze()
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
    wake = os.pipe()
    for fd in wake:
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake[1])
    signal.signal(signal.SIGCHLD, lambda *_: None)
    server = _Server(listener, wake, worker_rss_mb)
    try:
        while not stopping:
            readable, _, _ = select.select(server.waiting(), [], [], poll_s)
            for sock in readable:
                server.handle(sock)
            server.reap()
            if watch_pid is not None and server.idle() and not _alive(watch_pid):
                break
    finally:
        server.stop_all()
        listener.close()
        signal.set_wakeup_fd(-1)
        for fd in wake:
            os.close(fd)
        for leftover in (path, f"{path}.pid"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)


class _Worker:
    """A long-lived child that runs one pool's jobs one after another."""

    def __init__(self, pid: int, pool: str, control: socket.socket):
        self.pid, self.pool = pid, pool
        self.control = control  # the server's end of the worker's socket pair
        self.client: socket.socket | None = None  # the client of its job
        self.retiring = False


class _Server:
    """The server's children: one-job children and pool workers."""

    def __init__(self, listener, wake, worker_rss_mb: float):
        self.listener, self.wake = listener, wake
        self.worker_rss_mb = worker_rss_mb
        self.jobs: dict[int, socket.socket] = {}  # child pid -> its client
        self.workers: dict[int, _Worker] = {}

    def _busy(self) -> list[_Worker]:
        return [w for w in self.workers.values() if w.client is not None]

    def waiting(self) -> list:
        """What to wait on: new clients, signals, workers' answers, and
        running jobs' clients (readable when a client goes away)."""
        busy = self._busy()
        return [
            self.listener,
            self.wake[0],
            *self.jobs.values(),
            *(w.control for w in busy),
            *(w.client for w in busy),
        ]

    def idle(self) -> bool:
        return not self.jobs and not self._busy()

    def handle(self, sock) -> None:
        if sock is self.listener:
            self._accept()
            return
        if sock is self.wake[0]:
            with contextlib.suppress(BlockingIOError):
                while os.read(sock, 512):
                    pass
            return
        for worker in self._busy():
            if sock is worker.control:
                self._answered(worker)
                return
            if sock is worker.client:  # went away before its job ended
                _kill(worker.pid)
                return
        pid = next((p for p, c in self.jobs.items() if c is sock), None)
        if pid is not None:  # a client went away before its job ended
            _kill(pid)

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
        try:
            (length,) = _LENGTH.unpack(msg[: _LENGTH.size])
            payload = msg[_LENGTH.size :]
            rest = (
                _recv_exact(conn, length - len(payload))
                if len(payload) < length
                else b""
            )
            if rest is None or len(fds) != 3:
                raise ValueError("incomplete request")
            request = json.loads(payload + rest)
        except (ValueError, struct.error):
            for fd in fds:
                os.close(fd)
            conn.close()
            return
        if request.get("pool"):
            self._dispatch(request, fds, conn)
            return

        def job() -> int:
            _take_streams(fds)
            return _run(request)

        pid = self._fork(job, close=(conn,))
        for fd in fds:
            os.close(fd)
        self.jobs[pid] = conn

    def _dispatch(self, request: dict, fds: list[int], conn) -> None:
        """Hand a pool's job to an idle worker of the pool, or to a new one.

        A worker found dead (it died while idle) is left to :meth:`reap`
        and the job goes to a new worker; if that fails too, the job fails.
        """
        pool = request["pool"]
        payload = json.dumps(request).encode()
        idle = next(
            (
                w
                for w in self.workers.values()
                if w.pool == pool and w.client is None and not w.retiring
            ),
            None,
        )
        try:
            for worker in (idle, None):
                worker = worker or self._spawn(pool, inherited=(conn, *fds))
                try:
                    socket.send_fds(worker.control, [_LENGTH.pack(len(payload))], fds)
                    worker.control.sendall(payload)
                except OSError:
                    worker.retiring = True
                    continue
                worker.client = conn
                return
            _send_status(conn, 1)
        finally:
            for fd in fds:
                os.close(fd)

    def _spawn(self, pool: str, *, inherited=()) -> _Worker:
        """A new worker for ``pool``; it closes ``inherited`` (the request
        being dispatched: its client and streams), which it gets again."""
        mine, theirs = socket.socketpair()
        pid = self._fork(
            lambda: _work(theirs, self.worker_rss_mb), close=(mine, *inherited)
        )
        theirs.close()
        self.workers[pid] = _Worker(pid, pool, mine)
        return self.workers[pid]

    def _fork(self, body, *, close=()) -> int:
        """Fork a child that lets go of the server's state and of ``close``
        (sockets and file descriptors), runs ``body`` and exits with the
        status it returns. Returns the child's pid."""
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                self._forget()
                for held in close:
                    if isinstance(held, int):
                        os.close(held)
                    else:
                        held.close()
                code = body()
            finally:
                os._exit(code)
        return pid

    def _forget(self) -> None:
        """In a new child: drop the server's signal handling and sockets."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in self.wake:
            os.close(fd)
        self.listener.close()
        for conn in self.jobs.values():
            conn.close()
        for worker in self.workers.values():
            for sock in (worker.control, worker.client):
                if sock is not None:
                    sock.close()

    def _answered(self, worker: _Worker) -> None:
        """Pass a worker's answer (its job's status) on to the job's client."""
        data = _recv_exact(worker.control, _WORKER_STATUS.size)
        if data is None:  # the worker died: its reaping tells the client
            worker.retiring = True
            return
        code, retire = _WORKER_STATUS.unpack(data)
        _send_status(worker.client, code)
        worker.client, worker.retiring = None, worker.retiring or retire

    def reap(self) -> None:
        """Collect exited children; tell their clients how their jobs ended."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            if pid in self.jobs:
                _send_status(self.jobs.pop(pid), code)
            elif pid in self.workers:
                worker = self.workers.pop(pid)
                if worker.client is not None:  # answered just before exiting?
                    worker.control.setblocking(False)
                    with contextlib.suppress(OSError, struct.error):
                        code, _ = _WORKER_STATUS.unpack(worker.control.recv(16))
                    _send_status(worker.client, code)
                worker.control.close()

    def stop_all(self, *, timeout: float = 10.0) -> None:
        """Stop every child and wait for it, so that its CPU counts in this
        process's children's (as Snakemake's ``benchmark:`` and the
        benchmarks read it). Idle workers are asked to stop (they account
        for themselves); running jobs, and workers that do not stop within
        ``timeout``, are killed."""
        for worker in self.workers.values():
            if worker.client is None:
                worker.control.close()
        deadline = time.monotonic() + timeout
        for pid in [*self.jobs, *self.workers]:
            if pid in self.jobs or self.workers[pid].client is not None:
                _kill(pid)
            with contextlib.suppress(ChildProcessError):
                while os.waitpid(pid, os.WNOHANG)[0] != pid:
                    if time.monotonic() > deadline:
                        _kill(pid)
                        os.waitpid(pid, 0)
                        break
                    time.sleep(0.01)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _send_status(conn: socket.socket, code: int) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(_STATUS.pack(code))
    conn.close()


def _work(control: socket.socket, worker_rss_mb: float) -> int:
    """A pool worker: run each job the server sends, answer its status.

    Retires (returns) when the server closes the connection, or after a job
    that left its resident memory above ``worker_rss_mb``.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    done = 0
    try:
        while True:
            msg, fds, _, _ = socket.recv_fds(control, _LENGTH.size, 3)
            header = msg + (_recv_exact(control, _LENGTH.size - len(msg)) or b"")
            if len(header) < _LENGTH.size or len(fds) != 3:
                return 0
            payload = _recv_exact(control, _LENGTH.unpack(header)[0])
            if payload is None:
                return 0
            code = _run_pooled(json.loads(payload), fds, devnull, fresh=done == 0)
            done += 1
            _release_free_memory()
            retire = _rss_mb() > worker_rss_mb
            control.sendall(_WORKER_STATUS.pack(code, retire))
            if retire:
                return 0
    finally:  # the worker's whole CPU: its jobs' and what it did between them
        usage = resource.getrusage(resource.RUSAGE_SELF)
        _append(
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
    _take_streams(fds)
    try:
        return _run(request, reset_keras=not fresh)
    finally:
        for handler in logging.root.handlers[:]:
            logging.root.removeHandler(handler)
            handler.close()
        sys.path[:], warnings.filters[:] = path, filters
        for fd in (0, 1, 2):  # let go of the client's streams
            os.dup2(devnull, fd)


def _take_streams(fds: list[int]) -> None:
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


def _rss_mb() -> float:
    """This process's resident memory now, in MB."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _run(request: dict, *, reset_keras: bool = False) -> int:
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
    os.environ.update(request["env"], **{_ENV_CHILD: "1"})
    sys.argv = request["argv"]
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the job's own streams
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    if reset_keras and "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session(free_memory=False)
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
        "rss_mb": round(_rss_mb(), 1),
        "pid": os.getpid(),
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


def start(
    path: str,
    *,
    log: str,
    accounting: str | None = None,
    env: dict | None = None,
    preload=PRELOAD,
    poll_s: float = 0.5,
    worker_rss_mb: float = WORKER_RSS_MB,
) -> subprocess.Popen:
    """Start a server for this process's run in the background.

    Jobs find it through :data:`ENV_SOCKET`, which this sets in the current
    environment (jobs inherit it). The server logs to ``log`` and appends each
    job's cost to ``accounting`` (see :func:`serve`, also for ``poll_s`` and
    ``worker_rss_mb``).
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
                f"--worker-rss-mb={worker_rss_mb}",
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
    parser.add_argument(
        "--worker-rss-mb",
        type=float,
        default=WORKER_RSS_MB,
        help="replace a pool worker whose resident memory exceeds this after a job",
    )
    args = parser.parse_args(argv)
    serve(
        args.socket,
        watch_pid=args.watch,
        preload=args.preload.split(","),
        accounting=args.accounting,
        poll_s=args.poll_seconds,
        worker_rss_mb=args.worker_rss_mb,
    )


if __name__ == "__main__":
    main()

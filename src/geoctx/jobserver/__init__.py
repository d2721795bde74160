"""A fork server that starts the workflow's Python jobs with the imports done.

Every job of the workflow is a new Python process, and importing Keras with
TensorFlow costs several seconds of CPU in each, more than most jobs spend
computing. On a local run the workflow starts one server (its ``onstart``
handler, :func:`start_for_run`), which imports the heavy modules once and
then forks one child per job. The child runs the job's script exactly as
``python script.py`` would: same working directory, environment, standard
streams (passed over the socket) and exit status. A job whose client goes
away (Snakemake cancelled it) is killed.

The server's own process never runs TensorFlow, so each child starts from
the state a fresh process has right after the imports: results do not
depend on the server (the test suite compares study fingerprints with and
without it). Cluster jobs never see a server and run as plain processes.

A script opts in with its first statement::

    from geoctx.jobserver import delegate; delegate()

:func:`delegate` returns at once inside a server child, or when no server
serves this run (``GEOCTX_JOBSERVER`` unset or its server gone); otherwise
it hands the script to the server and exits with the job's status.

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

Security model. The server runs code as the user who started the run, so
only that run's own jobs may use it:

- Its socket is in a new private directory (``mkdtemp``: a random name,
  mode 0700, in ``$XDG_RUNTIME_DIR`` if that is a directory of this user's
  that no one else can enter, else in the temporary directory), bound and
  listening before its path is handed to the server and the jobs. Beside
  the socket and a ``ready`` file next to it, the server writes only the
  run's ``logs/jobserver/``, never through a symlink. There is no pid
  file: :meth:`Server.stop` signals the process object it started.
- A connection whose peer (``SO_PEERCRED``) is another user is dropped.
  Then server and client each prove they know the run's key (32 random
  bytes handed to the jobs in ``GEOCTX_JOBSERVER_KEY``) by an HMAC of the
  other's random challenge (:mod:`geoctx.jobserver._wire`). A client sends
  its request, environment and streams only to a server of its own user
  that proved it; a server that is another user's or does not prove it
  fails the job with a message saying so.
- Other processes of the same user (and root) are trusted: they could
  read the key in a job's environment, as they could trace the jobs.
- The server runs only the workflow's own scripts (``scripts/``, or
  Snakemake's copy of one); it refuses any other, and the client then runs
  the script itself.
- Every connection must finish its handshake and request within 5 s or is
  dropped and logged; the server never waits on one client. A server that
  does not answer a client's handshake within 10 s of being ready or found
  stopped (``GEOCTX_JOBSERVER_PID`` names it; a client waits up to 5
  minutes for a server still importing) gets no job: nothing was sent, so
  the client runs the script itself, as a plain process, and says so. A
  client runs it itself only if the server has no whole request: once it
  sent all of it, it takes the job's status, even from a server that ran
  the job and closed the connection before the client went on. The
  server sends the client of a job it took a heartbeat every second; a
  client that hears nothing for 30 s kills the job's process and fails
  with a message saying the server hangs (the job may have done part of
  its work, so it is not run again here).

This module imports nothing heavy itself: it runs in every job's client.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from geoctx.jobserver import _wire as wire
from geoctx.jobserver.jobs import ENV_CHILD, account_workflow

__all__ = [
    "delegate",
    "start",
    "Server",
    "start_for_run",
    "stop_for_run",
    "PRELOAD",
    "ENV_SOCKET",
    "ENV_KEY",
]

#: The environment variable that names the server's socket for a run ...
ENV_SOCKET = "GEOCTX_JOBSERVER"
#: ... and the one that holds the run's key (hex).
ENV_KEY = "GEOCTX_JOBSERVER_KEY"
#: The server's pid (only to tell a client that the server is stopped).
ENV_PID = "GEOCTX_JOBSERVER_PID"
#: Where a run's server logs, and appends each job's cost (JSON lines).
LOG, ACCOUNTING = "logs/jobserver/server.log", "logs/jobserver/jobs.jsonl"

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

#: A worker whose resident memory exceeds this after a job is replaced.
WORKER_RSS_MB = 1536.0


class JobServerError(Exception):
    """The job cannot run: its server is not this run's, or hangs."""


def delegate(argv: list[str] | None = None, *, pool: str | None = None) -> None:
    """Run this script in the run's job server if there is one, then exit.

    Returns (and the script goes on in this process) inside a server child,
    or when no server serves this run, or when the server did not answer or
    refused the script (with a note on stderr). With ``pool``, the job runs
    in one of the pool's long-lived workers (see the module's docstring):
    jobs share a pool only if they need the same process settings, so its
    name should say them (e.g. the thread count). Exits with status 1,
    saying why, if the server is not this run's, or hangs while it runs
    the job.
    """
    if os.environ.get(ENV_CHILD) == "1":
        return
    path = os.environ.get(ENV_SOCKET)
    if not path:
        return
    try:
        code = _delegate(path, argv, pool)
    except JobServerError as err:
        _note(str(err))
        raise SystemExit(1) from None
    if code is not None:
        raise SystemExit(code)


def _delegate(path: str, argv: list[str] | None, pool: str | None) -> int | None:
    """The exit status of the job run by the server at ``path``, or None if
    it ran nothing (the caller runs the script)."""
    connected = _connect(path)
    if connected is None:
        return None
    conn, server = connected
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
    data = wire.LENGTH.pack(len(payload)) + payload
    try:
        sent = socket.send_fds(conn, [data], [0, 1, 2])
        if sent < len(data):  # an empty send fails once the server has closed
            conn.sendall(data[sent:])  # (it may have run the whole job by now)
    except OSError as err:  # the server has no whole request: it runs nothing
        if _refused_early(conn):  # it read the script's path and said no
            _note(
                f"the server refused {request['script']} (see its log); running it here"
            )
        else:
            _note(f"could not send the job to the server ({err}); running it here")
        return None
    return _wait(conn, server, request["script"])


def _refused_early(conn: socket.socket) -> bool:
    """Whether the server sent its refusal before the request was all sent."""
    conn.settimeout(1.0)
    try:
        data = wire.recv_exact(conn, wire.FRAME_SIZE)
    except OSError:
        return False
    return data is not None and wire.unframe(data)[0] == wire.REFUSED


def _note(message: str) -> None:
    print(f"geoctx job server: {message}", file=sys.stderr, flush=True)


def _connect(path: str) -> tuple[socket.socket, int] | None:
    """A connection to this run's server, which proved it knows the run's
    key, and the server's pid; None (run the job here) if no server serves
    this run or it did not answer. Raises :class:`JobServerError` if the
    server at ``path`` is not this run's."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(wire.HANDSHAKE_S)
    try:
        conn.connect(path)
    except OSError:  # no server (any more)
        conn.close()
        return None
    try:
        return _handshake(conn, path)
    except OSError as err:  # including timeouts: nothing was sent yet
        _note(f"the server at {path} did not answer ({err}); running the job here")
    except JobServerError:
        conn.close()
        raise
    conn.close()
    return None


def _handshake(conn: socket.socket, path: str) -> tuple[socket.socket, int] | None:
    pid, uid = wire.peer(conn)  # pid: the process that started the server
    if uid != os.getuid():
        raise JobServerError(
            f"{path} is served by a process of user {uid} (pid {pid}), not by "
            f"this run's user {os.getuid()}: the job is not handed to it"
        )
    try:
        key = bytes.fromhex(os.environ.get(ENV_KEY, ""))
    except ValueError:
        key = b""
    if not key:
        _note(f"{ENV_KEY} is not set; running the job here")
        return None
    challenge = _await_challenge(conn, path)
    if challenge is None:
        server = _server_pid()
        _note(
            f"the server at {path} (pid {server}{_state(server)}) did not "
            f"answer within {wire.HANDSHAKE_S:g} s; running the job here"
        )
        return None
    mine = secrets.token_bytes(wire.CHALLENGE)
    conn.sendall(mine + wire.proof(key, b"client", challenge))
    answer = wire.recv_exact(conn, wire.PROOF + wire.PID.size)
    if answer is None:
        _note(f"the server refused this job's key ({ENV_KEY}); running the job here")
        return None
    answer, server = answer[: wire.PROOF], answer[wire.PROOF :]
    if not wire.verify(key, b"server", mine + server, answer):
        raise JobServerError(
            f"the server at {path} did not prove it knows this run's key: "
            "the job is not handed to it"
        )
    return conn, wire.PID.unpack(server)[0]


def _await_challenge(conn: socket.socket, path: str) -> bytes | None:
    """The server's challenge, or None if it did not come: within
    :data:`~geoctx.jobserver._wire.HANDSHAKE_S` of the server being ready
    (it says so by a file beside its socket once its imports are done) or
    found stopped, or :data:`~geoctx.jobserver._wire.READY_TIMEOUT_S`
    while it imports."""
    ready = os.path.join(os.path.dirname(path), "ready")
    server = _server_pid()
    started = time.monotonic()
    ready_at = None
    while not select.select([conn], [], [], 0.25)[0]:
        now = time.monotonic()
        if ready_at is None and (os.path.exists(ready) or _state(server)):
            ready_at = now
        if now - started > wire.READY_TIMEOUT_S or (
            ready_at is not None and now - ready_at > wire.HANDSHAKE_S
        ):
            return None
    return wire.recv_exact(conn, wire.CHALLENGE)


def _wait(conn: socket.socket, server: int, script: str) -> int | None:
    """The exit status of the job the server took, or None if it refused
    the script (the caller runs it). Raises :class:`JobServerError` if the
    server goes or hangs while the job runs (after killing the job)."""
    conn.settimeout(wire.HANG_S)
    job = None
    while True:
        try:
            data = wire.recv_exact(conn, wire.FRAME_SIZE)
        except TimeoutError:
            if job is not None:  # the server's unreaped child: its pid is its own
                with contextlib.suppress(OSError):
                    os.kill(job, signal.SIGKILL)
            raise JobServerError(
                f"the server (pid {server}{_state(server)}) sent nothing for "
                f"{wire.HANG_S:g} s: it hangs. The job was stopped and fails; "
                "GEOCTX_NO_JOBSERVER=1 runs jobs without the server"
            ) from None
        except OSError:
            data = None
        if data is None:
            raise JobServerError("the server stopped while running this job")
        kind, value = wire.unframe(data)
        if kind == wire.STARTED:
            job = value
        elif kind == wire.STATUS:
            return value
        elif kind == wire.REFUSED:
            _note(f"the server refused {script} (see its log); running it here")
            return None


def _server_pid() -> int:
    try:
        return int(os.environ.get(ENV_PID, ""))
    except ValueError:
        return 0


def _state(pid: int) -> str:
    """``", stopped"`` if process ``pid`` is stopped, else ``""``."""
    with contextlib.suppress(OSError, IndexError):
        stat_ = Path(f"/proc/{pid}/stat").read_text()
        if stat_.rsplit(")", 1)[1].split()[0] in ("T", "t"):
            return ", stopped"
    return ""


class Server:
    """A job server this process started (:func:`start`)."""

    def __init__(self, proc: subprocess.Popen, path: str):
        self.proc, self.path = proc, path
        self.directory = os.path.dirname(path)

    def stop(self, *, timeout: float = 30.0) -> None:
        """Stop the server and remove its directory.

        Only this server's process is signalled (through its ``Popen``,
        which never signals a process it has reaped), and waited for, so its
        jobs' CPU is accounted to this process's children like that of any
        other job; one that does not stop within ``timeout`` is killed.
        """
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
        if os.environ.get(ENV_SOCKET) == self.path:
            os.environ.pop(ENV_SOCKET, None)
            os.environ.pop(ENV_KEY, None)
            os.environ.pop(ENV_PID, None)


def start(
    *,
    scripts: str,
    log: str,
    accounting: str | None = None,
    env: dict | None = None,
    preload=PRELOAD,
    poll_s: float = 0.5,
    worker_rss_mb: float = WORKER_RSS_MB,
) -> Server | None:
    """Start a server for this process's run in the background, or None
    (with a note on stderr) if it cannot be.

    Jobs find it through :data:`ENV_SOCKET` and :data:`ENV_KEY`, which this
    sets in the current environment (jobs inherit them). It runs only the
    scripts under ``scripts``, logs to ``log`` and appends each job's cost
    to ``accounting``: wall and CPU seconds, CPU by phase
    (:mod:`geoctx.accounting`), peak RSS (a worker's peak so far) and RSS at
    its end, since Snakemake's ``benchmark:`` files measure the client. It
    imports ``preload`` before its first job, checks every ``poll_s``
    seconds whether this process is gone (then it stops once no job runs),
    and replaces a pool worker whose resident memory exceeds
    ``worker_rss_mb`` after a job.
    """
    directory = wire.private_dir()
    path = os.path.join(directory, "socket")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    key = secrets.token_bytes(32).hex()
    try:
        listener.bind(path)
        listener.listen(64)
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        out = wire.open_nofollow(log)
    except OSError as err:
        listener.close()
        shutil.rmtree(directory, ignore_errors=True)
        _note(f"not started ({err}); jobs run as plain processes")
        return None
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "geoctx.jobserver",
                f"--listen-fd={listener.fileno()}",
                f"--scripts={Path(scripts).resolve()}",
                f"--watch={os.getpid()}",
                f"--preload={','.join(preload)}",
                f"--poll-seconds={poll_s}",
                f"--worker-rss-mb={worker_rss_mb}",
                *(
                    [f"--accounting={os.path.abspath(accounting)}"]
                    if accounting
                    else []
                ),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {}), ENV_KEY: key},
            pass_fds=(listener.fileno(),),
            start_new_session=True,
        )
    finally:
        os.close(out)
        listener.close()
    os.environ.update({ENV_SOCKET: path, ENV_KEY: key, ENV_PID: str(proc.pid)})
    return Server(proc, path)


_RUN: list[Server] = []


def start_for_run(workflow) -> None:
    """Start the server of a Snakemake run (its ``onstart``): on a local
    run, unless ``GEOCTX_NO_JOBSERVER=1``; for the workflow's ``scripts/``,
    logging to :data:`LOG` and accounting to :data:`ACCOUNTING`."""
    if workflow.local_exec and os.environ.get("GEOCTX_NO_JOBSERVER") != "1":
        server = start(
            scripts=os.path.join(workflow.basedir, "scripts"),
            log=LOG,
            accounting=ACCOUNTING,
        )
        if server is not None:
            _RUN.append(server)


def stop_for_run(*, success: bool) -> None:
    """Stop the run's server (its ``onsuccess`` and ``onerror``); after a
    success, account the Snakemake process's own CPU too."""
    while _RUN:
        _RUN.pop().stop()
    if success and os.path.exists(ACCOUNTING):
        account_workflow(ACCOUNTING)

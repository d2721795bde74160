"""The job server's own process (:mod:`geoctx.jobserver`): it imports the
heavy modules once, authenticates each connection, checks that its request
names one of the workflow's scripts, and runs the job in a forked child or
a pool worker."""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import secrets
import select
import signal
import socket
import stat
import struct
import time
from pathlib import Path

from geoctx.jobserver import _wire as wire
from geoctx.jobserver import jobs


def serve(
    listener: socket.socket,
    *,
    key: bytes,
    scripts: str,
    ready: str,
    preload,
    watch_pid: int | None = None,
    accounting: str | None = None,
    poll_s: float = 0.5,
    worker_rss_mb: float,
) -> None:
    """Import ``preload``, then run the jobs of the clients of ``listener``
    (a bound, listening socket) that know ``key`` and name a script of
    ``scripts``; create ``ready`` once the imports are done.

    See :func:`geoctx.jobserver.start` for the options. Runs until SIGTERM,
    or until ``watch_pid`` (the Snakemake process that started it) is gone
    and no job is running; it looks for that every ``poll_s`` seconds.
    """
    path = listener.getsockname()
    try:  # the directory goes however the server ends, even in its imports
        _import(preload, accounting)
        os.close(wire.open_nofollow(ready, os.O_WRONLY | os.O_EXCL))
        _serve(listener, key, scripts, watch_pid, poll_s, worker_rss_mb)
    finally:
        listener.close()
        for leftover in (path, ready):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(ready))


def _import(preload, accounting: str | None) -> None:
    jobs.ACCOUNTING = accounting
    started = time.process_time()
    for name in preload:
        importlib.import_module(name)
    imports_s = time.process_time() - started
    # the imports' objects live as long as the server: a garbage collection
    # in a child (a worker's after each job) need not scan them
    gc.freeze()
    _log(f"imported {len(preload)} modules in {imports_s:.2f} s of CPU; serving")
    jobs.append(
        {"event": "imports", "modules": len(preload), "cpu_s": round(imports_s, 3)}
    )


def _serve(listener, key, scripts, watch_pid, poll_s, worker_rss_mb) -> None:
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    # a signal (a job exiting, SIGTERM) writes to `wake`, which ends the wait
    wake = os.pipe()
    for fd in wake:
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake[1])
    signal.signal(signal.SIGCHLD, lambda *_: None)
    listener.setblocking(False)
    server = _Server(listener, wake, key=key, scripts=scripts, rss_mb=worker_rss_mb)
    try:
        while not stopping:
            wait = server.next_deadline(poll_s)
            readable, _, _ = select.select(server.waiting(), [], [], wait)
            for sock in readable:
                server.handle(sock)
            server.reap()
            server.tick()
            if watch_pid is not None and server.idle() and not _alive(watch_pid):
                break
    finally:
        server.stop_all()
        signal.set_wakeup_fd(-1)
        for fd in wake:
            os.close(fd)


def script_source(script: str, scripts: str) -> tuple[str | None, str]:
    """``(None, text)`` if ``script`` is one of the workflow's, else
    ``(why not, "")``.

    One of the workflow's is a file under ``scripts``, or Snakemake's copy
    of one (``.snakemake/scripts/tmpXXXXXXXX.NAME.py``: Snakemake's preamble
    and then the whole text of ``scripts/NAME.py``). Both paths are resolved
    (symlinks too) before they are compared, and the text returned, which
    the job runs, is the one checked.
    """
    root, real = os.path.realpath(scripts), os.path.realpath(script)
    text = _read(real)
    if text is None:
        return f"{script} is not a readable file", ""
    if _inside(real, root):
        return None, text
    own = os.path.realpath(os.path.join(root, os.path.basename(real).partition(".")[2]))
    parent = Path(real).parent
    if (parent.name, parent.parent.name) == ("scripts", ".snakemake") and _inside(
        own, root
    ):
        original = _read(own)
        if original and text.endswith(original):
            return None, text
    return f"{script} is not one of the workflow's scripts (in {root})", ""


def _inside(path: str, root: str) -> bool:
    return path != root and os.path.commonpath([path, root]) == root


def _read(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with open(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
            return fh.read().decode()
        except (OSError, UnicodeDecodeError):
            return None


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Pending:
    """A connection whose handshake or request is not complete yet."""

    def __init__(self, conn: socket.socket, pid: int):
        self.conn, self.pid = conn, pid
        self.challenge = secrets.token_bytes(wire.CHALLENGE)
        self.deadline = time.monotonic() + wire.CLIENT_TIMEOUT_S
        self.trusted = False  # it proved it knows the key
        self.data = b""
        self.fds: list[int] = []


class _Worker:
    """A long-lived child that runs one pool's jobs one after another."""

    def __init__(self, pid: int, pool: str, control: socket.socket):
        self.pid, self.pool = pid, pool
        self.control = control  # the server's end of the worker's socket pair
        self.client: socket.socket | None = None  # the client of its job
        self.retiring = False


class _Server:
    """The server's connections and children: one-job children and pool
    workers."""

    def __init__(self, listener, wake, *, key: bytes, scripts: str, rss_mb: float):
        self.listener, self.wake = listener, wake
        self.key, self.scripts, self.worker_rss_mb = key, scripts, rss_mb
        self.pending: dict[socket.socket, _Pending] = {}
        self.jobs: dict[int, socket.socket] = {}  # child pid -> its client
        self.workers: dict[int, _Worker] = {}
        self.beat = time.monotonic()

    def _busy(self) -> list[_Worker]:
        return [w for w in self.workers.values() if w.client is not None]

    def _clients(self) -> list[socket.socket]:
        """The clients of running jobs."""
        return [*self.jobs.values(), *(w.client for w in self._busy())]

    def waiting(self) -> list:
        """What to wait on: new clients and those in their handshake,
        signals, workers' answers, and running jobs' clients (readable when
        a client goes away)."""
        return [
            self.listener,
            self.wake[0],
            *self.pending,
            *(w.control for w in self._busy()),
            *self._clients(),
        ]

    def next_deadline(self, poll_s: float) -> float:
        """How long to wait at most: until the next heartbeat is due, or a
        client in its handshake runs out of time."""
        now = time.monotonic()
        due = [self.beat + wire.BEAT_S, *(p.deadline for p in self.pending.values())]
        return max(0.0, min(poll_s, min(due) - now))

    def idle(self) -> bool:
        return not self.jobs and not self._busy()

    def tick(self) -> None:
        """Drop clients whose time is up; send running jobs' clients a
        heartbeat when one is due."""
        now = time.monotonic()
        for pending in [p for p in self.pending.values() if p.deadline < now]:
            self._drop(pending, f"sent no whole request in {wire.CLIENT_TIMEOUT_S:g} s")
        if now - self.beat >= wire.BEAT_S:
            self.beat = now
            for client in self._clients():
                _send(client, wire.BEAT)

    def handle(self, sock) -> None:
        if sock is self.listener:
            self._accept()
        elif sock is self.wake[0]:
            with contextlib.suppress(BlockingIOError):
                while os.read(sock, 512):
                    pass
        elif sock in self.pending:
            self._read(self.pending[sock])
        else:
            self._client_readable(sock)

    def _client_readable(self, sock) -> None:
        """A running job's client or its worker said something."""
        for worker in self._busy():
            if sock is worker.control:
                self._answered(worker)
                return
        try:
            gone = not sock.recv(64)
        except BlockingIOError:
            return
        except OSError:
            gone = True
        if not gone:
            return
        for worker in self._busy():
            if sock is worker.client:  # went away before its job ended
                _kill(worker.pid)
                return
        pid = next((p for p, c in self.jobs.items() if c is sock), None)
        if pid is not None:  # a client went away before its job ended
            _kill(pid)

    def _accept(self) -> None:
        """Take a new connection from this user; challenge it."""
        try:
            conn, _ = self.listener.accept()
        except (BlockingIOError, ConnectionAbortedError):
            return
        pid, uid = wire.peer(conn)
        if uid != os.getuid():
            _log(f"refused a connection from user {uid} (pid {pid}): not this run's")
            conn.close()
            return
        conn.setblocking(False)
        pending = _Pending(conn, pid)
        try:
            conn.sendall(pending.challenge)
        except OSError:
            conn.close()
            return
        self.pending[conn] = pending

    def _drop(self, pending: _Pending, why: str) -> None:
        _log(f"dropped a connection (pid {pending.pid}) that {why}")
        self.pending.pop(pending.conn, None)
        for fd in pending.fds:
            os.close(fd)
        pending.conn.close()

    def _read(self, pending: _Pending) -> None:
        """Go on with the handshake or the request of ``pending``."""
        conn, handshake = pending.conn, wire.CHALLENGE + wire.PROOF
        try:
            if pending.trusted:
                chunk, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
                pending.fds += fds
            else:
                chunk = conn.recv(handshake - len(pending.data))
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(pending, "closed before its request was complete")
            return
        pending.data += chunk
        if not pending.trusted:
            if len(pending.data) < handshake:
                return
            theirs, answer = (
                pending.data[: wire.CHALLENGE],
                pending.data[wire.CHALLENGE :],
            )
            if not wire.verify(self.key, b"client", pending.challenge, answer):
                self._drop(pending, "did not prove it knows the run's key")
                return
            pending.trusted, pending.data = True, b""
            pid = wire.PID.pack(os.getpid())
            with contextlib.suppress(OSError):
                conn.sendall(wire.proof(self.key, b"server", theirs + pid) + pid)
            return
        data = pending.data
        if len(pending.fds) > 3:
            self._drop(pending, "sent more than 3 file descriptors")
        elif len(data) >= wire.LENGTH.size:
            (length,) = wire.LENGTH.unpack(data[: wire.LENGTH.size])
            if length > wire.MAX_REQUEST:
                self._drop(pending, f"sent a request of {length} bytes")
            elif len(data) >= wire.LENGTH.size + length:
                del self.pending[conn]
                self._start(pending, data[wire.LENGTH.size : wire.LENGTH.size + length])

    def _start(self, pending: _Pending, payload: bytes) -> None:
        """Run the job of a complete request (or refuse it)."""
        conn, fds = pending.conn, pending.fds
        try:
            request = json.loads(payload)
            why, request["source"] = script_source(request["script"], self.scripts)
        except (ValueError, KeyError, TypeError):
            why = "sent a malformed request"
        if why is None and len(fds) != 3:
            why = "sent no standard streams"
        if why is not None:
            _log(f"refused a job (pid {pending.pid}): {why}")
            for fd in fds:
                os.close(fd)
            _send(conn, wire.REFUSED)
            conn.close()
            return
        if request.get("pool"):
            self._dispatch(request, fds, conn)
            return

        def job() -> int:
            jobs.take_streams(fds)
            return jobs.run(request)

        pid = self._fork(job, close=(conn,))
        for fd in fds:
            os.close(fd)
        self.jobs[pid] = conn
        _send(conn, wire.STARTED, pid)

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
                    socket.send_fds(
                        worker.control, [wire.LENGTH.pack(len(payload))], fds
                    )
                    worker.control.sendall(payload)
                except OSError:
                    worker.retiring = True
                    continue
                worker.client = conn
                _send(conn, wire.STARTED, worker.pid)
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
            lambda: jobs.work(theirs, self.worker_rss_mb), close=(mine, *inherited)
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
        """In a new child: drop the server's signal handling, sockets and
        the connections still in their handshake (and what they sent)."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in self.wake:
            os.close(fd)
        self.listener.close()
        for pending in self.pending.values():
            pending.conn.close()
            for fd in pending.fds:
                os.close(fd)
        for conn in self.jobs.values():
            conn.close()
        for worker in self.workers.values():
            for sock in (worker.control, worker.client):
                if sock is not None:
                    sock.close()

    def _answered(self, worker: _Worker) -> None:
        """Pass a worker's answer (its job's status) on to the job's client."""
        data = wire.recv_exact(worker.control, jobs.WORKER_STATUS.size)
        if data is None:  # the worker died: its reaping tells the client
            worker.retiring = True
            return
        code, retire = jobs.WORKER_STATUS.unpack(data)
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
                        code, _ = jobs.WORKER_STATUS.unpack(worker.control.recv(16))
                    _send_status(worker.client, code)
                worker.control.close()

    def stop_all(self, *, timeout: float = 10.0) -> None:
        """Stop every child and wait for it, so that its CPU counts in this
        process's children's (as Snakemake's ``benchmark:`` and the
        benchmarks read it). Idle workers are asked to stop (they account
        for themselves); running jobs, and workers that do not stop within
        ``timeout``, are killed."""
        for pending in list(self.pending.values()):
            self._drop(pending, "was still connecting when the server stopped")
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
    """SIGKILL one of the server's own children (not reaped yet, so its pid
    cannot have been reused)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _send(conn: socket.socket, kind: bytes, value: int = 0) -> None:
    with contextlib.suppress(OSError):
        conn.send(wire.frame(kind, value))


def _send_status(conn: socket.socket, code: int) -> None:
    _send(conn, wire.STATUS, code)
    conn.close()

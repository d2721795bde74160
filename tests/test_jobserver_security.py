"""Only the run's own jobs can use its job server (geoctx.jobserver).

Some tests act as a second local user, created for them with ``useradd``;
they need root and skip without it, except in CI (``CI=true``), where they
fail. The second user's code runs in a child forked from the test process
that drops to that user (no interpreter or file of root's is needed).
"""

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from test_jobserver import SCRIPT, SRC, alive, run, serving
from test_report_browser import need  # skips, or fails in CI

from geoctx import jobserver
from geoctx.jobserver import _wire as wire
from geoctx.jobserver.server import script_source


@pytest.fixture(scope="module")
def other_user():
    """A throwaway local user (removed afterwards)."""
    need(os.geteuid() == 0, "creating a second local user needs root")
    need(shutil.which("useradd") is not None, "useradd is not installed")
    name = f"geoctx-t{secrets.token_hex(4)}"
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/bin/false", name],
        check=True,
    )
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False)


@pytest.fixture
def shared_dir(other_user):
    """A directory in the temporary directory that the other user owns."""
    path = tempfile.mkdtemp(prefix="geoctx-test-")
    os.chown(path, other_user.pw_uid, other_user.pw_gid)
    os.chmod(path, 0o755)
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


class AsUser:
    """``func(*args)`` running in a forked child, as ``user`` if given.

    The child writes its result (JSON) to a pipe; ``func`` may first call
    ``ready()`` to let :meth:`wait_ready` return (e.g. once it listens).
    """

    def __init__(self, user, func, *args, **kwargs):
        self.read, write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            code = 1
            try:
                os.close(self.read)
                if user is not None:
                    os.setgroups([])
                    os.setgid(user.pw_gid)
                    os.setuid(user.pw_uid)
                result = func(
                    *args, **kwargs, ready=lambda: os.write(write, b"ready\n")
                )
                os.write(write, json.dumps(result).encode() + b"\n")
                code = 0
            except BaseException as err:  # noqa: BLE001 - reported to the test
                with contextlib.suppress(Exception):
                    os.write(write, json.dumps({"error": repr(err)}).encode() + b"\n")
            finally:
                os._exit(code)
        os.close(write)
        self.lines = os.fdopen(self.read)

    def wait_ready(self):
        assert self.lines.readline() == "ready\n"

    def result(self):
        line = self.lines.readline()
        os.waitpid(self.pid, 0)
        self.lines.close()
        return json.loads(line)


def connect(path, *, ready):
    """Connect to ``path`` and read what comes within 10 s."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(10)
    try:
        conn.connect(path)
    except OSError as err:
        return {"connect": os.strerror(err.errno)}
    try:
        return {"received": len(conn.recv(64))}
    except OSError as err:
        return {"recv": str(err)}


def squat(path, *, answer, ready, wait=60):
    """Listen on ``path`` (making its directory if need be, open to all) as
    a job server would; record what one client sends within ``wait``
    seconds. With ``answer``, play the handshake with random bytes."""
    if not os.path.isdir(os.path.dirname(path)):
        os.mkdir(os.path.dirname(path))
        os.chmod(os.path.dirname(path), 0o777)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o777)
    listener.listen(1)
    listener.settimeout(wait)
    ready()
    try:
        conn, _ = listener.accept()
    except TimeoutError:
        return {"connections": 0}
    conn.settimeout(5)
    if answer:  # (a client that checked who listens may be gone already)
        with contextlib.suppress(OSError):
            conn.sendall(os.urandom(wire.CHALLENGE))
    got, fds = b"", 0
    while True:
        try:
            msg, passed, _, _ = socket.recv_fds(conn, 1 << 16, 8)
        except OSError:
            break
        if not msg:
            break
        got, fds = got + msg, fds + len(passed)
        if answer and len(got) == wire.CHALLENGE + wire.PROOF:
            conn.sendall(os.urandom(wire.PROOF + wire.PID.size))
    return {"bytes": len(got), "fds": fds, "env": b"PYTHONPATH" in got}


@pytest.fixture
def started(tmp_path):
    with serving(tmp_path) as server:
        server.log = str(tmp_path / "server.log")
        yield server


def wait_for(predicate, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_socket_is_in_a_new_private_directory(tmp_path, monkeypatch):
    public = Path(tempfile.mkdtemp())  # the temporary directory, for this test
    monkeypatch.setattr(tempfile, "tempdir", str(public))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    with serving(tmp_path) as server:
        directory = Path(server.path).parent
        info = directory.lstat()
        assert (info.st_mode & 0o777, info.st_uid) == (0o700, os.getuid())
        # no pid file, nothing else in public
        assert list(public.iterdir()) == [directory]
        wait_for((directory / "ready").exists, "the server's imports")
        assert sorted(os.listdir(directory)) == ["ready", "socket"]
    assert not directory.exists()
    public.rmdir()


def test_xdg_runtime_dir_is_used_only_if_private_and_owned(
    tmp_path, monkeypatch, other_user
):
    own = tmp_path / "runtime"
    own.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(own))
    made = Path(wire.private_dir())
    assert made.parent == own and made.stat().st_mode & 0o777 == 0o700
    link = tmp_path / "link"
    link.symlink_to(own)
    open_ = tmp_path / "open"
    open_.mkdir(mode=0o755)
    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o700)
    os.chown(foreign, other_user.pw_uid, other_user.pw_gid)
    for refused in (link, open_, foreign):
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(refused))
        made = Path(wire.private_dir())
        assert made.parent == Path(tempfile.gettempdir()), refused.name
        made.rmdir()


@pytest.fixture
def started_under_umask_0(tmp_path):
    """A server started under umask 000 (the issue's case: everyone could
    connect to a socket made under it)."""
    umask = os.umask(0)
    try:
        with serving(tmp_path) as server:
            os.umask(umask)
            server.log = str(tmp_path / "server.log")
            yield server
    finally:
        os.umask(umask)


def test_another_user_cannot_connect(started_under_umask_0, other_user):
    started = started_under_umask_0
    result = AsUser(other_user, connect, started.path).result()
    assert result == {"connect": "Permission denied"}
    # even if the directory and socket were opened to everyone, the server
    # drops the other user's connection before it says anything
    os.chmod(Path(started.path).parent, 0o711)
    os.chmod(started.path, 0o777)
    result = AsUser(other_user, connect, started.path).result()
    assert result == {"received": 0}
    log = Path(started.log).read_text()
    assert f"refused a connection from user {other_user.pw_uid}" in log


def test_a_client_without_the_key_is_dropped(started, tmp_path):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(30)
    conn.connect(started.path)
    challenge = wire.recv_exact(conn, wire.CHALLENGE)
    conn.sendall(
        os.urandom(wire.CHALLENGE) + wire.proof(b"guess", b"client", challenge)
    )
    assert conn.recv(64) == b""  # no proof back, nothing run
    wait_for(
        lambda: "did not prove it knows the run's key" in Path(started.log).read_text(),
        "the server's log",
    )
    assert run(tmp_path, "0", socket=started.path).stdout.endswith("v1 1\n")


def test_a_silent_client_stalls_nothing_and_is_dropped(started, tmp_path):
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(started.path)
    silent.settimeout(60)
    assert len(wire.recv_exact(silent, wire.CHALLENGE)) == wire.CHALLENGE
    began = time.monotonic()
    served = run(tmp_path, "3", socket=started.path)
    took = time.monotonic() - began
    assert served.returncode == 3 and served.stdout.endswith("v1 1\n")
    assert took < wire.CLIENT_TIMEOUT_S  # it did not wait for the silent one
    assert silent.recv(1) == b""  # then the silent one was dropped
    assert "that sent no whole request in 5 s" in Path(started.log).read_text()


def test_a_server_stopped_before_the_job_lets_it_run_here(started, tmp_path):
    assert run(tmp_path, "0", socket=started.path).stdout.endswith("v1 1\n")
    os.kill(started.proc.pid, signal.SIGSTOP)
    try:
        plain = run(tmp_path, "3", socket=started.path)
    finally:
        os.kill(started.proc.pid, signal.SIGCONT)
    assert plain.returncode == 3 and plain.stdout.endswith("v1 None\n")
    stopped = f"server at {started.path} (pid {started.proc.pid}, stopped)"
    assert f"{stopped} did not answer within 10 s" in plain.stderr


def test_a_server_that_fails_its_imports_leaves_nothing(tmp_path):
    with serving(tmp_path, preload=("no_such_module",)) as server:
        assert server.proc.wait(timeout=60) == 1
        assert not Path(server.path).parent.exists()
        plain = run(tmp_path, "3", socket=server.path)
    assert plain.returncode == 3 and plain.stdout.endswith("v1 None\n")


def test_a_server_stopped_in_its_imports_lets_the_job_run_here(tmp_path):
    (tmp_path / "slow_import.py").write_text("import time\ntime.sleep(120)\n")
    with serving(tmp_path, preload=("slow_import",)) as server:
        os.kill(server.proc.pid, signal.SIGSTOP)
        began = time.monotonic()
        try:
            plain = run(tmp_path, "3", socket=server.path)
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        took = time.monotonic() - began
    assert plain.returncode == 3 and plain.stdout.endswith("v1 None\n")
    assert "stopped) did not answer within 10 s" in plain.stderr
    assert took < 3 * wire.HANDSHAKE_S  # not the wait for a server importing


def test_a_server_stopped_during_the_job_fails_it(started, tmp_path):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    work = tmp_path / "work"
    work.mkdir()
    client = subprocess.Popen(
        [sys.executable, str(script), "sleep"],
        cwd=work,
        env={**os.environ, "PYTHONPATH": SRC, jobserver.ENV_SOCKET: started.path},
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for((work / "started").exists, "the job", timeout=60)
    job = subprocess.run(
        ["pgrep", "-P", str(started.proc.pid)], capture_output=True, text=True
    ).stdout.split()
    assert len(job) == 1
    os.kill(started.proc.pid, signal.SIGSTOP)
    try:
        _, stderr = client.communicate(timeout=wire.HANG_S + 30)
        assert client.returncode == 1
        assert f"(pid {started.proc.pid}, stopped) sent nothing for 30 s" in stderr
        wait_for(lambda: not alive(int(job[0])), "the job to be killed", 10)
    finally:
        os.kill(started.proc.pid, signal.SIGCONT)


def test_a_squatted_path_never_gets_the_job(tmp_path, other_user, shared_dir):
    path = str(shared_dir / "socket")
    squatter = AsUser(other_user, squat, path, answer=True)
    squatter.wait_ready()
    squatter_pid = squatter.pid
    env_key = {jobserver.ENV_KEY: secrets.token_hex(32)}
    result = run(tmp_path, "0", socket=path, env=env_key)
    assert result.returncode == 1 and result.stdout == ""
    served_by = (
        f"is served by a process of user {other_user.pw_uid} (pid {squatter_pid})"
    )
    assert served_by in result.stderr
    assert squatter.result() == {"bytes": 0, "fds": 0, "env": False}


def test_a_squatted_directory_name_is_not_used(tmp_path, monkeypatch, other_user):
    # the other user takes the name the server's directory would get first
    taken = f"geoctx-jobserver-{secrets.token_hex(4)}"
    squatted = Path(tempfile.gettempdir(), taken)
    squatter = AsUser(other_user, squat, str(squatted / "socket"), answer=True, wait=5)
    squatter.wait_ready()
    names = iter([taken.removeprefix("geoctx-jobserver-"), secrets.token_hex(4)])
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: names)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    try:
        with serving(tmp_path) as server:
            directory = Path(server.path).parent
            assert directory != squatted and directory.stat().st_uid == os.getuid()
            assert run(tmp_path, "0", socket=server.path).stdout.endswith("v1 1\n")
        assert squatter.result() == {"connections": 0}
    finally:
        shutil.rmtree(squatted, ignore_errors=True)


def test_an_impostor_of_this_user_never_gets_the_job(tmp_path):
    path = str(tmp_path / "socket")
    impostor = AsUser(None, squat, path, answer=True)
    impostor.wait_ready()
    result = run(tmp_path, "0", socket=path, env={jobserver.ENV_KEY: "ab" * 32})
    assert result.returncode == 1 and result.stdout == ""
    assert "did not prove it knows this run's key" in result.stderr
    # only the client's challenge and proof (an HMAC: not the key)
    assert impostor.result() == {"bytes": 64, "fds": 0, "env": False}


def test_nothing_is_written_through_a_planted_symlink(tmp_path, capsys):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "server.log").symlink_to(victim)
    assert (
        jobserver.start(scripts=str(tmp_path), log=str(tmp_path / "server.log")) is None
    )
    assert "not started" in capsys.readouterr().err
    assert jobserver.ENV_SOCKET not in os.environ
    (tmp_path / "server.log").unlink()
    (tmp_path / "jobs.jsonl").symlink_to(victim)
    with serving(tmp_path) as server:
        assert run(tmp_path, "0", socket=server.path).stdout.endswith("v1 1\n")
    assert victim.read_text() == "keep"


def test_stop_signals_only_the_process_it_started(tmp_path, monkeypatch):
    with serving(tmp_path) as server:
        server.proc.kill()
        server.proc.wait()
        sent = []
        monkeypatch.setattr(os, "kill", lambda *args: sent.append(args))
    assert sent == []  # its pid may be another process's by now
    assert not Path(server.path).parent.exists()


def test_only_the_workflows_scripts_run(tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "job.py").write_text(SCRIPT)
    copies = tmp_path / "work" / ".snakemake" / "scripts"
    copies.mkdir(parents=True)
    copy = copies / "tmpab_12xyz.job.py"
    copy.write_text("snakemake = None\n" + SCRIPT)
    assert script_source(str(scripts / "job.py"), str(scripts)) == (None, SCRIPT)
    assert script_source(str(copy), str(scripts))[0] is None
    elsewhere = tmp_path / "elsewhere.py"
    elsewhere.write_text(SCRIPT)
    (scripts / "link.py").symlink_to(elsewhere)
    edited = copies / "tmpcd_34xyz.job.py"
    edited.write_text(SCRIPT + "print('more')\n")
    for refused in (elsewhere, scripts / "link.py", edited, scripts / "missing.py"):
        why, text = script_source(str(refused), str(scripts))
        assert why is not None and text == "", refused.name


def test_a_refused_script_runs_here(tmp_path):
    (tmp_path / "scripts").mkdir()
    with serving(tmp_path, scripts=tmp_path / "scripts") as server:
        result = run(tmp_path, "3", socket=server.path)
    assert result.returncode == 3 and result.stdout.endswith("v1 None\n")
    assert "the server refused" in result.stderr
    log = (tmp_path / "server.log").read_text()
    assert "is not one of the workflow's scripts" in log

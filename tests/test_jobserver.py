"""The job server runs a script exactly as ``python script.py`` would."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geoctx import jobserver

SRC = str(Path(__file__).resolve().parents[1] / "src")

SCRIPT = f"""\
import os, sys
from geoctx.jobserver import delegate; delegate()
child = os.environ.get("{jobserver.ENV_CHILD}")
print("out", os.getcwd(), os.environ.get("JOB_VALUE"), child)
print("err", sys.argv[1:], file=sys.stderr)
if sys.argv[1] == "fail":
    raise RuntimeError("job failed")
if sys.argv[1] == "sleep":
    import time; open("started", "w").close(); time.sleep(60)
sys.exit(int(sys.argv[1]))
"""


@contextlib.contextmanager
def serving(tmp_path, scripts=None, **options):
    """A server for the test's jobs (started as a run starts it), which runs
    the scripts in ``scripts`` (``tmp_path``, where :func:`run` writes its)."""
    names = (jobserver.ENV_SOCKET, jobserver.ENV_KEY, jobserver.ENV_PID)
    saved = {name: os.environ.get(name) for name in names}
    server = jobserver.start(
        scripts=str(scripts or tmp_path),
        log=str(tmp_path / "server.log"),
        accounting=str(tmp_path / "jobs.jsonl"),
        env={"PYTHONPATH": os.pathsep.join([SRC, str(tmp_path)])},
        **{"preload": ("json",), **options},
    )
    try:
        yield server
    finally:
        server.stop()
        assert server.proc.returncode is not None
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(params=[0.5], ids=["default-poll"])
def server(tmp_path, request):
    with serving(tmp_path, poll_s=request.param) as started:
        yield started


def alive(pid):
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def run(tmp_path, *args, socket=None, env=None):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": SRC, "JOB_VALUE": "v1", **(env or {})}
    env.pop(jobserver.ENV_SOCKET, None)
    if socket:
        env[jobserver.ENV_SOCKET] = socket
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("arg", ["0", "3", "fail"])
def test_a_job_in_the_server_behaves_as_a_plain_process(tmp_path, server, arg):
    plain = run(tmp_path, arg)
    served = run(tmp_path, arg, socket=server.path)
    assert served.returncode == plain.returncode == {"0": 0, "3": 3, "fail": 1}[arg]
    work = str(tmp_path / "work")
    assert plain.stdout == f"out {work} v1 None\n"
    assert served.stdout == f"out {work} v1 1\n"  # ran in a server child
    assert served.stderr.splitlines()[0] == plain.stderr.splitlines()[0]
    if arg == "fail":
        assert "RuntimeError: job failed" in served.stderr
    imports, record = map(
        json.loads, (tmp_path / "jobs.jsonl").read_text().splitlines()
    )
    assert imports["event"] == "imports" and imports["cpu_s"] >= 0
    assert record["event"] == "job" and record["exit"] == served.returncode
    assert record["cpu_s"] > 0 and record["max_rss_mb"] > 0
    # the phases split the job's CPU (process_time vs getrusage: same clock)
    phases = sum(record[f"{p}_cpu_s"] for p in ("startup", "load", "trace", "compute"))
    assert phases == pytest.approx(record["cpu_s"], abs=0.02)


@pytest.mark.parametrize("server", [3600.0], ids=["hourly-poll"], indirect=True)
def test_a_job_status_is_sent_when_the_job_exits(tmp_path, server):
    # the server checks its watched process once an hour here: a client that
    # waited for that check (not for its job's exit) would time out
    served = run(tmp_path, "3", socket=server.path)
    assert served.returncode == 3
    assert served.stdout.endswith("v1 1\n")  # in a server child


def test_without_a_server_the_script_runs_in_its_own_process(tmp_path):
    gone = str(tmp_path / "nobody.sock")
    result = run(tmp_path, "0", socket=gone)
    assert result.returncode == 0
    assert result.stdout.endswith("v1 None\n")


def test_a_cancelled_client_cancels_its_job(tmp_path, server):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": SRC, jobserver.ENV_SOCKET: server.path}
    client = subprocess.Popen([sys.executable, str(script), "sleep"], cwd=work, env=env)
    deadline = time.monotonic() + 60
    while not (work / "started").exists():
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    children = subprocess.run(
        ["pgrep", "-f", "-P", str(server.proc.pid)],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert len(children) == 1
    client.send_signal(signal.SIGTERM)
    client.wait(timeout=10)
    deadline = time.monotonic() + 10
    while alive(int(children[0])) and time.monotonic() < deadline:
        time.sleep(0.05)
    state = Path(f"/proc/{children[0]}/stat")
    assert not state.exists() or state.read_text().split()[2] == "Z"


POOLED = """\
import json, logging, os, sys
from geoctx.jobserver import delegate; delegate(pool=sys.argv[1])
json.jobs_here = getattr(json, "jobs_here", 0) + 1  # survives in a pool worker
print("pid", os.getpid(), "jobs", json.jobs_here, "cwd", os.getcwd(), sys.argv[2:])
print("handlers", len(logging.root.handlers), "path", sys.path.count("extra"))
sys.path.append("extra")
logging.basicConfig(filename="job.log", level=logging.INFO)
logging.getLogger("job").info("job %s", sys.argv[2])
if sys.argv[2] == "fail":
    raise RuntimeError("job failed")
if sys.argv[2] == "die":
    os._exit(5)
if sys.argv[2] == "sleep":
    import time; open("started", "w").close(); time.sleep(60)
sys.exit(int(sys.argv[2]))
"""


def run_pooled(tmp_path, socket, pool, arg, source=POOLED):
    """Run ``source`` (:data:`POOLED`) in ``pool`` ("": a one-job child):
    the client's result, and the pid and job count the job printed."""
    script = tmp_path / "pooled.py"
    script.write_text(source)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": SRC, jobserver.ENV_SOCKET: socket}
    result = subprocess.run(
        [sys.executable, str(script), pool, arg],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # a worker that kept the client's streams would hang here
    )
    assert len(result.stdout.splitlines()) == 2, result.stdout  # the job ran once
    pid, jobs = (int(w) for w in result.stdout.split()[1:4:2])
    return result, pid, jobs


def test_a_pools_jobs_share_a_worker_and_keep_what_they_cached(tmp_path, server):
    first, pid, jobs = run_pooled(tmp_path, server.path, "a", "0")
    assert first.returncode == 0 and jobs == 1
    assert first.stdout.splitlines()[1] == "handlers 0 path 0"
    failed, same, jobs = run_pooled(tmp_path, server.path, "a", "fail")
    assert (same, jobs) == (pid, 2)  # the same worker ran it
    assert failed.returncode == 1 and "RuntimeError: job failed" in failed.stderr
    # what the first job changed in the process was undone
    assert failed.stdout.splitlines()[1] == "handlers 0 path 0"
    third, same, jobs = run_pooled(tmp_path, server.path, "a", "3")
    assert (third.returncode, same, jobs) == (3, pid, 3)  # a failed job kept it
    other, elsewhere, jobs = run_pooled(tmp_path, server.path, "b", "0")
    assert elsewhere != pid and jobs == 1  # another pool, another worker
    records = [
        json.loads(line)
        for line in (tmp_path / "jobs.jsonl").read_text().splitlines()[1:]
    ]
    assert [r["pool"] for r in records] == ["a", "a", "a", "b"]
    for record in records:  # each job's own CPU, not the worker's so far
        phases = sum(record[f"{p}_cpu_s"] for p in ("startup", "load", "compute"))
        assert phases == pytest.approx(record["cpu_s"], abs=0.02)
    log = (tmp_path / "work" / "job.log").read_text().splitlines()
    assert log == [f"INFO:job:job {arg}" for arg in ("0", "fail", "3", "0")]


# A client that sent its whole request goes on only once the server has run
# the job and closed the connection (as one kept off the CPU under load is).
HELD = """\
import os, select, socket
if "GEOCTX_JOBSERVER_CHILD" not in os.environ:  # the client, not the job
    send_fds = socket.send_fds
    def held(sock, *args):
        sent = send_fds(sock, *args)
        poll = select.poll()
        poll.register(sock, select.POLLRDHUP)
        assert poll.poll(60_000), "the server never closed the connection"
        return sent
    socket.send_fds = held
"""


def test_a_client_that_resumes_after_its_job_ended_does_not_run_it_again(
    tmp_path, server
):
    for pool in ("a", ""):  # a pool worker's job, a one-job child's
        held, _, jobs = run_pooled(tmp_path, server.path, pool, "0", HELD + POOLED)
        assert (held.returncode, held.stderr, jobs) == (0, "", 1)
    records = (tmp_path / "jobs.jsonl").read_text().splitlines()[1:]
    assert [json.loads(r)["pool"] for r in records] == ["a", ""]  # in the server
    log = (tmp_path / "work" / "job.log").read_text().splitlines()
    assert log == ["INFO:job:job 0"] * 2  # once each, not again by its client


def test_a_worker_that_dies_in_a_job_is_replaced(tmp_path, server):
    _, pid, _ = run_pooled(tmp_path, server.path, "a", "0")
    died, same, _ = run_pooled(tmp_path, server.path, "a", "die")
    assert died.returncode == 5 and same == pid
    after, new, jobs = run_pooled(tmp_path, server.path, "a", "0")
    assert after.returncode == 0 and new != pid and jobs == 1


def test_a_worker_over_its_memory_bound_is_replaced(tmp_path):
    with serving(tmp_path, worker_rss_mb=0.0) as started:
        pids = {run_pooled(tmp_path, started.path, "a", "0")[1] for _ in range(3)}
    assert len(pids) == 3  # every job left its worker above the bound


def test_a_cancelled_client_cancels_its_pooled_job(tmp_path, server):
    _, pid, _ = run_pooled(tmp_path, server.path, "a", "0")
    script, work = tmp_path / "pooled.py", tmp_path / "work"
    env = {**os.environ, "PYTHONPATH": SRC, jobserver.ENV_SOCKET: server.path}
    client = subprocess.Popen(
        [sys.executable, str(script), "a", "sleep"],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (work / "started").exists():
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    client.send_signal(signal.SIGTERM)
    client.wait(timeout=10)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    state = Path(f"/proc/{pid}/stat")
    assert not state.exists() or state.read_text().split()[2] == "Z"
    after, new, jobs = run_pooled(tmp_path, server.path, "a", "0")
    assert after.returncode == 0 and new != pid and jobs == 1

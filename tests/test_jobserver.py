"""The job server runs a script exactly as ``python script.py`` would."""

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
child = os.environ.get("{jobserver._ENV_CHILD}")
print("out", os.getcwd(), os.environ.get("JOB_VALUE"), child)
print("err", sys.argv[1:], file=sys.stderr)
if sys.argv[1] == "fail":
    raise RuntimeError("job failed")
if sys.argv[1] == "sleep":
    import time; open("started", "w").close(); time.sleep(60)
sys.exit(int(sys.argv[1]))
"""


@pytest.fixture(params=[0.5], ids=["default-poll"])
def server(tmp_path, request):
    path = str(tmp_path / "s.sock")
    saved = os.environ.get(jobserver.ENV_SOCKET)
    proc = jobserver.start(
        path,
        log=str(tmp_path / "server.log"),
        accounting=str(tmp_path / "jobs.jsonl"),
        env={"PYTHONPATH": SRC},
        preload=("json",),
        poll_s=request.param,
    )
    yield path
    jobserver.stop(path)
    proc.wait(timeout=20)
    if saved is None:
        os.environ.pop(jobserver.ENV_SOCKET, None)
    else:
        os.environ[jobserver.ENV_SOCKET] = saved


def run(tmp_path, *args, socket=None):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": SRC, "JOB_VALUE": "v1"}
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
    served = run(tmp_path, arg, socket=server)
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
    served = run(tmp_path, "3", socket=server)
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
    env = {**os.environ, "PYTHONPATH": SRC, jobserver.ENV_SOCKET: server}
    client = subprocess.Popen([sys.executable, str(script), "sleep"], cwd=work, env=env)
    deadline = time.monotonic() + 60
    while not (work / "started").exists():
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    children = subprocess.run(
        ["pgrep", "-f", "-P", str(jobserver._read_pid(server))],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert len(children) == 1
    client.send_signal(signal.SIGTERM)
    client.wait(timeout=10)
    deadline = time.monotonic() + 10
    while jobserver._alive(int(children[0])) and time.monotonic() < deadline:
        time.sleep(0.05)
    state = Path(f"/proc/{children[0]}/stat")
    assert not state.exists() or state.read_text().split()[2] == "Z"

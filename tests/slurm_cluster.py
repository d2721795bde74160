"""A live single-node Slurm on localhost for the cluster test.

Starts munged, slurmctld and slurmd directly (no systemd) with a generated
``slurm.conf`` in a scratch directory: the node's CPUs and memory are the
machine's, there is no accounting database (as on many small clusters), and
every finished job is written to a job-completion log.

The daemons run in a private mount namespace (``unshare --mount``) in which
the scratch directory is bind-mounted on ``/etc/slurm``: a job step, which
inherits slurmd's namespace, finds this cluster's config at the node-wide
path (the plugin's job step drops ``SLURM_CONF`` before its nested
``srun``), while the machine's own ``/etc/slurm`` is never written, and
another test cluster on the same machine keeps its own. Clients outside the
namespace (sbatch, squeue) are pointed to the config by ``SLURM_CONF``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
DAEMONS = ["slurmd", "slurmctld", "munged"]
DEF_MEM_PER_CPU_MB = 1000
NODE_CONF_DIR = Path("/etc/slurm")
MARK = "# geoctx test cluster\n"


def missing_binaries() -> list[str]:
    """The Slurm and MUNGE programs not on PATH (sbin included)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    names = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol"]
    return [name for name in names if shutil.which(name, path=path) is None]


def install() -> str | None:
    """Install Slurm from Debian packages; the reason it cannot, or None."""
    if not missing_binaries():
        return None
    if os.geteuid() != 0:
        return "Slurm is not installed and installing it needs root"
    if shutil.which("apt-get") is None:
        return "Slurm is not installed and apt-get is not available"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", *PACKAGES],
    ):
        proc = subprocess.run(args, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            return f"{' '.join(args)} failed: {proc.stderr[-500:]}"
    missing = missing_binaries()
    return f"still missing after install: {missing}" if missing else None


def private_mounts() -> str | None:
    """Why a private mount namespace cannot be made here, or None."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not available"
    if not NODE_CONF_DIR.is_dir():
        return f"{NODE_CONF_DIR} does not exist (the slurm-client package makes it)"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"cannot make a private mount namespace: {probe.stderr.strip()}"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine_memory_mb() -> int:
    """Total memory in MB, as slurmd counts it (/proc/meminfo)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


def slurm_conf(root: Path, *, node: str, cpus: int, memory_mb: int) -> str:
    """A single-node ``slurm.conf`` whose state and logs live under ``root``."""
    return f"""{MARK}\
ClusterName=geoctx
SlurmctldHost={node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge.socket
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
# no slurmdbd: sacct cannot see jobs, squeue can until MinJobAge
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=300
JobCompType=jobcomp/filetxt
JobCompLoc={root}/jobcomp.log
# without a default, a job with no memory request takes the whole node
DefMemPerCPU={DEF_MEM_PER_CPU_MB}
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
"""


@dataclass(frozen=True)
class Cluster:
    """A running single-node Slurm: its scratch directory and environment."""

    root: Path
    env: dict

    @property
    def jobcomp(self) -> Path:
        return self.root / "jobcomp.log"

    def completed_jobs(self) -> list[dict]:
        """One dict per finished Slurm job, from the job-completion log."""
        if not self.jobcomp.exists():
            return []
        jobs = []
        for line in self.jobcomp.read_text().splitlines():
            fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
            jobs.append(fields)
        return jobs


def _run(args, env, **kwargs):
    return subprocess.run(args, env=env, capture_output=True, text=True, **kwargs)


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def start(root: Path) -> Cluster:
    """Start munged, slurmctld and slurmd under ``root`` and wait until the
    node is idle."""
    for sub in ("state", "spool"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    node = socket.gethostname().split(".")[0]
    etc = root / "etc"
    etc.mkdir(exist_ok=True)
    conf = etc / "slurm.conf"
    memory = machine_memory_mb() - 512  # leave the OS room
    conf.write_text(slurm_conf(root, node=node, cpus=os.cpu_count(), memory_mb=memory))
    env = {
        **os.environ,
        "SLURM_CONF": str(conf),
        "PATH": os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]),
    }
    key = root / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    munged = [
        "munged",
        "--force",
        f"--socket={root}/munge.socket",
        f"--key-file={key}",
        f"--pid-file={root}/munged.pid",
        f"--log-file={root}/munged.log",
        f"--seed-file={root}/munged.seed",
    ]
    # Each daemon forks into the background and keeps the namespace alive.
    script = " && ".join(
        [
            f"mount --bind {shlex.quote(str(etc))} {NODE_CONF_DIR}",
            shlex.join(munged),
            "slurmctld -c",
            f"slurmd -N {shlex.quote(node)}",
        ]
    )
    unshare = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
    proc = _run(unshare, env)
    if proc.returncode != 0:
        stop(root)
        raise RuntimeError(f"the Slurm daemons failed to start: {proc.stderr}")
    cluster = Cluster(root, env)

    def idle():
        out = _run(["sinfo", "-h", "-o", "%t"], env).stdout.strip()
        return out == "idle"

    try:
        _wait(idle, 60, "the Slurm node to be idle")
    except RuntimeError:
        logs = "".join(
            (root / f).read_text()[-2000:]
            for f in ("slurmctld.log", "slurmd.log")
            if (root / f).exists()
        )
        stop(root)
        raise RuntimeError(f"Slurm did not come up:\n{logs}") from None
    return cluster


def stop(root: Path) -> list[str]:
    """Stop the daemons by their pid files; the names of those stopped."""
    stopped = []
    for name in DAEMONS:
        pidfile = root / f"{name}.pid"
        if not pidfile.exists():
            continue
        pid = int(pidfile.read_text().split()[0])
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)
        stopped.append(name)
    return stopped


def running(root: Path) -> list[str]:
    """The daemons whose pid file names a live process."""
    alive = []
    for name in DAEMONS:
        pidfile = root / f"{name}.pid"
        if not pidfile.exists():
            continue
        try:
            os.kill(int(pidfile.read_text().split()[0]), 0)
        except (ProcessLookupError, ValueError):
            continue
        alive.append(name)
    return alive

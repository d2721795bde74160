"""``python -m geoctx.jobserver``: the server process that
:func:`geoctx.jobserver.start` starts (it reads the run's key from
``GEOCTX_JOBSERVER_KEY``)."""

import argparse
import os
import socket

from geoctx.jobserver import ENV_KEY, PRELOAD, WORKER_RSS_MB
from geoctx.jobserver.server import serve


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m geoctx.jobserver", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--listen-fd", type=int, required=True, help="a bound, listening Unix socket"
    )
    parser.add_argument("--scripts", required=True, help="the only scripts to run")
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
    key = bytes.fromhex(os.environ.pop(ENV_KEY))
    listener = socket.socket(fileno=args.listen_fd)
    serve(
        listener,
        key=key,
        scripts=args.scripts,
        ready=os.path.join(os.path.dirname(listener.getsockname()), "ready"),
        watch_pid=args.watch,
        preload=args.preload.split(","),
        accounting=args.accounting,
        poll_s=args.poll_seconds,
        worker_rss_mb=args.worker_rss_mb,
    )


main()

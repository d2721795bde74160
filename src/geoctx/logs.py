"""Job logging: send Python logging and the process's stdout/stderr to one file.

TensorFlow writes its C++ messages straight to file descriptor 2, so the
descriptors themselves are redirected, not only ``sys.stderr``. Its start-up
notices (oneDNN, CPU instructions, absl) are printed when it is imported,
whatever ``TF_CPP_MIN_LOG_LEVEL`` says: a job calls :func:`log_to` before
importing anything that loads TensorFlow, so the notices land in the job log
and the terminal shows only Snakemake's progress.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from geoctx import accounting


def log_to(path: str | os.PathLike, *, level: int = logging.INFO) -> logging.Logger:
    """Redirect stdout, stderr and the root logger to ``path`` (line-buffered).

    Also marks the end of the job's start-up for :mod:`geoctx.accounting`.
    Returns the ``geoctx`` logger.
    """
    accounting.job_started()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    stream = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    for fd, name in ((1, "stdout"), (2, "stderr")):
        sys_stream = getattr(sys, name)
        sys_stream.flush()
        os.dup2(stream.fileno(), fd)
    sys.stdout = sys.stderr = stream
    logging.basicConfig(
        stream=stream,
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    return logging.getLogger("geoctx")

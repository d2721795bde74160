"""A terse terminal for cluster runs: ``snakemake --logger geoctx``.

Snakemake's own terminal prints a block per job, group member included, and,
with ``--show-failed-logs``, every log of a failed group in full. On a
cluster that buries the few lines a user needs. This handler prints:

- messages without a job event (the job table, warnings, the executor's
  "submitted with SLURM jobid" line: one line per Slurm job) and progress;
- for a failed job, one line naming the rule, its job id and message, and
  the last ``tail`` lines of its log and of the executor's log (a group's
  failing member's error is there), with Slurm's line on why it ended the
  job (a cancellation, a time or memory limit) when it comes earlier;
- for a failed group, also one line per member that did not finish, with
  its log's path; members that finished are not listed.

Job and group blocks, finished-job notices and shell commands are dropped.
"""

import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent
from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase

#: Events whose records are dropped: a block per job, or nothing new.
SILENT = {
    LogEvent.JOB_INFO,
    LogEvent.GROUP_INFO,
    LogEvent.JOB_STARTED,
    LogEvent.JOB_FINISHED,
    LogEvent.SHELLCMD,
    LogEvent.RESOURCES_INFO,
    LogEvent.DEBUG_DAG,
    LogEvent.RULEGRAPH,
    LogEvent.WORKFLOW_STARTED,
}
#: Slurm's own account of why it ended a job (cancelled, out of time or memory).
SLURM_EVENT = re.compile(r"\*\*\* (JOB|STEP) .* \*\*\*|oom[-_]kill", flags=re.I)
#: Plain messages Snakemake repeats each time it selects jobs.
ROUTINE = ("Select jobs to execute...", "Execute ", "Assuming unrestricted")


@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    # a plain type: Snakemake builds its command-line option from it
    tail: int = field(
        default=10,
        metadata={"help": "Lines of a failed job's log to print.", "env_var": False},
    )


def tail(path, n):
    """The last ``n`` lines of a text file, after the first of Slurm's lines
    on why it ended the job if they come earlier; or a note that it cannot be
    read."""
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError as error:
        return [f"    ({error.strerror})"]
    events = [line for line in lines[:-n] if SLURM_EVENT.search(line)][:1]
    return [f"    | {line}" for line in events + lines[-n:]] or ["    (empty)"]


def job_error(msg, n):
    """A failed job: its rule, id and message; the last lines of its log and of
    the executor's log (a Slurm job's), where the traceback often is."""
    lines = [f"Error in rule {msg['rule_name']} (job {msg['jobid']})"]
    if msg.get("rule_msg"):
        lines[0] += f": {msg['rule_msg']}"
    for key, value in (msg.get("aux") or {}).items():
        lines.append(f"    {key}: {value}")
    for path in msg.get("log") or []:
        if Path(path).exists() and Path(path).stat().st_size:
            lines.append(f"    log {path}, last lines:")
            lines += tail(path, n)
        else:
            lines.append(f"    log {path} (empty or missing)")
    return lines


def group_error(msg, n):
    """A failed group: its message, the tail of its executor log, and one line
    per member whose outputs are missing."""
    lines = [f"Error in group {msg['groupid']}"]
    if msg.get("msg"):
        lines[0] += f": {msg['msg']}"
    members = msg.get("job_error_info") or []
    unfinished = [
        info
        for info in members
        if not all(Path(path).exists() for path in info.get("output") or [])
    ]
    finished = len(members) - len(unfinished)
    lines.append(f"    {finished} of {len(members)} jobs finished")
    for info in unfinished:
        log = ", ".join(info.get("log") or []) or "no log"
        lines.append(f"    not finished: rule {info['rule_name']} (log {log})")
    for path in msg.get("aux_logs") or []:
        lines.append(f"    log {path}, last lines:")
        lines += tail(path, n)
    return lines


class LogHandler(LogHandlerBase):
    def __post_init__(self) -> None:
        self.tail = self.settings.tail if self.settings else 10
        # as Snakemake's own handler: stdout when asked (a dry run asks)
        self.stream = sys.stdout if self.common_settings.stdout else sys.stderr

    @property
    def writes_to_stream(self) -> bool:
        return True

    @property
    def writes_to_file(self) -> bool:
        return False

    @property
    def has_filter(self) -> bool:
        return True

    @property
    def has_formatter(self) -> bool:
        return True

    @property
    def needs_rulegraph(self) -> bool:
        return False

    def lines(self, record: logging.LogRecord) -> list[str]:
        event = getattr(record, "event", None)
        msg = record.__dict__
        if event in SILENT:
            return []
        if event == LogEvent.PROGRESS:
            done, total = msg["done"], msg["total"]
            return [f"{done} of {total} jobs done ({100 * done / total:.0f}%)"]
        if event == LogEvent.GROUP_ERROR:
            return group_error(msg, self.tail)
        if event == LogEvent.JOB_ERROR:
            # a member of a failed group: its group's record covers it
            return [] if msg.get("indent") else job_error(msg, self.tail)
        if record.levelno < logging.INFO:
            return []
        text = record.getMessage()
        if record.levelno == logging.INFO and text.startswith(ROUTINE):
            return []
        return [text]

    def emit(self, record: logging.LogRecord) -> None:
        try:
            lines = self.lines(record)
            if lines:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
        except Exception:
            self.handleError(record)

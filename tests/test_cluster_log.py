"""The cluster terminal (``--logger geoctx``, src/snakemake_logger_plugin_geoctx):
what it prints for each kind of record, on hand-made records."""

import logging

from snakemake_interface_logger_plugins.common import LogEvent

from snakemake_logger_plugin_geoctx import LogHandler, LogHandlerSettings


class Output:
    stdout = False


def lines(**fields):
    handler = LogHandler(Output(), LogHandlerSettings(tail=3))
    record = logging.LogRecord(
        "snakemake",
        fields.pop("level", logging.INFO),
        "",
        0,
        fields.pop("msg", ""),
        None,
        None,
    )
    record.__dict__.update(fields)
    return handler.lines(record)


def test_job_blocks_and_routine_messages_are_dropped():
    assert lines(event=LogEvent.JOB_INFO, msg="rule x:") == []
    assert lines(event=LogEvent.JOB_FINISHED, msg="Finished jobid: 1") == []
    assert lines(msg="Select jobs to execute...") == []
    assert lines(msg="Job 3 has been submitted with SLURM jobid 7") == [
        "Job 3 has been submitted with SLURM jobid 7"
    ]
    assert lines(event=LogEvent.PROGRESS, done=3, total=8) == ["3 of 8 jobs done (38%)"]


def test_a_failed_job_shows_its_logs_last_lines(tmp_path):
    log = tmp_path / "a.log"
    log.write_text("".join(f"line {i}\n" for i in range(1, 8)))
    slurm = tmp_path / "7.log"
    slurm.write_text(
        "start\nslurmstepd: error: *** JOB 7 ON vm CANCELLED AT x ***\na\nb\nc\n"
    )
    out = lines(
        event=LogEvent.JOB_ERROR,
        rule_name="train_model",
        jobid=4,
        rule_msg="failed",
        log=[str(log), str(slurm)],
        aux={},
    )
    assert out == [
        "Error in rule train_model (job 4): failed",
        f"    log {log}, last lines:",
        "    | line 5",
        "    | line 6",
        "    | line 7",
        f"    log {slurm}, last lines:",
        "    | slurmstepd: error: *** JOB 7 ON vm CANCELLED AT x ***",
        "    | a",
        "    | b",
        "    | c",
    ]
    # a member of a failed group: its group's record speaks for it
    assert lines(event=LogEvent.JOB_ERROR, indent=True, rule_name="x", jobid=1) == []


def test_a_failed_group_lists_only_its_unfinished_members(tmp_path):
    done = tmp_path / "done.keras"
    done.write_text("x")
    members = [
        {"rule_name": "train_model", "output": [str(done)], "log": ["t1.log"]},
        {
            "rule_name": "train_model",
            "output": [str(tmp_path / "no")],
            "log": ["t2.log"],
        },
    ]
    out = lines(
        event=LogEvent.GROUP_ERROR,
        groupid="model",
        msg="",
        job_error_info=members,
        aux_logs=[],
    )
    assert out == [
        "Error in group model",
        "    1 of 2 jobs finished",
        "    not finished: rule train_model (log t2.log)",
    ]

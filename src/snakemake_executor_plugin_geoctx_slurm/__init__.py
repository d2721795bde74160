"""Slurm as profiles/slurm uses it: ``snakemake --executor geoctx-slurm``.

The official plugin (``snakemake-executor-plugin-slurm``, pinned 2.8.0, the
`slurm` extra) with one change: its ``no_account`` setting acts. 2.8.0
declares the setting but never reads it; without a ``slurm_account``
resource it tries to guess an account from ``sacct`` at its first
submissions, logging "No SLURM account given, trying to guess." and two
more warnings each time, and passes what it guessed as ``sbatch -A``. Here,
with ``geoctx-slurm-no-account: true`` (``--geoctx-slurm-no-account``),
a job without a ``slurm_account`` is submitted without ``-A`` and nothing is
guessed or logged. Everything else is the official plugin's, with its
settings under the ``geoctx-slurm-`` prefix (``slurm-status-command``
becomes ``geoctx-slurm-status-command``).
"""

__all__ = ["Executor", "ExecutorSettings", "common_settings"]

try:
    from snakemake_executor_plugin_slurm import (
        Executor as SlurmExecutor,
    )
    from snakemake_executor_plugin_slurm import (
        ExecutorSettings,
        common_settings,
    )
except ImportError as err:  # the `slurm` extra is not installed
    from snakemake_interface_common.exceptions import WorkflowError
    from snakemake_interface_executor_plugins.executors.remote import RemoteExecutor
    from snakemake_interface_executor_plugins.settings import CommonSettings

    _MISSING = err
    common_settings = CommonSettings(non_local_exec=True, implies_no_shared_fs=False)

    class Executor(RemoteExecutor):
        def __init__(self, *args, **kwargs):
            raise WorkflowError(
                "the geoctx-slurm executor needs snakemake-executor-plugin-slurm: "
                f"pip install -e '.[workflow,slurm]' ({_MISSING})"
            )

else:

    class Executor(SlurmExecutor):
        """The official Slurm executor, honouring its ``no_account`` setting."""

        def get_account_arg(self, job):
            if self.workflow.executor_settings.no_account and not job.resources.get(
                "slurm_account"
            ):
                yield ""  # no -A, and no guess
                return
            yield from super().get_account_arg(job)

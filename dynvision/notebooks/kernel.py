"""How notebook kernels start: their environment, threads, transport and start-up retries.

papermill starts one Jupyter kernel per run. Left alone, a kernel inherits everything of the
process that starts it, which hurts in three ways when many run at once:

* **Environment.** A Dask nanny exports ``MALLOC_TRIM_THRESHOLD_=65536`` (and one-thread
  settings) into its worker's environment, meant for the worker itself; a kernel that inherits
  it returns memory to the OS after almost every allocation (about a million minor page faults
  per second of work). :func:`nanny_environ` lists what a nanny set, so the kernel can drop it.
* **Threads.** Every kernel would use all cores; two of them on two cores run slower than one
  after the other. :func:`thread_env` gives a kernel its share (``OMP_NUM_THREADS`` etc., which
  torch and numpy read at import).
* **Ports.** Over TCP each kernel picks five free ports, and kernels started at the same moment
  can pick the same one ("Kernel didn't respond in 60 seconds"). On POSIX systems kernels talk
  over IPC sockets in a private temporary folder instead, which cannot collide (and ipykernel no
  longer warns about unencrypted TCP). Start-up is still retried (:func:`is_start_failure`).

The kernel's own log (its stderr: start-up messages, the interrupt sent at shutdown) goes to a
file instead of the terminal; its last lines are quoted when a kernel fails to start. nbclient's
log line about a failed start is dropped too (:func:`quiet_start_errors`): the run's record
counts the attempts and carries the error if none succeeds.

Example:
    >>> thread_env(2)["OMP_NUM_THREADS"]
    '2'
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, Unicode
from traitlets.config import Config

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class KernelStartError(RuntimeError):
    """A kernel did not start (after the retries); the message quotes the kernel's last output."""


class RunKernelManager(AsyncKernelManager):
    """A kernel manager that sets the kernel's environment and sends its stderr to a file.

    Configured through traitlets (``Config({"RunKernelManager": {...}})``), since nbclient
    creates the manager itself.
    """

    kernel_env = Dict(help="variables to set in the kernel's environment; None removes one").tag(config=True)
    stderr_path = Unicode(None, allow_none=True, help="file that receives the kernel's stderr").tag(config=True)

    async def start_kernel(self, **kw: Any) -> None:
        """Start the kernel with :attr:`kernel_env` applied and stderr sent to :attr:`stderr_path`."""
        env = dict(kw.pop("env", None) or os.environ)
        for name, value in self.kernel_env.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = str(value)
        kw["env"] = env
        if self.stderr_path:
            kw["stderr"] = open(self.stderr_path, "ab")  # noqa: SIM115 - the kernel process owns it
        try:
            await super().start_kernel(**kw)
        finally:
            if self.stderr_path:
                kw["stderr"].close()  # the child has its own copy of the descriptor


class KernelSession:
    """Settings for the kernels of one run: a private folder for IPC sockets and the kernel log.

    Use as a context manager; the folder is removed on exit.

    Args:
        env: Variables to set (``None`` removes one) in each kernel's environment.
        transport: ``"ipc"`` (default on POSIX) or ``"tcp"``.

    Example:
        >>> with KernelSession({"OMP_NUM_THREADS": "1"}) as session:  # doctest: +SKIP
        ...     pm.execute_notebook(..., **session.engine_kwargs())
    """

    def __init__(self, env: Mapping[str, str | None] | None = None, transport: str | None = None):
        self.env = dict(env or {})
        self.transport = transport or ("ipc" if os.name == "posix" else "tcp")
        self.folder: Path | None = None
        self.attempt = 0

    def __enter__(self) -> "KernelSession":
        self.folder = Path(tempfile.mkdtemp(prefix="dvk-"))  # short: unix socket paths are limited to ~100 bytes
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def log_path(self) -> Path:
        """The kernel log of the current attempt."""
        assert self.folder is not None, "use KernelSession as a context manager"
        return self.folder / f"kernel-{self.attempt}.log"

    def engine_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``papermill.execute_notebook`` that start the next attempt's kernel."""
        assert self.folder is not None, "use KernelSession as a context manager"
        self.attempt += 1
        settings = {"kernel_env": self.env, "stderr_path": str(self.log_path), "transport": self.transport}
        if self.transport == "ipc":
            settings["connection_file"] = str(self.folder / f"k{self.attempt}.json")
        return {"kernel_manager_class": RunKernelManager, "config": Config({"RunKernelManager": settings})}

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the current attempt's kernel log ("" if it wrote nothing)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def thread_env(threads: int | None) -> dict[str, str]:
    """Environment variables that give a kernel ``threads`` intra-op threads ({} for None).

    Example:
        >>> thread_env(1)
        {'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '1'}
    """
    if threads is None:
        return {}
    return {name: str(int(threads)) for name in THREAD_VARIABLES}


def nanny_environ() -> dict[str, None]:
    """The variables a Dask nanny exported into this process for the worker's own use.

    Returns ``{name: None}`` (remove it) for each variable of dask's
    ``distributed.nanny.pre-spawn-environ`` that this process has with exactly the nanny's
    value, and only inside a Dask worker; elsewhere ``{}``, so a user's own settings stay.

    Example:
        >>> nanny_environ()  # not inside a Dask worker
        {}
    """
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return {}
    import dask

    spawned = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    return {name: None for name, value in spawned.items() if os.environ.get(name) == str(value)}


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def is_start_failure(exc: BaseException, cells_started: bool) -> bool:
    """Whether ``exc`` came before any cell ran: the kernel never became ready, so a new one may.

    nbclient reports these as ``RuntimeError("Kernel didn't respond in 60 seconds")``,
    ``RuntimeError("Kernel died before replying to kernel_info")`` or a ZMQ error.
    """
    return not cells_started and isinstance(exc, Exception)


class _DropStartErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Error occurred while starting new kernel client")


def quiet_start_errors() -> None:
    """Drop nbclient's "Error occurred while starting new kernel client" lines from papermill's log.

    Idempotent. The retry in ``run_notebook`` handles and records these failures.
    """
    logger = logging.getLogger("papermill")
    if not any(isinstance(f, _DropStartErrors) for f in logger.filters):
        logger.addFilter(_DropStartErrors())

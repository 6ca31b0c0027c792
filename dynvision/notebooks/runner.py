"""Execute one notebook with parameters (papermill) into an output folder.

A run writes the executed notebook (same file name as the source) and an offline HTML copy
into ``output_dir``. Parameters are checked against the notebook's ``parameters`` cell before
anything runs: papermill only warns about unknown names, dynvision refuses them and lists the
valid ones. A notebook that raises still leaves its executed copy (with the traceback) behind;
the returned :class:`RunRecord` says ``status="failed"`` and carries the error message.

Kernel: by default notebooks run on ``python3``, the ipykernel of the Python that runs
dynvision (jupyter_client substitutes the running interpreter for a kernelspec's ``python``).
The kernel named in a notebook's metadata is ignored unless passed as ``kernel_name``, so a
notebook saved on another machine still runs in this environment. How kernels start (their
environment and threads, IPC sockets, the kernel log, retries when one does not come up) is
described in :mod:`dynvision.notebooks.kernel`.

Checks for tests and CI: ``warnings_as_errors=["dynvision"]`` turns every warning issued while
dynvision code runs into an error in the cell (:mod:`dynvision.notebooks.strict`), and the
record's ``stderr`` holds what the cells printed on stderr (warnings of other libraries,
logging). A failing ``assert`` in a cell fails the run with its message, the cell and the line.

Example:
    >>> from dynvision.notebooks import run_notebook
    >>> record = run_notebook("notebooks/contrast.ipynb", "results/contrast",
    ...                       {"model": "DyRCNNx2", "fast": True})  # doctest: +SKIP
    >>> record.status, record.output_notebook  # doctest: +SKIP
    ('ok', '/.../results/contrast/contrast.ipynb')
"""

from __future__ import annotations

import dataclasses
import re
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

from dynvision.notebooks.model_args import merge_model_kwargs, split_model_arguments
from dynvision.notebooks.parameters import notebook_parameters, resolve_notebook, to_parameter_value
from dynvision.registry import UnknownNameError, unknown_name_message

DEFAULT_KERNEL = "python3"
OUTPUT_DIR_PARAMETER = "output_dir"
STDERR_LIMIT = 4000


@dataclasses.dataclass
class RunRecord:
    """What happened when a notebook ran.

    Attributes:
        notebook: Source notebook (absolute path).
        output_dir: Folder holding the executed notebook and its HTML copy.
        parameters: The values injected into the notebook (``output_dir`` included when the
            notebook declares it).
        status: ``"ok"`` or ``"failed"``.
        duration_s: Wall time of the execution in seconds (HTML export excluded).
        started: Local start time, ISO 8601 with UTC offset.
        output_notebook: The executed notebook (exists for failed runs too, unless the kernel
            never started).
        html: The HTML export, or ``None`` when not exported.
        error: ``"ExceptionName: message (cell N, line L: source line)"`` for failed runs,
            else ``None``.
        error_cell: Execution count (``In [N]``) of the cell that raised, if one did.
        attempts: Kernel starts it took (more than 1 when a kernel did not come up).
        stderr: What the cells wrote to stderr (the last 4000 characters).
    """

    notebook: str
    output_dir: str
    parameters: dict[str, Any]
    status: str
    duration_s: float
    started: str
    output_notebook: str
    html: str | None = None
    error: str | None = None
    error_cell: int | None = None
    attempts: int = 1
    stderr: str = ""

    @property
    def ok(self) -> bool:
        """Whether the notebook ran without raising."""
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    def raise_for_status(self) -> "RunRecord":
        """Raise ``RuntimeError`` with the error and executed notebook if the run failed."""
        if not self.ok:
            raise RuntimeError(f"{Path(self.notebook).name} failed: {self.error} "
                               f"(traceback in {self.output_notebook})")
        return self


def check_kernel(kernel_name: str) -> str:
    """Return ``kernel_name`` if a kernelspec of that name exists, else raise listing them."""
    from jupyter_client.kernelspec import find_kernel_specs

    specs = find_kernel_specs()
    if kernel_name not in specs:
        raise UnknownNameError(unknown_name_message("kernel", kernel_name, specs) +
                               "; install one with `python -m ipykernel install --sys-prefix`")
    return kernel_name


def output_folder(path: str | Path, create: bool = True) -> Path:
    """``path`` as an absolute folder (``~`` expanded), created if asked; a file there is an error.

    Raises:
        InvalidValueError: ``path`` is an existing file.
    """
    from dynvision.validation import InvalidValueError

    folder = Path(path).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise InvalidValueError("output_dir", str(path), "a folder, but it is a file")
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_notebook(notebook: str | Path, output_dir: str | Path, parameters: Mapping[str, Any] | None = None,
                 kernel_name: str | None = None, progress: bool = False, export_html: bool = True,
                 timeout: float | None = None, *, threads: int | None = None,
                 env: Mapping[str, str | None] | None = None, warnings_as_errors: Sequence[str] = (),
                 start_attempts: int = 3, start_timeout: float = 60) -> RunRecord:
    """Execute ``notebook`` with ``parameters`` into ``output_dir``.

    The executed notebook keeps the source's file name; with ``export_html`` an offline HTML
    copy (``<name>.html``) sits beside it. If the notebook's parameters cell assigns
    ``output_dir``, the absolute ``output_dir`` is injected unless ``parameters`` sets it, so
    the notebook can write its zarr stores and figures next to the executed copy. The kernel
    starts in the notebook's own folder, as in JupyterLab, so relative paths keep working.

    Args:
        notebook: The ``.ipynb`` to run; it needs a cell tagged ``parameters``.
        output_dir: Folder for the executed notebook (created if missing).
        parameters: Values to inject (``None``, bool, int, float, str, list, dict; numpy
            scalars, tuples and paths are converted). Names of model arguments (``tau``...)
            go into the notebook's ``model_kwargs`` (see :mod:`dynvision.notebooks.model_args`).
        kernel_name: Jupyter kernel; default ``"python3"``, this environment's ipykernel.
        progress: Show papermill's per-cell progress bar.
        export_html: Also write the offline HTML copy (for failed runs too).
        timeout: Seconds any single cell may run before the run fails (``None``: no limit).
        threads: Intra-op threads of the kernel (``OMP_NUM_THREADS`` and friends, over what
            ``env`` says); ``None`` leaves them as they are.
        env: Further variables for the kernel's environment (``None`` as a value removes one).
        warnings_as_errors: Top-level packages (e.g. ``["dynvision"]``) whose warnings fail
            the run: a warning issued while their code runs raises in the cell.
        start_attempts: Kernel starts to try before the run is recorded as failed.
        start_timeout: Seconds to wait for a kernel to become ready.

    Returns:
        A :class:`RunRecord`; execution errors give ``status="failed"`` instead of raising.

    Raises:
        FileNotFoundError: ``notebook`` does not exist.
        MissingParametersCellError: The notebook has no ``parameters`` cell.
        ParametersSyntaxError: Its parameters cell is not valid Python.
        UnknownNameError: An unknown parameter or kernel name (the message lists valid ones).
        InvalidValueError: ``output_dir`` is a file; ``threads``, ``start_attempts`` or
            ``start_timeout`` out of range.

    Example:
        >>> rec = run_notebook("add.ipynb", "out/add", {"a": 5})  # doctest: +SKIP
        >>> rec.ok, Path(rec.html).name  # doctest: +SKIP
        (True, 'add.html')
    """
    from dynvision.validation import check_int, check_number

    nb_path = resolve_notebook(notebook)
    params = {str(k): to_parameter_value(k, v) for k, v in (parameters or {}).items()}
    declared = notebook_parameters(nb_path)
    params = merge_model_kwargs(*split_model_arguments(declared, params, notebook=nb_path.name))
    threads = check_int("threads", threads, lo=1, allow_none=True)
    start_attempts = check_int("start_attempts", start_attempts, lo=1)
    start_timeout = check_number("start_timeout", start_timeout, lo=0, lo_open=True, unit="s")
    timeout = check_number("timeout", timeout, lo=0, lo_open=True, unit="s", allow_none=True)
    out_dir = output_folder(output_dir, create=False)
    if OUTPUT_DIR_PARAMETER in declared:
        params.setdefault(OUTPUT_DIR_PARAMETER, str(out_dir))
    kernel = check_kernel(kernel_name or DEFAULT_KERNEL)
    out_nb = out_dir / nb_path.name
    if out_nb == nb_path:
        raise ValueError(f"output_dir {str(out_dir)!r} is the notebook's own folder; the executed copy "
                         f"would overwrite {nb_path.name!r} - choose another output_dir")
    out_dir.mkdir(parents=True, exist_ok=True)

    started = datetime.now().astimezone().isoformat(timespec="seconds")
    t0 = time.perf_counter()
    status, error, error_cell, attempts = _in_own_context(
        _execute, nb_path, out_nb, params, kernel, progress, timeout, {**(env or {}), **_thread_env(threads)},
        list(warnings_as_errors), start_attempts, start_timeout)
    duration = time.perf_counter() - t0

    html = None
    if export_html and out_nb.exists():
        from dynvision.notebooks.export import export_html as _export

        try:
            html = str(_export(out_nb, images_dir=nb_path.parent))
        except Exception as exc:  # noqa: BLE001 - a broken export must not hide the run's status
            warnings.warn(f"HTML export of {str(out_nb)!r} failed: {exc}", RuntimeWarning, stacklevel=2)
    return RunRecord(notebook=str(nb_path), output_dir=str(out_dir), parameters=params, status=status,
                     duration_s=round(duration, 3), started=started, output_notebook=str(out_nb),
                     html=html, error=error, error_cell=error_cell, attempts=attempts,
                     stderr=_stderr(out_nb))


def _execute(nb_path: Path, out_nb: Path, params: dict, kernel: str, progress: bool, timeout: float | None,
             env: dict, strict: list[str], attempts: int, start_timeout: float):
    """Run papermill, starting a new kernel when one does not come up; (status, error, cell, attempts)."""
    import papermill as pm

    from dynvision.notebooks.kernel import KernelSession, KernelStartError, is_start_failure, quiet_start_errors
    from dynvision.notebooks.strict import kernel_arguments

    extra = kernel_arguments(strict)
    quiet_start_errors()
    with KernelSession(env) as session:
        for attempt in range(1, attempts + 1):
            started = []
            try:
                # the kernel's working directory goes through nbclient's resources rather than papermill's
                # cwd=, which os.chdir()s the whole process (racy when a Dask worker runs several notebooks)
                pm.execute_notebook(str(nb_path), str(out_nb), parameters=params, kernel_name=kernel,
                                    progress_bar=progress, log_output=False, execution_timeout=timeout,
                                    start_timeout=start_timeout, resources={"metadata": {"path": str(nb_path.parent)}},
                                    extra_arguments=extra, on_notebook_start=lambda **_: started.append(True),
                                    **session.engine_kwargs())
                return "ok", None, None, attempt
            except pm.PapermillExecutionError as exc:
                return "failed", _describe(exc), exc.exec_count, attempt
            except Exception as exc:  # noqa: BLE001 - cell timeouts, dead kernels: recorded, not raised
                if not is_start_failure(exc, bool(started)):
                    return "failed", f"{type(exc).__name__}: {exc}", None, attempt
                log = session.log_tail()
                failure = f"{type(exc).__name__}: {exc}" + (f" (kernel log: {log})" if log else "")
    error = KernelStartError(f"the kernel did not start in {attempts} attempt{'s' if attempts > 1 else ''}; "
                             f"last: {failure}")
    return "failed", f"{type(error).__name__}: {error}", None, attempts


def _in_own_context(fn, *args):
    """Call ``fn(*args)``; off the main thread, in a fresh context with its own event loop, closed after.

    nbclient runs its coroutines on an event loop that jupyter_core keeps in a context variable.
    Threads that inherit a context (a Dask worker's executor copies the submitting thread's)
    would otherwise find another thread's loop there ("This event loop is already running").
    """
    import asyncio
    import contextvars
    import threading

    if threading.current_thread() is threading.main_thread():
        return fn(*args)
    context = contextvars.Context()
    try:
        return context.run(fn, *args)
    finally:
        for value in context.values():
            if isinstance(value, asyncio.AbstractEventLoop) and not value.is_running() and not value.is_closed():
                value.close()
        asyncio.set_event_loop(None)


def _describe(exc) -> str:
    """``"Name: message (cell In [N], line L: source)"`` from a papermill execution error.

    The line is the failing cell's own statement: the outermost frame of that cell in the
    traceback, not a frame of a function defined in another cell (or deeper in this one).
    """
    text = f"{exc.ename}: {exc.evalue}"
    lines = str(exc.source or "").splitlines()
    own = rf"Cell In\[{exc.exec_count}\], line (\d+)"
    found = re.findall(own, _strip_ansi("\n".join(exc.traceback or [])))
    where = f"cell In [{exc.exec_count}]"
    if found and 0 < int(found[0]) <= len(lines):
        where += f", line {found[0]}: {lines[int(found[0]) - 1].strip()}"
    return f"{text} ({where})"


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _thread_env(threads: int | None) -> dict[str, str]:
    from dynvision.notebooks.kernel import thread_env

    return thread_env(threads)


def _stderr(out_nb: Path) -> str:
    """What the executed notebook's cells printed on stderr (the last STDERR_LIMIT characters)."""
    import nbformat

    try:
        nb = nbformat.read(out_nb, as_version=4)
    except (OSError, ValueError):
        return ""
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr")
    return text[-STDERR_LIMIT:]

"""Execute one notebook with parameters (papermill) into an output folder.

A run writes the executed notebook (same file name as the source) and an offline HTML copy
into ``output_dir``. Parameters are checked against the notebook's ``parameters`` cell before
anything runs: papermill only warns about unknown names, dynvision refuses them and lists the
valid ones. A notebook that raises still leaves its executed copy (with the traceback) behind;
the returned :class:`RunRecord` says ``status="failed"`` and carries the error message.

Kernel: by default notebooks run on ``python3``, the ipykernel of the Python that runs
dynvision (jupyter_client substitutes the running interpreter for a kernelspec's ``python``).
The kernel named in a notebook's metadata is ignored unless passed as ``kernel_name``, so a
notebook saved on another machine still runs in this environment.

Example:
    >>> from dynvision.notebooks import run_notebook
    >>> record = run_notebook("notebooks/contrast.ipynb", "results/contrast",
    ...                       {"model": "DyRCNNx2", "fast": True})  # doctest: +SKIP
    >>> record.status, record.output_notebook  # doctest: +SKIP
    ('ok', '/.../results/contrast/contrast.ipynb')
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from dynvision.notebooks.parameters import resolve_notebook, check_parameters, to_parameter_value
from dynvision.registry import UnknownNameError, unknown_name_message

DEFAULT_KERNEL = "python3"
OUTPUT_DIR_PARAMETER = "output_dir"


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
        output_notebook: The executed notebook (exists for failed runs too).
        html: The HTML export, or ``None`` when not exported.
        error: ``"ExceptionName: message"`` for failed runs, else ``None``.
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


def run_notebook(notebook: str | Path, output_dir: str | Path, parameters: Mapping[str, Any] | None = None,
                 kernel_name: str | None = None, progress: bool = False, export_html: bool = True,
                 timeout: float | None = None) -> RunRecord:
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
            scalars, tuples and paths are converted).
        kernel_name: Jupyter kernel; default ``"python3"``, this environment's ipykernel.
        progress: Show papermill's per-cell progress bar.
        export_html: Also write the offline HTML copy (for failed runs too).
        timeout: Seconds any single cell may run before the run fails (``None``: no limit).

    Returns:
        A :class:`RunRecord`; execution errors give ``status="failed"`` instead of raising.

    Raises:
        FileNotFoundError: ``notebook`` does not exist.
        MissingParametersCellError: The notebook has no ``parameters`` cell.
        UnknownNameError: An unknown parameter or kernel name (the message lists valid ones).

    Example:
        >>> rec = run_notebook("add.ipynb", "out/add", {"a": 5})  # doctest: +SKIP
        >>> rec.ok, Path(rec.html).name  # doctest: +SKIP
        (True, 'add.html')
    """
    import papermill as pm

    nb_path = resolve_notebook(notebook)
    params = {str(k): to_parameter_value(k, v) for k, v in (parameters or {}).items()}
    declared = check_parameters(nb_path, params)
    out_dir = Path(output_dir).expanduser().resolve()
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
    status, error = "ok", None
    try:
        # the kernel's working directory goes through nbclient's resources rather than papermill's
        # cwd=, which os.chdir()s the whole process (racy when a Dask worker runs several notebooks)
        pm.execute_notebook(str(nb_path), str(out_nb), parameters=params, kernel_name=kernel,
                            progress_bar=progress, log_output=False, execution_timeout=timeout,
                            resources={"metadata": {"path": str(nb_path.parent)}})
    except pm.PapermillExecutionError as exc:
        status, error = "failed", f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # noqa: BLE001 - cell timeouts, dead kernels: recorded, not raised
        status, error = "failed", f"{type(exc).__name__}: {exc}"
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
                     html=html, error=error)

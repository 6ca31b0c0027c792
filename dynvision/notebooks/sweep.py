"""Parameter sweeps: one notebook run per grid point, in parallel on Dask.

Each combination of the grid runs through :func:`~dynvision.notebooks.runs.execute_run` in its
own subfolder named after the swept values (``model=DyRCNNx2__seed=0``, ``tau=5``). Grid or
fixed names that are not notebook parameters but arguments of the notebook's model go into
its ``model_kwargs`` (:mod:`dynvision.notebooks.model_args`). The sweep folder holds

* ``sweep.json`` - the notebook (and its content hash), grid, fixed parameters and every run
  id's parameters (those of the latest sweep into the folder);
* ``index.csv`` - one row per run: ``run_id``, the swept parameters, ``status`` (``ok``,
  ``failed``, ``skipped`` = done earlier with the same notebook content and parameters and its
  outputs intact, so kept; ``pending`` = not finished yet), ``duration_s``, ``started``,
  ``output_notebook``, ``html`` (paths relative to the sweep folder), ``error`` and
  ``attempts`` (kernel starts); rewritten after every finished run;
* ``<run_id>/run.json`` - the run's record and key (:mod:`dynvision.notebooks.runs`).

Never redone, never mixed up: a rerun skips runs that are done (and intact), reruns failed,
interrupted and incomplete ones, and refuses - before running anything - to replace a run
folder that holds a run of other parameters or notebook content, or files no run recorded,
unless ``overwrite=True``. Two sweeps into one folder at the same time share the work: each
run is locked while it executes, and the second sweep finds it done.

Example:
    >>> from dynvision.notebooks import sweep
    >>> index = sweep("notebooks/contrast.ipynb", {"tau": [5, 10, 20]}, "results/tau-sweep",
    ...               fixed={"fast": True})  # doctest: +SKIP
    >>> list(index.run_id)  # doctest: +SKIP
    ['tau=5', 'tau=10', 'tau=20']
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any, Mapping, Sequence

from dynvision.notebooks.model_args import merge_model_kwargs, split_model_arguments
from dynvision.notebooks.parameters import notebook_parameters, resolve_notebook, to_parameter_value
from dynvision.notebooks.runner import DEFAULT_KERNEL, check_kernel, output_folder
from dynvision.notebooks.runs import RUN_FILE, foreign_content, key_difference, notebook_digest, read_record, \
    reusable, run_key, same_key, write_json

INDEX_FILE, SWEEP_FILE, SWEEP_LOCK = "index.csv", "sweep.json", ".sweep.lock"
RECORD_COLUMNS = ("status", "duration_s", "started", "output_notebook", "html", "error", "attempts")
_MAX_ID = 120

__all__ = ["sweep", "expand_grid", "run_ids", "RunConflictError", "RUN_FILE", "SWEEP_FILE", "INDEX_FILE"]


class RunConflictError(ValueError):
    """An output folder holds runs of other parameters or notebook content (or foreign files)."""


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The Cartesian product of ``grid`` as dicts, the first key varying slowest.

    Example:
        >>> expand_grid({"a": [1, 2], "b": ["x"]})
        [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
    """
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def run_ids(combinations: Sequence[Mapping[str, Any]]) -> list[str]:
    """Deterministic, file-system safe folder names ``key1=v1__key2=v2`` for grid points.

    Characters other than letters, digits and ``._+-=`` become ``-``; names that would be too
    long or that collide after sanitising get a short hash of their parameters appended.

    Example:
        >>> run_ids([{"model": "a/b", "lr": 0.001}])
        ['model=a-b__lr=0.001']
    """
    ids = [_sanitize("__".join(f"{k}={_format_value(v)}" for k, v in c.items())) for c in combinations]
    for i, (rid, combo) in enumerate(zip(ids, combinations)):
        if len(rid) > _MAX_ID or ids.count(rid) > 1 or not rid:
            digest = hashlib.sha1(json.dumps(combo, sort_keys=True).encode()).hexdigest()[:8]
            ids[i] = f"{rid[:_MAX_ID - 9]}-{digest}".lstrip("-")
    return ids


def sweep(notebook: str | Path, grid: Mapping[str, Sequence[Any]], output_dir: str | Path,
          workers: int | None = None, scheduler: Any = None, cluster: Any = None,
          fixed: Mapping[str, Any] | None = None, progress: bool = True, retry_failed: bool = True,
          *, kernel_name: str | None = None, timeout: float | None = None, export_html: bool = True,
          overwrite: bool = False, threads: int | None = None,
          warnings_as_errors: Sequence[str] = ()) -> "pandas.DataFrame":  # noqa: F821
    """Run ``notebook`` once per point of ``grid``, in parallel on Dask.

    Where it runs: a fresh local cluster of ``workers`` threads in this process, each starting
    one kernel at a time with ``cores // workers`` intra-op threads (closed afterwards), unless
    ``scheduler`` (an address such as ``"tcp://10.0.0.5:8786"``, or a ``distributed.Client``)
    or ``cluster`` (e.g. a ``dask_jobqueue.SLURMCluster``; scaled to ``workers`` if given) is
    passed (see :mod:`dynvision.notebooks.backends`). Workers must import dynvision and see
    ``output_dir`` (a shared POSIX file system on a cluster). One failing run does not stop
    the others.

    Args:
        notebook: The ``.ipynb`` to run; it needs a cell tagged ``parameters``.
        grid: Parameter name -> list of values; every combination is one run. Names of model
            arguments (``tau``, ``trc``, ``recurrence_type``...) are allowed where the
            notebook takes ``model_kwargs``.
        output_dir: Sweep folder (``index.csv``, ``sweep.json``, one subfolder per run).
        workers: Parallel runs on the local cluster (default: one per available CPU, at most
            one per run), or the size to scale ``cluster`` to.
        scheduler: Address of a running Dask scheduler, or a ``distributed.Client``.
        cluster: A Dask cluster object (dask-jobqueue, LocalCluster...); left open.
        fixed: Parameters (or model arguments) shared by every run (not part of the run ids).
        progress: Show a tqdm bar over finished runs.
        retry_failed: Rerun runs that failed in an earlier sweep into this folder.
        kernel_name: Jupyter kernel for every run (default ``"python3"``).
        timeout: Per-cell time limit in seconds.
        export_html: Write the offline HTML copy of each executed notebook.
        overwrite: Replace run folders that hold runs of other parameters or notebook content,
            or files no run recorded (default: refuse before running anything).
        threads: Intra-op threads per kernel (default: cores divided among parallel runs).
        warnings_as_errors: Packages whose warnings fail a run (see ``run_notebook``).

    Returns:
        The run index (the content of ``index.csv``), one row per grid point in grid order.

    Raises:
        UnknownNameError: A grid or fixed name is neither a parameter of the notebook nor an
            argument of its model (both lists are in the message).
        ParametersSyntaxError: The notebook's parameters cell does not parse.
        RunConflictError: ``output_dir`` holds other runs in the folders this sweep would use.
        SchedulerUnreachableError: ``scheduler`` cannot be reached (within seconds).
        ValueError: An empty grid or value list, a name both swept and fixed, or both
            ``scheduler`` and ``cluster``.

    Example:
        >>> index = sweep("add.ipynb", {"a": [1, 2], "b": [10]}, "out/sweep", workers=2)  # doctest: +SKIP
        >>> list(index.run_id)  # doctest: +SKIP
        ['a=1__b=10', 'a=2__b=10']
    """
    from filelock import FileLock

    from dynvision.notebooks.backends import check_scheduler_address
    from dynvision.validation import check_bool, check_int

    nb_path = resolve_notebook(notebook)
    grid = _check_grid(grid)
    fixed = {str(k): to_parameter_value(k, v) for k, v in (fixed or {}).items()}
    both = sorted(set(grid) & set(fixed))
    if both:
        raise ValueError(f"parameter{'s' if len(both) > 1 else ''} {', '.join(map(repr, both))} both swept "
                         f"in grid and set in fixed; keep each name in one of them")
    if scheduler is not None and cluster is not None:
        raise ValueError("pass either scheduler (an address or Client) or cluster, not both")
    workers = check_int("workers", workers, lo=1, allow_none=True)
    threads = check_int("threads", threads, lo=1, allow_none=True)
    overwrite, retry_failed = check_bool("overwrite", overwrite), check_bool("retry_failed", retry_failed)
    kernel = check_kernel(kernel_name or DEFAULT_KERNEL)
    combos, requested = _plan(nb_path, grid, fixed)
    if isinstance(scheduler, str):
        check_scheduler_address(scheduler)
    out = output_folder(output_dir)

    ids = run_ids(combos)
    digest = notebook_digest(nb_path)
    keys = {rid: run_key(nb_path, req, kernel, digest) for rid, req in zip(ids, requested)}
    with FileLock(str(out / SWEEP_LOCK)):  # two sweeps starting together see each other's sweep.json
        if not overwrite:
            _check_folder(out, nb_path, grid, ids, keys)
        write_json(out / SWEEP_FILE, {"notebook": str(nb_path), "notebook_sha256": digest,
                                       "grid": grid, "fixed": fixed, "runs": dict(zip(ids, combos))})
    rows: dict[str, dict[str, Any]] = {}
    todo: list[tuple[str, dict[str, Any]]] = []
    for rid, combo, req in zip(ids, combos, requested):
        previous = reusable(out / rid, keys[rid], retry_failed)
        if previous is not None:
            rows[rid] = _row(rid, combo, previous, out / rid, out)
        else:
            rows[rid] = _row(rid, combo, {"status": "pending"}, out / rid, out)
            todo.append((rid, req))
    _write_index(out, rows, list(grid))
    if todo:
        _execute(todo, combos=dict(zip(ids, combos)), keys=keys, nb_path=nb_path, out=out, rows=rows,
                 grid_keys=list(grid), workers=workers, scheduler=scheduler, cluster=cluster, progress=progress,
                 run_kwargs={"kernel_name": kernel, "progress": False, "export_html": export_html,
                             "timeout": timeout, "warnings_as_errors": list(warnings_as_errors),
                             "retry_failed": retry_failed, "overwrite": overwrite},
                 threads=threads)
    return _index_frame(out, rows, list(grid))


def _plan(nb_path: Path, grid: dict, fixed: dict) -> tuple[list[dict], list[dict]]:
    """Grid points and, for each, the parameters to inject (model arguments inside model_kwargs)."""
    declared = notebook_parameters(nb_path)
    combos = expand_grid(grid)
    requested = []
    for combo in combos:
        params, arguments = split_model_arguments(declared, {**fixed, **combo}, notebook=nb_path.name)
        requested.append(merge_model_kwargs(params, arguments))
    return combos, requested


def _check_folder(out: Path, nb_path: Path, grid: dict, ids: list[str], keys: dict) -> None:
    """Raise :class:`RunConflictError` if ``out`` holds another sweep or other runs in these folders."""
    meta = None
    try:
        meta = json.loads((out / SWEEP_FILE).read_text())
    except (OSError, ValueError):
        pass
    hint = "; choose another output folder, or pass overwrite=True (--overwrite) to replace them"
    if isinstance(meta, dict) and (Path(str(meta.get("notebook"))).name != nb_path.name
                                   or list(meta.get("grid") or {}) != list(grid)):
        raise RunConflictError(f"{str(out)!r} holds a sweep of {Path(str(meta.get('notebook'))).name!r} over "
                               f"{', '.join(meta.get('grid') or {}) or '(nothing)'}, not of {nb_path.name!r} over "
                               f"{', '.join(grid)}{hint}")
    conflicts = []
    for rid in ids:
        record = read_record(out / rid)
        if record is not None and not same_key(record, keys[rid]):
            conflicts.append(f"{rid} ({key_difference(record, keys[rid])})")
        elif foreign := foreign_content(out / rid):
            conflicts.append(f"{rid} (holds files no run recorded: {', '.join(foreign[:3])}"
                             f"{'...' if len(foreign) > 3 else ''})")
    if conflicts:
        more = f" and {len(conflicts) - 3} more" if len(conflicts) > 3 else ""
        raise RunConflictError(f"{len(conflicts)} run folder{'s' if len(conflicts) > 1 else ''} in {str(out)!r} "
                               f"hold{'' if len(conflicts) > 1 else 's'} other results: "
                               f"{'; '.join(conflicts[:3])}{more}{hint}")


def _execute(todo, *, combos, keys, nb_path, out, rows, grid_keys, workers, scheduler, cluster, progress,
             run_kwargs, threads) -> None:
    """Submit the runs to Dask and record each as it finishes.

    Runs locked by another sweep come back ``busy`` and are submitted once more, after the
    others, waiting for the lock this time (they are then usually found done and skipped).
    """
    from distributed import as_completed
    from tqdm.auto import tqdm

    from dynvision.notebooks.backends import connect
    from dynvision.notebooks.runs import execute_run

    client, owned, local_threads = connect(workers, scheduler, cluster, len(todo))
    futures: dict = {}
    token = uuid.uuid4().hex[:8]

    def submit(rid, requested, wait):
        fut = client.submit(execute_run, str(nb_path), str(out / rid), requested, identity=keys[rid], wait=wait,
                            threads=threads or local_threads, pure=False, key=f"run_notebook-{rid}-{token}-{int(wait)}",
                            **run_kwargs)
        futures[fut] = (rid, requested)
        return fut

    try:
        queue = as_completed([submit(rid, req, False) for rid, req in todo], loop=client.loop)
        failed = 0
        with tqdm(total=len(todo), disable=not progress, desc=f"sweep {nb_path.name}", unit="run") as bar:
            for fut in queue:
                rid, requested = futures[fut]
                try:
                    record = fut.result()
                except Exception as exc:  # noqa: BLE001 - lost worker, unpicklable result...
                    record = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
                if record.get("status") == "busy":  # another sweep is running it: wait for it, after the rest
                    queue.add(submit(rid, requested, True))
                    continue
                rows[rid] = _row(rid, combos[rid], record, out / rid, out)
                _write_index(out, rows, grid_keys)
                failed += record.get("status") == "failed"
                bar.set_postfix(failed=failed)
                bar.update(1)
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)
        for obj in owned:
            obj.close()


def _row(rid: str, combo: dict, record: dict, run_dir: Path, out: Path) -> dict[str, Any]:
    row = {"run_id": rid, **{k: _cell(v) for k, v in combo.items()}}
    for col in RECORD_COLUMNS:
        value = record.get(col)
        if col in ("output_notebook", "html") and value:
            value = os.path.relpath(run_dir / value, out)
        row[col] = value
    return row


def _index_frame(out: Path, rows: dict, grid_keys: list[str]):
    import pandas as pd

    frame = pd.DataFrame(list(rows.values()), columns=["run_id", *grid_keys, *RECORD_COLUMNS])
    frame.attrs["output_dir"] = str(out)
    return frame


def _write_index(out: Path, rows: dict, grid_keys: list[str]) -> None:
    tmp = out / f".{INDEX_FILE}.{os.getpid()}.tmp"
    _index_frame(out, rows, grid_keys).to_csv(tmp, index=False)
    os.replace(tmp, out / INDEX_FILE)


def _check_grid(grid: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
    if not grid:
        raise ValueError("grid is empty; pass at least one parameter with a list of values, e.g. {'seed': [0, 1]}")
    out = {}
    for key, values in grid.items():
        reserved = ("run_id", *RECORD_COLUMNS)
        if key in reserved:
            raise ValueError(f"grid parameter {key!r} clashes with an index column; reserved: {', '.join(reserved)}")
        if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
            raise ValueError(f"grid[{key!r}] must be a list of values, got {values!r}")
        out[str(key)] = [to_parameter_value(key, v) for v in values]
        if not out[key]:
            raise ValueError(f"grid[{key!r}] is empty; give at least one value")
    return out


def _format_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _sanitize(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+=-]+", "-", text).strip("-.")


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value

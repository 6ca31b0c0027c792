"""Parameter sweeps: one notebook run per grid point, in parallel on Dask.

Each combination of the grid runs through :func:`~dynvision.notebooks.runner.run_notebook`
in its own subfolder named after the swept values (``model=DyRCNNx2__seed=0``). The sweep
folder holds

* ``sweep.json`` - the notebook, grid, fixed parameters and every run id's parameters;
* ``index.csv`` - one row per run: ``run_id``, the swept parameters, ``status``
  (``ok``, ``failed``, ``skipped`` = ok in an earlier sweep and kept, ``pending`` = not
  finished yet), ``duration_s``, ``started``, ``output_notebook``, ``html`` (paths relative
  to the sweep folder) and ``error``; rewritten after every finished run;
* ``<run_id>/run.json`` - the run's record, written when it finishes.

Rerunning a sweep into the same folder skips runs whose ``run.json`` says ok for the same
parameters and whose outputs still exist; failed and missing runs run again.

Example:
    >>> from dynvision.notebooks import sweep
    >>> index = sweep("notebooks/contrast.ipynb", {"model": ["DyRCNNx2", "DyRCNNx4"],
    ...               "seed": [0, 1]}, "results/contrast-sweep", workers=2)  # doctest: +SKIP
    >>> index.status.value_counts()  # doctest: +SKIP
    ok    4
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

from dynvision.notebooks.parameters import resolve_notebook, check_parameters, to_parameter_value
from dynvision.notebooks.runner import run_notebook

INDEX_FILE, SWEEP_FILE, RUN_FILE = "index.csv", "sweep.json", "run.json"
RECORD_COLUMNS = ("status", "duration_s", "started", "output_notebook", "html", "error")
_MAX_ID = 120


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
          *, kernel_name: str | None = None, timeout: float | None = None,
          export_html: bool = True) -> "pandas.DataFrame":  # noqa: F821
    """Run ``notebook`` once per point of ``grid``, in parallel on Dask.

    Where it runs: a fresh ``distributed.LocalCluster`` (``workers`` processes with one
    thread each, bound to 127.0.0.1, no dashboard; closed afterwards) unless ``scheduler``
    (an address such as ``"tcp://10.0.0.5:8786"``, or a ``distributed.Client``) or
    ``cluster`` (e.g. a ``dask_jobqueue.SLURMCluster``; scaled to ``workers`` if given) is
    passed. Workers must import dynvision and see ``output_dir`` (a shared file system on a
    cluster). One failing run does not stop the others.

    Args:
        notebook: The ``.ipynb`` to run; it needs a cell tagged ``parameters``.
        grid: Parameter name -> list of values; every combination is one run.
        output_dir: Sweep folder (``index.csv``, ``sweep.json``, one subfolder per run).
        workers: Worker processes of the local cluster (default: one per available CPU, at
            most one per run), or the size to scale ``cluster`` to.
        scheduler: Address of a running Dask scheduler, or a ``distributed.Client``.
        cluster: A Dask cluster object (dask-jobqueue, LocalCluster...); left open.
        fixed: Parameters shared by every run (not part of the run ids).
        progress: Show a tqdm bar over finished runs.
        retry_failed: Rerun runs that failed in an earlier sweep into this folder.
        kernel_name: Jupyter kernel for every run (default ``"python3"``).
        timeout: Per-cell time limit in seconds.
        export_html: Write the offline HTML copy of each executed notebook.

    Returns:
        The run index (the content of ``index.csv``), one row per grid point in grid order.

    Raises:
        UnknownNameError: A grid or fixed name is not a parameter of the notebook.
        ValueError: An empty grid or value list, a name both swept and fixed, or both
            ``scheduler`` and ``cluster``.

    Example:
        >>> index = sweep("add.ipynb", {"a": [1, 2], "b": [10]}, "out/sweep", workers=2)  # doctest: +SKIP
        >>> list(index.run_id)  # doctest: +SKIP
        ['a=1__b=10', 'a=2__b=10']
    """
    nb_path = resolve_notebook(notebook)
    grid = _check_grid(grid)
    fixed = {str(k): to_parameter_value(k, v) for k, v in (fixed or {}).items()}
    both = sorted(set(grid) & set(fixed))
    if both:
        raise ValueError(f"parameter{'s' if len(both) > 1 else ''} {', '.join(map(repr, both))} both swept "
                         f"in grid and set in fixed; keep each name in one of them")
    if scheduler is not None and cluster is not None:
        raise ValueError("pass either scheduler (an address or Client) or cluster, not both")
    check_parameters(nb_path, {**fixed, **grid})
    out = Path(output_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)

    combos = expand_grid(grid)
    ids = run_ids(combos)
    _write_json(out / SWEEP_FILE, {"notebook": str(nb_path), "grid": grid, "fixed": fixed,
                                   "runs": dict(zip(ids, combos))})
    rows: dict[str, dict[str, Any]] = {}
    todo: list[tuple[str, dict[str, Any]]] = []
    for rid, combo in zip(ids, combos):
        requested = {**fixed, **combo}
        previous = _previous_record(out / rid, requested, nb_path.name, export_html)
        if previous and (previous["status"] == "ok" or not retry_failed):
            status = "skipped" if previous["status"] == "ok" else "failed"
            rows[rid] = _row(rid, combo, {**previous, "status": status}, out / rid, out)
        else:
            (out / rid / RUN_FILE).unlink(missing_ok=True)  # a stale record must not outlive its rerun
            rows[rid] = _row(rid, combo, {"status": "pending"}, out / rid, out)
            todo.append((rid, requested))
    _write_index(out, rows, list(grid))
    if todo:
        _execute(todo, combos=dict(zip(ids, combos)), nb_path=nb_path, out=out, rows=rows, grid_keys=list(grid),
                 workers=workers, scheduler=scheduler, cluster=cluster, progress=progress,
                 run_kwargs={"kernel_name": kernel_name, "progress": False, "export_html": export_html,
                             "timeout": timeout})
    return _index_frame(out, rows, list(grid))


def _execute(todo, *, combos, nb_path, out, rows, grid_keys, workers, scheduler, cluster, progress,
             run_kwargs) -> None:
    """Submit the runs to Dask and record each as it finishes."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    client, owned = _connect(workers, scheduler, cluster, len(todo))
    futures = {}
    try:
        token = uuid.uuid4().hex[:8]
        for rid, requested in todo:
            fut = client.submit(run_notebook, str(nb_path), str(out / rid), requested, pure=False,
                                key=f"run_notebook-{rid}-{token}", **run_kwargs)
            futures[fut] = (rid, requested)
        failed = 0
        with tqdm(total=len(todo), disable=not progress, desc=f"sweep {nb_path.name}", unit="run") as bar:
            for fut in as_completed(futures):
                rid, requested = futures[fut]
                try:
                    record = fut.result().to_dict()
                except Exception as exc:  # noqa: BLE001 - lost worker, unpicklable result...
                    record = {"notebook": str(nb_path), "status": "failed", "duration_s": None, "started": None,
                              "output_notebook": None, "html": None, "error": f"{type(exc).__name__}: {exc}"}
                record["requested"] = requested
                _write_json(out / rid / RUN_FILE, _relative_record(record, out / rid))
                rows[rid] = _row(rid, combos[rid], record, out / rid, out)
                _write_index(out, rows, grid_keys)
                failed += record["status"] != "ok"
                bar.set_postfix(failed=failed)
                bar.update(1)
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)
        for obj in owned:
            obj.close()


def _connect(workers, scheduler, cluster, n_runs):
    """A Client for the requested backend, plus the objects this sweep must close."""
    from distributed import Client, LocalCluster

    if cluster is not None:
        if workers:
            cluster.scale(workers)
        client = Client(cluster)
        return client, [client]
    if isinstance(scheduler, Client):
        return scheduler, []
    if scheduler is not None:
        client = Client(scheduler)
        return client, [client]
    n = workers or max(1, min(n_runs, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                              else os.cpu_count() or 1))
    local = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                         host="127.0.0.1")
    client = Client(local)
    return client, [client, local]


def _previous_record(run_dir: Path, requested: dict, notebook_name: str, need_html: bool) -> dict | None:
    """The earlier record of this run if it was for the same parameters and its files exist."""
    try:
        record = json.loads((run_dir / RUN_FILE).read_text())
    except (OSError, ValueError):
        return None
    same = json.dumps(record.get("requested"), sort_keys=True) == json.dumps(requested, sort_keys=True)
    if not same or Path(record.get("notebook") or "").name != notebook_name:
        return None
    if record.get("status") == "ok" and not (run_dir / notebook_name).exists():
        return None
    if record.get("status") == "ok" and need_html and not (record.get("html") and (run_dir / record["html"]).exists()):
        return None
    return record


def _relative_record(record: dict, run_dir: Path) -> dict:
    """The record with its file paths relative to the run folder (so sweeps can be moved)."""
    record = dict(record)
    for key in ("output_notebook", "html"):
        if record.get(key):
            record[key] = os.path.relpath(record[key], run_dir)
    record.pop("output_dir", None)
    return record


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
    tmp = out / f".{INDEX_FILE}.tmp"
    _index_frame(out, rows, grid_keys).to_csv(tmp, index=False)
    os.replace(tmp, out / INDEX_FILE)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


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

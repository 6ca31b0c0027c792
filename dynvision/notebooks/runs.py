"""One sweep run in its folder: what identifies it, its lock, and whether it can be reused.

A run folder (``<sweep>/<run_id>/``) holds the executed notebook, whatever the notebook wrote,
and ``run.json``. A run is identified by its **key**: the notebook's file name and content
hash (code and text of its cells, not outputs or metadata, so re-saving does not change it),
the injected parameters and the kernel. A finished run is reused only when its key matches
and its outputs are intact: the executed notebook has the hash recorded when it finished, and
every file it listed then still exists with the same size.

**Locking.** :func:`execute_run` holds ``<run folder>/.run.lock`` (a ``filelock`` lock, released
by the OS if the process dies) from the check to the final ``run.json``, so two sweeps into one
folder never run the same point twice: the second one waits (or, first, moves on to other
runs) and then finds the run done. The lock needs a file system with working POSIX locks
(local disks, NFSv4, Lustre, GPFS). Object stores (``s3://``...) have no locks: sweeps write
to a shared POSIX folder, and results are copied to an object store after the sweep ends,
by one process.

Example:
    >>> key = run_key("tests/fixtures/notebooks/add.ipynb", {"a": 1}, "python3")  # doctest: +SKIP
    >>> sorted(key)  # doctest: +SKIP
    ['kernel', 'notebook', 'notebook_sha256', 'parameters']
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

RUN_FILE, LOCK_FILE = "run.json", ".run.lock"
RUNNING = "running"


def notebook_digest(notebook: str | Path) -> str:
    """SHA-256 of a notebook's content: its language and each cell's type and source.

    Outputs, execution counts, cell ids and metadata (tags included) are left out, so saving a
    notebook again or running it does not change the digest; editing any cell does.

    Example:
        >>> len(notebook_digest("tests/fixtures/notebooks/add.ipynb"))  # doctest: +SKIP
        64
    """
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    language = nb.metadata.get("kernelspec", {}).get("language") or nb.metadata.get("language_info", {}).get("name")
    content = [language, [(c.cell_type, c.source) for c in nb.cells]]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


def run_key(notebook: str | Path, parameters: Mapping[str, Any], kernel_name: str | None,
            digest: str | None = None) -> dict[str, Any]:
    """What identifies a run: notebook name and content hash (``digest`` if known), parameters and kernel."""
    return {"notebook": Path(notebook).name, "notebook_sha256": digest or notebook_digest(notebook),
            "parameters": json.loads(json.dumps(dict(parameters), sort_keys=True)), "kernel": kernel_name or "python3"}


def read_record(run_dir: Path) -> dict[str, Any] | None:
    """The run's ``run.json``, or ``None`` if it is missing or unreadable."""
    try:
        record = json.loads((Path(run_dir) / RUN_FILE).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def same_key(record: Mapping[str, Any] | None, key: Mapping[str, Any]) -> bool:
    """Whether ``record`` was written for the run identified by ``key``."""
    return record is not None and record.get("key") == json.loads(json.dumps(dict(key)))


def key_difference(record: Mapping[str, Any], key: Mapping[str, Any]) -> str:
    """In words, how the run recorded in ``record`` differs from ``key``."""
    old = record.get("key")
    if not isinstance(old, Mapping):
        return "it was written by an older dynvision (no run key)"
    if old.get("notebook") != key["notebook"]:
        return f"it ran notebook {old.get('notebook')!r}, not {key['notebook']!r}"
    if old.get("notebook_sha256") != key["notebook_sha256"]:
        return f"notebook {key['notebook']!r} has changed since it ran"
    if old.get("kernel") != key["kernel"]:
        return f"it ran on kernel {old.get('kernel')!r}, not {key['kernel']!r}"
    before, now = old.get("parameters") or {}, key["parameters"]
    changes = [f"{k}: {before.get(k, '(unset)')!r} -> {now.get(k, '(unset)')!r}"
               for k in sorted(set(before) | set(now)) if before.get(k, object()) != now.get(k, object())]
    return "its parameters differ (" + "; ".join(changes) + ")"


def outputs_intact(run_dir: Path, record: Mapping[str, Any]) -> str | None:
    """``None`` if the outputs listed in ``record`` are all there, else what is missing or changed."""
    run_dir = Path(run_dir)
    executed = record.get("output_notebook")
    if not executed or not (run_dir / executed).is_file():
        return f"its executed notebook {executed!r} is missing"
    if record.get("output_sha256") and _sha256(run_dir / executed) != record["output_sha256"]:
        return f"its executed notebook {executed!r} has changed"
    for name, size in (record.get("files") or {}).items():
        path = run_dir / name
        if not path.is_file():
            return f"its output {name!r} is missing"
        if path.stat().st_size != size:
            return f"its output {name!r} has changed size"
    return None


def list_outputs(run_dir: Path) -> dict[str, int]:
    """Every file under ``run_dir`` (relative POSIX path -> size), run.json and dot-files excluded."""
    run_dir = Path(run_dir)
    files = {}
    for root, dirs, names in os.walk(run_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or (name == RUN_FILE and Path(root) == run_dir):
                continue
            path = Path(root) / name
            files[path.relative_to(run_dir).as_posix()] = path.stat().st_size
    return files


def foreign_content(run_dir: Path) -> list[str]:
    """Files in ``run_dir`` that no dynvision run recorded (empty if it is new or a recorded run)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or read_record(run_dir) is not None:
        return []
    return sorted(p.name for p in run_dir.iterdir() if p.name != LOCK_FILE)


def reusable(run_dir: Path, key: Mapping[str, Any], retry_failed: bool) -> dict[str, Any] | None:
    """The earlier record of this exact run if it can stand in for running it again, else ``None``.

    An ok run with intact outputs is reused (status ``skipped``); a failed one too when
    ``retry_failed`` is false (status ``failed``). Runs of another key, interrupted runs and
    runs with missing or changed outputs are not.
    """
    record = read_record(run_dir)
    if not same_key(record, key):
        return None
    if record.get("status") == "ok" and outputs_intact(run_dir, record) is None:
        return {**record, "status": "skipped"}
    if record.get("status") == "failed" and not retry_failed:
        return record
    return None


def execute_run(notebook: str, run_dir: str, parameters: Mapping[str, Any], *, identity: Mapping[str, Any],
                retry_failed: bool = True, overwrite: bool = False, wait: bool = True,
                threads: int | None = None, **run_kwargs: Any) -> dict[str, Any]:
    """Run one grid point under its lock, unless it is done already; write and return its record.

    This is the function a sweep sends to Dask workers. Under the run's lock it checks the
    folder again (another sweep may have finished this run meanwhile), records ``running``,
    executes the notebook and writes the final ``run.json``.

    Args:
        notebook: The source notebook.
        run_dir: The run's folder.
        parameters: Values to inject.
        identity: The run's key (:func:`run_key`).
        retry_failed: Run again when the recorded run of this key failed.
        overwrite: Replace a run of another key in this folder (else it is kept, and this run
            is recorded as failed).
        wait: Wait for the lock if another process holds it; with ``False`` return at once
            with status ``busy``.
        threads: Intra-op threads for the kernel (default: this machine's cores divided by the
            runs this worker executes at once).
        **run_kwargs: Passed on to :func:`~dynvision.notebooks.runner.run_notebook`.

    Returns:
        The record as written to ``run.json`` (status ``ok``, ``failed``, ``skipped``), or
        ``{"status": "busy"}``.
    """
    from filelock import FileLock, Timeout

    from dynvision.notebooks.kernel import nanny_environ
    from dynvision.notebooks.runner import run_notebook

    run_path = Path(run_dir)
    run_path.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(run_path / LOCK_FILE))
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        return {"status": "busy"}
    try:
        previous = read_record(run_path)
        done = reusable(run_path, identity, retry_failed)
        if done is not None:
            return done
        if previous is not None and not same_key(previous, identity) and not overwrite:
            return {"status": "failed", "key": dict(identity), "parameters": dict(parameters),
                    "error": f"RunConflictError: {run_path} holds another run ({key_difference(previous, identity)}), "
                             f"written while this sweep was starting; it was kept (pass overwrite=True to replace it)"}
        write_json(run_path / RUN_FILE, {"key": dict(identity), "status": RUNNING, "host": socket.gethostname(),
                                          "pid": os.getpid(),
                                          "started": datetime.now().astimezone().isoformat(timespec="seconds")})
        env = {**nanny_environ(), **(run_kwargs.pop("env", None) or {})}
        try:
            record = run_notebook(notebook, run_path, parameters, threads=_threads(threads), env=env,
                                  **run_kwargs).to_dict()
        except Exception as exc:  # noqa: BLE001 - e.g. the notebook changed under a running sweep
            record = {"notebook": str(notebook), "parameters": dict(parameters), "status": "failed",
                      "error": f"{type(exc).__name__}: {exc}"}
        record = _relative(record, run_path)
        record["key"] = dict(identity)
        if record.get("output_notebook") and (run_path / record["output_notebook"]).is_file():
            record["output_sha256"] = _sha256(run_path / record["output_notebook"])
        record["files"] = list_outputs(run_path)
        write_json(run_path / RUN_FILE, record)
        return record
    finally:
        lock.release()


def _threads(threads: int | None) -> int:
    """``threads``, or the cores of this machine shared among the runs its worker runs at once."""
    from dynvision.notebooks.kernel import available_cores

    if threads is not None:
        return threads
    try:
        from distributed import get_worker

        concurrent = get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):
        concurrent = 1
    return max(1, available_cores() // max(1, concurrent))


def _relative(record: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The record with its file paths relative to the run folder (so sweeps can be moved)."""
    record = dict(record)
    for name in ("output_notebook", "html"):
        if record.get(name):
            record[name] = os.path.relpath(record[name], run_dir)
    record.pop("output_dir", None)
    return record


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically (a reader sees the old or the new file, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)

"""Streaming activation trees to zarr and reopening them lazily.

A store is written in three phases by :class:`ActivationWriter`:

1. the *layout*: every node, coordinate and attribute, with the data variables declared at
   full size but no data (``compute=False``), and a run record in the root attributes
   (``dynvision_run``: the run's fingerprint, samples written, complete or not);
2. one region write per batch along ``sample``, after which the record is updated, so memory
   never holds more than a batch and an interrupted run can resume where it stopped;
3. the record is marked complete.

:func:`open_activations` refuses incomplete stores unless asked, so a failed run never looks
like a finished one. Any path or fsspec URL (``memory://``, ``s3://``...) works.
"""

from __future__ import annotations

import os
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
import zarr

RUN_KEY = "dynvision_run"


class StoreMismatchError(FileExistsError):
    """The store already holds a different run."""


def lazy_zeros(shape, dtype, batch_size: int, dims, max_chunk_bytes: int = 32 * 2**20) -> da.Array:
    """Empty full-size data for the layout, chunked by batch along ``sample`` (and by time
    when a batch would exceed ``max_chunk_bytes``)."""
    chunks = list(shape)
    if "sample" in dims:
        chunks[dims.index("sample")] = max(1, min(batch_size, shape[dims.index("sample")]))
    if "time" in dims:
        per_step = np.prod([c for d, c in zip(dims, chunks) if d != "time"]) * np.dtype(dtype).itemsize
        if per_step * shape[dims.index("time")] > max_chunk_bytes:
            chunks[dims.index("time")] = max(1, int(max_chunk_bytes // max(per_step, 1)))
    return da.zeros(tuple(shape), chunks=tuple(chunks), dtype=dtype)


def _as_store(path) -> Any:
    return os.fspath(path) if isinstance(path, os.PathLike) else path


def _open_group(path, mode: str = "r"):
    try:
        return zarr.open_group(_as_store(path), mode=mode)
    except FileNotFoundError:
        return None


def store_status(path) -> dict | None:
    """The run record of a store (fingerprint, samples written, complete), or ``None``.

    ``None`` means the path holds no dynvision store.
    """
    group = _open_group(path)
    if group is None:
        return None
    record = group.attrs.get(RUN_KEY)
    return dict(record) if record is not None else {"fingerprint": None, "complete": None, "samples_written": None}


def open_activations(path, chunks: dict | None = None, allow_incomplete: bool = False) -> xr.DataTree:
    """Open a stored activation tree lazily (dask-backed; nothing is read until used).

    Args:
        path: Path or fsspec URL of the zarr store.
        chunks: Dask chunks (default: the stored chunks).
        allow_incomplete: Open a store whose run did not finish (unwritten samples read as
            the fill value).

    Raises:
        FileNotFoundError: No store at ``path``.
        ValueError: The store's run did not finish (and ``allow_incomplete`` is false).

    Example:
        >>> tree = open_activations("results/contrast/activations.zarr")  # doctest: +SKIP
        >>> tree["V1"]["activity"].mean("channel")  # doctest: +SKIP
    """
    status = store_status(path)
    if status is None:
        raise FileNotFoundError(f"no activation store at {path!r}")
    if not status.get("complete") and not allow_incomplete:
        raise ValueError(
            f"the store at {path!r} is incomplete ({status.get('samples_written')} of "
            f"{status.get('samples_total')} samples written): its run stopped early. Rerun the same "
            f"Simulation.run(..., store={path!r}) to resume it, or pass allow_incomplete=True"
        )
    tree = xr.open_datatree(_as_store(path), engine="zarr", consolidated=False,
                            chunks={} if chunks is None else chunks)
    tree.attrs.pop(RUN_KEY, None)
    return _in_hierarchy_order(tree)


def _in_hierarchy_order(tree: xr.DataTree) -> xr.DataTree:
    """Children in the order the writer listed (``attrs["areas"]``): zarr keeps no order."""
    areas = list(tree.attrs.get("areas", []))
    names = list(tree.children)
    order = [n for n in ["stimulus", *areas] if n in names] + [n for n in names if n not in areas and n != "stimulus"]
    if order == names:
        return tree
    nodes = {"/": tree.to_dataset(inherit=False)}
    for name in order:
        for node in tree[name].subtree:
            nodes[node.path] = node.to_dataset(inherit=False)
    return xr.DataTree.from_dict(nodes)


class ActivationWriter:
    """Write an activation tree to zarr batch by batch.

    Args:
        path: Path or fsspec URL.
        fingerprint: Identifies the run (model, weights, stimulus, options).
        overwrite: Replace a store that holds a different run.

    Call :meth:`prepare` with a layout tree (data from :func:`lazy_zeros`), then :meth:`write` per
    batch and :meth:`finish` at the end. :attr:`resume_from` says how many samples an
    earlier, interrupted run of the same fingerprint already wrote.
    """

    def __init__(self, path, fingerprint: str, overwrite: bool = False):
        self.path, self.fingerprint, self.overwrite = _as_store(path), fingerprint, overwrite
        self.resume_from = 0
        self.complete = False
        status = store_status(self.path)
        if status is not None:
            if status.get("fingerprint") == fingerprint:
                self.resume_from = int(status.get("samples_written") or 0)
                self.complete = bool(status.get("complete"))
            elif not overwrite:
                raise StoreMismatchError(
                    f"{self.path!r} already holds a different run (fingerprint "
                    f"{status.get('fingerprint')!r}, this run {fingerprint!r}); choose another store "
                    f"path or pass overwrite=True to replace it"
                )

    def prepare(self, layout: xr.DataTree, total: int) -> None:
        """Write the layout and an incomplete run record (unless resuming)."""
        if self.resume_from:
            return
        layout = layout.copy()
        layout.attrs[RUN_KEY] = {"fingerprint": self.fingerprint, "complete": False,
                                 "samples_written": 0, "samples_total": int(total)}
        # Metadata and numpy-backed coordinates are written now; the dask-backed data later.
        layout.to_zarr(self.path, mode="w", consolidated=False, compute=False)

    def write(self, batch: xr.DataTree, start: int, stop: int, total: int) -> None:
        """Write samples ``start:stop`` from a batch tree and record the progress."""
        for node in batch.subtree:
            ds = node.to_dataset(inherit=False)
            drop = [v for v in ds.variables if "sample" not in ds[v].dims]
            ds = ds.drop_vars(drop)
            if not ds.variables:
                continue
            ds.attrs = {}
            ds.to_zarr(self.path, group=node.path if node.path != "/" else None, mode="r+",
                       region={"sample": slice(start, stop)}, consolidated=False)
        self._update(samples_written=int(stop), samples_total=int(total))

    def finish(self) -> None:
        """Mark the run complete."""
        self._update(complete=True)
        self.complete = True

    def _update(self, **changes) -> None:
        group = zarr.open_group(self.path, mode="r+")
        record = dict(group.attrs.get(RUN_KEY) or {})
        record.update(changes)
        group.attrs[RUN_KEY] = record

"""Writing a store: the layout once, then one region per unit of work, then the record.

:class:`StoreSession` is the single writer of a store's metadata (run under the store's lock,
see :mod:`dynvision.io.lock`). It refuses what it must not touch (a foreign folder, a file, a
store of a different run unless ``overwrite``), writes the layout (every node, coordinate and
attribute, data declared at full size) and the run record, and marks units done.

:func:`write_unit` writes one unit's arrays straight into their regions with zarr (no
xarray, no fill-value scan) and may run anywhere that sees the store: a writer thread or a
Dask worker. Units are aligned with the chunks along ``sample`` (and ``model``), so units
never share a chunk and can be written in any order by any number of workers. A unit is
marked done only after :func:`write_unit` returned.

Example:
    >>> session = StoreSession(locate("acts.zarr"), "f" * 32)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import threading
import uuid
from typing import Any, Mapping

import numpy as np
import xarray as xr

from dynvision.io.location import Location, locate
from dynvision.io.record import (
    FORMAT, RUN_KEY, ForeignStoreError, StoreMismatchError, ranges_to_set, read_record, set_to_ranges, write_record,
)

#: Codecs a store can use (chosen by ``benchmarks/record.py``: see docs/stores.md). Every
#: chunk also carries a CRC32C checksum.
CODECS = ("none", "lz4", "zstd")
DEFAULT_CODEC = "none"
#: Threads zarr may use for codecs and I/O: bounded so writes never starve torch's threads.
ZARR_THREADS = 1


def compressors(codec: str) -> list:
    """The zarr v3 bytes-to-bytes codecs for ``codec`` (a CRC32C checksum last)."""
    from zarr.codecs import BloscCodec, Crc32cCodec, ZstdCodec

    first = {"none": [], "lz4": [BloscCodec(cname="lz4", clevel=1, shuffle="bitshuffle")],
             "zstd": [ZstdCodec(level=1)]}[codec]
    return [*first, Crc32cCodec()]


def time_chunk(n_time: int, step_bytes: int, max_chunk_bytes: int) -> int:
    """The largest divisor of ``n_time`` whose chunk stays within ``max_chunk_bytes`` (so time
    chunks tile the time axis exactly: no padding stored)."""
    best = 1
    for d in range(1, n_time + 1):
        if n_time % d == 0 and d * step_bytes <= max_chunk_bytes:
            best = d
    return best


def chunk_shape(dims: tuple[str, ...], shape: tuple[int, ...], itemsize: int, batch: int,
                max_chunk_bytes: int = 64 * 2**20) -> tuple[int, ...]:
    """Chunks: one unit along ``model``/``sample``, whole along the rest, time split evenly
    when a unit's chunk would exceed ``max_chunk_bytes``."""
    chunks = [1 if d == "model" else min(batch, n) if d == "sample" else n for d, n in zip(dims, shape)]
    if "time" in dims:
        t = dims.index("time")
        step = itemsize * math.prod(c for i, c in enumerate(chunks) if i != t)
        chunks[t] = time_chunk(shape[t], step, max_chunk_bytes)
    return tuple(chunks)


_ZARR_READY = threading.Lock()
_configured = False


def configure_zarr() -> None:
    """Bound zarr's thread pool (once per process, before zarr creates it)."""
    global _configured
    with _ZARR_READY:
        if _configured:
            return
        import zarr
        from zarr.core import sync

        zarr.config.set({"threading.max_workers": ZARR_THREADS})
        if sync._executor is None:
            sync._get_executor()
        _configured = True


_arrays: dict[tuple[str, str], dict[str, Any]] = {}


def _open_arrays(url: str, fingerprint: str, paths) -> dict[str, Any]:
    key = (url, fingerprint)
    cached = _arrays.get(key)
    if cached is None or not set(paths) <= set(cached):
        import zarr

        configure_zarr()
        group = zarr.open_group(url, mode="r+")
        cached = {p: group[p].with_config({"write_empty_chunks": True}) for p in paths}
        _arrays[key] = cached
    return cached


def _raw_chunks(array: dict, index: tuple, values: np.ndarray):
    """(chunk key, contiguous blocks in C order, padding elements) for an uncompressed region.

    A unit's region spans whole chunks (one along model and sample, time split evenly, the
    rest whole), so each chunk's bytes are ``values[s, t0:t1]`` for each sample in order: no
    copy. The last unit along ``sample`` may be shorter than a chunk: zarr stores full chunks,
    so the rest is padded with the fill value."""
    dims, chunks, shape = array["dims"], array["chunks"], array["shape"]
    lead = 1 if dims[0] == "model" else 0
    sample = index[lead]
    b = chunks[lead]
    if sample.start % b or any(c != n for d, c, n in zip(dims, chunks, shape) if d not in ("model", "sample", "time")):
        raise ValueError(f"region {index} is not aligned with the chunks {chunks} of {dims}")
    t = dims.index("time") if "time" in dims else None
    n_t = shape[t] if t is not None else 1
    tc = chunks[t] if t is not None else 1
    for j in range(n_t // tc):
        key = [index[0]] if lead else []
        key += [sample.start // b] + [j if d == "time" else 0 for d in dims[lead + 1:]]
        if t is not None:
            blocks = [values[i, j * tc:(j + 1) * tc] for i in range(values.shape[0])]
        else:
            blocks = [values[i] for i in range(values.shape[0])]
        per_sample = int(np.prod(blocks[0].shape)) if blocks else 0
        yield "c/" + "/".join(map(str, key)), blocks, (b - values.shape[0]) * per_sample


def _readonly_bytes(block: np.ndarray) -> np.ndarray:
    view = np.ascontiguousarray(block).reshape(-1).view(np.uint8)
    view.flags.writeable = False  # google_crc32c reads only read-only buffers
    return view


def _write_raw(loc: Location, path: str, array: dict, index: tuple, values: np.ndarray) -> None:
    """Write an uncompressed region chunk by chunk as zarr would store it (the bytes in C
    order, then their CRC32C, little-endian), without zarr's two intermediate copies; each
    chunk file appears atomically (written under a temporary name, then renamed)."""
    import google_crc32c

    values = np.ascontiguousarray(values, dtype=array["dtype"])
    for key, blocks, pad in _raw_chunks(array, index, values):
        parts = [_readonly_bytes(blk) for blk in blocks]
        if pad:
            parts.append(_readonly_bytes(np.full(pad, np.nan, dtype=array["dtype"])))
        crc = 0
        for part in parts:
            crc = google_crc32c.extend(crc, part)
        parts.append(np.array([crc], dtype="<u4"))
        target = loc.join(path, key)
        if loc.local:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = f"{target}.{uuid.uuid4().hex}.partial"
            with open(tmp, "wb") as f:
                for part in parts:
                    f.write(part)
            os.replace(tmp, target)
        else:
            with loc.fs.open(target, "wb") as f:
                for part in parts:
                    f.write(part)


def write_unit(url: str, fingerprint: str, regions: Mapping[str, tuple[tuple, np.ndarray]],
               sizes: bool = False, arrays: Mapping[str, dict] | None = None) -> dict[str, int] | None:
    """Write one unit's arrays into their regions of the store at ``url``.

    Args:
        url: The store (as :class:`~dynvision.io.location.Location` ``.url``).
        fingerprint: The run's fingerprint (caches the opened arrays per run).
        regions: Array path -> (index tuple, values in the stored dtype and layout).
        sizes: Return the stored size of every chunk written (for compressed stores).
        arrays: The run record's ``arrays`` of an uncompressed store: its chunks are then
            written directly (see :func:`_write_raw`); otherwise through zarr.

    Returns:
        ``"path/c/i/j..." -> bytes`` when ``sizes``, else ``None``.
    """
    if arrays is not None and all(arrays[p].get("chunk_nbytes") for p in regions):
        loc = locate(url)
        for path, (index, values) in regions.items():
            _write_raw(loc, path, arrays[path], index, values)
        return None
    opened = _open_arrays(url, fingerprint, regions)
    for path, (index, values) in regions.items():
        opened[path][index] = values
    if not sizes:
        return None
    from dynvision.io.record import chunk_keys

    loc = locate(url)
    out = {}
    for path, (index, _) in regions.items():
        meta = opened[path].metadata
        dims = list(meta.dimension_names)
        info = {"dims": dims, "chunks": list(meta.chunk_grid.chunk_shape), "shape": list(meta.shape)}
        sample = index[dims.index("sample")]
        model = index[0] if dims[0] == "model" else 0
        for key in chunk_keys(info, model, sample.start, sample.stop, info["chunks"][dims.index("sample")]):
            out[f"{path}/{key}"] = int(loc.fs.size(loc.join(path, key)))
    return out


class StoreSession:
    """The metadata writer of one store for one run (use under :func:`~dynvision.io.lock.store_lock`).

    Args:
        loc: The store.
        fingerprint: This run's fingerprint.
        overwrite: Replace a dynvision store that holds a different run (a folder dynvision
            did not write is never touched).

    Raises:
        ForeignStoreError: The path is a file or a non-empty folder that is not a dynvision store.
        StoreMismatchError: The store holds a different run and ``overwrite`` is false.
        StoreCorruptError: The store's root metadata is garbled.
    """

    def __init__(self, loc: Location, fingerprint: str, overwrite: bool = False):
        self.loc, self.fingerprint = loc, fingerprint
        kind, record = read_record(loc)
        if kind == "file":
            raise ForeignStoreError(f"store {loc.url!r} is a file, not a folder; choose another store path")
        if kind == "foreign":
            raise ForeignStoreError(
                f"store {loc.url!r} is a non-empty folder that is not a dynvision store; dynvision never writes "
                f"into (or deletes) files it did not write: choose another store path")
        if kind == "dynvision" and record.get("fingerprint") != fingerprint:
            if not overwrite:
                raise StoreMismatchError(
                    f"{loc.url!r} already holds a different run (fingerprint {record.get('fingerprint')!r}, this run "
                    f"{fingerprint!r}); choose another store path or pass overwrite=True to replace it")
            loc.fs.rm(loc.root, recursive=True)
            record = None
        elif kind == "dynvision" and record.get("format") == FORMAT and not record.get("layout"):
            loc.fs.rm(loc.root, recursive=True)  # our own layout, cut short before any unit was written
            record = None
        self.record: dict | None = record

    @property
    def complete(self) -> bool:
        return bool(self.record and self.record.get("complete"))

    @property
    def done(self) -> set[int]:
        return ranges_to_set(self.record.get("done", [])) if self.record else set()

    def create(self, layout: xr.DataTree, units: list[list[int]], batch_size: int, codec: str = DEFAULT_CODEC,
               max_chunk_bytes: int = 64 * 2**20) -> None:
        """Write the layout (metadata and coordinates, data declared but not written) and a
        record with no unit done.

        Args:
            layout: The tree with every data variable at full size (any lazy placeholder).
            units: ``[model, start, stop]`` per unit of work.
            batch_size: Samples per unit.
            codec: One of :data:`CODECS`.
        """
        import dask.array as da

        from dynvision.io.schema import zarr_safe

        self._clean_leftovers()
        arrays, encoding, nodes = {}, {}, {}
        for node in layout.subtree:
            ds = node.to_dataset(inherit=False)
            enc = {}
            for name, var in ds.data_vars.items():
                chunks = chunk_shape(var.dims, var.shape, var.dtype.itemsize, batch_size, max_chunk_bytes)
                ds[name] = var.copy(data=da.zeros(var.shape, dtype=var.dtype, chunks=chunks))
                enc[name] = {"chunks": chunks, "compressors": compressors(codec)}
                path = f"{node.path.strip('/')}/{name}".lstrip("/")
                nbytes = None if codec != "none" else math.prod(chunks) * var.dtype.itemsize + 4
                arrays[path] = {"dims": list(var.dims), "shape": list(var.shape), "chunks": list(chunks),
                                "dtype": str(var.dtype), "chunk_nbytes": nbytes}
            nodes[node.path] = ds
            if enc:
                encoding[node.path] = enc
        self.record = {"format": FORMAT, "fingerprint": self.fingerprint, "complete": False, "codec": codec,
                       "layout": False,
                       "batch_size": int(batch_size), "samples_total": int(layout.sizes.get("sample", 0)),
                       "units": [list(map(int, u)) for u in units], "done": [], "arrays": arrays, "sizes": {}}
        tree = zarr_safe(xr.DataTree.from_dict(nodes))
        tree.attrs = {**layout.attrs, RUN_KEY: self.record}
        # Metadata and coordinates are built in memory, then written as files in one batch: 3x
        # faster than xarray writing them one by one through zarr's event loop (benchmarks/record.py).
        import zarr

        files: dict[str, Any] = {}
        tree.to_zarr(zarr.storage.MemoryStore(store_dict=files), mode="w", consolidated=False, compute=False,
                     encoding=encoding)
        self.loc.write_files({key: buf.to_bytes() for key, buf in files.items()})
        self.record["layout"] = True  # written last: a layout cut short is recreated, never used
        write_record(self.loc, self.record)

    def _clean_leftovers(self) -> None:
        """Remove the temporary files of writes that a killed writer left half-done (ours: a
        metadata write's ``zarr.json.<pid>.tmp``, zarr's atomic writes' ``*.partial``)."""
        if not self.loc.local or not self.loc.fs.exists(self.loc.root):
            return
        for path in self.loc.fs.find(self.loc.root):
            name = path.rsplit("/", 1)[-1]
            if (name.startswith("zarr.json.") and name.endswith(".tmp")) or name.endswith(".partial"):
                self.loc.fs.rm_file(path)

    def resume(self) -> None:
        """Prepare to continue an interrupted run of the same fingerprint."""
        self._clean_leftovers()

    def mark_done(self, unit: int, sizes: Mapping[str, int] | None = None) -> None:
        """Record that unit ``unit`` is fully written (call only after its write returned)."""
        done = self.done | {int(unit)}
        self.record["done"] = set_to_ranges(done)
        if sizes:
            self.record.setdefault("sizes", {})[str(unit)] = dict(sizes)
        write_record(self.loc, self.record)

    def forget(self, units) -> None:
        """Mark units as not written (their chunks are missing or damaged: recompute them)."""
        units = set(units)
        self.record["done"] = set_to_ranges(self.done - units)
        self.record["complete"] = False
        for u in units:
            self.record.get("sizes", {}).pop(str(u), None)
        write_record(self.loc, self.record)

    def finish(self) -> None:
        """Mark the run complete (every unit done)."""
        missing = set(range(len(self.record["units"]))) - self.done
        if missing:
            raise RuntimeError(f"store {self.loc.url!r}: units {sorted(missing)[:10]} were never written")
        self.record["complete"] = True
        write_record(self.loc, self.record)

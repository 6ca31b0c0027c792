"""The run record: what a store holds, which units of work are written, how to check them.

A dynvision store keeps one JSON record in its root attributes (``dynvision_run``):

- ``fingerprint``: the hash of everything that determines the result;
- ``units``: how the work was split (``[model, start, stop]`` per unit, along ``sample``);
- ``done``: the units whose every chunk was written, as ranges of unit indices; a unit is
  added only *after* its region write completed, one by one (workers finish out of order);
- ``arrays``: each data array's shape, chunk shape, dtype and dims, and ``chunk_nbytes`` (the
  exact stored size of every chunk when no compressor is used; every chunk also ends in a
  CRC32C checksum of its bytes, verified on every read);
- ``sizes``: with a compressor, the stored size of each chunk, recorded per unit at write time;
- ``complete``: every unit is done.

:func:`read_record` classifies a location (absent, foreign, a dynvision store) and turns
garbled metadata into :class:`StoreCorruptError` naming the store and the file.

Example:
    >>> ranges_to_set([[0, 3], [5, 6]])
    {0, 1, 2, 5}
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from dynvision.io.location import Location

RUN_KEY = "dynvision_run"
FORMAT = 2


class StoreMismatchError(FileExistsError):
    """The store already holds a different run."""


class ForeignStoreError(FileExistsError):
    """The path holds files that dynvision did not write."""


class StoreCorruptError(ValueError):
    """A store's metadata or chunks are damaged (garbled, truncated or missing)."""


def set_to_ranges(indices: Iterable[int]) -> list[list[int]]:
    """Sorted unit indices as half-open ranges ``[[start, stop], ...]`` (compact in JSON)."""
    out: list[list[int]] = []
    for i in sorted(set(indices)):
        if out and out[-1][1] == i:
            out[-1][1] = i + 1
        else:
            out.append([i, i + 1])
    return out


def ranges_to_set(ranges: Iterable[Iterable[int]]) -> set[int]:
    """The inverse of :func:`set_to_ranges`."""
    return {i for a, b in ranges for i in range(int(a), int(b))}


def root_metadata(loc: Location) -> dict | None:
    """The root ``zarr.json`` of a store, ``None`` if there is none.

    Raises:
        StoreCorruptError: It exists but is not valid JSON.
    """
    path = loc.join("zarr.json")
    try:
        with loc.fs.open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise StoreCorruptError(f"store {loc.url!r}: its metadata file zarr.json is garbled ({err}); the store "
                                f"cannot be read. Delete it and rerun to recompute it") from None


def read_record(loc: Location) -> tuple[str, dict | None]:
    """Classify a location.

    Returns:
        ``("absent", None)`` (nothing there, or an empty folder), ``("foreign", None)`` (files
        that dynvision did not write), ``("file", None)`` (a file, not a folder) or
        ``("dynvision", record)``.

    Raises:
        StoreCorruptError: The root metadata is garbled.
    """
    fs = loc.fs
    try:
        info = fs.info(loc.root)
    except FileNotFoundError:
        return "absent", None
    if info.get("type") == "file":
        return "file", None
    meta = root_metadata(loc)
    if meta is None:
        return ("absent", None) if not fs.ls(loc.root) else ("foreign", None)
    record = (meta.get("attributes") or {}).get(RUN_KEY)
    if not isinstance(record, dict):
        return "foreign", None
    return "dynvision", record


def require_record(loc: Location) -> dict:
    """The run record of the dynvision store at ``loc``.

    Raises:
        FileNotFoundError: Nothing there.
        ValueError: Not a dynvision store.
        StoreCorruptError: Its root metadata is garbled.
    """
    kind, record = read_record(loc)
    if kind == "absent":
        raise FileNotFoundError(f"no activation store at {loc.url!r}")
    if kind != "dynvision":
        raise ValueError(f"{loc.url!r} is not a dynvision activation store (no run record in its zarr.json)")
    return record


def write_record(loc: Location, record: dict) -> None:
    """Replace the run record in the root ``zarr.json`` (one atomic write)."""
    meta = root_metadata(loc)
    if meta is None:
        raise StoreCorruptError(f"store {loc.url!r}: its root metadata zarr.json vanished during the run")
    meta.setdefault("attributes", {})[RUN_KEY] = record
    loc.write_json(loc.join("zarr.json"), meta)


def chunk_keys(array: dict, model: int, start: int, stop: int, batch: int) -> list[str]:
    """The chunk keys (``c/i/j/...``) of one unit's region in an array of the record."""
    dims, chunks, shape = array["dims"], array["chunks"], array["shape"]
    ranges = []
    for dim, c, n in zip(dims, chunks, shape):
        if dim == "sample":
            ranges.append(range(start // c, (stop - 1) // c + 1))
        elif dim == "model":
            ranges.append(range(model, model + 1))
        else:
            ranges.append(range(0, -(-n // c)))
    keys = [[]]
    for r in ranges:
        keys = [k + [i] for k in keys for i in r]
    return ["c/" + "/".join(map(str, k)) for k in keys]


def unit_chunks(record: dict, unit: int) -> dict[str, list[str]]:
    """Array path -> the chunk keys that unit ``unit`` writes (the stimulus with model 0 only)."""
    model, start, stop = record["units"][unit]
    out = {}
    for path, array in record["arrays"].items():
        if "model" not in array["dims"] and model != 0:
            continue
        out[path] = chunk_keys(array, model, start, stop, record["batch_size"])
    return out


def status_of(record: dict) -> dict[str, Any]:
    """A summary of a record (what :func:`dynvision.io.store_status` returns)."""
    done = ranges_to_set(record.get("done", []))
    units = record.get("units", [])
    samples = sum(units[u][2] - units[u][1] for u in done if u < len(units) and units[u][0] == 0)
    return {"fingerprint": record.get("fingerprint"), "complete": bool(record.get("complete")),
            "samples_written": samples, "samples_total": record.get("samples_total"),
            "units_done": len(done), "units_total": len(units), "format": record.get("format")}

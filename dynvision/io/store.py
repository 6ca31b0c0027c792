"""Reading stores: lazy, verified, with errors that name the store and what is wrong.

A store is written by :class:`~dynvision.io.writer.StoreSession` and
:func:`~dynvision.io.writer.write_unit` (see :mod:`dynvision.io.record` for the run record).
:func:`open_activations` refuses incomplete stores unless asked, and checks cheaply that every
written chunk is still there with its recorded size, so a failed run or a damaged store never
looks like a finished one. Any path or fsspec URL (``memory://``, ``s3://``...) works.

Example:
    >>> tree = open_activations("results/contrast/activations.zarr")  # doctest: +SKIP
    >>> tree["V1"]["activity"].mean("channel")  # doctest: +SKIP
"""

from __future__ import annotations

import xarray as xr

from dynvision.io.check import _metadata_problems, verify_chunks
from dynvision.io.location import locate
from dynvision.io.record import RUN_KEY, StoreCorruptError, read_record, require_record, status_of


def store_status(path) -> dict | None:
    """The run record's summary (fingerprint, complete, samples and units written), or ``None``
    when the path holds no dynvision store.

    Raises:
        StoreCorruptError: The root metadata is garbled.
    """
    kind, record = read_record(locate(path))
    return status_of(record) if kind == "dynvision" else None


def open_activations(path, chunks: dict | None = None, allow_incomplete: bool = False,
                     verify: bool = True) -> xr.DataTree:
    """Open a stored activation tree lazily (dask-backed; nothing is read until used).

    Args:
        path: Path or fsspec URL of the zarr store.
        chunks: Dask chunks (default: the stored chunks).
        allow_incomplete: Open a store whose run did not finish (unwritten samples read as NaN).
        verify: Check that every written chunk is present with its recorded size (one listing
            of the store; ``dynvision check`` also verifies every chunk's checksum).

    Raises:
        FileNotFoundError: No store at ``path``.
        ValueError: Not a dynvision store, or its run did not finish (and ``allow_incomplete``
            is false).
        StoreCorruptError: Garbled metadata, or missing or truncated chunks.
    """
    loc = locate(path)
    record = require_record(loc)
    status = status_of(record)
    if not status["complete"] and not allow_incomplete:
        raise ValueError(
            f"the store at {loc.url!r} is incomplete ({status['samples_written']} of {status['samples_total']} "
            f"samples written): its run stopped early. Rerun the same Simulation.run(..., store={loc.url!r}) to "
            f"resume it, or pass allow_incomplete=True")
    if verify and "units" in record:
        problems = verify_chunks(loc, record)
        if problems:
            raise StoreCorruptError(
                f"store {loc.url!r} is damaged: {len(problems)} chunk(s) missing or truncated, e.g. {problems[0]}. "
                f"Rerun the same Simulation.run(..., store=...) to recompute them (`dynvision check STORE` lists them)")
    try:
        tree = xr.open_datatree(loc.url, engine="zarr", consolidated=False, chunks={} if chunks is None else chunks)
    except (ValueError, KeyError, UnicodeDecodeError) as err:
        problems = _metadata_problems(loc)
        if problems:
            raise StoreCorruptError(f"store {loc.url!r} is damaged: {problems[0]}") from None
        raise
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

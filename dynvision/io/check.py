"""Checking a store: cheaply on every open, fully on demand.

- **Cheap** (:func:`verify_chunks`, on every :func:`~dynvision.io.open_activations` and every
  rerun): one listing of the store; every chunk of every written unit must exist with the size
  recorded at write time. Catches deleted and truncated chunks.
- **Full** (:func:`check_store`, ``dynvision check STORE``): also parses every metadata file
  and reads every chunk, whose CRC32C checksum zarr verifies: catches chunks garbled in place.

A rerun of the same ``Simulation.run`` recomputes the units that a check finds damaged.

Example:
    >>> report = check_store("acts.zarr")  # doctest: +SKIP
    >>> report.ok, report.problems  # doctest: +SKIP
    (True, [])
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from dynvision.io.location import Location, locate
from dynvision.io.record import StoreCorruptError, ranges_to_set, read_record, require_record, status_of, unit_chunks


@dataclass(frozen=True)
class Problem:
    """One damaged piece of a store.

    Attributes:
        unit: The unit of work it belongs to (``None`` for metadata).
        key: The file or chunk, relative to the store.
        what: What is wrong, in words.
    """

    unit: int | None
    key: str
    what: str

    def __str__(self) -> str:
        return f"{self.key}: {self.what}" + (f" (unit {self.unit})" if self.unit is not None else "")


@dataclass
class StoreReport:
    """The result of :func:`check_store`."""

    url: str
    status: dict
    problems: list[Problem] = field(default_factory=list)
    full: bool = True

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def damaged_units(self) -> set[int]:
        return {p.unit for p in self.problems if p.unit is not None}

    def __str__(self) -> str:
        s = self.status
        head = (f"{self.url}: {'complete' if s['complete'] else 'incomplete'}, "
                f"{s['units_done']} of {s['units_total']} units written")
        if self.ok:
            return f"{head}; {'every chunk read and verified' if self.full else 'every chunk present'}: OK"
        lines = [f"{head}; {len(self.problems)} problem(s):"] + [f"  {p}" for p in self.problems[:20]]
        if len(self.problems) > 20:
            lines.append(f"  ... and {len(self.problems) - 20} more")
        lines.append("  rerun the same Simulation.run(..., store=...) to recompute the damaged units")
        return "\n".join(lines)


def verify_chunks(loc: Location, record: dict) -> list[Problem]:
    """Every chunk of every done unit exists with its recorded size (one listing)."""
    listing = {path[len(loc.root):].lstrip("/"): info.get("size")
               for path, info in loc.fs.find(loc.root, detail=True).items()}
    sizes = record.get("sizes", {})
    problems = []
    for unit in sorted(ranges_to_set(record.get("done", []))):
        recorded = sizes.get(str(unit), {})
        for path, keys in unit_chunks(record, unit).items():
            expected_default = record["arrays"][path].get("chunk_nbytes")
            for key in keys:
                full = f"{path}/{key}"
                expected = recorded.get(full, expected_default)
                if full not in listing:
                    problems.append(Problem(unit, full, "chunk is missing"))
                elif expected is not None and listing[full] != expected:
                    problems.append(Problem(unit, full, f"chunk has {listing[full]} bytes, {expected} were written "
                                                        f"(truncated or changed)"))
    return problems


def _metadata_problems(loc: Location) -> list[Problem]:
    problems = []
    for path in loc.fs.find(loc.root):
        if path.endswith("/zarr.json"):
            try:
                with loc.fs.open(path, "rb") as f:
                    json.loads(f.read())
            except (ValueError, UnicodeDecodeError) as err:
                problems.append(Problem(None, path[len(loc.root):].lstrip("/"), f"metadata is garbled ({err})"))
    return problems


def _read_problems(loc: Location, record: dict) -> list[Problem]:
    import zarr

    group = zarr.open_group(loc.url, mode="r")
    problems = []
    for unit in sorted(ranges_to_set(record.get("done", []))):
        model, start, stop = record["units"][unit]
        for path in unit_chunks(record, unit):
            dims = record["arrays"][path]["dims"]
            index = tuple(model if d == "model" else slice(start, stop) if d == "sample" else slice(None) for d in dims)
            try:
                group[path][index]
            except Exception as err:  # noqa: BLE001 - any decoding failure is damage to report
                problems.append(Problem(unit, path, f"cannot be read ({type(err).__name__}: {err})"))
    return problems


def check_store(path, full: bool = True, forget_damaged: bool = False) -> StoreReport:
    """Check a dynvision store.

    Args:
        path: Path or fsspec URL of the store.
        full: Also parse every metadata file and read every chunk (verifying checksums);
            ``False`` only compares the listing with the recorded chunk sizes.
        forget_damaged: Mark the units with damaged chunks as not written (under the
            store's lock), so that rerunning the same simulation recomputes them.

    Raises:
        FileNotFoundError: Nothing at ``path``.
        ValueError: ``path`` is not a dynvision store.
        StoreCorruptError: The root metadata is garbled (nothing else can be checked).
    """
    loc = locate(path)
    record = require_record(loc)
    if record.get("format") is None or "units" not in record:
        raise StoreCorruptError(f"store {loc.url!r} was written by an older dynvision without chunk records; "
                                f"rerun its simulation with overwrite=True to rewrite it")
    problems = verify_chunks(loc, record)
    if full:
        problems += _metadata_problems(loc)
        known = {(p.unit, p.key.split("/c/")[0]) for p in problems}
        problems += [p for p in _read_problems(loc, record) if (p.unit, p.key) not in known]
    report = StoreReport(loc.url, status_of(record), problems, full)
    if forget_damaged and report.damaged_units:
        from dynvision.io.lock import store_lock
        from dynvision.io.record import set_to_ranges, write_record

        with store_lock(loc, timeout_s=0):
            _, record = read_record(loc)
            record["done"] = set_to_ranges(ranges_to_set(record["done"]) - report.damaged_units)
            record["complete"] = False
            write_record(loc, record)
    return report

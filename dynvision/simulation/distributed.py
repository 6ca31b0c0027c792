"""Units of work on a Dask cluster: each worker runs units and writes its own regions.

The driver (the process that called ``Simulation.run``) holds the store's lock, writes the
layout and is the only writer of the run record: a unit is marked done when its task has
returned, i.e. after the worker's region write completed. Workers finish out of order, so
completion is recorded unit by unit, and a resumed run (local or distributed) recomputes
exactly the units not marked. At most ``2 x threads`` units are in flight, so the driver never
holds more than a few units' frames however many stimuli there are.

A Dask nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``; glibc then stops adapting
its mmap threshold, so every tensor above 128 KiB is a fresh ``mmap``: about 350,000 page faults
and 0.6 s of system time per forward of the reference model, 1.6-1.9x slower than the same
forward in a plain process. The first unit on a worker sets the mmap and trim thresholds to
where glibc's own adaptation would take them (:func:`tune_allocator`: 32 and 64 MiB), which
restores plain-process speed; at most 64 MiB of freed heap stays with each arena.

Workers need the store's path (a shared filesystem) or an object-store URL; a ``memory://``
store only works with workers in the driver's process (``LocalCluster(processes=False)``).
See docs/scaling.md for dask-jobqueue / SLURM.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
import uuid
from typing import Any

_EXECUTORS: dict[tuple, Any] = {}
_LOCK = threading.Lock()
_TUNED = False
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
MMAP_THRESHOLD_BYTES = 32 * 2**20  # glibc's own upper bound for its dynamic threshold on 64-bit
TRIM_THRESHOLD_BYTES = 2 * MMAP_THRESHOLD_BYTES  # what glibc's adaptation pairs with it


def tune_allocator() -> bool:
    """Let glibc serve large tensors from its heap in a process started with
    ``MALLOC_TRIM_THRESHOLD_`` (a Dask nanny's worker): returns whether the thresholds were set.

    Does nothing where the environment already sets ``MALLOC_MMAP_THRESHOLD_``, where that
    variable is absent, or off glibc."""
    global _TUNED
    with _LOCK:
        if _TUNED or "MALLOC_TRIM_THRESHOLD_" not in os.environ or "MALLOC_MMAP_THRESHOLD_" in os.environ:
            return False
        _TUNED = True
        try:
            import ctypes

            libc = ctypes.CDLL("libc.so.6")
            return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and \
                bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
        except (OSError, AttributeError):  # not glibc
            return False


def _unit_task(model, plan, unit, frames, url: str, sizes: bool, device: str | None, layout: dict | None = None):
    """Run one unit on a worker and write its regions; returns the written chunk sizes."""
    import torch

    from dynvision.io.writer import write_unit
    from dynvision.simulation.executor import Executor
    from dynvision.simulation.layout import regions

    try:
        from distributed import get_worker

        worker = get_worker()
        wid, nthreads = worker.id, worker.state.nthreads
    except (ImportError, ValueError):
        wid, nthreads = "local", None
    if nthreads:
        torch.set_num_threads(nthreads)
    tune_allocator()
    key = (wid, plan.models[unit.model], plan.fingerprint)
    with _LOCK:
        for k in [k for k in _EXECUTORS if k[0] == wid and k[2] != plan.fingerprint]:
            del _EXECUTORS[k]  # one run's executors per worker
        entry = _EXECUTORS.get(key)
        if entry is None:
            slots: queue.Queue = queue.Queue()
            for slot in range(2):
                slots.put(slot)
            entry = _EXECUTORS[key] = (Executor(model, plan, device), slots)
    ex, slots = entry
    slot = slots.get()  # a buffer set no other unit of this worker is filling or writing
    try:
        arrays = ex.run(unit, frames, slot)
        return write_unit(url, plan.fingerprint, regions(plan, unit, arrays, frames), sizes, layout)
    finally:
        slots.put(slot)


def _in_process(client) -> bool:
    pids = client.run(os.getpid)
    return bool(pids) and set(pids.values()) == {os.getpid()}


def run_on_client(client, plan, models, session, sizes: bool, bar, device: str | None = None) -> None:
    """Run a plan's pending units on ``client``'s workers (see the module docstring)."""
    from distributed import as_completed

    from dynvision.simulation.stimulus import read_frames

    if not session.loc.local and session.loc.url.startswith("memory://") and not _in_process(client):
        raise ValueError(f"store {session.loc.url!r} lives in this process's memory; workers in other processes "
                         f"cannot write it: use a path or an object-store URL, or LocalCluster(processes=False)")
    light = dataclasses.replace(plan, stimulus=None)  # the stimulus travels unit by unit, not whole
    plan_future = client.scatter(light, broadcast=True, hash=False)
    layout_future = client.scatter([session.record["arrays"]], broadcast=True, hash=False)[0]
    model_futures = [client.scatter(m, broadcast=True, hash=False) for m in models]
    threads = max(1, sum(client.nthreads().values()))
    done = session.done
    pending = iter([u for u in plan.units if u.index not in done])
    frames_cache: dict[int, Any] = {}
    run_id = uuid.uuid4().hex[:8]  # a new key per run: dask must never hand back an earlier run's result

    def submit(unit):
        if unit.start not in frames_cache:
            frames_cache.clear()
            frames_cache[unit.start] = read_frames(plan.stimulus, unit.start, unit.stop)
        return client.submit(_unit_task, model_futures[unit.model], plan_future, unit, frames_cache[unit.start],
                             session.loc.url, sizes, device, layout_future,
                             key=f"dynvision-unit-{plan.fingerprint[:12]}-{run_id}-{unit.index}", pure=False)

    futures = as_completed(loop=client.loop)  # this client's loop: there may be no default client
    units = {}
    for unit in pending:
        fut = submit(unit)
        units[fut.key] = unit
        futures.add(fut)
        if futures.count() >= 2 * threads:
            break
    try:
        for fut in futures:
            unit = units.pop(fut.key)
            written = fut.result()  # raises the worker's error (e.g. diverged activity)
            session.mark_done(unit.index, written)
            bar.update(unit.stop - unit.start)
            nxt = next(pending, None)
            if nxt is not None:
                new = submit(nxt)
                units[new.key] = nxt
                futures.add(new)
    except BaseException:
        for other in list(futures.futures):
            other.cancel()
        raise

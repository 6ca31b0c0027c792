"""Units of work on a Dask cluster: each worker runs units and writes its own regions.

The driver (the process that called ``Simulation.run``) holds the store's lock, writes the
layout and is the only writer of the run record: a unit is marked done when its task has
returned, i.e. after the worker's region write completed. Workers finish out of order, so
completion is recorded unit by unit, and a resumed run (local or distributed) recomputes
exactly the units not marked. At most ``2 x threads`` units are in flight, so the driver never
holds more than a few units' frames however many stimuli there are.

Workers need the store's path (a shared filesystem) or an object-store URL; a ``memory://``
store only works with workers in the driver's process (``LocalCluster(processes=False)``).
See docs/scaling.md for dask-jobqueue / SLURM.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import uuid
from typing import Any

_EXECUTORS: dict[tuple, Any] = {}
_LOCK = threading.Lock()


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
    key = (wid, plan.models[unit.model], plan.fingerprint)
    with _LOCK:
        for k in [k for k in _EXECUTORS if k[0] == wid and k[2] != plan.fingerprint]:
            del _EXECUTORS[k]  # one run's executors per worker
        ex = _EXECUTORS.get(key)
        if ex is None:
            ex = _EXECUTORS[key] = Executor(model, plan, device)
    arrays = ex.run(unit, frames)
    return write_unit(url, plan.fingerprint, regions(plan, unit, arrays, frames), sizes, layout)


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
                             session.loc.url, sizes, device, layout_future, key=f"dynvision-unit-{plan.fingerprint[:12]}-{run_id}-{unit.index}",
                             pure=False)

    futures = as_completed()
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

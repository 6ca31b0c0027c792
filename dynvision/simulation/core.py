"""Simulation: a model (or an ensemble) on a stimulus -> labelled activations, streamed to zarr.

``Simulation.run`` is three steps, each testable alone: a plan
(:func:`~dynvision.simulation.plan.make_plan`: validated and hashable), an executor over units
of work (:class:`~dynvision.simulation.executor.Executor`, on a copy of the model), and a
writer (:mod:`dynvision.io.writer`, under the store's lock). Units run here, with the previous
unit's write overlapping the next unit's computation, or on the workers of a Dask client.

Example:
    >>> import torch, dynvision
    >>> model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 8, 8))
    >>> sim = Simulation(model, progress=False, batch_size=1)
    >>> sim.plan(torch.rand(3, 4, 1, 8, 8)).units[-1]
    Unit(index=2, model=0, start=2, stop=3)
"""

from __future__ import annotations

import dataclasses
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import xarray as xr

from dynvision.conventions import BACKGROUND
from dynvision.models.base import ModelState, RecurrentModel, RunOutput
from dynvision.simulation.executor import Executor
from dynvision.simulation.layout import MemoryResult, layout, regions
from dynvision.simulation.plan import PRECISIONS, SimulationPlan, Unit, make_plan
from dynvision.simulation.stimulus import read_frames
from dynvision.registry import check_choice
from dynvision.validation import check_bool, check_int, check_number, ms_aliases


class StoreRepairWarning(UserWarning):
    """A store's damaged chunks are being recomputed."""


def members_of(model) -> tuple[list[RecurrentModel], list[str] | None, Any]:
    """(models, names or ``None`` for a single model, ensemble attributes) of a model or an
    ensemble (anything with ``.names``, ``.models`` and ``.attrs()``)."""
    if isinstance(model, RecurrentModel):
        return [model], None, None
    if all(hasattr(model, a) for a in ("names", "models", "attrs")):
        models, names = list(model.models), [str(n) for n in model.names]
        if not models or len(models) != len(names):
            raise ValueError(f"an ensemble needs as many names as models, at least one; got {len(names)} names "
                             f"and {len(models)} models")
        if len(set(names)) != len(names):
            raise ValueError(f"ensemble member names must be unique, got {names}")
        for name, m in zip(names, models):
            if not isinstance(m, RecurrentModel):
                raise TypeError(f"ensemble member {name!r} is not a dynvision model (got {type(m).__name__})")
        return models, names, model.attrs()
    raise TypeError(f"Simulation needs a dynvision model (RecurrentModel) or an ensemble, got {type(model).__name__}")


class Simulation:
    """Run a model, or every model of an ensemble, on stimuli and collect labelled activations.

    Args:
        model: Any dynvision model, or an ensemble (``.names``, ``.models``, ``.attrs()``): its
            results get a ``model`` dimension holding the names.
        device: Torch device (default: where the model's parameters are).
        precision: ``"float32"``; ``"bfloat16"`` (a bfloat16 copy of the model: weights, states
            and activity in bfloat16, about 1.8x faster on CPUs with bf16 instructions, within
            ~1 % of float32); or ``"autocast"`` (convolutions in bfloat16 under autocast, states
            in float32).
        channels_last: Run in channels-last memory format (the fast layout for CPU
            convolutions and pooling: ~1.2x at DyRCNNx4 scale), on a converted copy: the
            caller's model is never changed.
        batch_size: Samples per unit of work (memory scales with it).
        progress: Show a progress bar.
    """

    def __init__(self, model, *, device=None, precision: str = "float32", channels_last: bool = True,
                 batch_size: int = 16, progress: bool = True):
        self.models, self.names, self.ensemble_attrs = members_of(model)
        self.model = model
        self.precision = check_choice("precision", precision, PRECISIONS)
        self.channels_last = check_bool("channels_last", channels_last)
        self.batch_size = check_int("batch_size", batch_size, lo=1)
        self.progress = progress
        self.device = torch.device(device) if device is not None else next(self.models[0].parameters()).device
        if self.device.type == "cuda" and not torch.cuda.is_available():
            from dynvision.validation import InvalidValueError

            raise InvalidValueError("device", str(device), "'cpu' (CUDA is not available in this torch build or machine)")
        self._executors: dict[tuple, Executor] = {}

    # ------------------------------------------------------------------------------------------
    @ms_aliases
    def plan(self, stimulus, record=None, batch_size: int | None = None, initial_state: str | ModelState = "zeros",
             idle_ms: float = 0.0, reduce: str | None = None, store_dtype: str = "float32",
             store_stimulus: bool = True) -> SimulationPlan:
        """Validate a run's arguments (see :meth:`run`) and return its plan (nothing runs)."""
        return make_plan(self.models, stimulus, names=self.names, ensemble_attrs=self.ensemble_attrs,
                         record=record, reduce=reduce, batch_size=self.batch_size if batch_size is None else batch_size,
                         initial_state=initial_state, idle_ms=idle_ms, store_dtype=store_dtype,
                         precision=self.precision, channels_last=self.channels_last, store_stimulus=store_stimulus)

    def executor(self, plan: SimulationPlan, index: int = 0) -> Executor:
        """The executor of member ``index`` for ``plan`` (a prepared copy, reused while the
        model's weights and the run's options stay the same)."""
        key = (plan.models[index], plan.precision, plan.channels_last, plan.record, plan.initial_state,
               plan.idle_ms, plan.background, plan.store_dtype)
        if key not in self._executors:
            self._executors = {k: v for k, v in self._executors.items() if k[0] in plan.models}
            self._executors[key] = Executor(self.models[index], plan, self.device)
        ex = self._executors[key]
        ex.plan = plan
        return ex

    @ms_aliases
    def run(self, stimulus, record: Sequence[str] | Mapping[str, str] | None = None, store=None,
            batch_size: int | None = None, initial_state: str | ModelState = "zeros", idle_ms: float = 0.0,
            reduce: str | None = None, store_dtype: str = "float32", store_stimulus: bool = True,
            overwrite: bool = False, client=None, lock_timeout_s: float | None = None,
            codec: str | None = None) -> xr.DataTree:
        """Simulate and return the activation tree.

        Args:
            stimulus: DataArray ``(sample, time, channel, y, x)`` with ``time`` in ms (other
                coordinates along ``sample`` are conditions; dask-backed stays lazy), or a
                floating-point tensor/array of that shape.
            record: Areas to record (default: all), or a mapping area -> reduction.
            store: Path (``~`` expanded) or fsspec URL of a zarr store to stream to (``None``:
                keep in memory). A finished store of the same run is reopened, an interrupted
                one resumed, a damaged one repaired; a folder dynvision did not write is refused.
            batch_size: Samples per unit of work (default: the Simulation's; a resumed store
                keeps the batch size it was started with).
            initial_state: ``"zeros"``, ``"steady"`` (state under a blank screen),
                ``"fade_in"`` (the first frame faded in from grey) or a ``ModelState`` of this
                model with batch size 1 (shared) or one per sample.
            idle_ms: Blank (background) time run before the stimulus and not recorded.
            reduce: Store less for every area of a ``record`` list: ``"mean"`` (spatial mean)
                or ``"center"`` (centre unit). With a ``record`` mapping (which sets each area's
                reduction) ``reduce`` must be ``None``.
            store_dtype: ``"float32"`` or ``"float16"`` for the activity and logits.
            store_stimulus: Keep the stimulus in the tree (node ``stimulus``, variable ``luminance``).
            overwrite: Replace a dynvision store that holds a different run.
            client: A ``dask.distributed.Client``: units run on its workers, each writing its
                own regions of ``store`` (required); the store is identical to a local run's.
            lock_timeout_s: Seconds to wait for another writer of the same store (``None``:
                wait until it finishes).
            codec: Chunk compression of a new store: ``"none"`` (default, the fastest),
                ``"lz4"`` or ``"zstd"``.

        Returns:
            The activation tree (lazy and backed by the store when ``store`` is given).

        Raises:
            FloatingPointError: Activity diverged; nothing of that unit was stored.
            ForeignStoreError, StoreMismatchError, StoreLockedError, StoreCorruptError: See
                :mod:`dynvision.io`.
        """
        from dynvision.io.writer import CODECS, DEFAULT_CODEC

        plan = self.plan(stimulus, record=record, batch_size=batch_size, initial_state=initial_state,
                         idle_ms=idle_ms, reduce=reduce, store_dtype=store_dtype, store_stimulus=store_stimulus)
        check_bool("overwrite", overwrite)
        if lock_timeout_s is not None:
            check_number("lock_timeout_s", lock_timeout_s, lo=0, unit="s")
        codec = check_choice("codec", codec if codec is not None else DEFAULT_CODEC, CODECS)
        if store is None:
            if client is not None:
                raise ValueError("client= needs store=: workers write their units into one zarr store")
            return self._run_in_memory(plan)
        return self._run_to_store(plan, store, overwrite, client, lock_timeout_s, codec)

    # ------------------------------------------------------------------------------------------
    def _units(self, plan: SimulationPlan, done: set[int] = frozenset()):
        """Pending units with their frames, each batch's frames read once for all members."""
        cached: tuple[int, np.ndarray] | None = None
        for unit in plan.units:
            if unit.index in done:
                continue
            if cached is None or cached[0] != unit.start:
                cached = (unit.start, read_frames(plan.stimulus, unit.start, unit.stop))
            yield unit, cached[1]

    def _bar(self, plan: SimulationPlan, done: set[int]):
        from tqdm.auto import tqdm

        units = plan.units
        total = plan.n_samples * len(plan.models)
        initial = sum(units[u].stop - units[u].start for u in done if u < len(units))
        return tqdm(total=total, initial=initial, unit="sample", desc="simulating", disable=not self.progress,
                    leave=False)

    def _run_in_memory(self, plan: SimulationPlan) -> xr.DataTree:
        shapes = self.executor(plan, 0).shapes()
        result = MemoryResult(plan, shapes)
        with self._bar(plan, set()) as bar:
            for unit, frames in self._units(plan):
                result.add(unit, self.executor(plan, unit.model).run(unit, frames), frames)
                bar.update(unit.stop - unit.start)
        return result.tree(self.models, self.ensemble_attrs)

    def _run_to_store(self, plan, store, overwrite, client, lock_timeout_s, codec) -> xr.DataTree:
        from dynvision.io import open_activations
        from dynvision.io.check import verify_chunks
        from dynvision.io.location import locate
        from dynvision.io.lock import store_lock
        from dynvision.io.writer import StoreSession

        loc = locate(store)
        with store_lock(loc, lock_timeout_s):
            session = StoreSession(loc, plan.fingerprint, overwrite)
            if session.record is not None:
                session.resume()
                plan = dataclasses.replace(plan, batch_size=int(session.record["batch_size"]))
                codec = session.record.get("codec", codec)
                damaged = {p.unit for p in verify_chunks(loc, session.record)}
                if damaged:
                    warnings.warn(f"store {loc.url!r}: {len(damaged)} written unit(s) have missing or truncated "
                                  f"chunks; recomputing them", StoreRepairWarning, stacklevel=3)
                    session.forget(damaged)
            if not session.complete:
                if session.record is None:
                    shapes = self.executor(plan, 0).shapes()
                    session.create(layout(plan, self.models, shapes, self.ensemble_attrs),
                                   [[u.model, u.start, u.stop] for u in plan.units], plan.batch_size, codec)
                if client is not None:
                    from dynvision.simulation.distributed import run_on_client

                    with self._bar(plan, session.done) as bar:
                        run_on_client(client, plan, self.models, session, codec != "none", bar,
                                      None if self.device.type == "cpu" else str(self.device))
                else:
                    self._write_units(plan, session, codec != "none")
                session.finish()
        return open_activations(loc.url, verify=False)

    def _write_units(self, plan: SimulationPlan, session, sizes: bool) -> None:
        """Run pending units here; each unit's write (then its record) overlaps the next unit."""
        from dynvision.io.writer import write_unit

        url, fp, layout_ = session.loc.url, plan.fingerprint, session.record["arrays"]

        def write(unit: Unit, arrays, frames):
            written = write_unit(url, fp, regions(plan, unit, arrays, frames), sizes, layout_)
            session.mark_done(unit.index, written)  # only after the region write returned

        pending = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dynvision-zarr") as pool, \
                self._bar(plan, session.done) as bar:
            try:
                for unit, frames in self._units(plan, session.done):
                    arrays = self.executor(plan, unit.model).run(unit, frames)
                    if pending is not None:
                        pending.result()  # one unit waits to be written at most: memory stays bounded
                    pending = pool.submit(write, unit, arrays, frames)
                    bar.update(unit.stop - unit.start)
            finally:
                if pending is not None:
                    pending.result()

    # ------------------------------------------------------------------------------------------
    def run_tensors(self, x: torch.Tensor, record=None, initial_state: str | ModelState = "zeros",
                    idle_ms: float = 0.0, background: float = BACKGROUND, grad: bool = False) -> RunOutput:
        """Run one batch of a single model and return torch tensors.

        Without ``grad`` this runs on the same prepared copy of the model as :meth:`run`. With
        ``grad`` it runs the caller's model itself, as it is (mode, dtype, layout), so that
        gradients reach its parameters.
        """
        if self.names is not None:
            raise TypeError("run_tensors runs a single model; use run() for an ensemble")
        stim = xr.DataArray(np.zeros((x.shape[0], 1, *x.shape[2:]), np.float32),
                            dims=("sample", "time", "channel", "y", "x"), attrs={"background": float(background)})
        plan = self.plan(stim, record=record, initial_state=initial_state, idle_ms=idle_ms, store_stimulus=False)
        plan = dataclasses.replace(plan, times=tuple(float(t) for t in np.arange(x.shape[1]) * self.models[0].dt))
        ex = self.executor(plan, 0)
        x = x.to(ex.device, ex.input_dtype)
        model = self.models[0] if grad else ex.model
        with torch.set_grad_enabled(grad), ex._autocast():
            state = ex.start_state(x, 0, model)
            return model.run(x, state, record=ex.reducers)

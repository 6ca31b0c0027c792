"""Simulation: a model on a stimulus -> labelled activations, streamed to zarr.

:class:`Simulation` runs any :class:`~dynvision.models.base.RecurrentModel` on a stimulus
``(sample, time, channel, y, x)`` in batches, without gradients, and returns an
``xarray.DataTree`` (schema in :mod:`dynvision.io.schema`): one node per recorded area with
``activity`` (sample, time, channel, y, x), the root with ``logits`` (sample, time, class),
``time`` in ms, every stimulus condition as a coordinate along ``sample`` on every node, and
the model name, configuration, dt and package version in the attributes.

With ``store=`` the result streams to zarr batch by batch (memory does not grow with the
number of stimuli) and is returned lazily; an interrupted run resumes when rerun, a finished
one is reopened instead of recomputed, and a store holding a different run is never
overwritten unless asked.

Example:
    >>> import torch, dynvision
    >>> model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(5, 1, 16, 16))
    >>> tree = dynvision.Simulation(model, progress=False).run(torch.rand(2, 5, 1, 16, 16))
    >>> tree["V1"]["activity"].dims, tree["logits"].shape
    (('sample', 'time', 'channel', 'y', 'x'), (2, 5, 3))
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import xarray as xr

from dynvision.conventions import jsonable
from dynvision.dynamics import delay_steps, time_axis
from dynvision.io.schema import STIMULUS_DIMS, build_tree, sample_coords
from dynvision.io.store import ActivationWriter, lazy_zeros, open_activations
from dynvision.models.base import BACKGROUND, ModelState, RecurrentModel, RunOutput
from dynvision.registry import check_choice

INITIAL_STATES = ("zeros", "steady", "fade_in")
PRECISIONS = ("float32", "bfloat16", "autocast")
STORE_DTYPES = ("float32", "float16")




def as_stimulus(stimulus, dt: float) -> xr.DataArray:
    """Validate a stimulus and return it as a DataArray on the model's time grid.

    A tensor or array ``(sample, time, channel, y, x)`` gets times ``0, dt, 2 dt...``. A
    DataArray keeps its coordinates; if its time step differs from ``dt`` its frames are
    resampled by sample-and-hold (the frame shown at ``t`` is the latest with onset <= t).

    Raises:
        ValueError: Wrong rank or dims, empty, non-finite, or a time axis that is not
            increasing in ms.
    """
    if isinstance(stimulus, xr.DataArray):
        da_ = stimulus
        if da_.ndim != 5 or set(da_.dims) != set(STIMULUS_DIMS):
            raise ValueError(f"stimulus DataArray must have dims {STIMULUS_DIMS}, got {da_.dims}")
        da_ = da_.transpose(*STIMULUS_DIMS)
    else:
        arr = stimulus.detach().cpu().numpy() if torch.is_tensor(stimulus) else np.asarray(stimulus)
        if arr.ndim != 5:
            raise ValueError(f"stimulus must have rank 5 (sample, time, channel, y, x), got rank {arr.ndim} "
                             f"with shape {arr.shape}")
        da_ = xr.DataArray(arr, dims=STIMULUS_DIMS, name="stimulus",
                           coords={"time": ("time", time_axis(arr.shape[1], dt), {"units": "ms"})})
    if 0 in da_.shape:
        raise ValueError(f"stimulus is empty: shape {dict(zip(da_.dims, da_.shape))}")
    if "time" not in da_.coords:
        da_ = da_.assign_coords(time=("time", time_axis(da_.sizes["time"], dt), {"units": "ms"}))
    times = np.asarray(da_["time"].values, dtype=np.float64)
    if times.size > 1:
        steps = np.diff(times)
        if np.any(steps <= 0):
            raise ValueError("stimulus time coordinate must be strictly increasing (ms)")
        if not np.allclose(steps, dt, rtol=0, atol=1e-6 * dt):
            grid = times[0] + dt * np.arange(int(np.floor((times[-1] + steps[-1] - times[0]) / dt + 1e-6)))
            index = np.searchsorted(times, grid + 1e-9 * dt, side="right") - 1
            attrs = dict(da_.attrs, resampled_from_ms=float(np.median(steps)))
            da_ = da_.isel(time=index).assign_coords(time=("time", grid, {"units": "ms"}))
            da_.attrs = attrs
    return da_


def _numpy(tensor: torch.Tensor, dtype) -> np.ndarray:
    """A C-ordered numpy copy in ``dtype`` (one copy, whatever the tensor's layout)."""
    return tensor.to(torch.float16 if dtype == np.float16 else torch.float32).contiguous().cpu().numpy()


def fingerprint(model: RecurrentModel, stimulus: xr.DataArray, options: Mapping[str, Any]) -> str:
    """A hash of everything that determines a run's result (config, weights, stimulus, options)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps(getattr(model, "config", {}), sort_keys=True, default=repr).encode())
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    values = np.ascontiguousarray(stimulus.values)
    h.update(str(values.shape).encode() + values.tobytes())
    for name, coord in sorted(stimulus.coords.items()):
        h.update(name.encode() + np.asarray(coord.values).tobytes())
    h.update(json.dumps(jsonable(dict(options)), sort_keys=True).encode())
    return h.hexdigest()


class Simulation:
    """Run a model on stimuli and collect labelled activations.

    Args:
        model: Any registered dynvision model.
        device: Torch device (default: where the model's parameters are).
        precision: ``"float32"``; ``"bfloat16"`` (a bfloat16 copy of the model: weights, states
            and activity in bfloat16, about 1.8x faster on CPUs with bf16 instructions, within
            ~1 % of float32); or ``"autocast"`` (convolutions in bfloat16 under autocast, states
            in float32: ~0.5 % from float32, a little slower than ``"bfloat16"``).
        channels_last: Run in channels-last memory format (the fast layout for CPU
            convolutions and pooling: ~1.2x at DyRCNNx4 scale); converts the model's weights in
            place (their values do not change).
        batch_size: Samples per batch (memory scales with it).
        progress: Show a progress bar.
    """

    def __init__(self, model: RecurrentModel, *, device=None, precision: str = "float32",
                 channels_last: bool = True, batch_size: int = 16, progress: bool = True):
        if not isinstance(model, RecurrentModel):
            raise TypeError(f"Simulation needs a dynvision model (RecurrentModel), got {type(model).__name__}")
        check_choice("precision", precision, PRECISIONS)
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model, self.precision, self.batch_size, self.progress = model, precision, int(batch_size), progress
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        if precision == "bfloat16":  # a copy, so the caller's model stays float32
            self.model = copy.deepcopy(model).to(torch.bfloat16)
        self.model.to(self.device)
        self.channels_last = channels_last
        if channels_last:
            self.model.to(memory_format=torch.channels_last)

    # ------------------------------------------------------------------------------------------
    def _autocast(self):
        if self.precision != "autocast":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    @property
    def input_dtype(self) -> torch.dtype:
        return torch.bfloat16 if self.precision == "bfloat16" else torch.float32

    def initial_state(self, kind: str | ModelState, x: torch.Tensor, background: float,
                      idle_ms: float = 0.0, cache: dict | None = None) -> ModelState | None:
        """The state a batch starts from: zeros, steady, fade_in or a given state, then idle steps."""
        batch = x.shape[0]
        if isinstance(kind, ModelState):
            state = kind if kind.batch_size == batch else kind.expand(batch)
        else:
            check_choice("initial_state", kind, INITIAL_STATES)
            if kind == "zeros":
                state = None
            elif kind == "steady":
                cache = cache if cache is not None else {}
                if "steady" not in cache:
                    cache["steady"] = self.model.steady_state(1, background=background)
                state = cache["steady"].expand(batch)
            else:
                state = self.model.fade_in_state(x[:, 0], background=background)
        idle = delay_steps(idle_ms, self.model.dt, "idle_ms")
        if idle:
            blank = torch.full((batch, idle, *x.shape[2:]), float(background), device=x.device, dtype=x.dtype)
            state = self.model.run(blank, state).state
        return state

    def run_tensors(self, x: torch.Tensor, record=None, initial_state: str | ModelState = "zeros",
                    idle_ms: float = 0.0, background: float = BACKGROUND, grad: bool = False) -> RunOutput:
        """Run one batch and return torch tensors (with gradients only if ``grad``)."""
        x = x.to(self.device, self.input_dtype)
        with torch.set_grad_enabled(grad), self._autocast():
            state = self.initial_state(initial_state, x, background, idle_ms)
            return self.model.run(x, state, record=record)

    # ------------------------------------------------------------------------------------------
    def run(self, stimulus, record: Sequence[str] | Mapping[str, str] | None = None, store=None,
            batch_size: int | None = None, initial_state: str | ModelState = "zeros",
            idle_ms: float = 0.0, reduce: str | None = None, store_dtype: str = "float32",
            store_stimulus: bool = True, overwrite: bool = False) -> xr.DataTree:
        """Simulate and return the activation tree.

        Args:
            stimulus: DataArray ``(sample, time, channel, y, x)`` with ``time`` in ms (other
                coordinates along ``sample`` are conditions), or a tensor/array of that shape.
            record: Areas to record (default: all), or a mapping area -> reduction.
            store: Path or fsspec URL of a zarr store to stream to (``None``: keep in memory).
            batch_size: Samples per batch (default: the Simulation's).
            initial_state: ``"zeros"``, ``"steady"`` (state under a blank screen),
                ``"fade_in"`` (the first frame faded in from grey) or a ``ModelState``.
            idle_ms: Blank (background) time run before the stimulus and not recorded.
            reduce: Store less: ``"mean"`` (spatial mean) or ``"center"`` (centre unit) for
                every recorded area (a ``record`` mapping sets it per area).
            store_dtype: ``"float32"`` or ``"float16"`` for the activity and logits.
            store_stimulus: Keep the stimulus in the tree (node ``stimulus``, variable ``luminance``).
            overwrite: Replace a store that holds a different run.

        Returns:
            The activation tree (lazy and backed by the store when ``store`` is given).
        """
        model = self.model
        da_stim = as_stimulus(stimulus, model.dt)
        model.check_input(torch.from_numpy(np.asarray(da_stim.isel(sample=slice(0, 1)).values, dtype=np.float32)))
        if record is None:
            record = model.area_names
        if reduce is not None and not isinstance(record, Mapping):
            record = {name: reduce for name in ([record] if isinstance(record, str) else record)}
        reducers = model._validate_record(record)
        record_spec = dict(record) if isinstance(record, Mapping) else {n: "none" for n in reducers}
        check_choice("store_dtype", store_dtype, STORE_DTYPES)
        if not isinstance(initial_state, ModelState):
            check_choice("initial_state", initial_state, INITIAL_STATES)
        delay_steps(idle_ms, model.dt, "idle_ms")
        batch_size = int(batch_size or self.batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        background = float(da_stim.attrs.get("background", BACKGROUND))
        n, times = da_stim.sizes["sample"], np.asarray(da_stim["time"].values, dtype=np.float64)
        coords = sample_coords(da_stim, n)
        options = {"record": {k: (v if isinstance(v, str) else repr(v)) for k, v in record_spec.items()},
                   "initial_state": initial_state if isinstance(initial_state, str) else "given",
                   "idle_ms": float(idle_ms), "store_dtype": store_dtype, "precision": self.precision,
                   "store_stimulus": bool(store_stimulus)}
        attrs = self._attrs(da_stim, options)
        area_attrs = {name: self._area_attrs(name, record_spec[name]) for name in reducers}

        writer = None
        if store is not None:
            writer = ActivationWriter(store, fingerprint(model, da_stim, options), overwrite=overwrite)
            if writer.complete:
                return open_activations(writer.path)
        start0 = writer.resume_from if writer is not None else 0
        out_dtype = np.float16 if store_dtype == "float16" else np.float32
        parts: list[xr.DataTree] = []
        cache: dict = {}
        was_training = model.training
        model.eval()
        bar = self._progress(n, start0)
        pending = None  # the previous batch's write, overlapping this batch's computation
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dynvision-zarr") if writer else None
        try:
            for start in range(start0, n, batch_size):
                stop = min(n, start + batch_size)
                frames = np.asarray(da_stim.isel(sample=slice(start, stop)).values, dtype=np.float32)
                x = torch.from_numpy(frames).to(self.device, self.input_dtype)
                with torch.no_grad(), self._autocast():
                    state = self.initial_state(initial_state, x, background, idle_ms, cache)
                    out = model.run(x, state, record=reducers)
                self._check_finite(out, start, times)
                batch_coords = {k: (v[0], v[1][start:stop], *v[2:]) for k, v in coords.items()}
                tree = build_tree(
                    _numpy(out.logits, out_dtype), {k: _numpy(v, out_dtype) for k, v in out.recordings.items()},
                    times, batch_coords, attrs, area_attrs, stimulus=frames if store_stimulus else None)
                if writer is not None:
                    if start == start0 and start0 == 0:
                        writer.prepare(self._layout(tree, n, coords, times, attrs, area_attrs, batch_size), n)
                    if pending is not None:
                        pending.result()  # at most one batch waits to be written: memory stays bounded
                    pending = pool.submit(writer.write, tree, start, stop, n)
                else:
                    parts.append(tree)
                bar.update(stop - start)
            if pending is not None:
                pending.result()
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
            bar.close()
            model.train(was_training)
        if writer is not None:
            writer.finish()
            return open_activations(writer.path)
        return self._concat(parts)

    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _check_finite(out: RunOutput, start: int, times: np.ndarray) -> None:
        """Refuse to store activity that diverged (inf or NaN): name the areas and the time.

        A diverged state never becomes finite again, so the last step decides; the full
        search for where it began runs only on failure."""
        last = [out.logits[:, -1]] + [rec[:, -1] for rec in out.recordings.values()]
        if all(torch.isfinite(v.sum(dtype=torch.float32)) for v in last):
            return
        bad = {}
        for name, rec in out.recordings.items():
            finite = torch.isfinite(rec.reshape(rec.shape[0], rec.shape[1], -1)).all(-1).all(0)
            if not finite.all():
                bad[name] = float(times[int((~finite).nonzero()[0])])
        if bad or not torch.isfinite(out.logits).all():
            where = ", ".join(f"{a} from {t:g} ms" for a, t in bad.items()) or "the logits"
            raise FloatingPointError(
                f"activity diverged (inf or NaN) in samples {start}..: {where}. The model's recurrent loops "
                f"are unstable over this duration; shorten the stimulus, lower the recurrent weights, or "
                f"check the model's parameters")

    def _progress(self, total: int, initial: int):
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=initial, unit="sample", desc="simulating",
                    disable=not self.progress, leave=False)

    def _attrs(self, stimulus: xr.DataArray, options: Mapping[str, Any]) -> dict:
        import dynvision

        model = self.model
        return jsonable({
            "model": getattr(model, "registry_name", type(model).__name__),
            "config": getattr(model, "config", {}),
            "dt": model.dt,
            "dt_units": "ms",
            "dynvision_version": dynvision.__version__,
            "stimulus_attrs": {k: v for k, v in stimulus.attrs.items()},
            "areas": list(options["record"]),
            **options,
        })

    def _area_attrs(self, name: str, reduce) -> dict:
        area = self.model.areas[name]
        return jsonable({
            "tau_ms": float(area.tau.detach()), "tff_ms": area.tff_steps * area.dt, "trc_ms": area.trc_steps * area.dt,
            "channels": area.out_channels, "size": list(area.size),
            "reduce": reduce if isinstance(reduce, str) else repr(reduce),
        })

    @staticmethod
    def _layout(tree: xr.DataTree, n: int, coords, times, attrs, area_attrs, batch_size) -> xr.DataTree:
        def full(var: xr.DataArray):
            shape = (n, *var.shape[1:])
            return lazy_zeros(shape, var.dtype, batch_size, var.dims)

        recordings = {node.name: full(node["activity"]) for node in tree.children.values() if node.name != "stimulus"}
        stim = None
        if "stimulus" in tree.children:
            stim = full(tree["stimulus"]["luminance"])
        return build_tree(full(tree["logits"]), recordings, times, coords, attrs, area_attrs, stimulus=stim)

    @staticmethod
    def _concat(parts: list[xr.DataTree]) -> xr.DataTree:
        if len(parts) == 1:
            return parts[0]
        nodes = {}
        for path in [node.path for node in parts[0].subtree]:
            datasets = [p[path].to_dataset(inherit=False) if path != "/" else p.to_dataset(inherit=False) for p in parts]
            nodes[path] = xr.concat(datasets, dim="sample", data_vars="minimal", coords="minimal",
                                    compat="override", join="override", combine_attrs="override")
        return xr.DataTree.from_dict(nodes)

"""From a plan and a unit's arrays to the activation schema: attributes, the store's layout,
each unit's regions, and the in-memory tree.

Example:
    >>> import dynvision, numpy as np
    >>> from dynvision.simulation.plan import make_plan
    >>> model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 8, 8))
    >>> plan = make_plan([model], np.zeros((3, 4, 1, 8, 8), "float32"), batch_size=2, record=["V1"])
    >>> region_index(plan, plan.units[1], ("sample", "time", "class"))
    (slice(2, 3, None), slice(None, None, None), slice(None, None, None))
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import dask.array as da
import numpy as np
import xarray as xr

from dynvision.conventions import jsonable
from dynvision.io.schema import build_tree, sample_coords
from dynvision.simulation.plan import SimulationPlan, Unit


def tree_attrs(plan: SimulationPlan, models: Sequence, ensemble_attrs: Any = None) -> dict:
    """Root attributes: model(s) and configuration, dt, version, stimulus attributes, options."""
    import dynvision
    from dynvision.models.base import config_dict

    first = models[0]
    attrs: dict[str, Any] = {"dt": first.dt, "dt_units": "ms", "dynvision_version": dynvision.__version__,
                             "stimulus_attrs": dict(plan.stimulus.attrs), "areas": [a for a, _ in plan.record],
                             **plan.options()}
    if plan.names is None:
        attrs["model"] = getattr(first, "registry_name", type(first).__name__)
        attrs["config"] = config_dict(first)
    else:
        attrs["model"] = "ensemble"
        attrs["models"] = list(plan.names)
        attrs["config"] = {name: config_dict(m) for name, m in zip(plan.names, models)}
        attrs["ensemble"] = ensemble_attrs if ensemble_attrs is not None else {}
    return jsonable(attrs)


def area_attrs(plan: SimulationPlan, models: Sequence) -> dict[str, dict]:
    """Per-area attributes (time constant and delays in ms, size, reduction); for an
    ensemble, each member's time constant too."""
    out = {}
    for name, reduce in plan.record:
        area = models[0].areas[name]
        attrs = {"tau_ms": float(area.tau.detach()), "tff_ms": area.tff_steps * area.dt,
                 "trc_ms": area.trc_steps * area.dt, "channels": area.out_channels, "size": list(area.size),
                 "reduce": reduce}
        if plan.names is not None:
            attrs["tau_ms_per_model"] = [float(m.areas[name].tau.detach()) for m in models]
        out[name] = jsonable(attrs)
    return out


def _lead(plan: SimulationPlan) -> tuple[int, ...]:
    return () if plan.names is None else (len(plan.names),)


def assemble(plan: SimulationPlan, models: Sequence, shapes: Mapping[str, tuple], arrays: Mapping[str, Any],
             stimulus=None, ensemble_attrs: Any = None) -> xr.DataTree:
    """The activation tree around full-size arrays (numpy, or lazy placeholders for a layout)."""
    coords = sample_coords(plan.stimulus, plan.n_samples)
    recordings = {name: arrays[name] for name, _ in plan.record}
    return build_tree(arrays["logits"], recordings, np.asarray(plan.times), coords,
                      tree_attrs(plan, models, ensemble_attrs), area_attrs(plan, models),
                      stimulus=stimulus, models=plan.names)


def full_shapes(plan: SimulationPlan, shapes: Mapping[str, tuple]) -> dict[str, tuple]:
    """Full array shapes ``([model,] sample, time, ...)`` from per-step shapes."""
    return {n: (*_lead(plan), plan.n_samples, len(plan.times), *s) for n, s in shapes.items()}


def layout(plan: SimulationPlan, models: Sequence, shapes: Mapping[str, tuple], ensemble_attrs: Any = None) -> xr.DataTree:
    """The store's layout: every array at full size, lazy (nothing computed or written)."""
    full = {n: da.zeros(s, dtype=plan.np_dtype, chunks=s) for n, s in full_shapes(plan, shapes).items()}
    stim = None
    if plan.store_stimulus:
        s = plan.stimulus.shape
        stim = da.zeros(s, dtype=np.float32, chunks=s)
    return assemble(plan, models, shapes, full, stim, ensemble_attrs)


def region_index(plan: SimulationPlan, unit: Unit, dims: Sequence[str]) -> tuple:
    """The index of a unit's region in an array with ``dims``."""
    return tuple(unit.model if d == "model" else slice(unit.start, unit.stop) if d == "sample" else slice(None)
                 for d in dims)


def regions(plan: SimulationPlan, unit: Unit, arrays: Mapping[str, np.ndarray],
            frames: np.ndarray | None) -> dict[str, tuple[tuple, np.ndarray]]:
    """Array path in the store -> (index, values) for one unit (the stimulus with model 0)."""
    lead = () if plan.names is None else (unit.model,)
    out = {}
    for name, values in arrays.items():
        path = "logits" if name == "logits" else f"{name}/activity"
        out[path] = ((*lead, slice(unit.start, unit.stop)), values)
    if plan.store_stimulus and unit.model == 0 and frames is not None:
        out["stimulus/luminance"] = ((slice(unit.start, unit.stop),), frames)
    return out


class MemoryResult:
    """Full-size numpy arrays filled unit by unit (the run without a store)."""

    def __init__(self, plan: SimulationPlan, shapes: Mapping[str, tuple]):
        self.plan, self.shapes = plan, dict(shapes)
        self.arrays = {n: np.empty(s, dtype=plan.np_dtype) for n, s in full_shapes(plan, shapes).items()}
        self.stimulus = np.empty(plan.stimulus.shape, np.float32) if plan.store_stimulus else None

    def add(self, unit: Unit, arrays: Mapping[str, np.ndarray], frames: np.ndarray) -> None:
        lead = () if self.plan.names is None else (unit.model,)
        for name, values in arrays.items():
            self.arrays[name][(*lead, slice(unit.start, unit.stop))] = values
        if self.stimulus is not None and unit.model == 0:
            self.stimulus[unit.start:unit.stop] = frames

    def tree(self, models: Sequence, ensemble_attrs: Any = None) -> xr.DataTree:
        return assemble(self.plan, models, self.shapes, self.arrays, self.stimulus, ensemble_attrs)

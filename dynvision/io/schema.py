"""The activation schema: dims, coordinates and attrs of a simulation result, in one place.

Example:
    >>> import numpy as np
    >>> tree = build_tree(np.zeros((2, 3, 4), "float32"), {"V1": np.zeros((2, 3, 5, 6, 6), "float32")},
    ...                   times=np.array([0.0, 2.0, 4.0]), coords={}, attrs={"dt": 2.0})
    >>> tree["V1"]["activity"].dims
    ('sample', 'time', 'channel', 'y', 'x')
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from dynvision.conventions import ACTIVITY_DIMS, LOGIT_DIMS, REDUCED_DIMS, STIMULUS_DIMS  # noqa: F401
TIME_ATTRS = {"units": "ms", "long_name": "time since stimulus start"}


def text_as_object(values) -> np.ndarray:
    """Fixed-width unicode arrays as object arrays: zarr v3 stores those as variable-length
    strings (it has no stable fixed-width string type)."""
    values = np.asarray(values)
    return values.astype(object) if values.dtype.kind == "U" else values


def zarr_safe(obj):
    """Return a Dataset/DataArray/DataTree whose text variables are object arrays."""
    if isinstance(obj, xr.DataTree):
        return obj.map_over_datasets(zarr_safe)
    names = obj.variables if isinstance(obj, xr.Dataset) else obj.coords
    changes = {n: obj[n].copy(data=text_as_object(obj[n].values)) for n in names if obj[n].dtype.kind == "U"}
    if isinstance(obj, xr.DataArray) and obj.dtype.kind == "U":
        obj = obj.copy(data=text_as_object(obj.values))
    return obj.assign_coords({k: v for k, v in changes.items() if k in obj.coords}) if not isinstance(obj, xr.Dataset) \
        else obj.assign({k: v for k, v in changes.items() if k in obj.data_vars}).assign_coords(
            {k: v for k, v in changes.items() if k in obj.coords})


def sample_coords(stimulus: xr.DataArray | None, n: int) -> dict[str, tuple]:
    """The coordinates along ``sample`` (index and stimulus conditions) for every node."""
    if stimulus is None or "sample" not in stimulus.coords:
        coords: dict[str, tuple] = {"sample": ("sample", np.arange(n))}
    else:
        coords = {"sample": ("sample", text_as_object(stimulus["sample"].values))}
    if stimulus is not None:
        for name, coord in stimulus.coords.items():
            if name != "sample" and coord.dims == ("sample",):
                coords[name] = ("sample", text_as_object(coord.values), dict(coord.attrs))
    return coords


def _time_coord(times: np.ndarray) -> tuple:
    return ("time", np.asarray(times, dtype=np.float64), dict(TIME_ATTRS))


def activity_array(values, times, coords: Mapping[str, tuple], attrs: Mapping[str, Any] | None = None,
                   models: Sequence[str] | None = None) -> xr.DataArray:
    """Wrap (sample, time, channel[, y, x]) activity of one area with its coordinates (with a
    leading ``model`` dimension when ``models`` names an ensemble's members)."""
    lead = () if models is None else ("model",)
    ndim = values.ndim - len(lead)
    dims = lead + (ACTIVITY_DIMS if ndim == 5 else REDUCED_DIMS)
    shape = values.shape[len(lead):]
    c = {**coords, **_model_coord(models), "time": _time_coord(times), "channel": ("channel", np.arange(shape[2]))}
    if ndim == 5:
        c["y"] = ("y", np.arange(shape[3]))
        c["x"] = ("x", np.arange(shape[4]))
    return xr.DataArray(values, dims=dims, coords=c, name="activity",
                        attrs={"long_name": "activity", "units": "a.u.", **(attrs or {})})


def _model_coord(models: Sequence[str] | None) -> dict:
    return {} if models is None else {"model": ("model", text_as_object(list(models)))}


def build_tree(logits, recordings: Mapping[str, Any], times, coords: Mapping[str, tuple],
               attrs: Mapping[str, Any], area_attrs: Mapping[str, Mapping] | None = None,
               stimulus=None, models: Sequence[str] | None = None) -> xr.DataTree:
    """Assemble the activation tree from arrays (numpy or dask).

    Args:
        logits: (sample, time, class).
        recordings: Area name -> (sample, time, channel[, y, x]).
        times: Step times in ms.
        coords: Sample coordinates from :func:`sample_coords`.
        attrs: Root attributes (model, config, dt, version...).
        area_attrs: Per-area attributes.
        stimulus: Optional (sample, time, channel, y, x) stimulus, kept as node ``stimulus``
            (variable ``luminance``).
        models: An ensemble's member names: logits and activity then have a leading ``model``
            dimension (the stimulus does not).
    """
    lead = () if models is None else ("model",)
    root_vars = {
        "logits": xr.DataArray(logits, dims=lead + LOGIT_DIMS,
                               coords={**coords, **_model_coord(models), "time": _time_coord(times),
                                       "class": ("class", np.arange(logits.shape[-1]))},
                               attrs={"long_name": "classifier logits", "units": "a.u."}),
    }
    nodes = {"/": xr.Dataset(root_vars, attrs=dict(attrs))}
    if stimulus is not None:
        # A sibling of the areas (its channel/y/x differ from theirs, so it cannot sit at the root).
        frames = xr.DataArray(
            stimulus, dims=STIMULUS_DIMS, name="luminance",
            coords={**coords, "time": _time_coord(times), "channel": ("channel", np.arange(stimulus.shape[2])),
                    "y": ("y", np.arange(stimulus.shape[3])), "x": ("x", np.arange(stimulus.shape[4]))},
            attrs={"long_name": "stimulus luminance", "units": "a.u."})
        nodes["/stimulus"] = xr.Dataset({"luminance": frames}, attrs={"area": "stimulus"})
    for name, values in recordings.items():
        # DataTree only passes indexed coordinates to children: set the sample conditions here too.
        nodes[f"/{name}"] = xr.Dataset({"activity": activity_array(values, times, coords, models=models)},
                                      attrs={"area": name, **dict((area_attrs or {}).get(name, {}))})
    return xr.DataTree.from_dict(nodes)

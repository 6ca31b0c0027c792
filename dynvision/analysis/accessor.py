"""The ``.dv`` accessors: metrics as methods of DataArrays, Datasets and DataTrees.

Importing :mod:`dynvision.analysis` registers them (``import dynvision`` alone does not):

- ``resp.dv.<metric>(...)`` on a DataArray is ``<metric>(resp, ...)``;
- ``ds.dv.<metric>(...)`` on a Dataset applies the metric to every data variable with a
  ``time`` dim and returns a Dataset;
- ``tree.dv.responses()`` on activations (one child node per area with ``activity``) averages
  each area over ``channel``, ``y`` and ``x`` and stacks the areas along ``area``;
  ``tree.dv.<metric>(...)`` is the metric of those responses and
  ``tree.dv.classifier_response()`` reads the root's ``logits``.

Example:
    >>> import numpy as np, xarray as xr
    >>> import dynvision.analysis
    >>> r = xr.DataArray([0.0, 0.0, 0.0, 1.0], dims="time", coords={"time": [0, 1, 2, 3]})
    >>> float(r.dv.onset_latency(onset=1.0))  # half-max crossed at 2.5 ms
    1.5
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Sequence

import numpy as np
import xarray as xr

from dynvision.analysis.classifier import classifier_response, softmax
from dynvision.analysis.contrast import fit_naka_rushton, latency_vs_contrast
from dynvision.analysis.core import baseline, by_condition, conditions_to_dims
from dynvision.analysis.latency import onset_latency
from dynvision.analysis.metrics import compute, response_properties
from dynvision.analysis.repetition import recovery, repetition_suppression
from dynvision.analysis.response import (
    adaptation_index,
    peak_height,
    peak_time,
    response_duration,
    summed_response,
    sustained_ratio,
)
from dynvision.analysis.summation import temporal_summation

#: Metrics of a response with a ``time`` dim (methods on all three accessors).
RESPONSE_METHODS: tuple[Callable, ...] = (
    baseline,
    onset_latency,
    peak_time,
    peak_height,
    response_duration,
    sustained_ratio,
    adaptation_index,
    summed_response,
    repetition_suppression,
    response_properties,
    temporal_summation,
    recovery,
    fit_naka_rushton,
    latency_vs_contrast,
)
#: Further DataArray methods.
ARRAY_METHODS: tuple[Callable, ...] = (
    classifier_response,
    softmax,
    conditions_to_dims,
    by_condition,
)


def _as_method(method: Callable, fn: Callable) -> Callable:
    """Give ``method`` the docs of ``fn`` and its signature with ``self`` for the data."""
    functools.update_wrapper(method, fn)
    del method.__wrapped__  # show the signature below, not fn's
    sig = inspect.signature(fn)
    rest = list(sig.parameters.values())[1:]
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    method.__signature__ = sig.replace(parameters=[self_param, *rest])
    return method


def _on_array(fn: Callable) -> Callable:
    def method(self, *args: Any, **kwargs: Any):
        return fn(self._obj, *args, **kwargs)

    return _as_method(method, fn)


def _on_dataset(fn: Callable) -> Callable:
    def method(self, *args: Any, **kwargs: Any) -> xr.Dataset:
        out: dict[str, Any] = {}
        for name, var in self._obj.data_vars.items():
            if "time" not in var.dims:
                continue
            res = fn(var, *args, **kwargs)
            if isinstance(res, xr.Dataset):
                out.update({f"{name}_{k}": v for k, v in res.data_vars.items()})
            else:
                out[str(name)] = res
        if not out:
            raise ValueError(f"no data variable has a 'time' dim: {list(self._obj.data_vars)}")
        return xr.Dataset(out)

    return _as_method(method, fn)


def _on_tree(fn: Callable) -> Callable:
    def method(self, *args: Any, **kwargs: Any):
        return fn(self.responses(), *args, **kwargs)

    return _as_method(method, fn)


@xr.register_dataarray_accessor("dv")
class DataArrayAccessor:
    """dynvision metrics on a DataArray: ``resp.dv.onset_latency(onset="stim_onset")``.

    Example:
        >>> r = xr.DataArray([0.0, 2.0, 1.0], dims="time", coords={"time": [0.0, 1.0, 2.0]})
        >>> float(r.dv.metric("peak_height", onset=1.0))
        2.0
    """

    def __init__(self, obj: xr.DataArray):
        self._obj = obj

    def metric(self, name: str, **kwargs: Any) -> xr.DataArray:
        """Compute a registered metric by name (see :data:`~dynvision.analysis.METRICS`)."""
        return compute(name, self._obj, **kwargs)


@xr.register_dataset_accessor("dv")
class DatasetAccessor:
    """dynvision metrics on every data variable of a Dataset that has a ``time`` dim.

    Example:
        >>> r = xr.DataArray([0.0, 2.0, 1.0], dims="time", coords={"time": [0.0, 1.0, 2.0]})
        >>> xr.Dataset({"a": r, "b": 2 * r}).dv.peak_height(onset=1.0).b.item()
        4.0
    """

    def __init__(self, obj: xr.Dataset):
        self._obj = obj


@xr.register_datatree_accessor("dv")
class DataTreeAccessor:
    """dynvision metrics on activations: one child node per area, ``logits`` at the root.

    Example:
        >>> t = xr.DataArray([0.0, 2.0, 1.0], dims="time", coords={"time": [0.0, 1.0, 2.0]})
        >>> tree = xr.DataTree.from_dict({"V1": xr.Dataset({"activity": t}),
        ...                               "IT": xr.Dataset({"activity": t / 2})})
        >>> tree.dv.peak_height(onset=1.0).values.tolist()
        [2.0, 1.0]
    """

    def __init__(self, obj: xr.DataTree):
        self._obj = obj

    def responses(
        self,
        var: str = "activity",
        reduce: Sequence[str] = ("channel", "y", "x"),
        areas: Sequence[str] | None = None,
    ) -> xr.DataArray:
        """Area responses: ``var`` of each child node averaged over ``reduce``, along ``area``.

        Example:
            >>> import numpy as np
            >>> act = lambda v: xr.Dataset({"activity": (("sample", "time", "channel"), v)})
            >>> tree = xr.DataTree.from_dict({"V1": act(np.ones((1, 2, 3))),
            ...                               "V2": act(np.zeros((1, 2, 3)))})
            >>> tree.dv.responses().dims
            ('area', 'sample', 'time')
        """
        nodes = {name: node for name, node in self._obj.children.items() if var in node.data_vars}
        if not nodes:
            raise ValueError(f"no child node holds {var!r}; children: {list(self._obj.children)}")
        names = list(nodes) if areas is None else list(areas)
        unknown = [a for a in names if a not in nodes]
        if unknown:
            raise ValueError(f"unknown areas {unknown}; valid areas: {list(nodes)}")
        arrays = []
        for name in names:
            da = nodes[name][var]
            arrays.append(da.mean([d for d in reduce if d in da.dims], keep_attrs=True))
        out = xr.concat(arrays, dim="area", coords="minimal", compat="override")
        return out.assign_coords(area=np.array(names, dtype=str)).rename(var)

    def classifier_response(self, labels: Any = "label", **kwargs: Any) -> xr.Dataset:
        """:func:`~dynvision.analysis.classifier_response` of the root's ``logits``."""
        if "logits" not in self._obj.data_vars:
            raise ValueError(
                f"the tree's root has no 'logits'; variables: {list(self._obj.data_vars)}"
            )
        return classifier_response(self._obj["logits"], labels, **kwargs)


for _fn in RESPONSE_METHODS + ARRAY_METHODS:
    setattr(DataArrayAccessor, _fn.__name__, _on_array(_fn))
for _fn in RESPONSE_METHODS:
    setattr(DatasetAccessor, _fn.__name__, _on_dataset(_fn))
    setattr(DataTreeAccessor, _fn.__name__, _on_tree(_fn))

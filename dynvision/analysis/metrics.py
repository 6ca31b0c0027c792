"""The registry of per-trace metrics and a one-call summary of a response's properties.

Every metric in :data:`METRICS` maps a response with a ``time`` dim (ms) to a DataArray
without it; fits and summaries select a metric by name (``measure="summed_response"``).

Example:
    >>> import numpy as np, xarray as xr
    >>> t = np.arange(0.0, 80.0)
    >>> r = xr.DataArray(np.exp(-0.5 * ((t - 40) / 5) ** 2), dims="time", coords={"time": t})
    >>> props = response_properties(r, onset=20.0, offset=60.0)
    >>> sorted(props.data_vars)[:3], float(props.peak_time)
    (['adaptation_index', 'decay_time', 'onset_latency'], 20.0)
"""

from __future__ import annotations

from typing import Any, Sequence

import xarray as xr

from dynvision.analysis.core import Time, baseline
from dynvision.analysis.latency import onset_latency
from dynvision.analysis.response import (
    adaptation_index,
    decay_time,
    peak_height,
    peak_time,
    response_duration,
    summed_response,
    sustained_ratio,
)
from dynvision.registry import Registry, check_kwargs

METRICS = Registry("metric")
for _fn in (
    baseline,
    onset_latency,
    peak_time,
    peak_height,
    response_duration,
    sustained_ratio,
    adaptation_index,
    summed_response,
    decay_time,
):
    METRICS.register(_fn.__name__, _fn)

#: Metrics that need the stimulus offset as well as its onset.
_WITH_OFFSET = ("sustained_ratio", "adaptation_index", "decay_time")


def compute(name: str, resp: xr.DataArray, **kwargs: Any) -> xr.DataArray:
    """Compute the metric registered as ``name``; unknown names and keywords raise.

    Example:
        >>> r = xr.DataArray([0.0, 0.0, 2.0, 1.0], dims="time", coords={"time": [0, 1, 2, 3]})
        >>> float(compute("peak_height", r, onset=2.0))
        2.0
    """
    fn = METRICS.get(name)
    check_kwargs(f"metric {name!r}", kwargs, fn)
    return fn(resp, **kwargs)


def response_properties(
    resp: xr.DataArray,
    *,
    onset: Time = "stim_onset",
    offset: Time = "stim_offset",
    metrics: Sequence[str] = (
        "onset_latency",
        "peak_time",
        "peak_height",
        "response_duration",
        "sustained_ratio",
        "adaptation_index",
        "summed_response",
        "decay_time",
    ),
) -> xr.Dataset:
    """A Dataset of response metrics with their default definitions.

    Args:
        resp: Response with a ``time`` dim in ms.
        onset: Stimulus onset (ms, coordinate name or DataArray).
        offset: Stimulus offset, used by the sustained/transient metrics.
        metrics: Names from :data:`METRICS`.

    Example:
        >>> r = xr.DataArray([0.0, 0.0, 2.0, 1.0], dims="time", coords={"time": [0, 1, 2, 3]})
        >>> list(response_properties(r, onset=2.0, metrics=["peak_height"]).data_vars)
        ['peak_height']
    """
    out = {}
    for name in metrics:
        kw = {"onset": onset, "offset": offset} if name in _WITH_OFFSET else {"onset": onset}
        out[name] = compute(name, resp, **kw)
    return xr.Dataset(out)

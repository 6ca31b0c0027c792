"""Temporal summation across stimulus durations: how the summed response grows with duration.

Definitions, with ``S(d)`` the summed response (see
:func:`~dynvision.analysis.summed_response`) averaged over samples of duration ``d``:

- summation ratio ``S(d) / (S(d_min) d / d_min)``: the response relative to linear
  summation extrapolated from the shortest duration ``d_min``; 1 means additive, < 1
  sub-additive (saturating), > 1 super-additive.
- summation exponent ``alpha``: slope of the least-squares line through
  ``(log d, log S(d))`` over durations with ``S > 0`` (``S ~ d^alpha``; 1 linear, < 1
  sub-additive); NaN with fewer than two such durations.

Example:
    >>> import numpy as np, xarray as xr
    >>> d = np.array([10.0, 20.0, 40.0, 80.0])
    >>> S = xr.DataArray(5 * np.sqrt(d), dims="duration", coords={"duration": d})
    >>> ts = temporal_summation(S)
    >>> ts.ratio.values.round(3).tolist(), round(float(ts.exponent), 3)
    ([1.0, 0.707, 0.5, 0.354], 0.5)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from dynvision.analysis.core import by_condition
from dynvision.analysis.response import summed_response


def _slope(logS: np.ndarray, logd: np.ndarray) -> np.ndarray:
    ok = np.isfinite(logS)
    n = ok.sum(axis=-1)
    x = np.where(ok, logd, 0.0)
    y = np.where(ok, logS, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = x.sum(-1) / n, y.sum(-1) / n
        cov = (np.where(ok, (x - mx[..., None]) * (y - my[..., None]), 0.0)).sum(-1)
        var = (np.where(ok, (x - mx[..., None]) ** 2, 0.0)).sum(-1)
        return np.where(n >= 2, cov / var, np.nan)


def temporal_summation(
    resp: xr.DataArray, *, duration: str = "duration", **summed_kwargs: Any
) -> xr.Dataset:
    """Summed response, summation ratio and exponent across durations.

    Args:
        resp: A response with a ``time`` dim (the summed response is computed with
            ``summed_kwargs``), or summed responses already. ``duration`` is a dim or a
            condition coordinate (samples with equal duration are averaged).
        duration: Name of the duration dim / coordinate (ms).
        **summed_kwargs: Passed to :func:`~dynvision.analysis.summed_response`.

    Returns:
        Dataset with ``summed`` and ``ratio`` along ``duration`` and ``exponent``.

    Example:
        >>> d = xr.DataArray([10.0, 20.0], dims="duration", coords={"duration": [10.0, 20.0]})
        >>> temporal_summation(d).ratio.values.tolist()
        [1.0, 1.0]
    """
    summed = summed_response(resp, **summed_kwargs) if "time" in resp.dims else resp
    S = by_condition(summed, duration).astype(np.float64).transpose(..., duration)
    d = S[duration]
    if S.sizes[duration] < 2:
        raise ValueError(
            f"temporal summation needs at least two durations, got {d.values.tolist()}"
        )
    if float(d.min()) <= 0:
        raise ValueError(f"durations must be > 0 ms, got {d.values.tolist()}")
    ref = S.isel({duration: int(np.argmin(d.values))}, drop=True)
    ratio = S / (ref * d / float(d.min()))
    logS = np.log(S.where(S > 0))
    exponent = xr.apply_ufunc(_slope, logS, np.log(d), input_core_dims=[[duration], [duration]])
    units = summed.attrs.get("units", "a.u.·ms")
    return xr.Dataset(
        {
            "summed": S.assign_attrs(long_name="summed response", units=units),
            "ratio": ratio.assign_attrs(long_name="summation ratio (1 = linear)", units="1"),
            "exponent": exponent.assign_attrs(long_name="summation exponent (S ~ d^a)", units="1"),
        }
    )

"""Onset latency: when the response first rises above a threshold after stimulus onset.

Definitions (all times in ms, latency relative to stimulus onset):

- baseline ``b``: mean response over the baseline window (default: all times before onset;
  see :func:`~dynvision.analysis.core.baseline`).
- peak ``p``: maximum of the response in the search window (default: onset to trace end).
- threshold, by ``method``:

  - ``"half_max"``: ``b + 0.5 (p - b)``;
  - ``"fraction"``: ``b + fraction (p - b)``;
  - ``"sd"``: ``b + k * sd`` with ``sd`` the SD (ddof=1) over the baseline window. For
    noise-free simulations ``sd = 0`` and any rise above the baseline counts, so prefer a
    relative method there;
  - ``"absolute"``: ``threshold`` itself.

- crossing: the first sample ``i`` in the window with ``r_i > threshold``; the time is
  linearly interpolated between ``t_{i-1}`` and ``t_i``
  (``t_{i-1} + (thr - r_{i-1}) / (r_i - r_{i-1}) (t_i - t_{i-1})``), never earlier than the
  window start. NaN when the response never crosses, or (relative methods) when the peak does
  not exceed the baseline.

Example:
    >>> import numpy as np, xarray as xr
    >>> t = np.arange(0.0, 100.0, 1.0)
    >>> r = xr.DataArray(np.where(t >= 20, 1.0, 0.0), dims="time", coords={"time": t})
    >>> float(onset_latency(r, onset=10.0))  # half-way between 19 and 20 ms, minus onset
    9.5
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from dynvision.analysis.core import (
    Time,
    Window,
    apply,
    bounds,
    finish,
    mask,
    resolve_baseline,
    resolve_time,
    window_max,
)
from dynvision.analysis.core import (
    baseline as _baseline,
)
from dynvision.registry import check_choice

METHODS = ("half_max", "fraction", "sd", "absolute")


def _k_crossing(R, thr, lo, hi, *, t):
    """First interpolated time in [lo, hi) where R exceeds thr (NaN if none)."""
    M = mask(t, lo, hi)
    hit = M & (R > thr[:, None])
    found = hit.any(axis=1)
    i = hit.argmax(axis=1)
    rows = np.arange(len(R))
    ip = np.maximum(i - 1, 0)
    r0, r1 = R[rows, ip], R[rows, i]
    t0, t1 = t[ip], t[i]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.clip((thr - r0) / (r1 - r0), 0.0, 1.0)
    interp = (i > 0) & (r0 <= thr)
    cross = np.where(interp, t0 + frac * (t1 - t0), t1)
    cross = np.maximum(cross, lo)
    return np.where(found, cross, np.nan)


def crossing_time(resp: xr.DataArray, threshold, lo, hi) -> xr.DataArray:
    """Absolute time (ms) where ``resp`` first exceeds ``threshold`` in ``lo <= t < hi``.

    Example:
        >>> r = xr.DataArray([0.0, 0.0, 2.0], dims="time", coords={"time": [0.0, 1.0, 2.0]})
        >>> float(crossing_time(r, 1.0, 0.0, np.inf))
        1.5
    """
    return apply(_k_crossing, resp, threshold, lo, hi)


def onset_latency(
    resp: xr.DataArray,
    *,
    method: str = "half_max",
    onset: Time = "stim_onset",
    window: Window = (0.0, None),
    baseline: str | float | xr.DataArray = "pre",
    baseline_window: Window = (None, 0.0),
    k: float = 3.0,
    fraction: float = 0.5,
    threshold: float | xr.DataArray | None = None,
) -> xr.DataArray:
    """Latency (ms after onset) of the first threshold crossing (see the module docstring).

    Args:
        resp: Response with a ``time`` dim in ms, e.g. ``(sample, time)``.
        method: ``"half_max"``, ``"fraction"``, ``"sd"`` or ``"absolute"``.
        onset: Stimulus onset: ms, a coordinate name or a DataArray.
        window: Search window ``(start, stop)`` ms relative to onset.
        baseline: ``"pre"`` (mean over ``baseline_window``), a number or a DataArray.
        baseline_window: ``(start, stop)`` ms relative to onset for the baseline and its SD.
        k: Number of baseline SDs for ``method="sd"``.
        fraction: Fraction of the peak above baseline for ``method="fraction"``, in (0, 1).
        threshold: The absolute threshold for ``method="absolute"``.

    Returns:
        Latency in ms without the ``time`` dim; NaN where the response never crosses.

    Example:
        >>> t = np.arange(0.0, 50.0)
        >>> r = xr.DataArray(np.clip(t - 10, 0, 10), dims="time", coords={"time": t})
        >>> float(onset_latency(r, onset=10.0))  # ramp reaches 5 = half of 10 at t = 15
        5.0
    """
    check_choice("latency method", method, METHODS)
    on = resolve_time(resp, onset, "onset")
    lo, hi = bounds(on, window)
    if method == "absolute":
        if threshold is None:
            raise ValueError("method='absolute' needs threshold=<response level>")
        thr = threshold
    else:
        b = resolve_baseline(resp, baseline, on, baseline_window)
        if method == "sd":
            if not (k >= 0):
                raise ValueError(f"k must be >= 0 baseline SDs, got k={k!r}")
            sd = _baseline(resp, onset=on, window=baseline_window, stat="std")
            thr = b + k * sd
        else:
            frac = 0.5 if method == "half_max" else fraction
            if not 0.0 < frac < 1.0:
                raise ValueError(f"fraction must lie in (0, 1), got fraction={fraction!r}")
            peak, _ = window_max(resp, lo, hi)
            thr = (b + frac * (peak - b)).where(peak > b)
    latency = crossing_time(resp, thr, lo, hi) - on
    params = {"method": method, "window": window, "baseline_window": baseline_window}
    if method == "sd":
        params["k"] = k
    if method == "fraction":
        params["fraction"] = fraction
    return finish(latency, "onset_latency", f"onset latency ({method})", "ms", **params)

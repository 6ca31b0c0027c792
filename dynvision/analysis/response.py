"""Shape of a response: peak, width, sustained vs transient parts and the summed response.

Definitions (times in ms; ``b`` = baseline, the mean before onset unless given):

- peak height: ``max(r) - b`` over the window (default onset to trace end).
- peak time: time of that maximum minus onset, refined by the vertex of the parabola
  through the maximum and its two neighbours (``interpolate=True``).
- response duration (FWHM): time between the last crossing of ``b + (max - b) / 2`` before
  the peak and the first one after it, each linearly interpolated; NaN if the response does
  not fall below half maximum on both sides within the trace.
- sustained / transient: with the stimulus window ``[onset + lag, offset + lag)`` and the late
  window of its last ``late`` ms (default: its second half), transient ``P = max(r) - b`` over
  the stimulus window and sustained ``S = mean(r) - b`` over the late window.
  ``sustained_ratio = S / P``; ``adaptation_index = (P - S) / (P + S)`` (0: no adaptation,
  1: fully transient). NaN where ``P <= 0``.
- summed response: ``sum((r - b) * dt)`` over the window (rectangle rule, uniform ``dt``), in
  units of response x ms.

Example:
    >>> import numpy as np, xarray as xr
    >>> t = np.arange(0.0, 100.0)
    >>> r = xr.DataArray(np.exp(-0.5 * ((t - 40) / 5) ** 2), dims="time", coords={"time": t})
    >>> round(float(peak_time(r, onset=10.0)), 6), round(float(response_duration(r, onset=10.0)), 1)
    (30.0, 11.8)
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
    time_values,
    uniform_dt,
    window_max,
    window_mean,
)


def _units(resp: xr.DataArray) -> str:
    return resp.attrs.get("units", "a.u.")


def _k_peak_time(R, lo, hi, *, t, interpolate):
    M = mask(t, lo, hi)
    X = np.where(M, R, -np.inf)
    i = X.argmax(axis=1)
    rows = np.arange(len(R))
    found = np.isfinite(X[rows, i])
    out = t[i].astype(np.float64)
    if interpolate and len(t) >= 3:
        j = np.clip(i, 1, len(t) - 2)
        y0, y1, y2 = R[rows, j - 1], R[rows, j], R[rows, j + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            denom = y0 - 2 * y1 + y2
            delta = np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5)
        ok = (i == j) & (denom < 0) & M[rows, j - 1] & M[rows, j + 1]
        step = np.where(delta >= 0, t[j + 1] - t[j], t[j] - t[j - 1])
        out = np.where(ok, t[j] + delta * step, out)
    return np.where(found, out, np.nan)


def peak_time(
    resp: xr.DataArray,
    *,
    onset: Time = "stim_onset",
    window: Window = (0.0, None),
    interpolate: bool = True,
) -> xr.DataArray:
    """Time (ms after onset) of the response maximum in the window.

    Example:
        >>> r = xr.DataArray([0.0, 1.0, 3.0, 1.0], dims="time", coords={"time": [0, 1, 2, 3]})
        >>> float(peak_time(r, onset=1.0))
        1.0
    """
    on = resolve_time(resp, onset, "onset")
    lo, hi = bounds(on, window)
    out = apply(_k_peak_time, resp, lo, hi, interpolate=interpolate) - on
    return finish(
        out, "peak_time", "peak time after onset", "ms", window=window, interpolate=int(interpolate)
    )


def peak_height(
    resp: xr.DataArray,
    *,
    onset: Time = "stim_onset",
    window: Window = (0.0, None),
    baseline: str | float | xr.DataArray = "pre",
    baseline_window: Window = (None, 0.0),
) -> xr.DataArray:
    """Maximum of the response in the window minus the baseline.

    Example:
        >>> r = xr.DataArray([1.0, 1.0, 4.0, 2.0], dims="time", coords={"time": [0, 1, 2, 3]})
        >>> float(peak_height(r, onset=2.0))
        3.0
    """
    on = resolve_time(resp, onset, "onset")
    b = resolve_baseline(resp, baseline, on, baseline_window)
    peak, _ = window_max(resp, *bounds(on, window))
    return finish(peak - b, "peak_height", "peak above baseline", _units(resp), window=window)


def _k_fwhm(R, b, lo, hi, *, t):
    M = mask(t, lo, hi)
    X = np.where(M, R, -np.inf)
    p = X.argmax(axis=1)
    rows = np.arange(len(R))
    peak = X[rows, p]
    level = b + 0.5 * (peak - b)
    idx = np.arange(len(t))[None, :]
    below = R <= level[:, None]
    left = below & (idx < p[:, None])
    right = below & (idx > p[:, None])
    has_l, has_r = left.any(axis=1), right.any(axis=1)
    jl = len(t) - 1 - left[:, ::-1].argmax(axis=1)  # last sample below, before the peak
    jr = right.argmax(axis=1)  # first sample below, after the peak
    jl1, jr0 = np.minimum(jl + 1, len(t) - 1), np.maximum(jr - 1, 0)

    def cross(a, c):
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.clip((level - R[rows, a]) / (R[rows, c] - R[rows, a]), 0.0, 1.0)
        return t[a] + f * (t[c] - t[a])

    width = cross(jr0, jr) - cross(jl, jl1)
    ok = has_l & has_r & np.isfinite(peak) & (peak > b)
    return np.where(ok, width, np.nan)


def response_duration(
    resp: xr.DataArray,
    *,
    onset: Time = "stim_onset",
    window: Window = (0.0, None),
    baseline: str | float | xr.DataArray = "pre",
    baseline_window: Window = (None, 0.0),
) -> xr.DataArray:
    """Full width at half maximum (ms) of the response peak in the window.

    The peak is searched in the window; the half-maximum crossings around it may lie
    anywhere in the trace.

    Example:
        >>> r = xr.DataArray([0.0, 0.0, 2.0, 2.0, 0.0], dims="time",
        ...                  coords={"time": [0, 1, 2, 3, 4]})
        >>> float(response_duration(r, onset=1.0))
        2.0
    """
    on = resolve_time(resp, onset, "onset")
    b = resolve_baseline(resp, baseline, on, baseline_window)
    out = apply(_k_fwhm, resp, b, *bounds(on, window))
    return finish(out, "response_duration", "response duration (FWHM)", "ms", window=window)


def _transient_sustained(resp, onset, offset, late, lag, baseline, baseline_window):
    on = resolve_time(resp, onset, "onset")
    off = resolve_time(resp, offset, "offset")
    if late is not None and not late > 0:
        raise ValueError(f"late must be a positive number of ms, got late={late!r}")
    if not np.isfinite(lag) or lag < 0:
        raise ValueError(f"lag must be >= 0 ms, got lag={lag!r}")
    b = resolve_baseline(resp, baseline, on, baseline_window)
    start = off - (late if late is not None else (off - on) / 2)
    peak, _ = window_max(resp, on + lag, off + lag)
    sustained = window_mean(resp, start + lag, off + lag) - b
    transient = (peak - b).where(peak > b)
    return transient, sustained


def sustained_ratio(
    resp: xr.DataArray,
    *,
    onset: Time = "stim_onset",
    offset: Time = "stim_offset",
    late: float | None = None,
    lag: float = 0.0,
    baseline: str | float | xr.DataArray = "pre",
    baseline_window: Window = (None, 0.0),
) -> xr.DataArray:
    """Sustained over transient response ``S / P`` (see the module docstring).

    Args:
        resp: Response with a ``time`` dim in ms.
        onset: Stimulus onset (ms, coordinate name or DataArray).
        offset: Stimulus offset (ms, coordinate name or DataArray).
        late: Length in ms of the late window ending at offset (default half the stimulus).
        lag: Shift of both windows in ms, e.g. the area's response latency.
        baseline: ``"pre"``, a number or a DataArray.
        baseline_window: ``(start, stop)`` ms relative to onset.

    Example:
        >>> t = np.arange(0.0, 60.0)
        >>> r = np.where((t >= 10) & (t < 50), 0.5, 0.0); r[10] = 1.0
        >>> da = xr.DataArray(r, dims="time", coords={"time": t})
        >>> float(sustained_ratio(da, onset=10.0, offset=50.0))
        0.5
    """
    transient, sustained = _transient_sustained(
        resp, onset, offset, late, lag, baseline, baseline_window
    )
    return finish(
        sustained / transient,
        "sustained_ratio",
        "sustained / transient response",
        "1",
        late=-1.0 if late is None else late,
        lag=lag,
    )


def adaptation_index(
    resp: xr.DataArray,
    *,
    onset: Time = "stim_onset",
    offset: Time = "stim_offset",
    late: float | None = None,
    lag: float = 0.0,
    baseline: str | float | xr.DataArray = "pre",
    baseline_window: Window = (None, 0.0),
) -> xr.DataArray:
    """Adaptation index ``(P - S) / (P + S)`` (arguments as :func:`sustained_ratio`).

    A sustained response below baseline counts as none (``S = 0``: index 1, full adaptation),
    so the index stays within ``[0, 1]``; left signed, a late response just below baseline
    would make ``P + S`` tiny and the index arbitrarily large.

    Example:
        >>> t = np.arange(0.0, 60.0)
        >>> r = np.where((t >= 10) & (t < 50), 0.5, 0.0); r[10] = 1.0
        >>> da = xr.DataArray(r, dims="time", coords={"time": t})
        >>> round(float(adaptation_index(da, onset=10.0, offset=50.0)), 4)  # (1-.5)/(1+.5)
        0.3333
    """
    P, S = _transient_sustained(resp, onset, offset, late, lag, baseline, baseline_window)
    S = S.clip(min=0.0)
    out = ((P - S) / (P + S)).where(P + S > 0)
    return finish(
        out,
        "adaptation_index",
        "adaptation index (P-S)/(P+S)",
        "1",
        late=-1.0 if late is None else late,
        lag=lag,
    )


def summed_response(
    resp: xr.DataArray,
    *,
    onset: Time = "stim_onset",
    window: Window = (0.0, None),
    baseline: str | float | xr.DataArray = "pre",
    baseline_window: Window = (None, 0.0),
) -> xr.DataArray:
    """Temporal integral ``sum((r - b) * dt)`` of the response over the window.

    Example:
        >>> r = xr.DataArray([1.0, 1.0, 3.0, 2.0], dims="time", coords={"time": [0, 2, 4, 6]})
        >>> float(summed_response(r, onset=4.0))  # (2 + 1) * 2 ms
        6.0
    """
    dt = uniform_dt(time_values(resp))
    on = resolve_time(resp, onset, "onset")
    b = resolve_baseline(resp, baseline, on, baseline_window)
    lo, hi = bounds(on, window)
    n = apply(lambda R, lo, hi, t: mask(t, lo, hi).sum(axis=1), resp, lo, hi)
    total = window_mean(resp, lo, hi) * n * dt - b * n * dt
    return finish(
        total.where(n > 0),
        "summed_response",
        "summed response",
        f"{_units(resp)}·ms",
        window=window,
    )


def offset_response(
    resp: xr.DataArray,
    *,
    offset: Time = "stim_offset",
    window: float = 50.0,
) -> xr.DataArray:
    """Rise of the response after the stimulus ends: ``max(r over [offset, offset + window))``
    minus the last value before ``offset``.

    Positive values are an offset (OFF) response; a response that simply decays gives 0.

    Example:
        >>> r = xr.DataArray([0.0, 1.0, 0.5, 2.0, 1.0], dims="time", coords={"time": [0, 1, 2, 3, 4]})
        >>> float(offset_response(r, offset=2.0))  # max(0.5, 2, 1) - 1
        1.0
    """
    if window <= 0:
        raise ValueError(f"offset_response window must be > 0 ms, got {window}")
    dt = uniform_dt(time_values(resp))
    off = resolve_time(resp, offset, "offset")
    before = window_mean(resp, off - dt, off)
    after, _ = window_max(resp, off, off + window)
    rise = (after - before).clip(min=0.0)
    return finish(rise, "offset_response", "offset response", _units(resp), window=window)


def decay_time(
    resp: xr.DataArray,
    *,
    onset: Time = "stim_onset",
    offset: Time = "stim_offset",
    baseline: str | float | xr.DataArray = "pre",
    baseline_window: Window = (None, 0.0),
) -> xr.DataArray:
    """How long activity persists after the stimulus: ``sum((r - b) dt) / (r_off - b)`` over
    the time after ``offset``, where ``r_off`` is the last value before the offset.

    For an exponential decay with time constant ``tau`` this equals ``tau`` (in ms); recurrent
    excitation that reverberates lengthens it, inhibition shortens it. NaN where
    ``r_off <= b``.

    Example:
        >>> t = np.arange(0.0, 200.0, 0.5)
        >>> r = xr.DataArray(np.where(t < 50, 1.0, np.exp(-(t - 50) / 10)), dims="time", coords={"time": t})
        >>> round(float(decay_time(r, onset=0.0, offset=50.0, baseline=0.0)), 1)
        10.3
    """
    dt = uniform_dt(time_values(resp))
    on = resolve_time(resp, onset, "onset")
    off = resolve_time(resp, offset, "offset")
    b = resolve_baseline(resp, baseline, on, baseline_window)
    level = window_mean(resp, off - dt, off) - b
    tail = summed_response(resp, onset=off, baseline=b)
    return finish((tail / level).where(level > 0), "decay_time", "decay time after offset", "ms")

"""Repetition suppression and its recovery with the inter-stimulus interval.

Definitions (two presentations with onsets ``onset`` and ``onset2``, ms):

- first peak ``P1 = max(r) - b`` over ``[onset, onset2)``; second peak ``P2 = max(r) - b2``
  over ``[onset2, onset2 + (onset2 - onset))`` (a window as long as the first), where ``b``
  is the pre-stimulus baseline and ``b2 = b`` (``second_baseline="pre"``) or the response
  in the step before ``onset2`` (``"local"``, discounting the residue of the first response).
- repetition suppression ratio ``P2 / P1`` (1 = no suppression); NaN where ``P1 <= 0``.
- recovery: the ratio averaged per ``interval`` and the fit
  ``ratio(i) = r_inf - (r_inf - r0) exp(-i / tau)``, with ``tau`` the recovery time
  constant in ms, ``r0`` the ratio extrapolated to a zero interval and ``r_inf`` the
  asymptote.

Example:
    >>> import numpy as np, xarray as xr
    >>> t = np.arange(0.0, 100.0)
    >>> bump = lambda c, a: a * np.exp(-0.5 * ((t - c) / 3) ** 2)
    >>> r = xr.DataArray(bump(30, 1.0) + bump(70, 0.6), dims="time", coords={"time": t})
    >>> round(float(repetition_suppression(r, onset=20.0, onset2=60.0)), 3)
    0.6
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from dynvision.analysis.core import (
    Time,
    Window,
    by_condition,
    finish,
    fit_over,
    resolve_baseline,
    resolve_time,
    time_values,
    uniform_dt,
    window_max,
    window_mean,
)
from dynvision.registry import check_choice


def repetition_suppression(
    resp: xr.DataArray,
    *,
    onset: Time = "stim_onset",
    onset2: Time = "onset2",
    baseline: str | float | xr.DataArray = "pre",
    baseline_window: Window = (None, 0.0),
    second_baseline: str = "pre",
) -> xr.DataArray:
    """Second over first peak response ``P2 / P1`` of a repeated stimulus.

    Args:
        resp: Response with a ``time`` dim in ms.
        onset: First onset (ms, coordinate name or DataArray).
        onset2: Second onset (ms, coordinate name or DataArray).
        baseline: ``"pre"``, a number or a DataArray (the level of ``P1``).
        baseline_window: ``(start, stop)`` ms relative to ``onset``.
        second_baseline: ``"pre"`` or ``"local"`` (see the module docstring).

    Example:
        >>> t = np.arange(0.0, 10.0)
        >>> r = xr.DataArray([0, 0, 2, 1, 0, 0, 1, 0.5, 0, 0], dims="time", coords={"time": t})
        >>> float(repetition_suppression(r, onset=2.0, onset2=6.0))
        0.5
    """
    check_choice("second baseline", second_baseline, ["pre", "local"])
    on = resolve_time(resp, onset, "onset")
    on2 = resolve_time(resp, onset2, "onset2")
    b = resolve_baseline(resp, baseline, on, baseline_window)
    p1, _ = window_max(resp, on, on2)
    p2, _ = window_max(resp, on2, on2 + (on2 - on))
    b2 = b
    if second_baseline == "local":
        dt = uniform_dt(time_values(resp))
        b2 = window_mean(resp, on2 - dt, on2)
    P1 = (p1 - b).where(p1 > b)
    out = (p2 - b2) / P1
    return finish(
        out,
        "repetition_suppression",
        "second / first peak response",
        "1",
        second_baseline=second_baseline,
    )


def recovery_curve(i, r0, r_inf, tau):
    """The recovery model fitted by :func:`recovery`: ``r_inf - (r_inf - r0) exp(-i / tau)``.

    Example:
        >>> round(float(recovery_curve(0.0, 0.2, 1.0, 30.0)), 6)
        0.2
    """
    return r_inf - (r_inf - r0) * np.exp(-np.asarray(i) / tau)


def _guess(x: np.ndarray, y: np.ndarray):
    order = np.argsort(x)
    x, y = x[order], y[order]
    span = float(np.ptp(y)) or 1.0
    half = (y[0] + y[-1]) / 2
    k = int(np.argmax((y - half) * np.sign(y[-1] - y[0] or 1.0) >= 0))
    tau = max(float(x[k]) / np.log(2), 1e-3) if x[k] > 0 else max(float(np.median(x)), 1e-3)
    x_max = max(float(x.max()), 1e-3)
    lower = [float(y.min()) - 2 * span, float(y.min()) - span, 1e-3 * x_max / 1e3]
    upper = [float(y.max()) + 2 * span, float(y.max()) + span, 1e2 * x_max]
    p0 = [float(y[0]), float(y[-1]), float(np.clip(tau, lower[2] * 10, upper[2] / 10))]
    return p0, (lower, upper)


def recovery(
    resp: xr.DataArray, *, interval: str = "interval", **suppression_kwargs: Any
) -> xr.Dataset:
    """Repetition suppression ratio per interval and its exponential recovery fit.

    Args:
        resp: A response with a ``time`` dim (the ratio is computed with
            ``suppression_kwargs``) or ratios already. ``interval`` is a dim or a condition
            coordinate (samples with equal interval are averaged).
        interval: Name of the interval dim / coordinate (ms).
        **suppression_kwargs: Passed to :func:`repetition_suppression`.

    Returns:
        Dataset with ``ratio`` along ``interval`` and the fit ``tau`` (ms), ``r0``,
        ``r_inf``, ``r2`` and ``rmse``.

    Example:
        >>> i = np.array([10.0, 25.0, 50.0, 100.0, 200.0])
        >>> ratio = xr.DataArray(1 - 0.8 * np.exp(-i / 40), dims="interval",
        ...                      coords={"interval": i})
        >>> round(float(recovery(ratio).tau), 2)
        40.0
    """
    ratio = repetition_suppression(resp, **suppression_kwargs) if "time" in resp.dims else resp
    curve = by_condition(ratio, interval).transpose(..., interval)
    if curve.sizes[interval] < 3:
        raise ValueError(
            f"the recovery fit has 3 parameters and needs at least 3 intervals, got "
            f"{curve[interval].values.tolist()}"
        )
    fit = fit_over(curve, interval, recovery_curve, ("r0", "r_inf", "tau"), _guess)
    fit["ratio"] = curve.rename("ratio").assign_attrs(
        long_name="second / first peak response", units="1"
    )
    for name, long_name, units in [
        ("r0", "ratio extrapolated to zero interval", "1"),
        ("r_inf", "asymptotic ratio", "1"),
        ("tau", "recovery time constant", "ms"),
        ("r2", "coefficient of determination", "1"),
        ("rmse", "root mean square error", "1"),
    ]:
        fit[name].attrs = {"long_name": long_name, "units": units}
    fit.attrs = {"model": "r_inf - (r_inf - r0) exp(-interval / tau)"}
    return fit

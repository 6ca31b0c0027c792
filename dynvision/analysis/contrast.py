"""Contrast response: Naka-Rushton fits and latency as a function of contrast.

Naka-Rushton: ``r(c) = r_max c^n / (c^n + c50^n) + baseline`` with ``c`` the contrast in
[0, 1], ``c50`` the semi-saturation contrast and ``n`` the exponent. The fit is a bounded
least-squares fit (``scipy.optimize.curve_fit``) of a response measure averaged per contrast.
Initial guess: ``baseline`` = response at the lowest contrast, ``r_max`` = max - baseline,
``c50`` = the contrast where the response first reaches half-way (linear interpolation),
``n = 2``. Bounds: ``r_max >= 0``, ``1e-4 <= c50 <= 10 max(c)``, ``0.1 <= n <= 20``,
baseline within the data range widened by its span. Quality: ``r2`` (coefficient of
determination) and ``rmse``.

Example:
    >>> import numpy as np, xarray as xr
    >>> c = np.array([0.0, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0])
    >>> r = xr.DataArray(naka_rushton(c, 2.0, 0.2, 2.5, 0.1), dims="contrast",
    ...                  coords={"contrast": c})
    >>> fit = fit_naka_rushton(r)
    >>> round(float(fit.c50), 3), round(float(fit.n), 2)
    (0.2, 2.5)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from dynvision.analysis.core import by_condition, fit_over
from dynvision.analysis.latency import onset_latency
from dynvision.analysis.metrics import compute

PARAMS = ("r_max", "c50", "n", "baseline")


def naka_rushton(c: Any, r_max: float, c50: float, n: float, baseline: float = 0.0) -> Any:
    """Evaluate ``r_max c^n / (c^n + c50^n) + baseline``.

    Example:
        >>> float(naka_rushton(0.3, r_max=1.0, c50=0.3, n=2.0))
        0.5
    """
    cn = np.power(np.clip(c, 0.0, None), n)
    return r_max * cn / (cn + np.power(c50, n)) + baseline


def _guess(x: np.ndarray, y: np.ndarray):
    order = np.argsort(x)
    x, y = x[order], y[order]
    base = float(y[0])
    span = float(np.ptp(y)) or 1.0
    r_max = max(float(y.max()) - base, 1e-6)
    reached = np.maximum.accumulate(y) >= base + r_max / 2
    k = int(np.argmax(reached))
    if k > 0 and y[k] != y[k - 1]:
        c50 = x[k - 1] + (base + r_max / 2 - y[k - 1]) / (y[k] - y[k - 1]) * (x[k] - x[k - 1])
    else:
        c50 = x[k]
    c_hi = 10 * max(float(x.max()), 1e-3)
    c50 = float(np.clip(c50, 2e-4, c_hi / 2))
    lower = [0.0, 1e-4, 0.1, float(y.min()) - span]
    upper = [np.inf, c_hi, 20.0, float(y.max()) + span]
    return [r_max, c50, 2.0, base], (lower, upper)


def fit_naka_rushton(
    resp: xr.DataArray,
    *,
    contrast: str = "contrast",
    measure: str = "peak_height",
    **measure_kwargs: Any,
) -> xr.Dataset:
    """Fit a Naka-Rushton function to a response measure across contrasts.

    Args:
        resp: Either a measure per condition (no ``time`` dim) or a response with a ``time``
            dim, from which ``measure`` is computed first. ``contrast`` is a dim or a
            condition coordinate (then samples with equal contrast are averaged).
        contrast: Name of the contrast dim / coordinate.
        measure: Metric from :data:`~dynvision.analysis.metrics.METRICS` used when ``resp``
            has a ``time`` dim.
        **measure_kwargs: Passed to the metric (``onset=...``).

    Returns:
        Dataset with ``response`` (the averaged measure along ``contrast``), ``r_max``,
        ``c50``, ``n``, ``baseline``, ``r2`` and ``rmse`` for every other index.

    Example:
        >>> c = xr.DataArray([0.0, 0.1, 0.3, 0.6, 1.0], dims="contrast")
        >>> r = naka_rushton(c.assign_coords(contrast=c.values), 1.0, 0.3, 2.0)
        >>> round(float(fit_naka_rushton(r).r2), 3)
        1.0
    """
    measured = compute(measure, resp, **measure_kwargs) if "time" in resp.dims else resp
    curve = by_condition(measured, contrast).transpose(..., contrast)
    if curve.sizes[contrast] < len(PARAMS):
        raise ValueError(
            f"a Naka-Rushton fit has {len(PARAMS)} parameters and needs at least {len(PARAMS)} "
            f"contrasts, got {curve.sizes[contrast]}: {curve[contrast].values.tolist()}"
        )
    if float(curve[contrast].min()) < 0:
        raise ValueError(f"contrasts must be >= 0, got min {float(curve[contrast].min()):g}")
    fit = fit_over(curve, contrast, naka_rushton, PARAMS, _guess)
    units = measured.attrs.get("units", "a.u.")
    fit["response"] = curve.rename("response")
    for name, long_name, unit in [
        ("r_max", "maximal response above baseline", units),
        ("c50", "semi-saturation contrast", "1"),
        ("n", "Naka-Rushton exponent", "1"),
        ("baseline", "response at zero contrast", units),
        ("r2", "coefficient of determination", "1"),
        ("rmse", "root mean square error", units),
    ]:
        fit[name].attrs = {"long_name": long_name, "units": unit}
    fit.attrs = {"model": "r_max c^n / (c^n + c50^n) + baseline", "measure": measure}
    return fit


def latency_vs_contrast(
    resp: xr.DataArray, *, contrast: str = "contrast", **latency_kwargs: Any
) -> xr.DataArray:
    """Onset latency (see :func:`~dynvision.analysis.onset_latency`) averaged per contrast.

    Example:
        >>> t = np.arange(0.0, 40.0)
        >>> ramps = [np.clip((t - 10) * c, 0, None) for c in (0.5, 1.0)]
        >>> r = xr.DataArray(np.minimum(ramps, 5.0), dims=("sample", "time"),
        ...                  coords={"time": t, "contrast": ("sample", [0.5, 1.0])})
        >>> latency_vs_contrast(r, onset=10.0).values.tolist()  # half of 5 reached at 5 and 2.5 ms
        [5.0, 2.5]
    """
    lat = onset_latency(resp, **latency_kwargs)
    out = by_condition(lat, contrast)
    out.attrs = dict(lat.attrs)
    return out.rename("onset_latency")

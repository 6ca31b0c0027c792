"""Figures of each experiment's metrics: adaptation, contrast, duration and interval responses.

Every function takes an :class:`~dynvision.experiments.ExperimentResult` (or its
``metrics`` Dataset, except :func:`adaptation`, which also draws time courses), averages
over images and draws; fitted curves are evaluated with the analysis functions from the
fitted parameters stored in the metrics (``nr_*`` for Naka-Rushton, ``recovery_*`` for the
exponential recovery), so a figure shows exactly what the analysis fitted.

Example:
    >>> from dynvision.views.experiments import contrast_response
    >>> fig = contrast_response(result)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import xarray as xr

from dynvision.views import data as D
from dynvision.views._hv import hv, layout
from dynvision.views.timecourses import response_timecourses
from dynvision.views.tuning import area_bars, condition_panels

_NR = {"nr_r_max": "r_max", "nr_c50": "c50", "nr_n": "n", "nr_baseline": "baseline", "nr_r2": "r2"}
_RECOVERY = {"recovery_r0": "r0", "recovery_r_inf": "r_inf", "recovery_tau": "tau", "recovery_r2": "r2"}


def _metrics(result: Any) -> xr.Dataset:
    metrics = getattr(result, "metrics", result)
    if not isinstance(metrics, xr.Dataset):
        raise TypeError(f"expected an ExperimentResult or its metrics Dataset, got {type(result).__name__}")
    return metrics


def _need(metrics: xr.Dataset, names: Sequence[str], what: str) -> None:
    missing = [n for n in names if n not in metrics]
    if missing:
        raise ValueError(f"{what} needs the metrics {missing}; this result has {sorted(metrics.data_vars)}")


def _params(metrics: xr.Dataset, names: dict[str, str]) -> xr.Dataset | None:
    have = [k for k in names if k in metrics]
    return metrics[have].rename({k: names[k] for k in have}) if have else None


def _grid(values: np.ndarray, name: str, log: bool, start: float | None = None) -> xr.DataArray:
    lo, hi = (float(np.min(values)) if start is None else start), float(np.max(values))
    x = np.geomspace(lo, hi, 121) if log else np.linspace(lo, hi, 121)
    return xr.DataArray(x, dims=name, coords={name: x})


def naka_rushton_curve(metrics: xr.Dataset) -> xr.DataArray:
    """The fitted Naka-Rushton function ``(model, area, contrast)`` on a grid from 0 to the top contrast.

    Example:
        >>> curve = naka_rushton_curve(result.metrics)  # doctest: +SKIP
    """
    from dynvision.analysis import naka_rushton

    _need(metrics, list(_NR)[:4], "the Naka-Rushton curve")
    c = _grid(metrics["contrast"].values, "contrast", False, start=0.0)
    out = naka_rushton(c, metrics["nr_r_max"], metrics["nr_c50"], metrics["nr_n"], metrics["nr_baseline"])
    return out.transpose(..., "contrast").rename("peak_height")


def recovery_curve(metrics: xr.Dataset) -> xr.DataArray:
    """The fitted recovery ``r_inf - (r_inf - r0) exp(-interval / tau)`` ``(model, area, interval)``.

    Example:
        >>> curve = recovery_curve(result.metrics)  # doctest: +SKIP
    """
    from dynvision.analysis import recovery_curve

    _need(metrics, list(_RECOVERY)[:3], "the recovery curve")
    i = _grid(metrics["interval"].values, "interval", True)
    i, r0, r_inf, tau = xr.broadcast(i, *(metrics[f"recovery_{k}"] for k in ("r0", "r_inf", "tau")))
    out = i.copy(data=recovery_curve(i.values, r0.values, r_inf.values, tau.values))
    return out.transpose(..., "interval").rename("suppression")


def _rows(rows: list[list], title: str):
    cols = max(len(r) for r in rows) if any(len(r) > 1 for r in rows) else len(rows)
    return layout([p for r in rows for p in r], cols, title)


def contrast_response(result: Any, *, measure: str = "peak_height", color_by: str | None = None,
                      models: Sequence[str] | None = None, areas: Sequence[str] | None = None, title: str = ""):
    """Peak response vs contrast per area, with the Naka-Rushton fit (hover shows c50, n, r2).

    Example:
        >>> fig = contrast_response(result, color_by="model")  # doctest: +SKIP
    """
    metrics = _metrics(result)
    _need(metrics, [measure], "the contrast response")
    fit = naka_rushton_curve(metrics) if measure == "peak_height" and "nr_c50" in metrics else None
    panels = condition_panels(D.image_mean(metrics[measure]), "contrast", fit=fit,
                              fit_params=_params(metrics, _NR) if fit is not None else None,
                              color_by=color_by, models=models, areas=areas)
    return _rows([panels], title or "contrast response")


def contrast_latency(result: Any, *, measures: Sequence[str] = ("onset_latency", "peak_time"),
                     color_by: str | None = None, models: Sequence[str] | None = None,
                     areas: Sequence[str] | None = None, title: str = ""):
    """Onset latency and peak time vs contrast (one row per measure).

    Example:
        >>> fig = contrast_latency(result)  # doctest: +SKIP
    """
    metrics = _metrics(result)
    _need(metrics, measures, "the latency figure")
    rows = [condition_panels(D.image_mean(metrics[m]), "contrast", color_by=color_by, models=models, areas=areas)
            for m in measures]
    return _rows(rows, title or "latency vs contrast")


def duration_response(result: Any, *, measures: Sequence[str] = ("total_response", "summation_ratio",
                                                                 "offset_response"),
                      color_by: str | None = None, models: Sequence[str] | None = None,
                      areas: Sequence[str] | None = None, title: str = ""):
    """Summed response, summation ratio (1 = linear) and offset response vs duration.

    Example:
        >>> fig = duration_response(result)  # doctest: +SKIP
    """
    metrics = _metrics(result)
    _need(metrics, measures, "the duration response")
    rows = []
    for m in measures:
        params = _params(metrics, {"summation_exponent": "exponent"}) if m == "summation_ratio" else None
        rows.append(condition_panels(D.image_mean(metrics[m]), "duration", fit_params=params, logx=True,
                                     reference=1.0 if m == "summation_ratio" else None, color_by=color_by,
                                     models=models, areas=areas))
    return _rows(rows, title or "duration response")


def interval_response(result: Any, *, color_by: str | None = None, models: Sequence[str] | None = None,
                      areas: Sequence[str] | None = None, title: str = ""):
    """Second / first peak ratio vs interval with the exponential recovery fit (hover shows tau).

    Example:
        >>> fig = interval_response(result)  # doctest: +SKIP
    """
    metrics = _metrics(result)
    _need(metrics, ["suppression"], "the interval response")
    fit = recovery_curve(metrics) if "recovery_tau" in metrics else None
    panels = condition_panels(D.image_mean(metrics["suppression"]), "interval", fit=fit,
                              fit_params=_params(metrics, _RECOVERY) if fit is not None else None,
                              logx=True, reference=1.0, color_by=color_by, models=models, areas=areas)
    return _rows([panels], title or "repetition suppression and recovery")


def area_properties(result: Any, *, measures: Sequence[str] = ("onset_latency", "peak_time", "response_duration"),
                    models: Sequence[str] | None = None, areas: Sequence[str] | None = None, title: str = ""):
    """Response properties per area (V1 -> IT), bars grouped by model (mean over images).

    Example:
        >>> fig = area_properties(result)  # doctest: +SKIP
    """
    metrics = _metrics(result)
    _need(metrics, measures, "the area properties")
    bars = [area_bars(metrics[m], models=models, areas=areas) for m in measures]
    return layout(bars, len(bars), title or "response properties per area")


def adaptation(result: Any, *, measures: Sequence[str] = ("adaptation_index", "sustained_ratio"),
               models: Sequence[str] | None = None, areas: Sequence[str] | None = None, title: str = ""):
    """Adaptation: time courses per area and the adaptation index / sustained ratio per area.

    Example:
        >>> fig = adaptation(result)  # doctest: +SKIP
    """
    metrics = _metrics(result)
    _need(metrics, measures, "the adaptation figure")
    tc = response_timecourses(result.responses, models=models, areas=areas)
    row1 = list(tc) if isinstance(tc, hv().Layout) else [tc]
    row2 = [area_bars(metrics[m], models=models, areas=areas) for m in measures]
    return _rows([row1, row2], title or "adaptation")


__all__ = ["contrast_response", "contrast_latency", "duration_response", "interval_response",
           "area_properties", "adaptation", "naka_rushton_curve", "recovery_curve"]

"""Building blocks for metric figures: a metric against a condition, and a metric per area.

:func:`condition_curves` draws a metric (averaged over images) against a condition
(contrast, duration, interval), with an optional fitted curve evaluated by the caller with
an analysis function. ``color_by="area"`` gives one panel per model with a colour per area;
``color_by="model"`` one panel per area with a colour per model (the default when there
are several models), which is how recurrence types are compared. :func:`area_bars` draws a
metric per area (hierarchy order), grouped by model.

Example:
    >>> from dynvision.views.tuning import condition_curves
    >>> fig = condition_curves(result.metrics["peak_height"].mean("image"), "contrast")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from dynvision.registry import check_choice
from dynvision.views import data as D
from dynvision.views._hv import (AREA_COLORS, MODEL_COLORS, hline, hv, layout, legend_last, line, palette,
                                 panel, styled)


CONDITION_UNITS = {"duration": "ms", "interval": "ms"}
"""Units of the conditions whose coordinates carry none."""


def _vdim(da: xr.DataArray, name: str):
    unit = da.attrs.get("units")
    label = da.attrs.get("long_name", name).replace("_", " ")
    label = label.split(" (")[0] if len(label) > 32 else label
    return hv().Dimension(name, label=label, unit=None if unit in (None, "1") else unit)


def _no_minor_labels(plot, element) -> None:
    from matplotlib.ticker import NullFormatter

    plot.handles["axis"].xaxis.set_minor_formatter(NullFormatter())


def _series(pts: xr.DataArray, fit: xr.DataArray | None, info: dict, label: str, color: str, dims):
    h = hv()
    x, y = dims
    df = pd.DataFrame({x.name: pts[x.name].values, y.name: np.asarray(pts.values, float), **info})
    extra = list(info)
    marks = styled(h.Scatter(df, x, [y, *extra], label=label), {"color": color},
                   bokeh={"size": 7, "tools": ["hover"]}, mpl={"s": 25})
    if fit is not None:  # the line is the fit; without one it joins the points
        df = pd.DataFrame({x.name: fit[x.name].values, y.name: np.asarray(fit.values, float), **info})
    return [line(h.Curve(df, x, [y, *extra], label=label), color), marks]


def condition_panels(points: xr.DataArray, condition: str, *, fit: xr.DataArray | None = None,
                     fit_params: xr.Dataset | None = None, color_by: str | None = None,
                     models: Sequence[str] | None = None, areas: Sequence[str] | None = None,
                     logx: bool = False, reference: float | None = None, name: str | None = None) -> list:
    """The panels of :func:`condition_curves` (a list, to combine several metrics in one Layout)."""
    h = hv()
    pts = D.pick(points, models, areas)
    fit = D.pick(fit, models, areas) if fit is not None else None
    names, area_list = D.model_names(pts), D.area_names(pts)
    color_by = color_by or ("model" if len(names) > 1 else "area")
    check_choice("color_by", color_by, ("area", "model"))
    name = name or str(points.name)
    unit = D.units(pts[condition], "") or CONDITION_UNITS.get(condition)
    dims = (h.Dimension(condition, unit=unit), _vdim(points, name))
    a_col, m_col = palette(area_list, AREA_COLORS), palette(names, MODEL_COLORS)
    outer, inner = (names, area_list) if color_by == "area" else (area_list, names)
    panels = []
    for o in outer:
        layers = []
        for i, j in enumerate(inner):
            m, a = (o, j) if color_by == "area" else (j, o)
            sel = {"area": a, **({"model": m} if "model" in pts.dims else {})}
            info = {"area": a, "model": m}
            if fit_params is not None:
                p = fit_params.sel({k: v for k, v in sel.items() if k in fit_params.dims})
                info.update({k: float(p[k]) for k in p.data_vars})
            color = a_col[a] if color_by == "area" else m_col[m]
            layers += _series(pts.sel(sel), None if fit is None else fit.sel(sel), info, str(j), color, dims)
        if reference is not None:
            layers.append(hline(reference, kdims=dims))
        title = o if (color_by == "model" or len(outer) > 1) else ""
        overlay = panel(h.Overlay(layers), title, logx=logx)
        if logx:  # label the conditions themselves, not the decades
            ticks = [(v, f"{v:g}") for v in D.condition_values(pts, condition)]
            overlay = styled(overlay, {"xticks": ticks}, mpl={"hooks": [_no_minor_labels]})
        panels.append(overlay)
    return legend_last(panels)


def condition_curves(points: xr.DataArray, condition: str, *, fit: xr.DataArray | None = None,
                     fit_params: xr.Dataset | None = None, color_by: str | None = None,
                     models: Sequence[str] | None = None, areas: Sequence[str] | None = None,
                     logx: bool = False, reference: float | None = None, title: str = ""):
    """A metric against a condition, per area and model, with an optional fitted curve.

    Args:
        points: The metric ``(model, area, condition)``, already averaged over images.
        condition: The condition dim (x axis).
        fit: The fitted function evaluated on a fine grid along ``condition`` (same other dims).
        fit_params: Fit parameters ``(model, area)``, shown when hovering a series.
        color_by: ``"area"`` (a panel per model) or ``"model"`` (a panel per area).
        models: Models to show (default all).
        areas: Areas to show (default all).
        logx: Logarithmic condition axis (durations, intervals).
        reference: Draw a dashed horizontal line at this value (e.g. 1 for ratios).
        title: Figure title.

    Example:
        >>> fig = condition_curves(metrics["peak_height"].mean("image"), "contrast")  # doctest: +SKIP
    """
    panels = condition_panels(points, condition, fit=fit, fit_params=fit_params, color_by=color_by,
                              models=models, areas=areas, logx=logx, reference=reference)
    return layout(panels, len(panels), title) if len(panels) > 1 or title else panels[0]


def area_bars(metric: xr.DataArray, *, models: Sequence[str] | None = None,
              areas: Sequence[str] | None = None, name: str | None = None):
    """A metric per area (hierarchy order; mean over images), bars grouped by model.

    Dims other than ``model``, ``area`` and ``image`` (a condition) become the key of a
    HoloMap, one frame per value.

    Example:
        >>> fig = area_bars(result.metrics["adaptation_index"])  # doctest: +SKIP
    """
    h = hv()
    da = D.image_mean(D.pick(metric, models, areas))
    name = name or str(metric.name)
    names, area_list = D.model_names(da), D.area_names(da)
    vdim = _vdim(metric, name)
    colors = palette(names, MODEL_COLORS) if len(names) > 1 else palette(area_list, AREA_COLORS)

    def bars(sel: xr.DataArray):
        rows = [{"area": a, "model": m, name: float(sel.sel(area=a, **({"model": m} if "model" in sel.dims
                                                                          else {})))}
                for a in area_list for m in names]
        size = {"frame_width": 300, "frame_height": 200, "tools": ["hover"]}
        if len(names) == 1:
            b = h.Bars(pd.DataFrame(rows), ["area"], [vdim, "model"])
            return styled(b, {"color": h.dim("area").categorize(colors), "title": vdim.label},
                          bokeh=size, mpl={"aspect": 1.5})
        b = h.Bars(pd.DataFrame(rows), ["area", "model"], [vdim])  # grouped; the legend names the models
        return styled(b, {"multi_level": False, "legend_position": "right", "title": vdim.label},
                      bokeh={"color": h.dim("model").categorize(colors), **size},
                      mpl={"color": h.Cycle([colors[m] for m in names]), "aspect": 1.5})

    extra = [d for d in da.dims if d not in ("model", "area")]
    if not extra:
        return bars(da)
    key = extra[0]
    rest = [d for d in extra[1:]]
    if rest:
        da = da.mean(rest)
    return h.HoloMap({float(v): bars(da.sel({key: v})) for v in da[key].values}, kdims=[key])


__all__ = ["condition_curves", "condition_panels", "area_bars"]

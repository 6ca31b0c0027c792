"""Building blocks for metric figures: a metric against a condition, and a metric per area.

:func:`condition_curves` draws a metric against a condition (contrast, duration, interval):
points are the mean over images with ± s.e.m. error bars; a fitted curve (evaluated from the
stored parameters, see :class:`~dynvision.experiments.contract.Fit`) is drawn as a line and
named in the legend; without a fit, a thin line joins the points. ``color_by="area"`` gives
one panel per model with a colour per area; ``color_by="model"`` one panel per area with a
colour per model (the default when there are several models), which is how recurrence types
are compared. :func:`area_bars` draws a metric per area (hierarchy order), grouped by model,
with ± s.e.m. error bars.

Example:
    >>> from dynvision.views.tuning import condition_curves
    >>> fig = condition_curves(result.metrics["peak_height"], "contrast")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from dynvision.registry import check_choice
from dynvision.views import data as D
from dynvision.views._hv import AREA_COLORS, MODEL_COLORS, errorbars, grid, hline, hv, line, palette, panel, styled

CONDITION_UNITS = {"duration": "ms", "interval": "ms"}
"""Units of the conditions whose coordinates carry none."""
POINTS_LABEL = "● mean ± s.e.m."


def vdim(da: xr.DataArray, name: str, metric: Any = None):
    """The value dimension of a metric: its declared label and units (or its attrs)."""
    if metric is not None:
        unit = metric.units if metric.units not in ("", "1") else None
        return hv().Dimension(name, label=metric.label, unit=unit)
    unit = da.attrs.get("units")
    label = da.attrs.get("long_name", name).replace("_", " ")
    label = label.split(" (")[0] if len(label) > 28 else label
    return hv().Dimension(name, label=label, unit=None if unit in (None, "1") else unit)


def _no_minor_labels(plot, element) -> None:
    from matplotlib.ticker import NullFormatter

    plot.handles["axis"].xaxis.set_minor_formatter(NullFormatter())


def _series(mean: xr.DataArray, err: xr.DataArray | None, fit: xr.DataArray | None, info: dict, label: str,
            color: str, dims):
    """Points (mean, hover info), their error bars, and the fitted curve or a joining line
    (points and line share the label: one legend entry)."""
    h = hv()
    x, y = dims
    xs, ys = np.asarray(mean[x.name].values, float), np.asarray(mean.values, float)
    df = pd.DataFrame({x.name: xs, y.name: ys, **info})
    extra = list(info)
    out = []
    if err is not None and np.isfinite(np.asarray(err.values, float)).any():
        e = np.nan_to_num(np.asarray(err.values, float))
        out.append(errorbars(h.ErrorBars((xs, ys, e), x, [y, "error"]), color))
    marks = styled(h.Scatter(df, x, [y, *extra], label=label), {"color": color},
                   bokeh={"size": 7, "tools": ["hover"]}, mpl={"s": 22})
    if fit is not None:
        fdf = pd.DataFrame({x.name: fit[x.name].values, y.name: np.asarray(fit.values, float), **info})
        curve = line(h.Curve(fdf, x, [y, *extra], label=label), color)
    else:
        curve = line(h.Curve(df, x, [y, *extra], label=label), color, width=1.0)
    return [*out, curve, marks]


def condition_panels(points: xr.DataArray, condition: str, *, fit: xr.DataArray | None = None,
                     fit_params: xr.Dataset | None = None, fit_label: str | None = None,
                     color_by: str | None = None, models: Sequence[str] | None = None,
                     areas: Sequence[str] | None = None, logx: bool = False, reference: float | None = None,
                     name: str | None = None, metric: Any = None,
                     fit_key: str | None = None) -> tuple[list, list[str], str]:
    """The panels of :func:`condition_curves`, their legend labels and the legend's title (to
    combine several metrics in one figure).

    ``points`` may keep its ``image`` dim: the points are then the mean over images with
    ± s.e.m. error bars. ``fit_key`` names a fit drawn in another panel of the same figure:
    these panels then carry its legend entry too, since the figure's one legend may sit beside
    any of them.
    """
    h = hv()
    pts = D.pick(points, models, areas)
    mean, err = D.image_stats(pts)
    fit = D.pick(fit, models, areas) if fit is not None else None
    names, area_list = D.model_names(mean), D.area_names(mean)
    short, setting = D.short_names(names)
    color_by = color_by or ("model" if len(names) > 1 else "area")
    check_choice("color_by", color_by, ("area", "model"))
    name = name or str(points.name)
    unit = D.units(mean[condition], "") or CONDITION_UNITS.get(condition)
    dims = (h.Dimension(condition, unit=unit), vdim(points, name, metric))
    a_col, m_col = palette(area_list, AREA_COLORS), palette(names, MODEL_COLORS)
    key_label = fit_label if fit is not None and fit_label else fit_key  # the legend's name for the lines
    outer, inner = (names, area_list) if color_by == "area" else (area_list, names)
    panels = []
    for o in outer:
        layers = []
        for j in inner:
            m, a = (o, j) if color_by == "area" else (j, o)
            sel = {"area": a, **({"model": m} if "model" in mean.dims else {})}
            info = {"area": a, "model": m}
            if fit_params is not None:
                p = fit_params.sel({k: v for k, v in sel.items() if k in fit_params.dims})
                info.update({k: float(p[k]) for k in p.data_vars})
            color = a_col[a] if color_by == "area" else m_col[m]
            layers += _series(mean.sel(sel), None if err is None else err.sel(sel),
                              None if fit is None else fit.sel(sel), info, short.get(j, str(j)), color, dims)
        if key_label:  # a legend entry that names the lines
            x0 = float(mean[condition].values[0])
            key = h.Curve(([x0], [float(np.nanmean(mean.values))]), dims[0], dims[1], label=key_label)
            layers.append(styled(key, {"color": "black"}, bokeh={"line_width": 2}, mpl={"linewidth": 1.5}))
        if reference is not None:
            layers.append(hline(reference, kdims=dims))
        title = short.get(o, str(o)) if (color_by == "model" or len(outer) > 1) else ""
        overlay = panel(h.Overlay(layers), title, logx=logx)
        if logx:  # label the conditions themselves, not the decades
            ticks = [(v, f"{v:g}") for v in D.condition_values(mean, condition)]
            overlay = styled(overlay, {"xticks": ticks}, mpl={"hooks": [_no_minor_labels]})
        panels.append(overlay)
    legend = [short.get(j, str(j)) for j in inner] + ([key_label] if key_label else [])
    return panels, legend, (setting if color_by == "model" else "")


def condition_curves(points: xr.DataArray, condition: str, *, fit: xr.DataArray | None = None,
                     fit_params: xr.Dataset | None = None, fit_label: str | None = None,
                     color_by: str | None = None, models: Sequence[str] | None = None,
                     areas: Sequence[str] | None = None, logx: bool = False, reference: float | None = None,
                     title: str = ""):
    """A metric against a condition, per area and model, with an optional fitted curve.

    Args:
        points: The metric ``(model, area, condition[, image])``: with ``image``, points
            are the mean over images with ± s.e.m. error bars.
        condition: The condition dim (x axis).
        fit: The fitted function evaluated on a fine grid along ``condition`` (same other dims).
        fit_params: Fit parameters ``(model, area)``, shown when hovering a series.
        fit_label: What the legend calls the fitted curve ("Naka-Rushton fit").
        color_by: ``"area"`` (a panel per model) or ``"model"`` (a panel per area).
        models: Models to show (default all).
        areas: Areas to show (default all).
        logx: Logarithmic condition axis (durations, intervals).
        reference: Draw a dashed horizontal line at this value (e.g. 1 for ratios).
        title: Figure title.

    Example:
        >>> fig = condition_curves(metrics["peak_height"], "contrast")  # doctest: +SKIP
    """
    panels, legend, setting = condition_panels(points, condition, fit=fit, fit_params=fit_params,
                                               fit_label=fit_label, color_by=color_by, models=models, areas=areas,
                                               logx=logx, reference=reference)
    return grid(panels, title, legend=legend, legend_title=setting)


def area_bars(metric: xr.DataArray, *, models: Sequence[str] | None = None,
              areas: Sequence[str] | None = None, name: str | None = None, spec: Any = None):
    """A metric per area (hierarchy order; mean over images ± s.e.m.), bars grouped by model.

    Bars are rectangles on a numeric axis labelled with the areas (so that error bars can
    sit on every bar of a group); each model is one element, named in the legend. Dims
    other than ``model``, ``area`` and ``image`` (a condition) become the key of a HoloMap,
    one frame per value (the widget starts at the largest).

    Example:
        >>> fig = area_bars(result.metrics["adaptation_index"])  # doctest: +SKIP
    """
    h = hv()
    da = D.pick(metric, models, areas)
    name = name or str(metric.name)
    names, area_list = D.model_names(da), D.area_names(da)
    short, _ = D.short_names(names)
    dim = vdim(metric, name, spec)
    single = len(names) == 1
    colors = palette(area_list, AREA_COLORS) if single else palette(names, MODEL_COLORS)
    width = 0.8 / max(len(names), 1)
    xdim = h.Dimension("area_position", label="areas")  # not "area": that is the hover column
    ticks = [(i, a) for i, a in enumerate(area_list)]

    def bars(sel: xr.DataArray):
        mean, err = D.image_stats(sel)
        layers = []
        for k, m in enumerate(names):
            rows = []
            for i, a in enumerate(area_list):
                pick = {"area": a, **({"model": m} if "model" in mean.dims else {})}
                x = i + (k - (len(names) - 1) / 2) * width
                value = float(mean.sel(pick))
                rows.append({xdim.name: x - width / 2, name: 0.0, "x1": x + width / 2, "y1": value, "mean": value,
                             "error": float(err.sel(pick)) if err is not None else np.nan, "area": a, "model": m,
                             "x": x})
            df = pd.DataFrame(rows)
            rect = h.Rectangles(df, [xdim, dim, "x1", "y1"], ["mean", "error", "area", "model"],
                                label="" if single else short[m])
            color = {"color": h.dim("area").categorize(colors)} if single else {"color": colors[m]}
            layers.append(styled(rect, color, bokeh={"tools": ["hover"], "line_color": "white", "line_width": 0.5},
                                 mpl={"edgecolor": "white", "linewidth": 0.5}))
            if err is not None and np.isfinite(df["error"]).any():
                eb = h.ErrorBars((df["x"], df["mean"], np.nan_to_num(df["error"].to_numpy())), xdim, [dim, "error"])
                layers.append(styled(eb, {"color": "black"},
                                     bokeh={"line_width": 1.2, "lower_head": None, "upper_head": None},
                                     mpl={"linewidth": 0.8, "capsize": 0}))
        overlay = h.Overlay(layers)
        return panel(overlay, dim.label, xticks=ticks, xlim=(-0.6, len(area_list) - 0.4), ylabel=dim.pprint_label,
                     show_grid=False)

    extra = [d for d in da.dims if d not in ("model", "area", "image")]
    if not extra:
        return bars(da)
    key = extra[0]
    rest = [d for d in extra[1:]]
    if rest:
        da = da.mean(rest)
    values = [float(v) for v in da[key].values]
    return h.HoloMap({v: bars(da.sel({key: v})) for v in values},
                     kdims=[h.Dimension(key, default=max(values))])


__all__ = ["POINTS_LABEL", "area_bars", "condition_curves", "condition_panels", "vdim"]

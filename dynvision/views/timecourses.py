"""Time courses: area responses (V1 -> IT) and the classifier's read-out over time.

Curves are the mean over images, with a band of ± one standard error across images;
they are coloured by area in hierarchy order (see :mod:`dynvision.views._hv`). Time runs from
stimulus onset (``time_axis="onset"``, where all samples share one onset) and the stimulus
is shaded grey. A black triangle on each curve marks the area's onset latency (the legend
says so). Hovering a curve shows time, response, area, model and condition. Several models
appear as one panel each (shared axes: zooming one zooms all) or overlaid in one panel with
a line style per model (``overlay_models=True``).

Linked selection: where a figure varies with a condition (contrast, duration, interval) or
an area, each panel is a ``HoloMap`` keyed by it; HoloViews gives a Layout of HoloMaps with
the same key one shared widget, so choosing a contrast (or an area) updates every model's
panel together. The widget starts at the strongest condition (the largest value).

Example:
    >>> from dynvision.views.timecourses import response_timecourses
    >>> fig = response_timecourses(result.responses, condition="contrast")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from dynvision.registry import check_choice
from dynvision.views import data as D
from dynvision.views._hv import AREA_COLORS, MODEL_COLORS, band, grid, hv, line, palette, ramp, spans, styled
from dynvision.views._hv import panel as panel_opts

TIME_AXES = ("onset", "absolute")
LATENCY_LABEL = "onset latency"


class _Axis:
    """The x axis of a time-course figure: absolute time or time from stimulus onset."""

    def __init__(self, responses: xr.DataArray, mode: str, condition: str | None = None):
        check_choice("time_axis", mode, TIME_AXES)
        self.shift = D.onset(responses) if mode == "onset" else None
        h = hv()
        if self.shift is None:
            self.dim = h.Dimension("time", unit="ms")
        else:
            self.dim = h.Dimension("time_from_onset", label="time from stimulus onset", unit="ms")

    def __call__(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return t - self.shift if self.shift is not None else t

    def windows(self, windows: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        s = self.shift or 0.0
        return [(a - s, b - s) for a, b in windows]


def _curve(axis: _Axis, y: xr.DataArray, err: xr.DataArray | None, label: str, info: dict, resp_dim,
           extra: Sequence[str], color: str, i_dash: int = 0, width: float = 2.0, band_alpha: float = 0.18):
    """A mean curve (with hover info) and, when there is an error, its ± s.e.m. band."""
    h = hv()
    x = axis(y["time"].values)
    values = np.asarray(y.values, float)
    df = pd.DataFrame({axis.dim.name: x, resp_dim.name: values, **info})
    out = []
    if err is not None and np.isfinite(np.asarray(err.values, float)).any():
        e = np.nan_to_num(np.asarray(err.values, float))
        out.append(band(h.Spread((x, values, e), axis.dim, [resp_dim, "error"]), color, alpha=band_alpha))
    out.append(line(h.Curve(df, axis.dim, [resp_dim, *extra], label=label), color, i_dash=i_dash, width=width))
    return out


def _latency_marks(axis: _Axis, metrics, model, areas, curves: dict, onset, condition, value, resp_dim):
    """Triangles on each area's curve at its onset latency (mean over images)."""
    h = hv()
    if metrics is None or "onset_latency" not in metrics or onset is None:
        return []
    lat = D.image_mean(metrics["onset_latency"])
    if condition and condition in lat.dims and value is not None:
        lat = lat.sel({condition: value})
    if "model" in lat.dims:
        lat = lat.sel(model=model)
    rows = []
    for a in areas:
        t = float(lat.sel(area=a).mean())  # NaN skipped; NaN if none
        if np.isfinite(t) and a in curves:
            y = curves[a]
            at = float(np.interp(onset + t, y["time"].values, np.asarray(y.values, float)))
            rows.append({axis.dim.name: float(axis(onset + t)), resp_dim.name: at, "area": a,
                         "onset_latency": t})
    if not rows:
        return []
    marks = h.Scatter(pd.DataFrame(rows), axis.dim, [resp_dim, "area", "onset_latency"], label=LATENCY_LABEL)
    return [styled(marks, {"color": "black"},
                   bokeh={"marker": "inverted_triangle", "size": 9, "tools": ["hover"]},
                   mpl={"marker": "v", "s": 30})]


def _keyed(condition: str, values: list[float]):
    """The key dimension of a HoloMap over a condition: its widget starts at the largest value."""
    unit = {"duration": "ms", "interval": "ms"}.get(condition)
    return hv().Dimension(condition, unit=unit, default=max(values) if values else None)


def response_timecourses(responses: xr.DataArray, *, condition: str | None = None,
                         models: Sequence[str] | None = None, areas: Sequence[str] | None = None,
                         overlay_models: bool = False, metrics: xr.Dataset | None = None,
                         time_axis: str = "onset", errors: bool = True, title: str = ""):
    """Mean response of every area over time, one curve per area (V1 -> IT), ± s.e.m. across images.

    Args:
        responses: ``(model, area, sample, time)`` responses with stimulus coordinates.
        condition: A condition coordinate (``"contrast"``...): one frame per value, chosen with
            a widget shared by all panels (starting at the largest value); ``None`` averages
            over all samples.
        models: Models to show (default all), in this order.
        areas: Areas to show (default all), kept in hierarchy order.
        overlay_models: Overlay models in one panel (line style per model) instead of one
            panel per model.
        metrics: The experiment's metrics; if given, a triangle on each curve marks the
            area's onset latency (mean over images).
        time_axis: ``"onset"``: time from stimulus onset (where every sample has the same
            onset); ``"absolute"``: the stored time.
        errors: Draw the ± s.e.m. bands across images.
        title: Figure title.

    Returns:
        An Overlay, a HoloMap (with ``condition``) or a Layout with one panel per model.

    Example:
        >>> fig = response_timecourses(result.responses, condition="contrast")  # doctest: +SKIP
    """
    h = hv()
    resp = D.pick(responses, models, areas)
    means, errs = D.condition_stats(resp, condition)
    errs = errs if errors else None
    names, area_list = D.model_names(resp), D.area_names(resp)
    short, setting = D.short_names(names)
    colors = palette(area_list, AREA_COLORS)
    axis = _Axis(resp, time_axis)
    resp_dim = h.Dimension("response", unit=D.units(responses))
    extra = ["area", "model"] + ([condition] if condition else [])
    keys = D.condition_values(means, condition) if condition else [None]
    several = len(names) > 1

    def pick(da, m, value):
        if da is None:
            return None
        da = da.sel(model=m) if "model" in da.dims else da
        return da.sel({condition: value}) if value is not None else da

    def frame(model_list, value):
        layers, marks = [], []
        windows = D.stimulus_windows(resp, condition, value)
        for i, m in enumerate(model_list):
            sel, err = pick(means, m, value), pick(errs, m, value)
            info = {"model": m, **({condition: value} if condition else {})}
            curves = {}
            for a in area_list:
                label = f"{a} · {short[m]}" if len(model_list) > 1 else a
                curves[a] = sel.sel(area=a)
                layers += _curve(axis, curves[a], None if err is None else err.sel(area=a), label,
                                 {"area": a, **info}, resp_dim, extra, colors[a], i_dash=i)
            onset = D.onset(resp, condition, value)
            marks += _latency_marks(axis, metrics, m, area_list, curves, onset, condition, value, resp_dim)
        return spans(axis.windows(windows), kdims=[axis.dim, resp_dim]) * h.Overlay(layers + marks)

    groups = [names] if overlay_models or not several else [[m] for m in names]
    panels = []
    for group in groups:
        label = ", ".join(short[m] for m in group) if several and not overlay_models else ""
        if condition:
            panel = h.HoloMap({k: frame(group, k) for k in keys}, kdims=[_keyed(condition, keys)])
            panels.append(panel_opts(panel, label))  # the widget shows the key (static exports add it)
        else:
            panels.append(panel_opts(frame(group, None), label))
    legend = [f"{a} · {short[m]}" for m in names for a in area_list] if overlay_models and several else list(area_list)
    if metrics is not None:
        legend.append(LATENCY_LABEL)
    return grid(panels, _titled(title, setting), legend=legend)


def _titled(title: str, setting: str) -> str:
    """The figure title, saying which setting the panels' short model labels are values of."""
    return f"{title} (models by {setting})" if title and setting else title


def condition_timecourses(responses: xr.DataArray, condition: str, *, models: Sequence[str] | None = None,
                          areas: Sequence[str] | None = None, time_axis: str = "onset", errors: bool = True,
                          title: str = ""):
    """Response time courses per condition value (colour ramp), one area at a time.

    Each model's panel is a HoloMap keyed by ``area`` (a shared area selector); curves are
    the mean over images of each ``condition`` value (e.g. one per duration) with a light
    ± s.e.m. band, with every presentation window shaded.

    Example:
        >>> fig = condition_timecourses(result.responses, "duration")  # doctest: +SKIP
    """
    h = hv()
    resp = D.pick(responses, models, areas)
    means, errs = D.condition_stats(resp, condition)
    errs = errs if errors else None
    names, area_list = D.model_names(resp), D.area_names(resp)
    short, setting = D.short_names(names)
    values = D.condition_values(means, condition)
    colors = ramp(len(values))
    axis = _Axis(resp, time_axis)
    resp_dim = h.Dimension("response", unit=D.units(responses))
    unit = {"duration": " ms", "interval": " ms"}.get(condition, "")
    labels = [f"{condition} {v:g}{unit}" for v in values]
    panels = []
    for m in names:
        sel_m = means.sel(model=m) if "model" in means.dims else means
        err_m = None if errs is None else (errs.sel(model=m) if "model" in errs.dims else errs)
        frames = {}
        for a in area_list:
            curves = []
            for v, col, label in zip(values, colors, labels):
                err = None if err_m is None else err_m.sel({"area": a, condition: v})
                curves += _curve(axis, sel_m.sel({"area": a, condition: v}), err, label,
                                 {"area": a, "model": m, condition: v}, resp_dim, ["area", "model", condition],
                                 col, width=1.5, band_alpha=0.08)
            frames[a] = spans(axis.windows(D.stimulus_windows(resp)), alpha=0.06,
                              kdims=[axis.dim, resp_dim]) * h.Overlay(curves)
        hmap = h.HoloMap(frames, kdims=[h.Dimension("area", values=area_list)], sort=False)
        label = short[m] if len(names) > 1 else ""
        panels.append(panel_opts(hmap, label))
    return grid(panels, _titled(title, setting), legend=labels)


def classifier_timecourses(classifier: xr.Dataset, *, variables: Sequence[str] = ("accuracy", "p_true"),
                           models: Sequence[str] | None = None,
                           windows: Sequence[tuple[float, float]] = (), onset: float | None = None,
                           chance: float | None = None, title: str = ""):
    """Classifier read-out over time: one panel per variable, one curve per model, with chance.

    Args:
        classifier: Dataset ``(model, time)`` with ``accuracy``, ``p_true``, ``p_top`` (and
            ``<variable>_sem``, the standard error across images, drawn as a band).
        variables: Which of its variables to plot.
        models: Models to show (default all).
        windows: Stimulus windows ``[(on, off)]`` in ms to shade.
        onset: Draw time from this onset (ms); ``None``: the stored time.
        chance: Chance level (``1 / classes``; default ``classifier.attrs["chance"]``), drawn
            as a dashed line.
        title: Figure title.

    Example:
        >>> fig = classifier_timecourses(result.classifier)  # doctest: +SKIP
    """
    h = hv()
    ds = D.pick(classifier, models)
    names = D.model_names(ds)
    short, setting = D.short_names(names)
    colors = palette(names, MODEL_COLORS)
    shift = float(onset) if onset is not None else 0.0
    time = (h.Dimension("time_from_onset", label="time from stimulus onset", unit="ms") if onset is not None
            else h.Dimension("time", unit="ms"))
    chance = chance if chance is not None else ds.attrs.get("chance")
    panels = []
    for var in variables:
        check_choice("classifier variable", var, [v for v in ds.data_vars if not v.endswith("_sem")])
        da = ds[var]
        vdim = h.Dimension(var, label=da.attrs.get("long_name", var).replace("probability", "p"), range=(0, 1))
        layers = []
        for m in names:
            y = da.sel(model=m) if "model" in da.dims else da
            x = np.asarray(y["time"].values, float) - shift
            err = ds.get(f"{var}_sem")
            if err is not None:
                e = np.nan_to_num(np.asarray((err.sel(model=m) if "model" in err.dims else err).values, float))
                layers.append(band(h.Spread((x, np.asarray(y.values, float), e), time, [vdim, "error"]), colors[m]))
            df = pd.DataFrame({time.name: x, var: np.asarray(y.values, float), "model": m})
            layers.append(line(h.Curve(df, time, [vdim, "model"], label=short[m]), colors[m]))
        if chance is not None:  # a curve, not an HLine, so that the legend names it
            x = np.asarray(da["time"].values, float) - shift
            ref = h.Curve(([x.min(), x.max()], [float(chance)] * 2), time, vdim, label=f"chance ({float(chance):.2g})")
            layers.append(styled(ref, {"color": "grey"}, bokeh={"line_dash": "dashed", "line_width": 1.5},
                                 mpl={"linestyle": "--", "linewidth": 1.0}))
        panel = spans([(a - shift, b - shift) for a, b in windows], kdims=[time, vdim]) * h.Overlay(layers)
        panels.append(panel_opts(panel, vdim.label))
    legend = [short[m] for m in names] + ([f"chance ({float(chance):.2g})"] if chance is not None else [])
    return grid(panels, title, legend=legend, legend_title=setting)


__all__ = ["LATENCY_LABEL", "TIME_AXES", "classifier_timecourses", "condition_timecourses", "response_timecourses"]

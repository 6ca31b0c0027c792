"""Time courses: area responses (V1 -> IT) and the classifier's read-out over time.

Curves are coloured by area in hierarchy order (see :mod:`dynvision.views._hv`), stimulus
presentations are shaded grey, and hovering a curve shows time, response, area, model and
condition. Several models appear as one column each (shared axes, so zooming one zooms all)
or overlaid in one panel with a line style per model (``overlay_models=True``).

Linked selection: where a figure varies with a condition (contrast, duration, interval) or
an area, each panel is a ``HoloMap`` keyed by it; HoloViews gives a Layout of HoloMaps with
the same key one shared widget, so choosing a contrast (or an area) updates every model's
panel together.

Example:
    >>> from dynvision.views.timecourses import response_timecourses
    >>> fig = response_timecourses(result.responses, condition="contrast")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from dynvision.views import data as D
from dynvision.views._hv import AREA_COLORS, MODEL_COLORS, finish_layout, hv, line, palette, ramp, spans, styled
from dynvision.views._hv import legend_last
from dynvision.views._hv import panel as panel_opts


def _dims(responses: xr.DataArray, condition: str | None):
    h = hv()
    time = h.Dimension("time", unit="ms")
    resp = h.Dimension("response", unit=D.units(responses))
    extra = ["area", "model"] + ([condition] if condition else [])
    return time, resp, extra


def _curve(y: xr.DataArray, label: str, info: dict, dims):
    time, resp, extra = dims
    df = pd.DataFrame({"time": y["time"].values, "response": np.asarray(y.values, float), **info})
    return hv().Curve(df, time, [resp, *extra], label=label)


def _latency_marks(metrics, model, areas, colors, onset, condition, value):
    h = hv()
    if metrics is None or "onset_latency" not in metrics or onset is None:
        return []
    lat = D.image_mean(metrics["onset_latency"])
    if condition and condition in lat.dims and value is not None:
        lat = lat.sel({condition: value})
    if "model" in lat.dims:
        lat = lat.sel(model=model)
    marks = []
    for a in areas:
        t = float(lat.sel(area=a).mean())  # NaN skipped; NaN if none
        if np.isfinite(t):
            marks.append(styled(h.VLine(onset + t), {"color": colors[a]}, bokeh={"line_dash": "dotted"},
                                mpl={"linestyle": ":"}))
    return marks


def _title(model: str) -> str:
    return (model.replace("{", "{{").replace("}", "}}") + " {dimensions}").strip()


def response_timecourses(responses: xr.DataArray, *, condition: str | None = None,
                         models: Sequence[str] | None = None, areas: Sequence[str] | None = None,
                         overlay_models: bool = False, metrics: xr.Dataset | None = None,
                         title: str = ""):
    """Mean response of every area over time, one curve per area (V1 -> IT).

    Args:
        responses: ``(model, area, sample, time)`` responses with stimulus coordinates.
        condition: A condition coordinate (``"contrast"``...): one frame per value, chosen with
            a widget shared by all panels; ``None`` averages over all samples.
        models: Models to show (default all), in this order.
        areas: Areas to show (default all), kept in hierarchy order.
        overlay_models: Overlay models in one panel (line style per model) instead of one
            column per model.
        metrics: The experiment's metrics; if given, a dotted line per area marks the onset
            latency (mean over images).
        title: Figure title.

    Returns:
        An Overlay, a HoloMap (with ``condition``) or a Layout with one column per model.

    Example:
        >>> fig = response_timecourses(result.responses, condition="contrast")  # doctest: +SKIP
    """
    h = hv()
    resp = D.pick(responses, models, areas)
    means = D.condition_means(resp, condition)
    names, area_list = D.model_names(resp), D.area_names(resp)
    colors = palette(area_list, AREA_COLORS)
    dims = _dims(resp, condition)
    keys = D.condition_values(means, condition) if condition else [None]

    def frame(model_list, value):
        layers, marks = [], []
        windows = D.stimulus_windows(resp, condition, value)
        for i, m in enumerate(model_list):
            sel = means.sel(model=m) if "model" in means.dims else means
            if value is not None:
                sel = sel.sel({condition: value})
            info = {"model": m, **({condition: value} if condition else {})}
            for a in area_list:
                label = f"{a} · {m}" if len(model_list) > 1 else a
                c = _curve(sel.sel(area=a), label, {"area": a, **info}, dims)
                layers.append(line(c, colors[a], i_dash=i))
            onset = windows[0][0] if windows else None
            marks += _latency_marks(metrics, m, area_list, colors, onset, condition, value)
        return spans(windows, kdims=dims[:2]) * h.Overlay(layers + marks)

    groups = [names] if overlay_models or len(names) == 1 else [[m] for m in names]
    panels = []
    for group in groups:
        label = ", ".join(group) if len(names) > 1 else ""
        if condition:
            panel = h.HoloMap({k: frame(group, k) for k in keys}, kdims=[condition])
        else:
            panel = frame(group, None)
        panels.append(panel_opts(panel, _title(label)))
    return finish_layout(legend_last(panels), len(panels), title)


def condition_timecourses(responses: xr.DataArray, condition: str, *, models: Sequence[str] | None = None,
                          areas: Sequence[str] | None = None, title: str = ""):
    """Response time courses per condition value (colour ramp), one area at a time.

    Each model's panel is a HoloMap keyed by ``area`` (a shared area selector); curves are
    the mean over images of each ``condition`` value (e.g. one per duration), with every
    presentation window shaded.

    Example:
        >>> fig = condition_timecourses(result.responses, "duration")  # doctest: +SKIP
    """
    h = hv()
    resp = D.pick(responses, models, areas)
    means = D.condition_means(resp, condition)
    names, area_list = D.model_names(resp), D.area_names(resp)
    values = D.condition_values(means, condition)
    colors = ramp(len(values))
    dims = _dims(resp, condition)
    panels = []
    for m in names:
        sel_m = means.sel(model=m) if "model" in means.dims else means
        frames = {}
        for a in area_list:
            curves = []
            for v, col in zip(values, colors):
                c = _curve(sel_m.sel({"area": a, condition: v}), f"{condition}={v:g}",
                           {"area": a, "model": m, condition: v}, dims)
                curves.append(line(c, col, width=1.5))
            frames[a] = spans(D.stimulus_windows(resp), alpha=0.06, kdims=dims[:2]) * h.Overlay(curves)
        hmap = h.HoloMap(frames, kdims=[h.Dimension("area", values=area_list)], sort=False)
        label = m if len(names) > 1 else ""
        panels.append(panel_opts(hmap, _title(label)))
    return finish_layout(legend_last(panels), len(panels), title)


def classifier_timecourses(classifier: xr.Dataset, *, variables: Sequence[str] = ("accuracy", "p_true"),
                           models: Sequence[str] | None = None,
                           windows: Sequence[tuple[float, float]] = (), title: str = ""):
    """Classifier read-out over time: one panel per variable, one curve per model.

    Args:
        classifier: Dataset ``(model, time)`` with ``accuracy``, ``p_true``, ``p_top``.
        variables: Which of its variables to plot.
        models: Models to show (default all).
        windows: Stimulus windows ``[(on, off)]`` in ms to shade.
        title: Figure title.

    Example:
        >>> fig = classifier_timecourses(result.classifier)  # doctest: +SKIP
    """
    h = hv()
    from dynvision.registry import check_choice

    ds = D.pick(classifier, models)
    names = D.model_names(ds)
    colors = palette(names, MODEL_COLORS)
    time = h.Dimension("time", unit="ms")
    panels = []
    for var in variables:
        check_choice("classifier variable", var, list(ds.data_vars))
        da = ds[var]
        vdim = h.Dimension(var, label=da.attrs.get("long_name", var), range=(0, 1))
        curves = []
        for m in names:
            y = da.sel(model=m) if "model" in da.dims else da
            df = pd.DataFrame({"time": y["time"].values, var: np.asarray(y.values, float), "model": m})
            curves.append(line(h.Curve(df, time, [vdim, "model"], label=m), colors[m]))
        panel = spans(windows, kdims=[time, vdim]) * h.Overlay(curves)
        panels.append(panel_opts(panel, vdim.label))
    return finish_layout(legend_last(panels), len(panels), title)


__all__ = ["response_timecourses", "condition_timecourses", "classifier_timecourses"]

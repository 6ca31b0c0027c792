"""Ensemble views: one unit's response in every model, coloured by task error, per cluster.

:func:`ensemble_responses` draws one curve per model over time, coloured by task error
(:func:`~dynvision.ensemble.task_error_colors`: strong for the best model, drawn on top), and
with a :class:`~dynvision.ensemble.Clustering` one panel per cluster, its best model thicker.
:func:`cluster_embedding` shows the models in the clustering's embedding, coloured by cluster.

Example:
    >>> fig = ensemble_responses(acts.sel(area="V1"), colors=ensemble.colors())  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import xarray as xr

from dynvision.validation import InvalidValueError
from dynvision.views._hv import AREA_COLORS, MODEL_COLORS, hv, layout, styled


def _check(responses: Any, dim: str, time_dim: str) -> xr.DataArray:
    if not isinstance(responses, xr.DataArray) or set(responses.dims) != {dim, time_dim}:
        dims = getattr(responses, "dims", type(responses).__name__)
        raise InvalidValueError("responses", f"<{dims}>", f"a DataArray ({dim}, {time_dim}): select one unit and "
                                f"stimulus first (e.g. .isel(sample=0, channel=0, y=8, x=8) or .mean(...))")
    return responses.transpose(dim, time_dim)


def _overlay(responses: xr.DataArray, names: list[str], colors: Mapping[str, str], best: str | None, title: str,
             dim: str, time_dim: str, ylabel: str):
    h = hv()
    curves = []
    for name in reversed(names):  # the best model (first) is drawn last, on top
        y = responses.sel({dim: name})
        curve = h.Curve((y[time_dim].values, y.values), kdims=[h.Dimension(time_dim, unit="ms" if time_dim == "time"
                                                                            else None)],
                        vdims=[h.Dimension("response", label=ylabel)], label=name)
        width = 3.0 if name == best else 1.5
        curves.append(styled(curve, {"color": colors.get(name, "#999999")},
                             bokeh={"line_width": width, "tools": ["hover"], "frame_width": 320, "frame_height": 220},
                             mpl={"linewidth": width * 0.6}))
    return styled(h.Overlay(curves), {"title": title, "show_legend": False})


def ensemble_responses(responses: xr.DataArray, *, colors: Mapping[str, str] | None = None, clustering: Any = None,
                       dim: str = "model", time_dim: str = "time", title: str = ""):
    """One curve per model; with ``clustering``, one panel per cluster (its best model thicker).

    Args:
        responses: ``(model, time)`` responses of one unit to one stimulus.
        colors: Model name -> colour (e.g. ``ensemble.colors()``); default: one colour per model.
        clustering: A :class:`~dynvision.ensemble.Clustering` of these models.
        title: Figure title (default: the responses' name).

    Returns:
        An ``hv.Overlay`` of curves (labelled by model), or an ``hv.Layout`` of one per cluster.
    """
    responses = _check(responses, dim, time_dim)
    names = [str(n) for n in responses[dim].values]
    responses = responses.assign_coords({dim: names})
    if colors is None:
        colors = {n: MODEL_COLORS[i % len(MODEL_COLORS)] for i, n in enumerate(names)}
    ylabel = str(responses.name or "response")
    title = title or ylabel
    if clustering is None:
        return _overlay(responses, names, colors, None, f"{title}: {len(names)} models", dim, time_dim, ylabel)
    missing = [n for n in names if n not in clustering.names]
    if missing:
        raise InvalidValueError("clustering", missing, "a clustering of these models")
    best = clustering.best()
    panels = []
    for c in range(clustering.k):
        members = [n for n in names if n in clustering.members(c)]
        panels.append(_overlay(responses, members, colors, best[c], f"{title}: cluster {c} ({len(members)} models)",
                               dim, time_dim, ylabel))
    return layout(panels, cols=min(3, len(panels)))


def cluster_embedding(clustering: Any, *, title: str = "models in the embedding"):
    """The models as points in the clustering's first two embedding dimensions, coloured by cluster.

    Returns:
        An ``hv.Overlay`` of ``hv.Points`` (one element per cluster, labelled ``cluster c``);
        hover shows the model name.
    """
    h = hv()
    emb = np.asarray(clustering.embedding, dtype=np.float64)
    emb = emb if emb.shape[1] >= 2 else np.column_stack([emb[:, 0], np.zeros(len(emb))])
    layers = []
    for c in range(clustering.k):
        idx = [i for i, lab in enumerate(clustering.labels) if lab == c]
        pts = h.Points({"x": emb[idx, 0], "y": emb[idx, 1], "model": [clustering.names[i] for i in idx]},
                       kdims=["x", "y"], vdims=["model"], label=f"cluster {c}")
        layers.append(styled(pts, {"color": AREA_COLORS[c % len(AREA_COLORS)]},
                             bokeh={"size": 9, "tools": ["hover"], "frame_width": 300, "frame_height": 300},
                             mpl={"s": 30}))
    return styled(h.Overlay(layers), {"title": title, "legend_position": "right"})

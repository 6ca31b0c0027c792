"""Weights of a model: distributions per area and connection kind, and conv kernel grids.

Each area's weights come in kinds: ``feedforward`` (its feedforward convolutions),
``recurrent`` (its recurrence module), ``skip`` and ``feedback`` (the connections entering
it from below or above). What counts as a weight is defined once, in
:mod:`dynvision.analysis.weights` (:func:`collect_weights`, :func:`kernel_weights`, ``KINDS``);
this module only draws it.

:func:`weight_distributions` draws one histogram per kind (rows) and area (columns, V1 ->
IT) with the same bins everywhere, so widths and magnitudes compare across areas and kinds;
several models are overlaid in each cell. :func:`conv_kernels` draws the spatial kernel of
every output channel of one area as a grid of images (after openretina's per-channel weight
plots), on one symmetric colour scale.

Example:
    >>> from dynvision.views.weights import weight_distributions, conv_kernels
    >>> fig = weight_distributions(model)  # doctest: +SKIP
    >>> grid = conv_kernels(model, "V1")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
from torch import nn

from dynvision.analysis.weights import KINDS, collect_weights, kernel_weights
from dynvision.registry import UnknownNameError, check_choice, unknown_name_message
from dynvision.views._hv import AREA_COLORS, MODEL_COLORS, hv, layout, palette, styled


def _edges(values: list[np.ndarray], bins: int) -> np.ndarray:
    lo, hi = min(float(v.min()) for v in values), max(float(v.max()) for v in values)
    lo, hi = (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)
    return np.linspace(lo, hi, bins + 1)


def weight_distributions(model: nn.Module | Mapping[str, nn.Module], *, bins: int = 40,
                         kinds: Sequence[str] | None = None, areas: Sequence[str] | None = None,
                         share_bins: str = "kind", density: bool | None = None, title: str = ""):
    """Histograms of the weights: rows are kinds, columns areas; models overlaid per cell.

    Args:
        model: A model or ``{label: model}`` (several are overlaid, one colour each).
        bins: Number of bins of every histogram.
        kinds: Kinds to show (default: every kind some area has), from :data:`KINDS`.
        areas: Areas to show (default all, hierarchy order).
        share_bins: ``"kind"``: one set of bins per row, so areas compare within a kind while
            narrow recurrent weights stay visible; ``"all"``: the same bins everywhere, so
            kinds compare too; ``"none"``: bins per cell.
        density: Normalise each histogram to unit area instead of counting weights (default:
            with several models, whose weight counts may differ a lot).
        title: Figure title.

    Example:
        >>> fig = weight_distributions({"full": m1, "self": m2})  # doctest: +SKIP
    """
    h = hv()
    check_choice("share_bins", share_bins, ("kind", "all", "none"))
    models = dict(model) if isinstance(model, Mapping) else {"": model}
    weights = {label: collect_weights(m) for label, m in models.items()}
    area_list = list(next(iter(weights.values())))
    for a in areas or []:
        if a not in area_list:
            raise UnknownNameError(unknown_name_message("area", a, area_list))
    area_list = [a for a in area_list if areas is None or a in areas]
    for k in kinds or []:
        check_choice("weight kind", k, KINDS)
    present = [k for k in KINDS if any(k in w.get(a, {}) for w in weights.values() for a in area_list)]
    kind_list = [k for k in present if kinds is None or k in kinds]
    cell_values = {(k, a): {lab: w[a][k] for lab, w in weights.items() if k in w.get(a, {})}
                   for k in kind_list for a in area_list}
    if not any(cell_values.values()):
        raise ValueError(f"no weights of kinds {kind_list or list(KINDS)} in areas {area_list}")
    density = len(models) > 1 if density is None else density
    vdim = h.Dimension("density" if density else "count")
    colors = palette(models, MODEL_COLORS) if len(models) > 1 else palette(area_list, AREA_COLORS)
    cells, legend_shown = [], False
    for (k, a), by_model in cell_values.items():
        if not by_model:
            cells.append(h.Empty())
            continue
        pool = by_model.values() if share_bins == "none" else [
            v for (k2, _), vals in cell_values.items() if share_bins == "all" or k2 == k for v in vals.values()]
        edges = _edges(list(pool), bins)
        hists = []
        for label, w in by_model.items():
            counts, _ = np.histogram(w, edges, density=density)
            col = colors[label] if len(models) > 1 else colors[a]
            hists.append(styled(h.Histogram((edges, counts), kdims=[h.Dimension("weight")], vdims=[vdim],
                                            label=label),
                                {"alpha": 0.55 if len(models) > 1 else 0.85},
                                bokeh={"fill_color": col, "line_color": col, "tools": ["hover"],
                                       "frame_width": 200, "frame_height": 140},
                                mpl={"facecolor": col, "edgecolor": col}))
        n = f" ({next(iter(by_model.values())).size} weights)" if len(models) == 1 else ""
        show = len(models) > 1 and not legend_shown and a == area_list[-1]
        legend_shown |= show
        cells.append(styled(h.Overlay(hists), {"title": f"{a} {k}{n}", "xlim": (edges[0], edges[-1]),
                                               "show_legend": show, "legend_position": "right"}))
    return layout(cells, len(area_list), title, shared_axes=False)


def conv_kernels(model: nn.Module, area: str, in_channel: int | None = None, *, kind: str = "feedforward",
                 max_channels: int = 64, cmap: str = "RdBu_r", title: str = ""):
    """A grid with the spatial kernel of each output channel of ``area``.

    Args:
        model: The model.
        area: Area name (``model.area_names``).
        in_channel: Input channel whose kernels to show; ``None`` averages over input channels.
        kind: ``"feedforward"`` or ``"recurrent"`` (see :func:`kernel_weights`).
        max_channels: Show at most the first this many output channels.
        cmap: Diverging colormap; the colour scale is symmetric about 0 and shared.
        title: Figure title (default names the area, kind and input channel).

    Returns:
        A Layout of ``min(out_channels, max_channels)`` images (y up = kernel row 0 on top).

    Example:
        >>> grid = conv_kernels(model, "V1", in_channel=0)  # doctest: +SKIP
    """
    h = hv()
    w = kernel_weights(model, area, kind)
    n_in = w.shape[1]
    if in_channel is None:
        planes, which = w.mean(axis=1), f"mean over {n_in} input channel{'s' * (n_in > 1)}"
    else:
        if not 0 <= int(in_channel) < n_in:
            raise ValueError(f"in_channel={in_channel} is out of range; {area} {kind} kernels have "
                             f"{n_in} input channel(s): 0..{n_in - 1}")
        planes, which = w[:, int(in_channel)], f"input channel {int(in_channel)}"
    planes = planes[: max(1, int(max_channels))]
    m = float(np.abs(planes).max()) or 1.0
    kh, kw = planes.shape[-2:]
    xs, ys = np.arange(kw) - kw // 2, np.arange(kh) - kh // 2
    images = []
    for i, k in enumerate(planes):
        img = h.Image((xs, ys, np.flipud(k)), kdims=["x", "y"], vdims=[h.Dimension("weight")],
                      label=f"channel {i}")
        images.append(styled(img, {"cmap": cmap, "clim": (-m, m), "xaxis": None, "yaxis": None,
                                   "title": f"ch {i}"},
                             bokeh={"tools": ["hover"], "frame_width": 70, "frame_height": 70,
                                    "colorbar": i == len(planes) - 1},
                             mpl={"colorbar": False, "aspect": "equal"}))
    return layout(images, math.ceil(math.sqrt(len(images))), title or f"{area} {kind} kernels ({which})")


__all__ = ["KINDS", "collect_weights", "weight_distributions", "kernel_weights", "conv_kernels"]

"""Hexagonal views: receptor values as hexagons with a colour bar, and the lattice over a frame.

- :func:`hex_scatter`: one hexagon per receptor (exact geometry: the lattice's hexagonal
  cells), coloured by value with a colour bar; values with both signs get a diverging map
  centred at 0 (``RdBu_r``, symmetric limits), values in [0, 1] a grey map (luminance).
- :func:`lattice_illustration`: a frame with the receptor centres and the box each receptor
  averages (as flyvis's ``BoxEye.illustrate``), in the frame's own pixels.
- :func:`hexagons` / :func:`colour_limits`: the shared geometry and colour rule (the
  animations of :mod:`dynvision.views.animation` use them too).

Up is up: the lattice's ``y`` grows downwards like image rows, so the plots flip it.

Example:
    >>> from dynvision.stimuli import render_hex
    >>> fig = hex_scatter(render_hex(np.random.rand(32, 32), extent=4, kernel_size=4))  # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from dynvision.layers.hexgrid import HexLattice, extent_of, placement
from dynvision.validation import InvalidValueError
from dynvision.views._hv import hv, styled

DIVERGING = "RdBu_r"
LUMINANCE = "gray"


def hexagons(u: np.ndarray, v: np.ndarray, spacing: float = 1.0) -> np.ndarray:
    """Vertices ``(n, 6, 2)`` of the hexagonal cells of receptors ``(u, v)``, plot orientation (y up).

    Example:
        >>> hexagons(np.array([0]), np.array([0])).shape
        (1, 6, 2)
    """
    from dynvision.layers.hexgrid import hex_to_pixel

    x, y = hex_to_pixel(u, v, spacing)
    radius = spacing / math.sqrt(3.0)  # pointy-top cells: neighbours one spacing apart share an edge
    angles = np.deg2rad(30 + 60 * np.arange(6))
    return np.stack([x[:, None] + radius * np.cos(angles), -y[:, None] + radius * np.sin(angles)], axis=-1)


def colour_limits(values: Any, cmap: str | None = None, vmin: float | None = None,
                  vmax: float | None = None) -> tuple[str, float, float]:
    """``(cmap, vmin, vmax)``: diverging and symmetric about 0 when values take both signs,
    grey over [0, 1] for luminance, else the values' range; explicit arguments win.

    Example:
        >>> colour_limits(np.array([-2.0, 1.0]))
        ('RdBu_r', -2.0, 2.0)
    """
    arr = np.asarray(values, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if lo < 0 < hi or (lo < 0 and hi <= 0):
        m = max(abs(lo), abs(hi)) or 1.0
        auto = (DIVERGING, -m, m)
    elif lo >= 0 and hi <= 1:
        auto = (LUMINANCE, 0.0, 1.0)
    else:
        auto = (DIVERGING, -hi, hi) if hi > 0 else (DIVERGING, -1.0, 1.0)
    return (cmap or auto[0], auto[1] if vmin is None else float(vmin), auto[2] if vmax is None else float(vmax))


def _receptor_values(values: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    if isinstance(values, xr.DataArray):
        if values.dims != ("receptor",):
            raise InvalidValueError("values", f"<DataArray with dims {values.dims}>",
                                    "one value per receptor (select the other dims first, e.g. .isel(time=0))")
        u = values["u"].values if "u" in values.coords else HexLattice(extent_of(values.size)).u
        v = values["v"].values if "v" in values.coords else HexLattice(extent_of(values.size)).v
        return np.asarray(values.values, dtype=np.float64), np.asarray(u), np.asarray(v), str(values.name or "value")
    arr = np.asarray(values, dtype=np.float64).ravel()
    lattice = HexLattice(extent_of(arr.size))
    return arr, lattice.u, lattice.v, "value"


def hex_scatter(values: Any, *, cmap: str | None = None, vmin: float | None = None, vmax: float | None = None,
                title: str = "", colorbar: bool = True, size: int = 300):
    """One hexagon per receptor, coloured by its value, with a colour bar.

    Args:
        values: A DataArray with one dim ``receptor`` (and ``u``, ``v`` coords, as
            :func:`~dynvision.stimuli.render_hex` gives), or an array of one value per receptor
            (the lattice follows from the count).
        cmap, vmin, vmax: Colours (default: :func:`colour_limits`).
        title: Panel title.
        colorbar: Show the colour bar.
        size: Frame size in screen pixels (bokeh).

    Returns:
        ``hv.Polygons`` with vdims ``value``, ``u``, ``v`` (hover shows them).
    """
    h = hv()
    vals, u, v, name = _receptor_values(values)
    cmap, lo, hi = colour_limits(vals, cmap, vmin, vmax)
    cells = hexagons(u, v)
    data = [{("x", "y"): cell, "value": float(val), "u": int(uu), "v": int(vv)}
            for cell, val, uu, vv in zip(cells, vals, u, v)]
    poly = h.Polygons(data, kdims=["x", "y"], vdims=[h.Dimension("value", label=name), "u", "v"])
    return styled(poly, {"color": "value", "cmap": cmap, "clim": (lo, hi), "colorbar": colorbar, "xaxis": None,
                         "yaxis": None, "title": title, "aspect": "equal"},
                  bokeh={"line_width": 0, "tools": ["hover"], "frame_width": size, "frame_height": size},
                  mpl={"linewidth": 0, "fig_inches": size / 100})


def lattice_illustration(frame: Any, *, extent: int = 15, kernel_size: float = 13, spacing: float | None = None,
                         fit: str = "crop", title: str = "receptor lattice"):
    """The frame with every receptor's centre (dots) and its averaging box (outlines).

    Args:
        frame: One frame ``(y, x)`` (a DataArray or an array; values in [0, 1]).
        extent, kernel_size, spacing, fit: The lattice (as :func:`~dynvision.stimuli.render_hex`).

    Returns:
        An overlay of ``hv.Image`` (the frame), ``hv.Rectangles`` (boxes) and ``hv.Points``
        (centres) in the frame's pixel coordinates (``y`` up: row 0 at the top).
    """
    h = hv()
    img = np.asarray(frame.values if isinstance(frame, xr.DataArray) else frame, dtype=np.float64)
    if img.ndim != 2:
        raise InvalidValueError("frame", f"<array of shape {img.shape}>", "one frame (y, x)")
    lattice = HexLattice(extent)
    k = float(kernel_size)
    d = k if spacing is None else float(spacing)
    rows, cols = img.shape
    p = placement(lattice.canvas(k, d), img.shape, fit)
    centres = lattice.to_pixels(k, d)
    x = p.offset_x + p.scale_x * centres[:, 0]
    y = rows - (p.offset_y + p.scale_y * centres[:, 1])  # plot coordinates: y up
    hx, hy = p.scale_x * k / 2, p.scale_y * k / 2
    image = h.Image(img, bounds=(0, 0, cols, rows), kdims=["x", "y"], vdims=["luminance"])  # row 0 on top
    boxes = h.Rectangles([(a - hx, b - hy, a + hx, b + hy) for a, b in zip(x, y)], kdims=["x0", "y0", "x1", "y1"])
    points = h.Points((x, y), kdims=["x", "y"])
    image = styled(image, {"cmap": LUMINANCE, "clim": (0.0, 1.0), "title": title, "aspect": "equal"},
                   bokeh={"frame_width": 400})
    boxes = styled(boxes, {}, bokeh={"fill_alpha": 0.0, "line_color": "#E69F00", "line_width": 0.5},
                   mpl={"facecolor": "none", "edgecolor": "#E69F00", "linewidth": 0.3})
    points = styled(points, {"color": "#0072B2"}, bokeh={"size": 3}, mpl={"s": 2})
    return image * boxes * points

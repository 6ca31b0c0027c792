"""HoloViews plumbing shared by the figures: backends, sizes, per-backend options and colours.

Figures are built once and render in both backends: Bokeh (interactive, in notebooks and
HTML, on a canvas) and Matplotlib (static PNG/SVG/PDF). HoloViews keeps options per backend,
so every style goes through :func:`styled`, which sets the common options on both and the
backend-specific ones (``tools``, ``line_dash`` / ``linestyle``...) on each. Loading the
plotting backends here never changes the user's current backend.

Sizes: every panel has the same data area (:data:`FRAME`); :func:`grid` wraps panels into as
many columns as fit :data:`MAX_WIDTH` (a notebook's output width), with one legend beside the
top-right panel, so a figure never runs off the notebook and its legend is never cut or laid
over data. Fonts are legible at that size (:data:`FONTS`).

Colours: areas take the colour-blind-safe Okabe-Ito palette in hierarchy order (V1 blue,
V2 green, V4 orange, IT vermilion...); models take the Category10 cycle (blue, orange,
green...); ordered conditions (contrast, duration, interval) a sequential viridis ramp.
"""

from __future__ import annotations

from typing import Any, Sequence

AREA_COLORS = ("#0072B2", "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
MODEL_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf")
DASHES = (("solid", "-"), ("dashed", "--"), ("dotted", ":"), ("dotdash", "-."))
"""(bokeh ``line_dash``, matplotlib ``linestyle``) pairs, one per overlaid model."""

FRAME = {"frame_width": 250, "frame_height": 165}
"""The data area of every bokeh panel (px)."""
BOKEH_SIZE = FRAME  # the name weights.py uses
MAX_WIDTH = 820
"""Widest a figure gets (px): JupyterLab's output area at a 1280 px wide window with the file browser open."""
AXES_PX = 75
"""What a panel adds to its frame: the y axis with its ticks and label (px)."""
FONTS = {"title": "11pt", "labels": "10pt", "xticks": "9pt", "yticks": "9pt", "legend": "9pt"}
MPL_FONTS = {"title": 10, "labels": 9, "xticks": 8, "yticks": 8, "legend": 8}


def hv():
    """The ``holoviews`` module with the bokeh and matplotlib option trees loaded.

    Example:
        >>> hv().Curve([1, 2, 3]).kdims[0].name  # doctest: +SKIP
        'x'
    """
    import holoviews

    loaded = holoviews.Store.loaded_backends()
    if "bokeh" not in loaded or "matplotlib" not in loaded:
        current = holoviews.Store.current_backend
        import holoviews.plotting.bokeh  # noqa: F401
        import holoviews.plotting.mpl  # noqa: F401

        holoviews.Store.set_current_backend(current)
    from dynvision.views.offline import configure_bokeh

    configure_bokeh()  # a canvas, not WebGL (see there)
    return holoviews


def styled(obj, common: dict | None = None, *, bokeh: dict | None = None, mpl: dict | None = None,
           clone: bool = True):
    """Apply ``common`` options to both backends plus backend-specific ones.

    Containers (Overlay, Layout) take options in place in HoloViews; ``clone=True`` (the
    default) styles a copy so that figures sharing an object never change each other.

    Example:
        >>> c = styled(hv().Curve([1, 2]), {"color": "red"}, bokeh={"tools": ["hover"]})  # doctest: +SKIP
    """
    common = dict(common or {})
    obj = obj.opts(**common, **(bokeh or {}), backend="bokeh", clone=clone)
    return obj.opts(**common, **(mpl or {}), backend="matplotlib", clone=False)


def escape(text: str) -> str:
    """``text`` with braces doubled, for use in a HoloViews title template."""
    return text.replace("{", "{{").replace("}", "}}")


def panel(obj, title: str = "", *, template: bool = False, **common):
    """Options of one panel: the frame size, legible fonts, padding and a (short) title.

    ``template``: the title is a HoloViews template (``"{dimensions}"`` is replaced by the
    frame's key); otherwise it is shown as written. The legend is hidden here; :func:`grid`
    shows one per figure.
    """
    title = title if template else escape(title)
    return styled(obj, {"padding": 0.05, "show_legend": False, "title": title, **common},
                  bokeh={**FRAME, "fontsize": FONTS}, mpl={"aspect": 1.5, "fontsize": MPL_FONTS})


def with_legend(obj, title: str = ""):
    """Show ``obj``'s legend outside its frame, on the right (never over the data), with a title."""
    bokeh = {"label_text_font_size": FONTS["legend"], "spacing": 0, **({"title": title} if title else {})}
    return styled(obj, {"show_legend": True, "legend_position": "right"}, bokeh={"legend_opts": bokeh},
                  mpl={"legend_opts": {"frameon": False}})


def legend_last(panels: list) -> list:
    """Hide the legend of every panel but the last (panels that share one legend)."""
    return [styled(p, {"show_legend": i == len(panels) - 1}) for i, p in enumerate(panels)]


def legend_width(labels: Sequence[str]) -> int:
    """Roughly how wide (px) a legend of these labels is drawn."""
    return 45 + 7 * max((len(str(x)) for x in labels), default=0)


def columns(n: int, legend_px: int = 0, max_width: int = MAX_WIDTH) -> int:
    """How many panels of :data:`FRAME` fit side by side within ``max_width`` with a legend.

    Example:
        >>> columns(4), columns(4, legend_px=150), columns(1)
        (2, 2, 1)
    """
    panel_px = FRAME["frame_width"] + AXES_PX
    return max(1, min(n, (max_width - legend_px) // panel_px))


def grid(panels: list, title: str = "", legend: Sequence[str] = (), cols: int | None = None,
         shared_axes: bool = True, legend_title: str = ""):
    """Panels as one figure that fits a notebook: wrapped into columns, one legend beside the
    top-right panel (``legend``: its labels, to size it), a figure title.

    Example:
        >>> fig = grid([p1, p2, p3, p4], "contrast response", legend=["V1", "V2"])  # doctest: +SKIP
    """
    width = max(legend_width(legend), legend_width([legend_title])) if legend else 0
    cols = cols or columns(len(panels), width)
    cols = max(1, min(cols, len(panels)))
    items = [with_legend(p, legend_title) if (legend and i == cols - 1) else p for i, p in enumerate(panels)]
    if len(items) == 1 and not title:
        return items[0]
    if len(items) == 1:
        return styled(items[0], {"title": title.replace("{", "{{").replace("}", "}}")})
    return layout(items, cols, title, shared_axes=shared_axes)


def palette(names: Sequence[Any], colors: Sequence[str]) -> dict[str, str]:
    """Map names (in order) to colours, cycling when there are more names than colours.

    Example:
        >>> palette(["V1", "V2"], AREA_COLORS)
        {'V1': '#0072B2', 'V2': '#009E73'}
    """
    return {str(n): colors[i % len(colors)] for i, n in enumerate(names)}


def ramp(n: int, cmap: str = "viridis") -> list[str]:
    """``n`` hex colours along a matplotlib colormap (dark to bright, yellow end trimmed).

    Example:
        >>> len(ramp(3))
        3
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cm = colormaps[cmap]
    return [to_hex(cm(0.9 * i / max(n - 1, 1))) for i in range(n)]


def dash(i: int) -> tuple[dict, dict]:
    """Bokeh and matplotlib line-style options for the ``i``-th overlaid model."""
    b, m = DASHES[i % len(DASHES)]
    return {"line_dash": b}, {"linestyle": m}


def line(obj, color: str, *, i_dash: int = 0, width: float = 2.0, hover: bool = True):
    """Style a curve: colour, width, dash (per overlaid model) and hover."""
    b, m = dash(i_dash)
    return styled(obj, {"color": color},
                  bokeh={"line_width": width, "tools": ["hover"] if hover else [], **b},
                  mpl={"linewidth": width * 0.75, **m})


def band(obj, color: str, alpha: float = 0.18):
    """Style an error band (a ``Spread``: mean ± s.e.m.) in a curve's colour."""
    return styled(obj, {"alpha": alpha}, bokeh={"color": color, "line_alpha": 0, "tools": []},
                  mpl={"facecolor": color, "edgecolor": "none", "linewidth": 0})


def errorbars(obj, color: str):
    """Style error bars (``ErrorBars``: ± s.e.m.) in a series' colour."""
    return styled(obj, {"color": color}, bokeh={"line_width": 1.5, "lower_head": None, "upper_head": None},
                  mpl={"edgecolor": color, "linewidth": 1.0, "capsize": 0})


def spans(windows: Sequence[tuple[float, float]], alpha: float = 0.12, kdims: Sequence | None = None):
    """Grey shading of stimulus windows ``[(on, off), ...]`` (ms) as an Overlay of VSpans.

    ``kdims`` (x and y dimensions) should be those of the curves drawn on top, so the
    overlay keeps their axis labels.
    """
    h = hv()
    kw = {"kdims": list(kdims)} if kdims else {}
    # matplotlib: a face colour only (``color`` beside HoloViews' default face colour warns once per span)
    out = [styled(h.VSpan(float(a), float(b), **kw), {"alpha": alpha}, bokeh={"color": "grey", "line_alpha": 0},
                  mpl={"color": None, "facecolor": "grey", "edgecolor": "none"}) for a, b in windows]
    return h.Overlay(out)


def hline(y: float, kdims: Sequence | None = None, color: str = "grey"):
    """A thin dashed horizontal reference line (e.g. ratio = 1, chance level)."""
    h = hv()
    kw = {"kdims": list(kdims)} if kdims else {}
    return styled(h.HLine(y, **kw), {"color": color}, bokeh={"line_dash": "dashed", "line_width": 1},
                  mpl={"linestyle": "--", "linewidth": 0.8})


def finish_layout(items: list, cols: int, title: str = ""):
    """Items as one Layout with ``cols`` columns (or the single item itself, titled)."""
    if len(items) == 1:
        title = title.replace("{", "{{").replace("}", "}}")
        return styled(items[0], {"title": title}) if title else items[0]
    return layout(items, cols, title)


def layout(items: list, cols: int, title: str = "", shared_axes: bool = True):
    """A Layout with ``cols`` columns and no A/B/C panel letters.

    ``shared_axes`` links the ranges of panels with the same dimensions (zooming one zooms
    all); turn it off for panels whose scales differ (weight counts per area).
    """
    h = hv()
    lay = h.Layout(items).cols(max(1, cols))
    common = {"shared_axes": shared_axes, **({"title": title} if title else {})}
    return styled(lay, common, bokeh={"fontsize": {"title": "12pt"}},
                  mpl={"sublabel_format": "", "hspace": 0.35, "vspace": 0.5, "fontsize": {"title": 11}},
                  clone=False)


__all__ = ["AREA_COLORS", "MODEL_COLORS", "FRAME", "MAX_WIDTH", "hv", "styled", "escape", "panel", "with_legend",
           "legend_last", "legend_width", "columns", "grid", "palette", "ramp", "dash", "line", "band",
           "errorbars", "spans", "hline", "finish_layout", "layout"]

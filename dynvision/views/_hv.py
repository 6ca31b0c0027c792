"""HoloViews plumbing shared by the figures: backends, per-backend options and colours.

Figures are built once and render in both backends: Bokeh (interactive, in notebooks and
HTML) and Matplotlib (static PNG/SVG). HoloViews keeps options per backend, so every style
goes through :func:`styled`, which sets the common options on both and the backend-specific
ones (``tools``, ``line_dash`` / ``linestyle``...) on each. Loading the plotting backends
here never changes the user's current backend (``hv.extension`` stays the user's call).

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

BOKEH_SIZE = {"frame_width": 300, "frame_height": 200}


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


def panel(obj, title: str = "", **common):
    """Options of a panel of curves: legend outside on the right, 3:2 frame, padding, a title."""
    return styled(obj, {"legend_position": "right", "padding": 0.05, **({"title": title} if title else {}),
                        **common}, mpl={"aspect": 1.5})


def legend_last(panels: list) -> list:
    """Hide the legend of every panel but the last (panels that share one legend)."""
    return [p if i == len(panels) - 1 else styled(p, {"show_legend": False}) for i, p in enumerate(panels)]


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
                  bokeh={"line_width": width, "tools": ["hover"] if hover else [], **b, **BOKEH_SIZE},
                  mpl={"linewidth": width * 0.75, **m})


def spans(windows: Sequence[tuple[float, float]], alpha: float = 0.12, kdims: Sequence | None = None):
    """Grey shading of stimulus windows ``[(on, off), ...]`` (ms) as an Overlay of VSpans.

    ``kdims`` (x and y dimensions) should be those of the curves drawn on top, so the
    overlay keeps their axis labels.
    """
    h = hv()
    kw = {"kdims": list(kdims)} if kdims else {}
    out = [styled(h.VSpan(float(a), float(b), **kw), bokeh={"color": "grey", "alpha": alpha},
                  mpl={"facecolor": "grey", "alpha": alpha, "edgecolor": "none"}) for a, b in windows]
    return h.Overlay(out)


def hline(y: float, kdims: Sequence | None = None):
    """A thin dashed horizontal reference line (e.g. ratio = 1)."""
    h = hv()
    kw = {"kdims": list(kdims)} if kdims else {}
    return styled(h.HLine(y, **kw), {"color": "grey"}, bokeh={"line_dash": "dashed", "line_width": 1},
                  mpl={"linestyle": "--", "linewidth": 0.8})


def finish_layout(items: list, cols: int, title: str = ""):
    """Items as one Layout with ``cols`` columns (or the single item itself)."""
    h = hv()
    if len(items) == 1:
        title = title.replace("{", "{{").replace("}", "}}")
        return styled(items[0], {"title": f"{title} {{dimensions}}".strip()}) if title else items[0]
    return layout(items, cols, title)


def layout(items: list, cols: int, title: str = "", shared_axes: bool = True):
    """A Layout with ``cols`` columns and no A/B/C panel letters.

    ``shared_axes`` links the ranges of panels with the same dimensions (zooming one zooms
    all); turn it off for panels whose scales differ (weight counts per area).
    """
    h = hv()
    lay = h.Layout(items).cols(max(1, cols))
    common = {"shared_axes": shared_axes, **({"title": title} if title else {})}
    return styled(lay, common, mpl={"sublabel_format": "", "hspace": 1.0, "vspace": 0.5}, clone=False)


__all__ = ["AREA_COLORS", "MODEL_COLORS", "hv", "styled", "panel", "legend_last", "palette", "ramp", "dash",
           "line", "spans", "hline", "finish_layout", "layout"]

"""Write figures to files: static PNG/SVG (matplotlib) and interactive, offline HTML (bokeh).

- ``png`` / ``svg``: rendered by HoloViews' matplotlib backend. A static file cannot hold a
  widget, so every HoloMap (one frame per contrast, area...) becomes small multiples: one
  panel per frame (at most ``max_frames``, evenly spaced), titled with its key.
- ``html``: rendered by bokeh through panel with every widget state embedded, all
  JavaScript and CSS inlined (``bokeh.resources.INLINE``, panel's stylesheets read from its
  installed files) and bokeh's plain page template, so the file opens offline.

Headless use works: when there is no display and pyplot is not loaded yet, matplotlib is
switched to the Agg backend (only inside :func:`save_figures`, never at import).

Example:
    >>> from dynvision.views.export import save_figures
    >>> save_figures(result.figures(), "reports/figures/contrast", ("png", "html"))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from dynvision.registry import check_choice
from dynvision.views._hv import hv, styled
from dynvision.views.offline import inline_panel_assets

FORMATS = ("png", "svg", "html")


def _headless_matplotlib() -> None:
    """Use Agg when no display is available and no pyplot backend has been chosen yet."""
    import matplotlib

    no_display = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                          or os.environ.get("WAYLAND_DISPLAY"))
    if no_display and "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")


def _frames(hmap, max_frames: int) -> list:
    """The frames of a HoloMap as separate panels, each titled with its key."""
    h = hv()
    keys = list(hmap.data)
    if len(keys) > max_frames:
        step = (len(keys) - 1) / (max_frames - 1)
        keys = [keys[round(i * step)] for i in range(max_frames)]
    out = []
    for i, key in enumerate(keys):
        frame = hmap.data[key]
        key = key if isinstance(key, tuple) else (key,)
        dims = ", ".join(f"{d.pprint_label}: {d.pprint_value(k)}" for d, k in zip(hmap.kdims, key))
        opts = h.Store.lookup_options("matplotlib", frame, "plot").kwargs
        fmt = opts.get("title", "{label} {dimensions}")
        try:
            title = fmt.format(label=frame.label, group="", dimensions=dims).strip()
        except (KeyError, IndexError, ValueError):
            title = f"{fmt} {dims}"
        legend = opts.get("show_legend", True) and i == len(keys) - 1
        out.append(styled(frame, {"title": title, "show_legend": legend}))
    return out


def static_view(obj: Any, max_frames: int = 10, max_cols: int = 5):
    """A version of ``obj`` without widgets: HoloMaps become one panel per frame.

    Example:
        >>> fig = static_view(response_timecourses(r.responses, condition="contrast"))  # doctest: +SKIP
    """
    h = hv()
    from dynvision.views._hv import layout

    if isinstance(obj, h.DynamicMap):
        raise TypeError("a DynamicMap has no fixed frames to export; pass a HoloMap (e.g. dmap.collate())")
    if isinstance(obj, h.HoloMap):
        panels = _frames(obj, max_frames)
        return layout(panels, min(len(panels), max_cols))
    if isinstance(obj, h.Layout) and any(isinstance(o, h.HoloMap) for o in obj):
        panels, cols = [], 1
        for item in obj:
            if isinstance(item, h.HoloMap):
                frames = _frames(item, max_frames)
                panels += frames
                cols = max(cols, len(frames))
            else:
                panels.append(item)
        return layout(panels, min(cols, max_cols))
    return obj


def save_html(obj: Any, path: str | Path, title: str = "") -> Path:
    """Write ``obj`` as a self-contained interactive HTML page (widgets embedded, offline).

    Example:
        >>> save_html(fig, "timecourses.html")  # doctest: +SKIP
    """
    import panel as pn
    from bokeh.core.templates import FILE
    from bokeh.core.validation.check import is_silenced, silenced
    from bokeh.core.validation.warnings import FIXED_SIZING_MODE
    from bokeh.resources import INLINE

    hv()
    path = Path(path) if str(path).endswith(".html") else Path(f"{path}.html")
    pane = pn.pane.HoloViews(obj, backend="bokeh", widget_location="right_top")
    # panel's fixed layouts around plots sized by frame_width/height trip a spurious check
    quiet = contextlib.nullcontext() if is_silenced(FIXED_SIZING_MODE) else silenced(FIXED_SIZING_MODE)
    with quiet:
        pane.save(str(path), title=title or path.stem, resources=INLINE, template=FILE, embed=True,
                  progress=False)
    # panel's saved pages still link component stylesheets on its CDN: embed the shipped files
    path.write_text(inline_panel_assets(path.read_text(encoding="utf-8")), encoding="utf-8")
    return path


def save_static(obj: Any, path: str | Path, fmt: str = "png", dpi: int = 120) -> Path:
    """Write ``obj`` as a static PNG or SVG with the matplotlib backend (see :func:`static_view`).

    Example:
        >>> save_static(fig, "timecourses.png")  # doctest: +SKIP
    """
    check_choice("static format", fmt, ("png", "svg"))
    h = hv()
    _headless_matplotlib()
    path = Path(path)
    base = path.with_suffix("") if path.suffix == f".{fmt}" else path
    renderer = h.renderer("matplotlib").instance(dpi=dpi)
    renderer.save(static_view(obj), str(base), fmt=fmt)
    return Path(f"{base}.{fmt}")


def save_figures(figures: Mapping[str, Any], folder: str | Path,
                 formats: Sequence[str] | str = ("png", "html")) -> list[Path]:
    """Write every figure as ``<folder>/<name>.<format>``.

    Args:
        figures: ``{name: HoloViews object}``, e.g. from ``result.figures()``.
        folder: Output folder (created if needed).
        formats: Any of ``"png"``, ``"svg"`` (static, matplotlib) and ``"html"`` (interactive,
            bokeh, works offline).

    Returns:
        The written paths, figure by figure and format by format.

    Example:
        >>> paths = save_figures({"timecourses": fig}, "reports/figures/contrast", ["svg"])  # doctest: +SKIP
    """
    formats = [formats] if isinstance(formats, str) else list(formats)
    for fmt in formats:
        check_choice("figure format", fmt, FORMATS)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, obj in figures.items():
        for fmt in formats:
            path = folder / f"{name}.{fmt}"
            if fmt == "html":
                save_html(obj, path, title=name)
            else:
                save_static(obj, path, fmt)
            written.append(path)
    return written


__all__ = ["FORMATS", "save_figures", "save_html", "save_static", "static_view"]

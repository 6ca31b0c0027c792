"""Write figures to files: static PNG/SVG/PDF (matplotlib) and interactive, offline HTML (bokeh).

- ``png`` / ``svg`` / ``pdf``: rendered by HoloViews' matplotlib backend at a chosen ``dpi``
  (PNG; SVG and PDF are vector), with legible fonts and legends outside the axes. A static
  file cannot hold a widget, so every HoloMap (one frame per contrast, area...) becomes small
  multiples: one panel per frame (at most ``max_frames``, evenly spaced), titled with its
  key, wrapped into a grid of at most ``max_cols`` columns.
- ``html``: rendered by bokeh through panel with every widget state embedded, all
  JavaScript and CSS inlined (``bokeh.resources.INLINE``, panel's stylesheets read from its
  installed files), on a canvas, with the figure's caption below it, so the file opens
  offline in any browser.

Export is the slow part of an experiment run: :func:`save_figures` shows a progress bar.
Headless use works: when there is no display and pyplot is not loaded yet, matplotlib is
switched to the Agg backend (only inside the export, never at import).

Example:
    >>> from dynvision.views.export import save_experiment_figures
    >>> save_experiment_figures(result, "reports/figures/contrast", ("png", "pdf", "html"), dpi=300)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from dynvision.registry import check_choice
from dynvision.validation import check_int
from dynvision.views._hv import MPL_FONTS, hv, layout, styled
from dynvision.views.offline import inline_panel_assets

FORMATS = ("png", "svg", "pdf", "html")
STATIC = ("png", "svg", "pdf")
DPI = 150
"""Default resolution of PNG files (dots per inch)."""


def _headless_matplotlib() -> None:
    """Use Agg when no display is available and no pyplot backend has been chosen yet."""
    import matplotlib

    no_display = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                          or os.environ.get("WAYLAND_DISPLAY"))
    if no_display and "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")


def _frames(hmap, max_frames: int, figure_title: str | None = None) -> list:
    """The frames of a HoloMap as separate panels, each titled with its key (a figure title
    the frames carry is left to the grid)."""
    h = hv()
    keys = list(hmap.data)
    if len(keys) > max_frames:
        step = (len(keys) - 1) / (max_frames - 1)
        keys = [keys[round(i * step)] for i in range(max_frames)]
    out = []
    for i, key in enumerate(keys):
        frame = hmap.data[key]
        key = key if isinstance(key, tuple) else (key,)
        dims = ", ".join(f"{d.label} {d.pprint_value(k)}{' ' + d.unit if d.unit else ''}"
                         for d, k in zip(hmap.kdims, key))
        opts = h.Store.lookup_options("matplotlib", frame, "plot").kwargs
        fmt = opts.get("title", "{label} {dimensions}")
        fmt = "" if fmt == figure_title else fmt
        try:
            title = fmt.format(label=frame.label, group="", dimensions=dims).strip()
        except (KeyError, IndexError, ValueError):
            title = f"{fmt} {dims}"
        if dims not in title:  # the widget showed the key: the panel title must now
            title = f"{title} · {dims}" if title else dims
        legend = opts.get("show_legend", True) and i == len(keys) - 1
        out.append(styled(frame, {"title": title or dims, "show_legend": legend}))
    return out


def static_view(obj: Any, max_frames: int = 4, max_cols: int = 4):
    """A version of ``obj`` without widgets: HoloMaps become one panel per frame (at most
    ``max_frames``, evenly spaced: first and last included), in a grid of ``max_cols`` columns.

    Example:
        >>> fig = static_view(response_timecourses(r.responses, condition="contrast"))  # doctest: +SKIP
    """
    h = hv()
    if isinstance(obj, h.DynamicMap):
        raise TypeError("a DynamicMap has no fixed frames to export; pass a HoloMap (e.g. dmap.collate())")
    if isinstance(obj, h.HoloMap):  # a figure of one panel: its title is the figure's
        title = h.Store.lookup_options("matplotlib", obj.last, "plot").kwargs.get("title", "") or ""
        title = title if "{" not in title else ""
        panels = _frames(obj, max_frames, figure_title=title or None)
        return _legend_top_right(layout(panels, min(len(panels), max_cols), title), min(len(panels), max_cols))
    if isinstance(obj, h.Layout) and any(isinstance(o, h.HoloMap) for o in obj):
        panels, cols = [], 1
        for item in obj:
            if isinstance(item, h.HoloMap):
                frames = _frames(item, max_frames)
                panels += frames
                cols = max(cols, len(frames))
            else:
                panels.append(item)
        cols = min(cols, max_cols)
        title = h.Store.lookup_options("matplotlib", obj, "plot").kwargs.get("title", "")
        return _legend_top_right(layout(panels, cols, title), cols)
    return obj


def _legend_top_right(lay, cols: int):
    """One legend per static grid, beside the top-right panel (the others hidden)."""
    h = hv()
    if not isinstance(lay, h.Layout):
        return lay
    items = list(lay)
    shown = [h.Store.lookup_options("matplotlib", p, "plot").kwargs.get("show_legend", True) for p in items]
    if not any(shown):
        return lay
    target = min(cols, len(items)) - 1
    out = [styled(p, {"show_legend": i == target, "legend_position": "right"}) for i, p in enumerate(items)]
    title = h.Store.lookup_options("matplotlib", lay, "plot").kwargs.get("title", "")
    return layout(out, cols, title)


def save_html(obj: Any, path: str | Path, title: str = "", caption: str = "") -> Path:
    """Write ``obj`` as a self-contained interactive HTML page (widgets embedded, offline).

    Args:
        obj: A HoloViews object.
        path: The ``.html`` file (the suffix is added if missing).
        title: The page title (default: the file name).
        caption: Text shown under the figure (how to read it).

    Example:
        >>> save_html(fig, "timecourses.html", caption="Mean over images ± s.e.m.")  # doctest: +SKIP
    """
    import panel as pn
    from bokeh.core.templates import FILE
    from bokeh.core.validation.check import is_silenced, silenced
    from bokeh.core.validation.warnings import FIXED_SIZING_MODE
    from bokeh.resources import INLINE

    hv()
    path = Path(path) if str(path).endswith(".html") else Path(f"{path}.html")
    pane = pn.pane.HoloViews(obj, backend="bokeh", widget_location="top_left")
    page = pn.Column(pane.layout, pn.pane.Markdown(caption, width=760)) if caption else pane  # layout: with widgets
    # panel's fixed layouts around plots sized by frame_width/height trip a spurious check
    quiet = contextlib.nullcontext() if is_silenced(FIXED_SIZING_MODE) else silenced(FIXED_SIZING_MODE)
    with quiet:
        page.save(str(path), title=title or path.stem, resources=INLINE, template=FILE, embed=True,
                  progress=False)
    # panel's saved pages still link component stylesheets on its CDN: embed the shipped files
    path.write_text(inline_panel_assets(path.read_text(encoding="utf-8")), encoding="utf-8")
    return path


def save_static(obj: Any, path: str | Path, fmt: str = "png", dpi: int = DPI, fontscale: float = 1.0) -> Path:
    """Write ``obj`` as a static PNG, SVG or PDF with the matplotlib backend (see :func:`static_view`).

    Args:
        obj: A HoloViews object.
        path: The file (the suffix is added if missing).
        fmt: ``"png"``, ``"svg"`` or ``"pdf"``.
        dpi: Resolution of a PNG (dots per inch); vector formats keep it for embedded images.
        fontscale: Scale every font (1 is legible at the default size; 1.3 for a slide).

    Example:
        >>> save_static(fig, "timecourses.pdf", fmt="pdf")  # doctest: +SKIP
    """
    check_choice("static format", fmt, STATIC)
    dpi = check_int("dpi", dpi, lo=30, hi=1200)
    h = hv()
    _headless_matplotlib()
    path = Path(path)
    base = path.with_suffix("") if path.suffix == f".{fmt}" else path
    renderer = h.renderer("matplotlib").instance(dpi=dpi, fig=fmt)
    view = styled(static_view(obj), {}, mpl={"fontscale": fontscale}, clone=True) if fontscale != 1.0 \
        else static_view(obj)
    import matplotlib

    with matplotlib.rc_context({"font.size": MPL_FONTS["labels"], "legend.frameon": False,
                                "svg.fonttype": "none", "pdf.fonttype": 42}):
        renderer.save(view, str(base), fmt=fmt)
    return Path(f"{base}.{fmt}")


def save_figures(figures: Mapping[str, Any], folder: str | Path, formats: Sequence[str] | str = ("png", "html"),
                 *, dpi: int = DPI, captions: Mapping[str, str] | None = None, progress: bool = True) -> list[Path]:
    """Write every figure as ``<folder>/<name>.<format>``, with a progress bar.

    Args:
        figures: ``{name: HoloViews object}``, e.g. from :func:`~dynvision.views.experiment_figures`.
        folder: Output folder (created if needed).
        formats: Any of ``"png"``, ``"svg"``, ``"pdf"`` (static, matplotlib) and ``"html"``
            (interactive, bokeh, works offline).
        dpi: Resolution of PNG files.
        captions: ``{name: text}`` shown under each HTML figure.
        progress: Show a progress bar (one step per file).

    Returns:
        The written paths, figure by figure and format by format.

    Example:
        >>> paths = save_figures({"timecourses": fig}, "reports/figures/contrast", ["svg"])  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    formats = [formats] if isinstance(formats, str) else list(formats)
    for fmt in formats:
        check_choice("figure format", fmt, FORMATS)
    dpi = check_int("dpi", dpi, lo=30, hi=1200)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    captions = dict(captions or {})
    written = []
    jobs = [(name, obj, fmt) for name, obj in figures.items() for fmt in formats]
    with tqdm(jobs, desc="figures", unit="file", disable=not progress or not jobs, leave=False) as bar:
        for name, obj, fmt in bar:
            bar.set_postfix_str(f"{name}.{fmt}", refresh=False)
            path = folder / f"{name}.{fmt}"
            if fmt == "html":
                save_html(obj, path, title=name, caption=captions.get(name, ""))
            else:
                save_static(obj, path, fmt, dpi=dpi)
            written.append(path)
    return written


def save_experiment_figures(result: Any, folder: str | Path, formats: Sequence[str] | str = ("png", "html"), *,
                            dpi: int = DPI, progress: bool = True, **figure_kwargs: Any) -> list[Path]:
    """Write an experiment's figures (:func:`~dynvision.views.experiment_figures`) with their captions.

    Args:
        result: An :class:`~dynvision.experiments.ExperimentResult`.
        folder: Output folder.
        formats: See :func:`save_figures`.
        dpi: Resolution of PNG files.
        progress: Show a progress bar.
        **figure_kwargs: Passed to :func:`~dynvision.views.experiment_figures` (``models``,
            ``areas``, ``weights``, ``kernels``...).

    Example:
        >>> save_experiment_figures(result, "figures", ["pdf"], weights=False)  # doctest: +SKIP
    """
    from dynvision.views.figures import captions, experiment_figures

    figures = experiment_figures(result, **figure_kwargs)
    return save_figures(figures, folder, formats, dpi=dpi, captions=captions(result, list(figures)),
                        progress=progress)


__all__ = ["DPI", "FORMATS", "save_experiment_figures", "save_figures", "save_html", "save_static", "static_view"]

"""Rendering that works everywhere: JavaScript and CSS inline (never from a CDN), plots on a canvas.

Notebooks call :func:`extension` once (it replaces ``hv.extension`` and ``pn.extension``) so
the executed notebook and its HTML export carry their JavaScript and stylesheets and open
without network access, also after widgets were moved (:func:`inline_stylesheets`); every
bokeh plot draws on a canvas rather than with WebGL (:func:`configure_bokeh`), so it shows in
browsers without a GPU. :func:`cdn_urls` finds what an HTML file would still fetch from elsewhere.

Example:
    >>> cdn_urls('<script src="https://cdn.bokeh.org/bokeh.js"></script><script src="static/x.js"></script>')
    ['https://cdn.bokeh.org/bokeh.js']
"""

from __future__ import annotations

import functools
import re

_EXTERNAL = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)["']""",
                       re.IGNORECASE)
_Q = r"""(?:\\*"|&quot;|&#34;)"""  # a quote in JSON, possibly escaped inside a script or HTML
_MODEL_URL = re.compile(_Q + r"url" + _Q + r"\s*:\s*" + _Q + r"((?:https?:)?//[^\"\\&]+)")


_SETTINGS = {"webgl": False, "configured": False}


def extension(webgl: bool = False, **panel_kwargs) -> None:
    """Load the bokeh backend of HoloViews and Panel with their JavaScript and CSS inline.

    Call it once at the top of a notebook, instead of ``hv.extension``/``pn.extension``.
    Afterwards nothing a figure or an explorer shows is fetched from another host, also after
    widgets have been moved (see :func:`inline_stylesheets`), and plots draw on a canvas, which
    every browser supports.

    Args:
        webgl: Draw bokeh plots with WebGL (HoloViews' default, off here: without a GPU, or
            with WebGL disabled, such plots show axes and legends but no data). Turn it on
            for plots with very many points; a single plot can also ask for it with
            ``.opts(backend_opts={"plot.output_backend": "webgl"})``.
        **panel_kwargs: Passed to ``pn.extension`` (e.g. ``sizing_mode="stretch_width"``).

    Example:
        >>> from dynvision.views import extension
        >>> extension()  # doctest: +SKIP
    """
    import holoviews as hv
    import panel as pn

    _SETTINGS["webgl"] = bool(webgl)
    hv.extension("bokeh", inline=True, logo=False)
    configure_bokeh(force=True)
    pn.extension(inline=True, **panel_kwargs)
    inline_stylesheets()
    hooks = getattr(pn.viewable.Viewable, "_preprocessing_hooks", None)
    if isinstance(hooks, list) and _inline_stylesheets_hook not in hooks:
        hooks.append(_inline_stylesheets_hook)


def configure_bokeh(force: bool = False) -> None:
    """Render HoloViews' bokeh plots on a canvas, unless :func:`extension` asked for WebGL.

    HoloViews' bokeh renderer defaults to ``webgl=True`` and then gives every plot
    ``output_backend="webgl"``; where WebGL is unavailable (no GPU, software rendering,
    remote desktops, some browsers' privacy settings) those plots stay empty. This sets the
    renderer's default once per session (or again with ``force``), so every plot (dynvision's
    or the user's) uses the canvas; a user's later ``hv.renderer("bokeh").webgl = True`` stays.
    Unless set otherwise, the widgets of a HoloMap go above its plot (HoloViews puts them on
    the right, where they push a figure past a notebook's width).

    Example:
        >>> configure_bokeh()  # doctest: +SKIP
    """
    if _SETTINGS["configured"] and not force:
        return
    _SETTINGS["configured"] = True
    from holoviews.plotting.bokeh import BokehRenderer

    BokehRenderer.webgl = _SETTINGS["webgl"]
    if BokehRenderer.widget_location is None:  # HoloViews puts a HoloMap's slider right of the plot
        BokehRenderer.widget_location = "top_left"  # where it widens the figure beyond a notebook's width
    import holoviews as hv

    renderer = hv.Store.renderers.get("bokeh")
    if renderer is not None and renderer.webgl != _SETTINGS["webgl"]:
        renderer.webgl = _SETTINGS["webgl"]


def inline_stylesheets() -> None:
    """Give Panel's component stylesheets ``data:`` URLs (from its installed files) while
    ``pn.config.inline`` is set, wherever and whenever they are created.

    Panel links its components' CSS (``loading.css``, ``markdown.css``, the theme...) on its
    CDN and, in a notebook, replaces the links by inline CSS only when an object is first
    displayed. Models created later (a pane re-rendered after a widget moved, an alert that
    appears) are sent to the browser with the CDN links first and patched afterwards, so the
    browser has already requested them: four stylesheets from cdn.holoviz.org on the first
    slider move of the model explorer. Rewriting the URL where Bokeh's ``ImportedStyleSheet``
    receives it covers every path at once. Idempotent.
    """
    from bokeh.models import ImportedStyleSheet

    if getattr(ImportedStyleSheet, "_dynvision_inline", False):
        return
    original = ImportedStyleSheet.__setattr__

    def __setattr__(self, name, value):
        if name == "url" and isinstance(value, str):
            value = _inline_url(value)
        original(self, name, value)

    ImportedStyleSheet.__setattr__ = __setattr__
    ImportedStyleSheet._dynvision_inline = True


def _inline_url(url: str) -> str:
    """``url`` as a ``data:`` URL if it names a file Panel ships and inline mode is on."""
    import panel as pn

    if not pn.config.inline:
        return url
    from panel.io.resources import CDN_DIST

    if not url.startswith(CDN_DIST):
        return url
    return _data_url(url[len(CDN_DIST):].split("?")[0]) or url


@functools.lru_cache(maxsize=None)
def _data_url(relative: str) -> str | None:
    """A file of Panel's ``dist`` folder as a base64 ``data:`` URL (``None`` if not shipped)."""
    import base64
    import mimetypes

    from panel.io.resources import DIST_DIR

    path = DIST_DIR / relative
    if not path.is_file():
        return None
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _inline_stylesheets_hook(viewable, root) -> None:
    """Panel preprocessing hook: component stylesheets inline instead of on the CDN.

    Panel inlines them for objects it displays itself; HoloViews figures shown by their own
    display hook (and their widgets) keep CDN links, which an offline notebook or HTML
    export cannot load. Active only while ``pn.config.inline`` is set (by :func:`extension`).
    """
    import panel as pn

    if not pn.config.inline:
        return
    from bokeh.models import UIElement
    from panel.io.notebook import patch_inline_stylesheets

    for model in root.select({"type": UIElement}):
        patch_inline_stylesheets(model)


def ensure_backend():
    """Load HoloViews' bokeh plotting (silently, keeping the current backend, on a canvas);
    return ``holoviews``.

    Views pass ``backend="bokeh"`` to their options, so they render with bokeh whatever
    backend the user made current.
    """
    import holoviews as hv

    if "bokeh" not in hv.Store.loaded_backends():
        current = hv.Store.current_backend
        import holoviews.plotting.bokeh  # noqa: F401

        if current in hv.Store.loaded_backends():
            hv.Store.set_current_backend(current)
    configure_bokeh()
    return hv


def inline_panel_assets(html: str) -> str:
    """Replace Panel's CDN asset URLs (stylesheets, icons) in ``html`` by ``data:`` URLs.

    Panel's saved pages reference component stylesheets on ``cdn.holoviz.org`` even with
    inline JavaScript; the files ship with panel, so they are embedded from its ``dist``
    folder instead (a ``?v=...`` suffix is dropped). URLs whose file is not shipped stay as
    they are.
    """
    from panel.io.resources import CDN_DIST

    def embed(match: re.Match) -> str:
        return _data_url(match.group(1)) or match.group(0)

    return re.sub(re.escape(CDN_DIST) + r"([A-Za-z0-9_./-]+)(?:\?v=[A-Za-z0-9_.+-]+)?", embed, html)


def cdn_urls(html: str) -> list[str]:
    """What ``html`` would fetch from other hosts: external (``http(s)://`` or ``//``) URLs of
    its ``<script>`` and ``<link>`` tags and of ``"url"`` attributes in embedded Bokeh documents
    (Panel's stylesheets).

    Example:
        >>> cdn_urls('<link rel="stylesheet" href="//unpkg.com/x.css">')
        ['//unpkg.com/x.css']
        >>> cdn_urls('{"name":"ImportedStyleSheet","attributes":{"url":"https://cdn.x.org/a.css"}}')
        ['https://cdn.x.org/a.css']
    """
    return _EXTERNAL.findall(html) + _MODEL_URL.findall(html)


__all__ = ["cdn_urls", "configure_bokeh", "ensure_backend", "extension", "inline_panel_assets", "inline_stylesheets"]

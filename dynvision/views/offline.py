"""Offline rendering: bokeh and panel JavaScript inline, never from a CDN.

Notebooks call :func:`extension` once (it replaces ``hv.extension`` and ``pn.extension``) so
the executed notebook and its HTML export carry their JavaScript and stylesheets and open
without network access; :func:`cdn_urls` finds what an HTML file would still fetch from elsewhere.

Example:
    >>> cdn_urls('<script src="https://cdn.bokeh.org/bokeh.js"></script><script src="static/x.js"></script>')
    ['https://cdn.bokeh.org/bokeh.js']
"""

from __future__ import annotations

import re

_EXTERNAL = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)["']""",
                       re.IGNORECASE)
_Q = r"""(?:\\*"|&quot;|&#34;)"""  # a quote in JSON, possibly escaped inside a script or HTML
_MODEL_URL = re.compile(_Q + r"url" + _Q + r"\s*:\s*" + _Q + r"((?:https?:)?//[^\"\\&]+)")


def extension(**panel_kwargs) -> None:
    """Load the bokeh backend of HoloViews and Panel with their JavaScript inline.

    Call it once at the top of a notebook, instead of ``hv.extension``/``pn.extension``.

    Args:
        **panel_kwargs: Passed to ``pn.extension`` (e.g. ``sizing_mode="stretch_width"``).

    Example:
        >>> from dynvision.views import extension
        >>> extension()  # doctest: +SKIP
    """
    import holoviews as hv
    import panel as pn

    hv.extension("bokeh", inline=True, logo=False)
    pn.extension(inline=True, **panel_kwargs)
    hooks = getattr(pn.viewable.Viewable, "_preprocessing_hooks", None)
    if isinstance(hooks, list) and _inline_stylesheets_hook not in hooks:
        hooks.append(_inline_stylesheets_hook)


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
    """Load HoloViews' bokeh plotting (silently, keeping the current backend); return ``holoviews``.

    Views pass ``backend="bokeh"`` to their options, so they render with bokeh whatever
    backend the user made current.
    """
    import holoviews as hv

    if "bokeh" not in hv.Store.loaded_backends():
        current = hv.Store.current_backend
        import holoviews.plotting.bokeh  # noqa: F401

        if current in hv.Store.loaded_backends():
            hv.Store.set_current_backend(current)
    return hv


def inline_panel_assets(html: str) -> str:
    """Replace Panel's CDN asset URLs (stylesheets, icons) in ``html`` by ``data:`` URLs.

    Panel's saved pages reference component stylesheets on ``cdn.holoviz.org`` even with
    inline JavaScript; the files ship with panel, so they are embedded from its ``dist``
    folder instead. URLs whose file is not shipped stay as they are.
    """
    import base64
    import mimetypes

    from panel.io.resources import CDN_DIST, DIST_DIR

    def embed(match: re.Match) -> str:
        path = DIST_DIR / match.group(1)
        if not path.is_file():
            return match.group(0)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"

    return re.sub(re.escape(CDN_DIST) + r"([A-Za-z0-9_./-]+)", embed, html)


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


__all__ = ["cdn_urls", "ensure_backend", "extension", "inline_panel_assets"]

"""Offline rendering helpers, and that importing the views costs nothing until they are used."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dynvision.views.offline import cdn_urls, inline_panel_assets


def test_cdn_urls_finds_external_scripts_and_stylesheets_only():
    html = ('<script src="https://cdn.bokeh.org/bokeh.min.js"></script>'
            '<script type="text/javascript" src="static/js/bokeh.min.js"></script>'
            "<link rel='stylesheet' href='//unpkg.com/a.css'>"
            '<a href="https://example.org">a link is not loaded</a><script>var u = "https://x";</script>')
    assert cdn_urls(html) == ["https://cdn.bokeh.org/bokeh.min.js", "//unpkg.com/a.css"]


def test_panel_assets_are_embedded_from_the_installed_package():
    pytest.importorskip("panel")
    from panel.io.resources import CDN_DIST

    html = f'{{"url": "{CDN_DIST}css/loading.css"}} <link rel="icon" href="{CDN_DIST}images/no-such-file.png">'
    out = inline_panel_assets(html)
    assert f"{CDN_DIST}css/loading.css" not in out and "data:text/css;base64," in out
    assert f"{CDN_DIST}images/no-such-file.png" in out  # not shipped: left alone


def test_importing_the_views_imports_no_plotting_library():
    code = ("import sys, dynvision, dynvision.views, dynvision.views.trees; "
            "heavy = [m for m in ('panel', 'holoviews', 'bokeh', 'papermill') if m in sys.modules]; "
            "print(heavy); assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cdn_urls_sees_panel_stylesheets_in_saved_pages(tmp_path, monkeypatch):
    pn = pytest.importorskip("panel")
    from bokeh.resources import INLINE
    from panel.io.resources import CDN_DIST

    monkeypatch.setattr(pn.config, "inline", False)  # what Panel does without dynvision's extension()
    pn.Row(pn.widgets.Select(options=["a", "b"], stylesheets=[f"{CDN_DIST}css/markdown.css"])).save(
        str(tmp_path / "raw.html"), resources=INLINE)
    raw = (tmp_path / "raw.html").read_text(encoding="utf-8")
    assert any(url.endswith(".css") for url in cdn_urls(raw))  # panel links its CSS on the CDN
    assert cdn_urls(inline_panel_assets(raw)) == []


def test_bokeh_plots_draw_on_a_canvas_not_webgl():
    """HoloViews' bokeh renderer defaults to WebGL, which leaves plots empty where WebGL is unavailable."""
    import holoviews as hv

    from dynvision.views._hv import hv as load

    load()
    assert hv.render(hv.Curve([1, 3, 2]), backend="bokeh").output_backend == "canvas"
    pn = pytest.importorskip("panel")
    root = pn.pane.HoloViews(hv.Curve([1, 2]), backend="bokeh").get_root()
    from bokeh.models import Plot

    assert [p.output_backend for p in root.select({"type": Plot})] == ["canvas"]


def test_webgl_is_an_option(monkeypatch):
    import holoviews as hv

    from dynvision.views import offline

    monkeypatch.setitem(offline._SETTINGS, "webgl", True)
    try:
        offline.configure_bokeh(force=True)
        assert hv.render(hv.Curve([1, 3, 2]), backend="bokeh").output_backend == "webgl"
    finally:
        monkeypatch.setitem(offline._SETTINGS, "webgl", False)
        offline.configure_bokeh(force=True)
    assert hv.render(hv.Curve([1, 3, 2]), backend="bokeh").output_backend == "canvas"


def test_stylesheets_created_after_display_are_inline(monkeypatch):
    """Models Panel creates after the first display (a pane re-rendered when a widget moves) must
    not link Panel's CDN: the browser would fetch them before any later patch."""
    pn = pytest.importorskip("panel")
    from bokeh.models import ImportedStyleSheet
    from panel.io.resources import CDN_DIST

    from dynvision.views.offline import inline_stylesheets

    inline_stylesheets()
    monkeypatch.setattr(pn.config, "inline", True)
    sheet = ImportedStyleSheet(url=f"{CDN_DIST}css/loading.css?v=1")
    assert sheet.url.startswith("data:text/css;base64,")
    sheet.url = f"{CDN_DIST}css/markdown.css"  # Panel also re-points existing sheets
    assert sheet.url.startswith("data:text/css;base64,")
    assert ImportedStyleSheet(url="https://example.org/x.css").url == "https://example.org/x.css"
    monkeypatch.setattr(pn.config, "inline", False)
    assert ImportedStyleSheet(url=f"{CDN_DIST}css/loading.css").url.startswith(CDN_DIST)  # only when inline


def test_a_markdown_pane_updated_after_display_links_no_cdn(monkeypatch):
    """The model explorer's case: an alert that appears after a widget moved."""
    pn = pytest.importorskip("panel")
    from bokeh.models import ImportedStyleSheet, UIElement

    from dynvision.views.offline import inline_stylesheets

    inline_stylesheets()
    monkeypatch.setattr(pn.config, "inline", True)
    text = pn.widgets.TextInput(value="")
    alert = pn.pane.Alert(pn.bind(lambda v: v or "", text), visible=text.param.value.rx.bool())
    root = pn.Column(alert).get_root()
    text.value = "an error"  # after display: Panel builds and updates models now
    urls = [s.url for m in root.select({"type": UIElement}) for s in m.stylesheets
            if isinstance(s, ImportedStyleSheet)]
    assert urls and not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls

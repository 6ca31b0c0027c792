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


def test_cdn_urls_sees_panel_stylesheets_in_saved_pages(tmp_path):
    pn = pytest.importorskip("panel")
    from bokeh.resources import INLINE

    pn.Row(pn.widgets.Select(options=["a", "b"])).save(str(tmp_path / "raw.html"), resources=INLINE)
    raw = (tmp_path / "raw.html").read_text(encoding="utf-8")
    assert any(url.endswith(".css") for url in cdn_urls(raw))  # panel links its CSS on the CDN
    assert cdn_urls(inline_panel_assets(raw)) == []

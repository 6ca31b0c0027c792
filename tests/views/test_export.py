"""Export: non-empty PNG / SVG files and self-contained HTML that opens offline."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import holoviews as hv
import pytest

from dynvision.registry import UnknownNameError
from dynvision.views.export import save_figures, static_view
from dynvision.views.timecourses import classifier_timecourses, response_timecourses

from .helpers import panels, title


@pytest.fixture(scope="module")
def figures(interval_pair):
    return {"classifier": classifier_timecourses(interval_pair.classifier),
            "timecourses": response_timecourses(interval_pair.responses, condition="interval", areas=["V1", "IT"])}


def test_save_figures_writes_every_format(figures, tmp_path):
    paths = save_figures(figures, tmp_path / "out", ("png", "svg", "html"))
    assert [p.name for p in paths] == ["classifier.png", "classifier.svg", "classifier.html",
                                       "timecourses.png", "timecourses.svg", "timecourses.html"]
    for p in paths:
        assert p.is_file() and p.stat().st_size > 1000
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in paths[1].read_text()


def test_html_is_offline_and_interactive(figures, tmp_path):
    (path,) = save_figures({"timecourses": figures["timecourses"]}, tmp_path, "html")
    text = path.read_text()
    assert "cdn.bokeh.org" not in text and "cdn.holoviz.org" not in text
    assert not re.search(r"<script[^>]*\ssrc=[\"']?(https?:)?//", text)
    assert not re.search(r"<link[^>]*\shref=[\"']?(https?:)?//", text)
    assert "Bokeh" in text and "HoverTool" in text and "interval" in text  # the widget is embedded


def test_static_view_turns_frames_into_titled_panels(figures):
    fig = figures["timecourses"]
    static = static_view(fig)
    assert isinstance(static, hv.Layout) and len(static) == 2 * 3  # 2 models x 3 intervals
    assert title(panels(static)[1], "matplotlib").endswith("interval: 10")
    assert len(static_view(fig, max_frames=2)) == 2 * 2
    assert static_view(figures["classifier"]) is figures["classifier"]


def test_unknown_formats_raise_and_list_the_valid_ones(figures, tmp_path):
    with pytest.raises(UnknownNameError, match="'pdf'.*'html', 'png', 'svg'"):
        save_figures(figures, tmp_path, ("pdf",))


def test_export_works_headless(tmp_path):
    code = ("import holoviews as hv; from dynvision.views.export import save_figures; "
            "from dynvision.views._hv import hv as load; load(); "
            f"print(save_figures({{'c': hv.Curve([1, 3, 2])}}, r'{tmp_path}', ('png',)))")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "c.png").stat().st_size > 1000

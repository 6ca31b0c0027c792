"""Export: PNG at a chosen dpi, SVG and PDF, self-contained offline HTML with widgets and captions,
small multiples in a grid, a progress bar, and no warnings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings

import holoviews as hv
import pytest

from dynvision.registry import UnknownNameError
from dynvision.validation import InvalidValueError
from dynvision.views.export import save_experiment_figures, save_figures, static_view
from dynvision.views.timecourses import classifier_timecourses, response_timecourses

from .helpers import panels, title


@pytest.fixture(scope="module")
def figures(interval_pair):
    return {"classifier": classifier_timecourses(interval_pair.classifier),
            "timecourses": response_timecourses(interval_pair.responses, condition="interval", areas=["V1", "IT"])}


def test_save_figures_writes_every_format(figures, tmp_path):
    paths = save_figures({"classifier": figures["classifier"], "curve": hv.Curve([1, 3, 2])}, tmp_path / "out",
                         ("png", "svg", "pdf", "html"), progress=False)
    assert [p.name for p in paths] == ["classifier.png", "classifier.svg", "classifier.pdf", "classifier.html",
                                       "curve.png", "curve.svg", "curve.pdf", "curve.html"]
    for p in paths:
        assert p.is_file() and p.stat().st_size > 1000
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in paths[1].read_text()
    assert paths[2].read_bytes()[:5] == b"%PDF-"


def test_dpi_sets_the_png_resolution(figures, tmp_path):
    from PIL import Image

    (low,) = save_figures({"c": figures["classifier"]}, tmp_path / "low", "png", dpi=100, progress=False)
    (high,) = save_figures({"c": figures["classifier"]}, tmp_path / "high", "png", dpi=300, progress=False)
    w_low, w_high = Image.open(low).size[0], Image.open(high).size[0]
    assert 2.7 < w_high / w_low < 3.3
    with pytest.raises(InvalidValueError, match="dpi=0"):
        save_figures(figures, tmp_path, "png", dpi=0)


def test_html_is_offline_interactive_and_captioned(figures, tmp_path):
    (path,) = save_figures({"timecourses": figures["timecourses"]}, tmp_path, "html",
                           captions={"timecourses": "Mean over images with a band of one standard error"},
                           progress=False)
    text = path.read_text()
    assert "cdn.bokeh.org" not in text and "cdn.holoviz.org" not in text
    assert not re.search(r"<script[^>]*\ssrc=[\"']?(https?:)?//", text)
    assert not re.search(r"<link[^>]*\shref=[\"']?(https?:)?//", text)
    assert "Bokeh" in text and "HoverTool" in text and '"name":"Slider"' in text  # the widget is embedded
    assert "with a band of one standard error" in text
    assert '"output_backend":"webgl"' not in text.replace(" ", "")


def test_static_view_turns_frames_into_titled_panels_in_a_grid(figures):
    fig = figures["timecourses"]
    static = static_view(fig)
    assert isinstance(static, hv.Layout) and len(static) == 2 * 3  # 2 models x 3 intervals
    assert title(panels(static)[1], "matplotlib").endswith("interval 10 ms")
    assert static._max_cols <= 4
    few = static_view(fig, max_frames=2)
    assert len(few) == 2 * 2 and title(panels(few)[1], "matplotlib").endswith("interval 20 ms")  # first and last
    assert static_view(figures["classifier"]) is figures["classifier"]


def test_unknown_formats_raise_and_list_the_valid_ones(figures, tmp_path):
    with pytest.raises(UnknownNameError, match="'jpg'.*'html', 'pdf', 'png', 'svg'"):
        save_figures(figures, tmp_path, ("jpg",))


def test_static_export_shows_a_progress_bar_and_no_warnings(contrast_result, tmp_path, capsys):
    """In a notebook (bokeh loaded first by extension()) the static export used to warn once per
    shaded stimulus window (matplotlib's 'color' UserWarning)."""
    from dynvision.views import extension

    extension()
    r = contrast_result
    fig = response_timecourses(r.responses, condition="contrast", metrics=r.metrics)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        save_figures({"timecourses": fig, "classifier": classifier_timecourses(r.classifier, windows=[(10, 30)])},
                     tmp_path, "png")
    assert [str(w.message) for w in caught] == []
    assert "figures" in capsys.readouterr().err  # tqdm writes its bar to stderr


def test_an_experiments_figures_are_written_with_their_captions(contrast_result, tmp_path):
    paths = save_experiment_figures(contrast_result, tmp_path, "html", weights=False, kernels=False, progress=False)
    assert {p.stem for p in paths} == {"timecourses", "contrast_timecourses", "contrast_response",
                                       "contrast_latency", "classifier"}
    html = (tmp_path / "contrast_response.html").read_text()
    assert "Naka-Rushton fit r_max" in html  # the declared caption under the figure


def test_export_works_headless(tmp_path):
    code = ("import holoviews as hv; from dynvision.views.export import save_figures; "
            "from dynvision.views._hv import hv as load; load(); "
            f"print(save_figures({{'c': hv.Curve([1, 3, 2])}}, r'{tmp_path}', ('png',), progress=False))")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "c.png").stat().st_size > 1000

"""An experiment's HTML figures in headless Chromium with WebGL disabled: every plot draws (pixels
in its data area, on a canvas), fits a notebook's width, plots the values of the result it was
given (read back from the page's Bokeh documents), and nothing leaves 127.0.0.1, also after the
widgets are driven."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import BOKEH_READY, Page, Server, assert_clean, drawn_fraction

pytestmark = pytest.mark.browser

NO_WEBGL = ["--disable-webgl", "--disable-3d-apis"]
KW = {"n_classes": 10, "input_dims": (1, 1, 16, 16), "width": 0.125, "tff": 2.0}


@pytest.fixture(scope="module")
def interval_pair(tmp_path_factory):
    """Two models (full and self recurrence) on three intervals, with its figures written as HTML."""
    import dynvision
    from dynvision.views import save_experiment_figures

    result = dynvision.run_experiment("interval", model="DyRCNNx4", model_kwargs=KW,
                                      compare={"recurrence_type": ["full", "self"]}, progress=False, n_images=2,
                                      t_pre=10.0, t_stim=10.0, t_post=30.0, intervals=[4.0, 10.0, 20.0])
    folder = tmp_path_factory.mktemp("figures")
    save_experiment_figures(result, folder, "html", weights=False, kernels=False, progress=False)
    server = Server(folder)
    yield result, server
    server.stop()


def _open(page: Page, url: str) -> np.ndarray:
    page.page.goto(url, timeout=60_000)
    page.page.wait_for_function(BOKEH_READY, timeout=60_000)
    page.page.wait_for_timeout(500)  # let the canvases paint
    return page.screenshot(url.rsplit("/", 1)[-1].replace(".html", ""))


def _vectors(sources: dict, column: str, length: int) -> set[tuple]:
    return {tuple(np.round(v[column], 5)) for v in sources.values() if len(v.get(column, [])) == length}


@pytest.mark.parametrize("name", ["timecourses", "interval_timecourses", "interval_response", "classifier"])
def test_every_plot_draws_on_a_canvas_and_fits_a_notebook(playwright, interval_pair, name):
    from dynvision.views._hv import MAX_WIDTH

    _, server = interval_pair
    page = Page(playwright, width=1280, height=900, extra_args=NO_WEBGL)
    try:
        shot = _open(page, f"{server.url}/{name}.html")
        frames = page.frames()
        assert frames
        for frame in frames:
            assert frame["backend"] == "canvas", frame
            assert drawn_fraction(shot, frame) > 0.01, f"{name}: nothing drawn in {frame['title']!r}"
            assert frame["right"] <= MAX_WIDTH + 40, f"{name} is {frame['right']:.0f} px wide"
        assert_clean(page)
    finally:
        page.close()


def test_plotted_values_are_each_models_data(playwright, interval_pair):
    result, server = interval_pair
    page = Page(playwright, width=1280, height=900, extra_args=NO_WEBGL)
    try:
        _open(page, f"{server.url}/interval_response.html")
        points = _vectors(page.sources(), "p2_p1_ratio", 3)
        means = result.metrics["p2_p1_ratio"].mean("image")
        expected = {tuple(np.round(means.sel(model=m, area=a).values, 5))
                    for m in result.labels for a in means["area"].values}
        assert expected <= points  # every model's ratio in every area, and no model's twice

        _open(page, f"{server.url}/timecourses.html")  # the slider opens at the longest interval
        curves = _vectors(page.sources(), "response", result.responses.sizes["time"])
        keep = result.responses["interval"] == 20.0
        shown = result.responses.where(keep, drop=True).mean("sample")
        for m in result.labels:
            for a in shown["area"].values:
                assert tuple(np.round(shown.sel(model=m, area=a).values, 5)) in curves, (m, a)
        assert_clean(page)
    finally:
        page.close()


def test_driving_the_widget_changes_the_data_and_stays_offline(playwright, interval_pair):
    result, server = interval_pair
    page = Page(playwright, width=1280, height=900, extra_args=NO_WEBGL)
    try:
        _open(page, f"{server.url}/timecourses.html")
        before = page.sources()
        handle = page.page.locator(".noUi-handle").first
        handle.focus()
        handle.press("Home")  # the first interval
        after = page.wait_until(lambda s: s != before, "new curves after moving the interval slider")
        keep = result.responses["interval"] == 4.0
        shown = result.responses.where(keep, drop=True).mean("sample").sel(model=result.labels[1], area="IT")
        assert tuple(np.round(shown.values, 5)) in _vectors(after, "response", result.responses.sizes["time"])
        shot = page.screenshot("timecourses-interval-4")
        assert all(drawn_fraction(shot, f) > 0.01 for f in page.frames())
        assert_clean(page)
    finally:
        page.close()

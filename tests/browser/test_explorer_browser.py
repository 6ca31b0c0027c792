"""The served activation explorer (``dynvision explore``) in headless Chromium.

Driven like a user (keyboard on the time slider, the area selector), and checked by what the page
plots, read back from its Bokeh documents and compared with the stored tree: the map and the time
course are the tree's values at the time and area shown, the titles say that time, every plot
has pixels in its data area, axis ranges follow the area, and nothing is requested from a host
other than 127.0.0.1, after driving the widgets too.
"""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import BOKEH_READY, Page, assert_clean, drawn_fraction

pytestmark = pytest.mark.browser


def _store(path, reduce=None):
    import torch

    import dynvision
    from dynvision.stimuli import make_images, presentation

    torch.manual_seed(0)
    model = dynvision.create_model("DyRCNNx4", n_classes=4, input_dims=(10, 1, 16, 16), width=0.125)
    stimulus = presentation(make_images("digits", n=2, size=16), dt=2.0, t_pre=4, t_stim=20, t_post=8,
                            contrast=[0.5, 1.0])
    dynvision.Simulation(model, progress=False).run(stimulus, store=path, reduce=reduce)
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A small stored run with full maps and two conditions (image x contrast)."""
    return _store(tmp_path_factory.mktemp("browser") / "run.zarr")


@pytest.fixture(scope="module")
def reduced(tmp_path_factory):
    """The same run stored as channel profiles (reduce='mean'): V1 has 8 channels, IT 32."""
    return _store(tmp_path_factory.mktemp("browser") / "reduced.zarr", reduce="mean")


@pytest.fixture
def served(playwright):
    from dynvision.views import serve_explorer
    from dynvision.views.serve import free_port

    servers, pages = [], []

    def open_(path) -> Page:
        port = free_port()
        servers.append(serve_explorer(path, port=port, verbose=False))
        page = Page(playwright, width=1280, height=1000)
        pages.append(page)
        page.page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
        page.page.wait_for_function(BOKEH_READY, timeout=60_000)
        return page

    yield open_
    for page in pages:
        page.close()
    for server in servers:
        server.stop()


def _matches(values: list, expected: np.ndarray) -> bool:
    values = np.sort(np.asarray(values, float))
    expected = np.sort(np.asarray(expected, float).ravel())
    return values.shape == expected.shape and np.allclose(values, expected, rtol=1e-4, atol=1e-6)


def _images(sources: dict) -> list:
    return [v["image"] for v in sources.values() if "image" in v]


def _slider_text(page: Page) -> str:
    return page.page.get_by_text("time from onset").first.inner_text(timeout=10_000)


def test_served_explorer_plots_the_stored_values_and_follows_the_slider(served, store):
    import dynvision
    from dynvision.views import ActivationExplorer

    tree = dynvision.open_activations(store)
    ex = ActivationExplorer(tree)  # the state the page opens in: largest contrast, V1's peak
    page = served(store)
    start = page.wait_until(lambda s: any(_matches(i, ex.activity_data().values) for i in _images(s)),
                            "V1's map at the peak time, as stored")
    assert any(_matches(i, ex.stimulus_data().values) for i in _images(start)), "the stimulus frame"
    course = ex.time_course_data().values
    assert any(np.allclose(v["response"], course, rtol=1e-4) for v in start.values() if "response" in v)
    shot = page.screenshot("explorer-start")
    frames = page.frames()
    assert len(frames) == 3
    for frame in frames:
        assert frame["backend"] == "canvas"
        assert drawn_fraction(shot, frame) > 0.02, f"nothing drawn in {frame['title']!r}"
    shown = ex._time_text(ex.time)
    assert shown in _slider_text(page) and any(f"t = {shown}" in f["title"] for f in frames)

    handle = page.page.locator(".noUi-handle").first  # the time slider, held: three steps in a row
    handle.focus()
    for _ in range(3):
        handle.press("ArrowRight")
    times = list(ex.param.time.objects)
    ex.time = times[times.index(ex.time) + 3]
    moved = page.wait_until(lambda s: any(_matches(i, ex.activity_data().values) for i in _images(s)),
                            "the map three steps later")
    assert any(_matches(i, ex.stimulus_data().values) for i in _images(moved))
    later = ex._time_text(ex.time)
    try:  # the slider's label
        page.page.get_by_text(f"time from onset: {later}").first.wait_for(timeout=10_000)
    except Exception:
        raise AssertionError(f"slider label {_slider_text(page)!r}, expected {later!r}; "
                             f"titles {[f['title'] for f in page.frames()]}") from None
    assert any(f"t = {later}" in f["title"] for f in page.frames())  # the title says the time it shows

    page.page.locator("select").filter(has=page.page.locator("option[value='IT']")).first.select_option("IT")
    ex.area = "IT"
    course = ex.time_course_data().values
    page.wait_until(lambda s: any(_matches(i, ex.activity_data().values) for i in _images(s))
                    and any(np.allclose(v["response"], course, rtol=1e-4) for v in s.values()
                            if len(v.get("response", [])) == len(course)),
                    "IT's map at the same time, and IT's time course")
    shot = page.screenshot("explorer-IT")
    assert all(drawn_fraction(shot, f) > 0.02 for f in page.frames())
    assert_clean(page)


def test_switching_area_on_a_reduced_store_shows_all_channels(served, reduced):
    """V1 -> IT kept V1's axis ranges: only channels 0-8 of IT's profile were visible."""
    import dynvision

    n_it = dynvision.open_activations(reduced)["IT"].sizes["channel"]
    page = served(reduced)
    page.wait_until(lambda s: any(len(v.get("activity", [])) > 0 for v in s.values()), "V1's channel profile")

    def profile():
        return next(f for f in page.frames() if "channels" in f["title"])

    assert profile()["x_range"][1] < n_it - 1
    page.page.locator("select").filter(has=page.page.locator("option[value='IT']")).first.select_option("IT")
    page.wait_until(lambda s: any(len(v.get("activity", [])) == n_it for v in s.values()), "IT's channel profile")
    page.page.wait_for_function("() => [...Object.values(Bokeh.index)].length > 0")
    deadline = 40
    while deadline and not ("IT" in profile()["title"] and profile()["x_range"][1] >= n_it - 1):
        page.page.wait_for_timeout(250)
        deadline -= 1
    frame = profile()
    assert "IT" in frame["title"] and frame["x_range"][0] <= 0 and frame["x_range"][1] >= n_it - 1, frame
    shot = page.screenshot("explorer-reduced-IT")
    assert drawn_fraction(shot, frame) > 0.01
    assert_clean(page)

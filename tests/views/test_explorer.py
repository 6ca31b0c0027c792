"""ActivationExplorer and its tree helpers, tested by the arrays the views show.

Each view must show exactly the slice of the activation tree that the parameters name:
``activity[sample, time, channel (or mean)]``, the time course, and the stimulus frame.
"""

from __future__ import annotations

import numpy as np
import pytest

import dynvision
from dynvision.stimuli import make_images, presentation
from dynvision.views import trees as T
from dynvision.views.explorer import ActivationExplorer

pytest.importorskip("panel")
pytest.importorskip("holoviews")


def _stimulus():
    return presentation(make_images("digits", n=2, size=16, seed=0), dt=2.0, t_pre=4, t_stim=12, t_post=4,
                        contrast=[0.5, 1.0])


@pytest.fixture(scope="module")
def model():
    import torch

    torch.manual_seed(0)
    return dynvision.create_model("DyRCNNx4", n_classes=4, input_dims=(10, 1, 16, 16), width=0.125, tff=2.0)


@pytest.fixture(scope="module")
def tree(model):
    return dynvision.Simulation(model, progress=False).run(_stimulus())


@pytest.fixture(scope="module")
def reduced(model):
    return dynvision.Simulation(model, progress=False).run(_stimulus(), reduce="mean")


def _image_values(element) -> np.ndarray:
    return element.dimension_values(2, flat=False)


def test_opens_at_the_strongest_contrast_and_the_peak_of_the_response(tree):
    ex = ActivationExplorer(tree)
    assert (ex.model, ex.area, ex.channel) == ("DyRCNNx4", "V1", "mean")
    assert ex.conditions["contrast"] == 1.0 == float(tree["contrast"].max())
    course = tree["V1"]["activity"].isel(sample=ex.sample).mean(["channel", "y", "x"])
    assert ex.time == float(course["time"][int(course.argmax("time"))])  # the peak, not t = 0 on a grey frame
    assert float(course.sel(time=ex.time)) > float(course.isel(time=0))
    assert list(ex.param.area.objects) == ["V1", "V2", "V4", "IT"]
    assert list(ex.param.time.objects) == [float(t) for t in tree["time"].values]


def test_times_are_shown_from_stimulus_onset(tree):
    ex = ActivationExplorer(tree, time=10.0)
    onset = float(tree["stim_onset"][0])
    assert ex.onset == onset == 4.0
    assert "t = 6 ms" in ex.activity_element().opts.get("plot", "bokeh").kwargs["title"]  # 10 - 4
    assert [k for k, v in ex.param.time.objects.items() if v == 10.0] == ["6 ms"]
    overlay = ex.time_course_element()
    course = overlay.Curve.I
    np.testing.assert_allclose(course.dimension_values(0), tree["time"].values - onset)
    (span,) = overlay.VSpan  # the stimulus window, shaded
    assert tuple(span.data) == (0.0, float(tree["stim_offset"][0]) - onset)
    assert ex.time_marker().data == 6.0


def test_time_selects_the_map_at_that_time(tree):
    ex = ActivationExplorer(tree, area="V1")
    maps = []
    for t in (10.0, 14.0):
        ex.time = t
        expected = tree["V1"]["activity"].isel(sample=ex.sample).sel(time=t).mean("channel").values
        np.testing.assert_allclose(_image_values(ex.activity_element()), expected, rtol=1e-6)
        maps.append(_image_values(ex.activity_element()))
    assert not np.allclose(maps[0], maps[1])  # the time slider changed what is plotted


def test_area_and_channel_select_their_slice(tree):
    ex = ActivationExplorer(tree, time=12.0)
    ex.area = "V2"
    assert ex.param.channel.objects == ["mean", *range(tree["V2"].sizes["channel"])]
    ex.channel = 2
    expected = tree["V2"]["activity"].isel(sample=ex.sample).sel(time=12.0, channel=2).values
    element = ex.activity_element()
    assert _image_values(element).shape == expected.shape == (8, 8)
    np.testing.assert_allclose(_image_values(element), expected, rtol=1e-6)
    course = ex.time_course_element().Curve.I
    np.testing.assert_allclose(course.dimension_values("response"),
                               tree["V2"]["activity"].isel(sample=ex.sample, channel=2).mean(["y", "x"]).values, rtol=1e-6)
    np.testing.assert_array_equal(course.dimension_values(0), tree["time"].values - ex.onset)
    assert ex.time_marker().data == 12.0 - ex.onset


def test_channel_outside_the_new_area_falls_back_to_mean(tree):
    ex = ActivationExplorer(tree, area="IT", channel=20)
    ex.area = "V1"  # V1 has fewer channels
    assert ex.channel == "mean"


def test_conditions_select_samples_and_keep_the_others(tree):
    ex = ActivationExplorer(tree, time=10.0)
    images = T.conditions(tree)["image"]
    assert list(T.conditions(tree)) == ["image", "contrast"]  # label follows from image
    ex.select(image=images[1], contrast=1.0)
    sample = ex.sample
    assert tree["image"].values[sample] == images[1] and tree["contrast"].values[sample] == 1.0
    ex.select(contrast=0.5)  # only the contrast changes
    assert ex.conditions["image"] == images[1] and ex.conditions["contrast"] == 0.5
    expected = tree["stimulus"]["luminance"].isel(sample=ex.sample, channel=0).sel(time=10.0).values
    np.testing.assert_allclose(_image_values(ex.stimulus_element()), expected)
    np.testing.assert_allclose(ex.time_course_data().values,
                               tree["V1"]["activity"].isel(sample=ex.sample).mean(["channel", "y", "x"]).values,
                               rtol=1e-6)


def test_condition_values_as_constructor_arguments(tree):
    ex = ActivationExplorer(tree, contrast=1.0, time=8.0)
    assert ex.conditions["contrast"] == 1.0 and ex.time == 8.0


def test_unknown_condition_lists_the_valid_ones(tree):
    ex = ActivationExplorer(tree)
    with pytest.raises(ValueError, match="'duration' is not a condition.*image, contrast"):
        ex.select(duration=10.0)


def test_reduced_area_shows_its_channel_profile(reduced):
    ex = ActivationExplorer(reduced, area="V4", time=14.0, channel=3)
    assert ex.reduced
    data = ex.activity_data()
    assert data.dims == ("channel",)
    expected = reduced["V4"]["activity"].isel(sample=ex.sample).sel(time=14.0).values
    element = ex.activity_element()
    curve, marker = element.Curve.I, element.Scatter.I
    np.testing.assert_allclose(curve.dimension_values("activity"), expected, rtol=1e-6)
    assert marker.dimension_values("channel").tolist() == [3]
    assert "V4 channels" in element.opts.get("plot", "bokeh").kwargs["title"]
    assert "stored reduced" in ex._info()
    np.testing.assert_allclose(ex.time_course_data().values,
                               reduced["V4"]["activity"].isel(sample=ex.sample, channel=3).values, rtol=1e-6)


def test_stores_and_experiment_folders_open_lazily(model, tree, tmp_path):
    dynvision.Simulation(model, progress=False).run(_stimulus(), store=tmp_path / "one.zarr")
    ex = ActivationExplorer(str(tmp_path / "one.zarr"), area="V2", time=12.0, channel=1)
    assert ex.model == "one"
    assert ex.tree["V2"]["activity"].chunks is not None  # dask-backed: read on demand
    np.testing.assert_allclose(_image_values(ex.activity_element()),
                               tree["V2"]["activity"].isel(sample=ex.sample).sel(time=12.0, channel=1).values, rtol=1e-6)

    folder = tmp_path / "experiment" / "activations"
    dynvision.Simulation(model, progress=False).run(_stimulus(), store=folder / "full.zarr")
    dynvision.Simulation(model, progress=False).run(_stimulus(), store=folder / "self.zarr", reduce="mean")
    ex = ActivationExplorer(tmp_path / "experiment", contrast=1.0)
    assert list(ex.trees) == ["full", "self"] and ex.model == "full"
    ex.model = "self"  # switching models keeps the conditions
    assert ex.conditions["contrast"] == 1.0 and ex.reduced


def test_several_models_from_a_mapping(tree, reduced):
    ex = ActivationExplorer({"a": tree, "b": reduced})
    assert ex.param.model.objects == ["a", "b"]
    ex.model = "b"
    assert ex.tree is reduced


@pytest.mark.parametrize("source, error", [(42, TypeError), ("/nonexistent/store.zarr", FileNotFoundError)])
def test_bad_sources_raise(source, error):
    with pytest.raises(error):
        ActivationExplorer(source)


def test_tree_without_stimulus_shows_a_note(model):
    tree = dynvision.Simulation(model, progress=False).run(_stimulus(), store_stimulus=False)
    ex = ActivationExplorer(tree)
    assert ex.stimulus_data() is None
    assert "no stimulus" in ex.stimulus_element().text


def test_panel_widgets_drive_the_parameters(tree):
    import panel as pn

    ex = ActivationExplorer(tree)
    layout = ex.panel()
    selects = {getattr(w, "label", None) or w.name: w for w in layout.select(pn.widgets.Select)}
    assert {"Area", "Channel", "image", "contrast"} <= set(selects)
    assert layout.select(pn.widgets.DiscretePlayer) and layout.select(pn.widgets.DiscreteSlider)
    selects["Area"].value = "V4"
    assert ex.area == "V4"
    selects["contrast"].value = 1.0
    assert ex.conditions["contrast"] == 1.0
    ex.select(contrast=0.5)  # and the widgets follow the explorer
    assert selects["contrast"].value == 0.5
    player = layout.select(pn.widgets.DiscretePlayer)[0]
    player.value = 16.0
    assert ex.time == 16.0
    # the time's label comes from the server alone and follows the time (the slider shows none)
    (label,) = [p for p in layout.select(pn.pane.HTML) if "time" in str(p.object)]
    assert label.object.endswith(f"<b>{ex._time_text(16.0)}</b>")
    ex.time = 18.0
    assert label.object.endswith(f"<b>{ex._time_text(18.0)}</b>")
    assert not layout.select(pn.widgets.DiscreteSlider)[0].show_value


def test_saved_html_is_offline(tree, tmp_path):
    from dynvision.views.offline import cdn_urls

    html = ActivationExplorer(tree).save(tmp_path / "explorer.html").read_text()
    assert "Bokeh" in html
    assert cdn_urls(html) == []
    assert "cdn.holoviz.org" not in html and "cdn.bokeh.org" not in html


def test_chosen_conditions_win_over_the_ones_that_follow_from_them():
    from dynvision.io import build_tree

    images, contrasts = ["a", "a", "b", "b"], [0.5, 1.0, 0.5, 1.0]
    coords = {"sample": ("sample", np.arange(4)), "image": ("sample", images),
              "label": ("sample", [0, 0, 1, 1]), "contrast": ("sample", contrasts)}
    tree = build_tree(np.zeros((4, 2, 3), "float32"), {"V1": np.zeros((4, 2, 2, 3, 3), "float32")},
                      times=np.array([0.0, 1.0]), coords=coords, attrs={"dt": 1.0})
    assert list(T.conditions(tree)) == ["image", "contrast"]
    assert list(T.conditions(tree, derived=True)) == ["image", "contrast", "label"]
    ex = ActivationExplorer(tree)  # sample 0: image a, label 0, contrast 0.5
    assert ex.select(image="b", contrast=1.0) == 3  # not outvoted by the old label
    assert ex.select(contrast=0.5) == 2  # the image stays


def test_switching_area_redraws_the_map_with_its_ranges(reduced):
    """On a reduce="mean" store, V1 -> IT must show all of IT's channels (not V1's range)."""
    import panel as pn  # noqa: F401
    from bokeh.models import Plot

    ex = ActivationExplorer(reduced, area="V1")
    root = ex.panel().get_root()

    def profile():
        (plot,) = [p for p in root.select({"type": Plot}) if "channels" in (p.title.text or "")]
        return plot

    n_v1, n_it = reduced["V1"].sizes["channel"], reduced["IT"].sizes["channel"]
    assert n_it > n_v1
    assert profile().x_range.end < n_it - 1
    ex.area = "IT"
    plot = profile()
    assert "IT" in plot.title.text and plot.x_range.start <= 0 and plot.x_range.end >= n_it - 1
    values = reduced["IT"]["activity"].isel(sample=ex.sample).sel(time=ex.time).values
    assert plot.y_range.start <= values.min() and plot.y_range.end >= values.max()


def test_a_run_without_conditions_saves_without_bokeh_warnings(model, tmp_path, caplog):
    """An explorer with no condition to choose used to hold an empty layout: Bokeh's EMPTY_LAYOUT."""
    import logging

    one = presentation(make_images("digits", n=1, size=16, seed=0), dt=2.0, t_pre=4, t_stim=8, t_post=4)
    tree = dynvision.Simulation(model, progress=False).run(one)
    with caplog.at_level(logging.WARNING):
        ActivationExplorer(tree).save(tmp_path / "one.html")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("bokeh")] == []

"""Time-course figures plot the data they were given: each model's own means over images, the
standard error across images, time from stimulus onset, latency marks on the curves, chance."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from dynvision.registry import UnknownNameError
from dynvision.views.timecourses import (LATENCY_LABEL, classifier_timecourses, condition_timecourses,
                                         response_timecourses)

from .helpers import curves, elements, labels, panels


def _onset(r) -> float:
    return float(r.responses["stim_onset"][0])


def _by(r, condition, value, model):
    """Mean and s.e.m. over the images of one condition value, by hand (numpy)."""
    resp = r.responses.sel(model=model)
    keep = np.isclose(resp[condition].values, value)
    x = resp.values[:, keep, :]  # (area, images, time)
    return x.mean(axis=1), x.std(axis=1, ddof=1) / np.sqrt(keep.sum())


def test_one_curve_per_area_in_hierarchy_order_holding_the_mean_over_images(contrast_result):
    r = contrast_result
    fig = response_timecourses(r.responses)
    assert isinstance(fig, hv.Overlay)
    got = curves(fig)
    assert list(got) == r.responses["area"].values.tolist() == ["V1", "V2", "V4", "IT"]
    mean = r.responses.mean("sample")
    for area, c in got.items():
        np.testing.assert_allclose(c.dimension_values("response"), mean.sel(area=area).squeeze().values)
        np.testing.assert_allclose(c.dimension_values(0), r.responses["time"].values - _onset(r))
        assert c.kdims[0].name == "time_from_onset" and c.kdims[0].unit == "ms"
        assert {"area", "model"} <= {d.name for d in c.vdims}  # hover shows them
        assert set(c.dimension_values("area")) == {area}


def test_absolute_time_on_request(contrast_result):
    c = curves(response_timecourses(contrast_result.responses, time_axis="absolute"))["V1"]
    np.testing.assert_array_equal(c.dimension_values("time"), contrast_result.responses["time"].values)
    with pytest.raises(UnknownNameError, match="time_axis"):
        response_timecourses(contrast_result.responses, time_axis="relative")


def test_the_band_is_the_standard_error_across_images(contrast_result):
    r = contrast_result
    fig = response_timecourses(r.responses, condition="contrast")
    frame = fig[0.5]
    mean, sem = _by(r, "contrast", 0.5, "DyRCNNx4")
    spreads = elements(frame, hv.Spread)
    assert len(spreads) == 4 and sem.max() > 0
    for i, (area, spread) in enumerate(zip(["V1", "V2", "V4", "IT"], spreads)):
        np.testing.assert_allclose(spread.dimension_values(1), mean[i], rtol=1e-6)
        np.testing.assert_allclose(spread.dimension_values(2), sem[i], rtol=1e-6)
        np.testing.assert_allclose(curves(frame)[area].dimension_values("response"), mean[i], rtol=1e-6)


def test_stimulus_windows_are_shaded_from_onset(contrast_result):
    r = contrast_result
    spans = elements(response_timecourses(r.responses), hv.VSpan)
    on, off = r.responses["stim_onset"].values, r.responses["stim_offset"].values
    assert {tuple(s.data) for s in spans} == {(0.0, b - a) for a, b in zip(on.tolist(), off.tolist())}


def test_a_condition_gives_one_frame_per_value_starting_at_the_largest(contrast_result):
    r = contrast_result
    fig = response_timecourses(r.responses, condition="contrast")
    assert isinstance(fig, hv.HoloMap) and fig.kdims[0].name == "contrast"
    assert list(fig.keys()) == [0.25, 0.5, 0.75, 1.0]
    assert fig.kdims[0].default == 1.0  # the widget opens on the strongest stimulus
    import panel as pn

    (slider,) = pn.pane.HoloViews(fig).widget_box.objects
    assert slider.value == 1.0


def test_latency_marks_sit_on_each_curve_at_its_onset_latency_and_are_named(contrast_result):
    r = contrast_result
    fig = response_timecourses(r.responses, condition="contrast", metrics=r.metrics)
    (marks,) = elements(fig[1.0], hv.Scatter)
    assert marks.label == LATENCY_LABEL  # the legend explains the triangles
    lat = r.metrics["onset_latency"].mean("image").sel(contrast=1.0, model="DyRCNNx4")
    frame = curves(fig[1.0])
    for area, t, y in zip(marks.dimension_values("area"), marks.dimension_values(0),
                          marks.dimension_values("response")):
        assert t == pytest.approx(float(lat.sel(area=area)))  # time from onset = the latency
        c = frame[area]
        assert y == pytest.approx(np.interp(t, c.dimension_values(0), c.dimension_values("response")))


def test_every_model_panel_shows_that_models_data(interval_pair):
    """The defect of issue 13: an overlay drew the first model's data for every model."""
    r = interval_pair
    models = r.responses["model"].values.tolist()
    fig = response_timecourses(r.responses, condition="interval")
    assert isinstance(fig, hv.Layout) and len(fig) == 2
    for m, p in zip(models, panels(fig)):
        mean, _ = _by(r, "interval", 10.0, m)
        got = curves(p[10.0])
        for i, area in enumerate(["V1", "V2", "V4", "IT"]):
            np.testing.assert_allclose(got[area].dimension_values("response"), mean[i], rtol=1e-6)
            assert set(got[area].dimension_values("model")) == {m}
    assert not np.allclose(_by(r, "interval", 10.0, models[0])[0], _by(r, "interval", 10.0, models[1])[0])


def test_overlaid_models_each_draw_their_own_curves(interval_pair):
    r = interval_pair
    over = curves(response_timecourses(r.responses, overlay_models=True))
    assert sorted(over) == sorted(f"{a} · {m}" for a in ["V1", "V2", "V4", "IT"] for m in ("full", "self"))
    for m in r.responses["model"].values.tolist():
        short = m.split("=")[1]
        mean = r.responses.sel(model=m).mean("sample")
        for area in ("V1", "IT"):
            np.testing.assert_allclose(over[f"{area} · {short}"].dimension_values("response"),
                                       mean.sel(area=area).values, rtol=1e-6)


def test_areas_and_models_can_be_chosen(interval_pair):
    fig = response_timecourses(interval_pair.responses, models=["recurrence_type=self"], areas=["IT", "V1"])
    assert list(curves(fig)) == ["V1", "IT"]
    with pytest.raises(UnknownNameError, match="'V3'"):
        response_timecourses(interval_pair.responses, areas=["V3"])


def test_condition_timecourses_one_curve_per_value_and_an_area_selector(interval_pair):
    r = interval_pair
    fig = condition_timecourses(r.responses, "interval")
    assert len(fig) == 2
    for p in panels(fig):
        assert p.kdims[0].name == "area" and list(p.keys()) == ["V1", "V2", "V4", "IT"]
        assert list(curves(p["V4"])) == ["interval 4 ms", "interval 10 ms", "interval 20 ms"]
    for m, p in zip(r.responses["model"].values.tolist(), panels(fig)):
        mean, _ = _by(r, "interval", 10.0, m)
        np.testing.assert_allclose(curves(p["V4"])["interval 10 ms"].dimension_values("response"), mean[2],
                                   rtol=1e-6)
        assert m.split("=")[1] in labels(p)


def test_classifier_curves_hold_each_models_accuracy_with_chance_and_errors(interval_pair):
    c = interval_pair.classifier
    assert c.attrs["chance"] == pytest.approx(0.1)  # ten classes
    fig = classifier_timecourses(c, windows=[(10.0, 20.0)])
    acc, p_true = panels(fig)
    got = curves(acc)
    for m in c["model"].values:
        short = m.split("=")[1]
        np.testing.assert_allclose(got[short].dimension_values("accuracy"), c.accuracy.sel(model=m).values)
        np.testing.assert_allclose(curves(p_true)[short].dimension_values("p_true"), c.p_true.sel(model=m).values)
    chance = got["chance (0.1)"]
    np.testing.assert_allclose(chance.dimension_values(1), 0.1)
    spreads = elements(acc, hv.Spread)
    np.testing.assert_allclose(spreads[0].dimension_values(2), np.nan_to_num(c.accuracy_sem.isel(model=0).values))
    assert [tuple(s.data) for s in elements(acc, hv.VSpan)] == [(10.0, 20.0)]
    with pytest.raises(UnknownNameError, match="'loss'.*accuracy"):
        classifier_timecourses(c, variables=["loss"])


def test_classifier_time_from_onset(interval_pair):
    c = interval_pair.classifier
    fig = classifier_timecourses(c, windows=[(10.0, 20.0)], onset=10.0)
    acc = panels(fig)[0]
    np.testing.assert_allclose(next(iter(curves(acc).values())).dimension_values(0), c["time"].values - 10.0)
    assert [tuple(s.data) for s in elements(acc, hv.VSpan)] == [(0.0, 10.0)]

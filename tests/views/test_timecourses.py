"""Time-course figures: the curves hold the mean responses, in hierarchy order, with shading."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from dynvision.analysis import by_condition
from dynvision.registry import UnknownNameError
from dynvision.views.timecourses import classifier_timecourses, condition_timecourses, response_timecourses

from .helpers import curves, elements, labels, panels


def test_one_curve_per_area_in_hierarchy_order_holding_the_mean_response(contrast_result):
    r = contrast_result
    fig = response_timecourses(r.responses)
    assert isinstance(fig, hv.Overlay)
    got = curves(fig)
    assert list(got) == r.responses["area"].values.tolist() == ["V1", "V2", "V4", "IT"]
    mean = r.responses.mean("sample")
    for area, c in got.items():
        np.testing.assert_allclose(c.dimension_values("response"), mean.sel(area=area).squeeze().values)
        np.testing.assert_array_equal(c.dimension_values("time"), r.responses["time"].values)
        assert {"area", "model"} <= {d.name for d in c.vdims}  # hover shows them
        assert set(c.dimension_values("area")) == {area}


def test_stimulus_windows_are_shaded(contrast_result):
    spans = elements(response_timecourses(contrast_result.responses), hv.VSpan)
    on, off = contrast_result.responses["stim_onset"].values, contrast_result.responses["stim_offset"].values
    assert {tuple(s.data) for s in spans} == set(zip(on.tolist(), off.tolist()))


def test_a_condition_gives_one_frame_per_value_with_that_conditions_mean(contrast_result):
    r = contrast_result
    fig = response_timecourses(r.responses, condition="contrast")
    assert isinstance(fig, hv.HoloMap) and fig.kdims[0].name == "contrast"
    assert [k for k in fig.keys()] == [0.25, 0.5, 0.75, 1.0]
    expected = by_condition(r.responses, "contrast").sel(contrast=0.5, model="DyRCNNx4")
    frame = curves(fig[0.5])
    for area in ("V1", "IT"):
        np.testing.assert_allclose(frame[area].dimension_values("response"), expected.sel(area=area).values)
        assert set(frame[area].dimension_values("contrast")) == {0.5}


def test_latency_markers_sit_at_onset_plus_mean_onset_latency(contrast_result):
    r = contrast_result
    fig = response_timecourses(r.responses, condition="contrast", metrics=r.metrics)
    lines = elements(fig[1.0], hv.VLine)
    lat = r.metrics["onset_latency"].mean("image").sel(contrast=1.0, model="DyRCNNx4")
    onset = float(r.responses["stim_onset"][0])
    expected = sorted(onset + v for v in lat.values if np.isfinite(v))
    assert sorted(float(v.data) for v in lines) == pytest.approx(expected)


def test_several_models_one_column_each_or_overlaid(interval_pair):
    r = interval_pair
    models = r.responses["model"].values.tolist()
    fig = response_timecourses(r.responses, condition="interval")
    assert isinstance(fig, hv.Layout) and len(fig) == 2
    for m, p in zip(models, panels(fig)):
        assert m in labels(p)
        assert {d.name for d in p.last.kdims} == set() and p.kdims[0].name == "interval"
    over = response_timecourses(r.responses, overlay_models=True)
    got = curves(over)
    assert len(got) == 8 and all(any(m in label for m in models) for label in got)


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
        assert list(curves(p["V4"])) == ["interval=4", "interval=10", "interval=20"]
    expected = by_condition(r.responses, "interval").sel(model="recurrence_type=full", area="V4", interval=10.0)
    got = curves(panels(fig)[0]["V4"])["interval=10"].dimension_values("response")
    np.testing.assert_allclose(got, expected.values)


def test_classifier_curves_hold_the_accuracy_of_each_model(interval_pair):
    c = interval_pair.classifier
    fig = classifier_timecourses(c, windows=[(10.0, 20.0)])
    acc, p_true = panels(fig)
    for m in c["model"].values:
        np.testing.assert_allclose(curves(acc)[m].dimension_values("accuracy"), c.accuracy.sel(model=m).values)
        np.testing.assert_allclose(curves(p_true)[m].dimension_values("p_true"), c.p_true.sel(model=m).values)
    assert [tuple(s.data) for s in elements(acc, hv.VSpan)] == [(10.0, 20.0)]
    with pytest.raises(UnknownNameError, match="'loss'.*accuracy"):
        classifier_timecourses(c, variables=["loss"])

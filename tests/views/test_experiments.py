"""Figures of declared metrics show each model's own values: image means with their standard
errors, the stored fits evaluated with the analysis functions, reference lines, per-area bars."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from dynvision.analysis import naka_rushton, recovery_curve
from dynvision.registry import UnknownNameError
from dynvision.views.experiments import (adaptation, area_properties, contrast_latency, contrast_response, draw,
                                         duration_response, interval_response)

from .helpers import curves, elements, panels


def scatters(panel) -> dict[str, hv.Scatter]:
    return {s.label: s for s in elements(panel, hv.Scatter)}


def errors(panel) -> list[np.ndarray]:
    return [e.dimension_values(2) for e in elements(panel, hv.ErrorBars) if type(e) is hv.ErrorBars]  # not Spread


def sem(da, dim="image"):
    return da.std(dim, ddof=1) / np.sqrt(da.sizes[dim])


def test_contrast_points_are_image_means_with_their_standard_errors(contrast_result):
    m = contrast_result.metrics
    panel, _ = panels(contrast_response(contrast_result))
    mean = m["peak_height"].mean("image").sel(model="DyRCNNx4")
    err = sem(m["peak_height"]).sel(model="DyRCNNx4")
    assert list(scatters(panel)) == ["V1", "V2", "V4", "IT"]
    for (area, s), e in zip(scatters(panel).items(), errors(panel)):
        np.testing.assert_array_equal(s.dimension_values("contrast"), m["contrast"].values)
        np.testing.assert_allclose(s.dimension_values("peak_height"), mean.sel(area=area).values)
        np.testing.assert_allclose(e, err.sel(area=area).values)


def test_the_naka_rushton_fit_is_drawn_from_the_stored_parameters_and_named(contrast_result):
    m = contrast_result.metrics.sel(model="DyRCNNx4")
    panel, _ = panels(contrast_response(contrast_result))
    got = curves(panel)
    assert "Naka-Rushton fit" in got  # the legend names the lines
    for area in ("V1", "V2", "V4", "IT"):
        c = got[area]
        p = m.sel(area=area)
        x = c.dimension_values("contrast")
        assert len(x) > 50 and x[0] == 0.0 and x[-1] == 1.0  # a curve, not the points joined
        np.testing.assert_allclose(c.dimension_values("peak_height"),
                                   naka_rushton(x, float(p.nr_r_max), float(p.nr_c50), float(p.nr_n),
                                                float(p.nr_baseline)))
        assert set(c.dimension_values("nr_c50")) == {float(p.nr_c50)}  # shown on hover, with r²
        assert "nr_r2" in {d.name for d in c.vdims}


def test_the_relative_panel_shows_each_images_peak_over_its_peak_at_the_highest_contrast(contrast_result):
    """Areas with different response scales compare on the second panel: each image's peak
    divided by its own peak at the highest contrast, averaged over images, with a line at 1."""
    m = contrast_result.metrics.sel(model="DyRCNNx4")
    _, relative = panels(contrast_response(contrast_result))
    peak = m["peak_height"]
    expected = (peak / peak.isel(contrast=-1)).mean("image")  # computed here, not read back
    got = scatters(relative)
    assert list(got) == ["V1", "V2", "V4", "IT"]
    for area, s in got.items():
        np.testing.assert_allclose(s.dimension_values("relative_peak"), expected.sel(area=area).values)
        assert s.dimension_values("relative_peak")[-1] == pytest.approx(1.0)
    assert [float(h.data) for h in elements(relative, hv.HLine)] == [1.0]
    # the figure's one legend sits beside this panel: it names the fit drawn in the other one
    assert set(curves(relative)) == {"V1", "V2", "V4", "IT", "Naka-Rushton fit"}
    assert "Naka-Rushton fit" not in curves(panels(contrast_latency(contrast_result))[-1])


def test_contrast_latency_one_row_per_measure(contrast_result):
    m = contrast_result.metrics
    onset, peak = panels(contrast_latency(contrast_result))
    np.testing.assert_allclose(scatters(onset)["IT"].dimension_values("onset_latency"),
                               m["onset_latency"].mean("image").sel(model="DyRCNNx4", area="IT").values)
    assert "peak_time" in {d.name for s in scatters(peak).values() for d in s.vdims}
    assert {d.label for s in scatters(onset).values() for d in s.vdims[:1]} == {"onset latency"}


def test_interval_ratio_and_recovery_fit_of_each_model(interval_pair):
    m = interval_pair.metrics
    fig = interval_response(interval_pair)
    areas = m["area"].values.tolist()
    assert len(panels(fig)) == len(areas)  # several models: one panel per area, a colour per model
    for area, panel in zip(areas, panels(fig)):
        assert sorted(scatters(panel)) == ["full", "self"]
        for model in m["model"].values.tolist():
            short = model.split("=")[1]
            p = m.sel(model=model, area=area)
            s = scatters(panel)[short]
            assert set(s.dimension_values("model")) == {model}
            np.testing.assert_allclose(s.dimension_values("p2_p1_ratio"), p.p2_p1_ratio.mean("image").values)
            c = curves(panel)[short]
            i = c.dimension_values("interval")
            np.testing.assert_allclose(c.dimension_values("p2_p1_ratio"), recovery_curve(
                i, float(p.recovery_r0), float(p.recovery_r_inf), float(p.recovery_tau)))
        assert [float(h.data) for h in elements(panel, hv.HLine)] == [1.0]  # 1 = full recovery
    assert not np.allclose(m.p2_p1_ratio.isel(model=0).mean("image"), m.p2_p1_ratio.isel(model=1).mean("image"))


def test_color_by_area_gives_one_panel_per_model(interval_pair):
    fig = interval_response(interval_pair, color_by="area")
    m = interval_pair.metrics
    assert len(panels(fig)) == 2
    for model, panel in zip(m["model"].values.tolist(), panels(fig)):
        assert list(scatters(panel)) == ["V1", "V2", "V4", "IT"]
        np.testing.assert_allclose(scatters(panel)["V4"].dimension_values("p2_p1_ratio"),
                                   m.p2_p1_ratio.mean("image").sel(model=model, area="V4").values)


def test_duration_rows_with_the_linear_summation_reference(duration_result):
    m = duration_result.metrics.sel(model="DyRCNNx4")
    total, ratio, offset = panels(duration_response(duration_result))
    np.testing.assert_allclose(scatters(total)["V4"].dimension_values("total_response"),
                               m["total_response"].mean("image").sel(area="V4").values)
    np.testing.assert_allclose(scatters(ratio)["V4"].dimension_values("summation_ratio"),
                               m["summation_ratio"].sel(area="V4").values)
    np.testing.assert_allclose(scatters(offset)["V1"].dimension_values("offset_response"),
                               m["offset_response"].mean("image").sel(area="V1").values)
    assert [float(h.data) for h in elements(ratio, hv.HLine)] == [1.0]
    opts = hv.Store.lookup_options("bokeh", total, "plot").kwargs
    assert opts["logx"] and [v for v, _ in opts["xticks"]] == [4.0, 10.0, 20.0]


def _bars(fig) -> dict[str, hv.Rectangles]:
    return {r.label: r for r in elements(fig, hv.Rectangles)}


def test_adaptation_bars_hold_each_models_image_means_and_errors(response_pair):
    m = response_pair.metrics
    fig = adaptation(response_pair)
    rects = elements(fig, hv.Rectangles)
    assert len(rects) == 2 * 2  # two metrics x two models
    index = rects[0]
    assert index.vdims[0].name == "mean" and index.dimension_values("area").tolist() == ["V1", "V2", "V4", "IT"]
    for rect in rects[:2]:
        model = rect.dimension_values("model")[0]
        np.testing.assert_allclose(rect.dimension_values("y1"), m["adaptation_index"].mean("image").sel(model=model))
    eb = [e for e in elements(fig, hv.ErrorBars) if type(e) is hv.ErrorBars][0]
    np.testing.assert_allclose(eb.dimension_values(2), sem(m["adaptation_index"]).isel(model=0).values)
    assert len(elements(fig, hv.Curve)) == 8  # 4 areas x 2 models


def test_area_properties_bars_follow_the_hierarchy(response_pair):
    fig = area_properties(response_pair, models=["recurrence_type=self"])
    onset = elements(fig, hv.Rectangles)[0]
    np.testing.assert_allclose(onset.dimension_values("y1"),
                               response_pair.metrics["onset_latency"].mean("image")
                               .sel(model="recurrence_type=self").values)


def test_missing_metrics_and_figures_raise_naming_them(duration_result):
    with pytest.raises(UnknownNameError, match="'interval_response'.*'duration_response'"):
        interval_response(duration_result)
    with pytest.raises(TypeError, match="ExperimentResult or its metrics"):
        contrast_response(duration_result.responses)
    broken = duration_result.metrics.drop_vars("offset_response")
    with pytest.raises(ValueError, match=r"needs the metrics \['offset_response'\]"):
        draw(broken, "duration_response")


def test_the_bars_of_several_models_have_a_legend_naming_them(response_pair):
    fig = adaptation(response_pair)
    last = panels(fig)[-1]
    assert hv.Store.lookup_options("bokeh", last, "plot").kwargs.get("show_legend") is True
    assert sorted(r.label for r in elements(last, hv.Rectangles)) == ["full", "self"]

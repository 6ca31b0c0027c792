"""Experiment figures show the metrics (image means) and the stored fits, per area and model."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from dynvision.analysis import naka_rushton
from dynvision.views.experiments import (adaptation, area_properties, contrast_latency, contrast_response,
                                         duration_response, interval_response)

from .helpers import curves, elements, labels, panels


def scatters(panel) -> dict[str, hv.Scatter]:
    return {s.label: s for s in elements(panel, hv.Scatter)}


def test_contrast_points_are_peak_heights_averaged_over_images(contrast_result):
    m = contrast_result.metrics
    fig = contrast_response(contrast_result)
    (panel,) = panels(fig)
    mean = m["peak_height"].mean("image").sel(model="DyRCNNx4")
    for area, s in scatters(panel).items():
        np.testing.assert_array_equal(s.dimension_values("contrast"), m["contrast"].values)
        np.testing.assert_allclose(s.dimension_values("peak_height"), mean.sel(area=area).values)
    assert list(scatters(panel)) == ["V1", "V2", "V4", "IT"]


def test_naka_rushton_curve_is_the_stored_fit(contrast_result):
    m = contrast_result.metrics.sel(model="DyRCNNx4")
    got = curves(panels(contrast_response(contrast_result))[0])
    for area, c in got.items():
        p = m.sel(area=area)
        assert np.isfinite(float(p.nr_c50))
        x = c.dimension_values("contrast")
        assert x[0] == 0.0 and x[-1] == 1.0
        np.testing.assert_allclose(c.dimension_values("peak_height"),
                                   naka_rushton(x, float(p.nr_r_max), float(p.nr_c50), float(p.nr_n),
                                                float(p.nr_baseline)))
        assert set(c.dimension_values("c50")) == {float(p.nr_c50)}  # shown on hover


def test_contrast_latency_one_row_per_measure(contrast_result):
    m = contrast_result.metrics
    onset, peak = panels(contrast_latency(contrast_result))
    np.testing.assert_allclose(scatters(onset)["IT"].dimension_values("onset_latency"),
                               m["onset_latency"].mean("image").sel(model="DyRCNNx4", area="IT").values)
    assert "peak_time" in {d.name for s in scatters(peak).values() for d in s.vdims}


def test_interval_ratio_and_recovery_fit_per_model(interval_pair):
    m = interval_pair.metrics
    fig = interval_response(interval_pair)
    areas = m["area"].values.tolist()
    assert len(panels(fig)) == len(areas)  # several models: one panel per area, a colour per model
    for area, panel in zip(areas, panels(fig)):
        assert sorted(scatters(panel)) == sorted(m["model"].values.tolist())
        for model, s in scatters(panel).items():
            p = m.sel(model=model, area=area)
            np.testing.assert_allclose(s.dimension_values("suppression"), p.recovery_ratio.values)
            np.testing.assert_allclose(s.dimension_values("suppression"), p.suppression.mean("image").values)
            c = curves(panel)[model]
            i = c.dimension_values("interval")
            fit = float(p.recovery_r_inf) - (float(p.recovery_r_inf) - float(p.recovery_r0)) * np.exp(
                -i / float(p.recovery_tau))
            np.testing.assert_allclose(c.dimension_values("suppression"), fit)
        assert [float(h.data) for h in elements(panel, hv.HLine)] == [1.0]


def test_color_by_area_gives_one_panel_per_model(interval_pair):
    fig = interval_response(interval_pair, color_by="area")
    models = interval_pair.metrics["model"].values.tolist()
    assert len(panels(fig)) == 2
    for model, panel in zip(models, panels(fig)):
        assert list(scatters(panel)) == ["V1", "V2", "V4", "IT"]
        assert model in labels(panel)


def test_duration_rows_summed_response_summation_ratio_and_offset(duration_result):
    m = duration_result.metrics.sel(model="DyRCNNx4")
    total, ratio, offset = panels(duration_response(duration_result))
    np.testing.assert_allclose(scatters(total)["V4"].dimension_values("total_response"),
                               m["total_response"].mean("image").sel(area="V4").values)
    np.testing.assert_allclose(scatters(ratio)["V4"].dimension_values("summation_ratio"),
                               m["summation_ratio"].sel(area="V4").values)
    np.testing.assert_allclose(scatters(offset)["V1"].dimension_values("offset_response"),
                               m["offset_response"].mean("image").sel(area="V1").values)
    assert [float(h.data) for h in elements(ratio, hv.HLine)] == [1.0]


def test_adaptation_time_courses_and_indices_per_area_and_model(response_pair):
    m = response_pair.metrics
    fig = adaptation(response_pair)
    bars = elements(fig, hv.Bars)
    assert [b.vdims[0].name for b in bars] == ["adaptation_index", "sustained_ratio"]
    df = bars[0].dframe()
    assert df["area"].unique().tolist() == ["V1", "V2", "V4", "IT"]
    for model in m["model"].values:
        sel = df[df["model"] == model]
        np.testing.assert_allclose(sel["adaptation_index"].values,
                                   m["adaptation_index"].mean("image").sel(model=model).values)
    assert len(elements(fig, hv.Curve)) == 8  # 4 areas x 2 models


def test_area_properties_bars_follow_the_hierarchy(response_pair):
    fig = area_properties(response_pair, measures=["onset_latency", "peak_time"], models=["recurrence_type=self"])
    onset, peak = elements(fig, hv.Bars)
    np.testing.assert_allclose(onset.dimension_values("onset_latency"),
                               response_pair.metrics["onset_latency"].mean("image")
                               .sel(model="recurrence_type=self").values)


def test_missing_metrics_raise_naming_them(duration_result):
    with pytest.raises(ValueError, match="suppression"):
        interval_response(duration_result)
    with pytest.raises(TypeError, match="ExperimentResult or its metrics"):
        contrast_response(duration_result.responses)

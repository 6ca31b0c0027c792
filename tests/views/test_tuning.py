"""Building blocks: metric vs condition curves and metric-per-area bars."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from dynvision.registry import UnknownNameError
from dynvision.views.tuning import area_bars, condition_curves

from .helpers import elements


def test_condition_curves_without_fit_join_the_mean_points(contrast_result):
    pts = contrast_result.metrics["peak_time"]
    fig = condition_curves(pts, "contrast", areas=["V1"])
    assert isinstance(fig, hv.Overlay)
    (curve,), (scatter,) = elements(fig, hv.Curve), elements(fig, hv.Scatter)
    np.testing.assert_array_equal(curve.dimension_values("peak_time"), scatter.dimension_values("peak_time"))
    np.testing.assert_allclose(scatter.dimension_values("peak_time"),
                               pts.mean("image").sel(area="V1", model="DyRCNNx4").values)
    with pytest.raises(UnknownNameError, match="color_by.*'area'"):
        condition_curves(pts, "contrast", color_by="image")


def test_without_an_image_dim_there_are_no_error_bars(contrast_result):
    fig = condition_curves(contrast_result.metrics["peak_time"].mean("image"), "contrast", areas=["V1"])
    assert [e for e in elements(fig, hv.ErrorBars)] == []


def test_log_axes_are_ticked_at_the_conditions(duration_result):
    pts = duration_result.metrics["total_response"]
    fig = condition_curves(pts, "duration", logx=True)
    opts = hv.Store.lookup_options("bokeh", fig, "plot").kwargs
    assert opts["logx"] and [v for v, _ in opts["xticks"]] == [4.0, 10.0, 20.0]


def test_area_bars_with_a_condition_give_one_frame_per_value(contrast_result):
    fig = area_bars(contrast_result.metrics["adaptation_index"])
    assert isinstance(fig, hv.HoloMap) and list(fig.keys()) == [0.25, 0.5, 0.75, 1.0]
    assert fig.kdims[0].default == 1.0
    expected = contrast_result.metrics["adaptation_index"].mean("image").sel(contrast=0.75, model="DyRCNNx4")
    (rect,) = elements(fig[0.75], hv.Rectangles)
    np.testing.assert_allclose(rect.dimension_values("y1"), expected.values)
    assert rect.dimension_values("area").tolist() == ["V1", "V2", "V4", "IT"]
    ticks = hv.Store.lookup_options("bokeh", fig[0.75], "plot").kwargs["xticks"]
    assert [t for _, t in ticks] == ["V1", "V2", "V4", "IT"]

"""Building blocks: metric vs condition curves and metric-per-area bars."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from dynvision.registry import UnknownNameError
from dynvision.views.tuning import area_bars, condition_curves

from .helpers import elements, panels


def test_condition_curves_without_fit_join_the_points(contrast_result):
    pts = contrast_result.metrics["peak_time"].mean("image")
    fig = condition_curves(pts, "contrast", areas=["V1"])
    assert isinstance(fig, hv.Overlay)
    (curve,), (scatter,) = elements(fig, hv.Curve), elements(fig, hv.Scatter)
    np.testing.assert_array_equal(curve.dimension_values("peak_time"), scatter.dimension_values("peak_time"))
    with pytest.raises(UnknownNameError, match="color_by.*'area'"):
        condition_curves(pts, "contrast", color_by="image")


def test_log_axes_are_ticked_at_the_conditions(duration_result):
    pts = duration_result.metrics["total_response"].mean("image")
    fig = condition_curves(pts, "duration", logx=True)
    opts = hv.Store.lookup_options("bokeh", fig, "plot").kwargs
    assert opts["logx"] and [v for v, _ in opts["xticks"]] == [4.0, 10.0, 20.0]


def test_area_bars_with_a_condition_give_one_frame_per_value(contrast_result):
    fig = area_bars(contrast_result.metrics["adaptation_index"])
    assert isinstance(fig, hv.HoloMap) and list(fig.keys()) == [0.25, 0.5, 0.75, 1.0]
    expected = contrast_result.metrics["adaptation_index"].mean("image").sel(contrast=0.75, model="DyRCNNx4")
    np.testing.assert_allclose(fig[0.75].dimension_values("adaptation_index"), expected.values)
    assert len(panels(fig)) == 1

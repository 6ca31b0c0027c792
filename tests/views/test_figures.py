"""experiment_figures: the general figures plus what each experiment declares, each with a caption,
each fitting a notebook's width."""

from __future__ import annotations

import dataclasses

import holoviews as hv
import pytest

from dynvision.experiments import EXPERIMENTS
from dynvision.views._hv import AXES_PX, FRAME, MAX_WIDTH
from dynvision.views.figures import FIGURE_KINDS, captions, experiment_figures

from .helpers import labels, panels


@pytest.mark.parametrize("name", EXPERIMENTS.list())
def test_every_declared_figure_kind_can_be_drawn(name):
    assert {f.kind for f in EXPERIMENTS.get(name).figure_specs} <= set(FIGURE_KINDS.list())


def test_contrast_figures_by_name_with_captions(contrast_result):
    figs = contrast_result.figures()
    assert set(figs) == {"timecourses", "contrast_timecourses", "contrast_response", "contrast_latency",
                         "classifier", "weights", "kernels"}
    assert isinstance(figs["timecourses"], hv.HoloMap) and figs["timecourses"].kdims[0].name == "contrast"
    assert len(panels(figs["kernels"])) == contrast_result.models["DyRCNNx4"].areas["V1"].out_channels
    text = captions(contrast_result, list(figs))
    assert set(text) == set(figs) and all(text.values())
    assert "Naka-Rushton" in text["contrast_response"] and "onset latency" in text["timecourses"]
    assert "chance" in text["classifier"]


def test_several_models_appear_in_every_figure(interval_pair):
    figs = experiment_figures(interval_pair)
    models = list(interval_pair.models)
    assert {"timecourses", "interval_timecourses", "interval_response", "classifier", "weights"} <= set(figs)
    assert {f"kernels-{m}" for m in models} <= set(figs)
    for name in ("timecourses", "interval_timecourses", "interval_response", "classifier"):
        found = labels(figs[name])
        assert all(any(m in text or m.split("=")[1] == text for text in found) for m in models), name


def test_response_figures_and_selection(response_pair):
    figs = experiment_figures(response_pair, models=["recurrence_type=self"], areas=["V2", "IT"],
                              weights=False, kernels=False)
    assert set(figs) == {"timecourses", "adaptation", "properties", "classifier"}
    assert "recurrence_type=full" not in labels(figs["adaptation"])


def test_a_stored_result_without_models_has_no_weight_figures(duration_result):
    stored = dataclasses.replace(duration_result, models={})
    assert set(experiment_figures(stored)) == {"timecourses", "duration_timecourses", "duration_response",
                                               "classifier"}


def _width(fig) -> int:
    """The widest row of a figure's bokeh panels, frames plus axes (legend not counted)."""
    cols = fig._max_cols if isinstance(fig, hv.Layout) else 1
    return min(cols, len(panels(fig))) * (FRAME["frame_width"] + AXES_PX)


@pytest.mark.parametrize("which", ["contrast_result", "interval_pair", "response_pair", "duration_result"])
def test_figures_fit_a_notebooks_width(which, request):
    result = request.getfixturevalue(which)
    for name, fig in experiment_figures(result, weights=False, kernels=False).items():
        assert _width(fig) <= MAX_WIDTH - 120, name  # room for the legend beside the top-right panel
        for p in panels(fig):
            target = p.last if isinstance(p, hv.HoloMap) else p
            opts = hv.Store.lookup_options("bokeh", target, "plot").kwargs
            assert opts.get("frame_width") == FRAME["frame_width"], name

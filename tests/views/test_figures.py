"""experiment_figures: the figures relevant to each experiment, by short name."""

from __future__ import annotations

import dataclasses

import holoviews as hv
import pytest

from dynvision.experiments import EXPERIMENTS
from dynvision.views.figures import FIGURE_SETS, experiment_figures

from .helpers import labels, panels


@pytest.mark.parametrize("name", EXPERIMENTS.list())
def test_every_experiment_has_its_figure_set(name):
    assert name in FIGURE_SETS


def test_contrast_figures_by_name(contrast_result):
    figs = contrast_result.figures()
    assert set(figs) == {"timecourses", "contrast_timecourses", "contrast_response", "contrast_latency",
                         "classifier", "weights", "kernels"}
    assert isinstance(figs["timecourses"], hv.HoloMap) and figs["timecourses"].kdims[0].name == "contrast"
    assert len(panels(figs["kernels"])) == contrast_result.models["DyRCNNx4"].areas["V1"].out_channels


def test_several_models_appear_in_every_figure(interval_pair):
    figs = experiment_figures(interval_pair)
    models = list(interval_pair.models)
    assert {"timecourses", "interval_timecourses", "interval_response", "classifier", "weights"} <= set(figs)
    assert {f"kernels-{m}" for m in models} <= set(figs)
    for name in ("timecourses", "interval_timecourses", "interval_response", "classifier", "weights"):
        found = labels(figs[name])
        assert all(any(m in text for text in found) for m in models), name


def test_response_figures_and_selection(response_pair):
    figs = experiment_figures(response_pair, models=["recurrence_type=self"], areas=["V2", "IT"],
                              weights=False, kernels=False)
    assert set(figs) == {"timecourses", "adaptation", "properties", "classifier"}
    assert "recurrence_type=full" not in labels(figs["adaptation"])


def test_a_stored_result_without_models_has_no_weight_figures(duration_result):
    stored = dataclasses.replace(duration_result, models={})
    assert set(experiment_figures(stored)) == {"timecourses", "duration_timecourses", "duration_response",
                                               "classifier"}

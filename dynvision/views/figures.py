"""The figures of an experiment, by name, and the public figure functions in one place.

:func:`experiment_figures` is what ``ExperimentResult.figures()`` returns: a dict of
HoloViews objects keyed by short names, which ``ExperimentResult.save_figures`` writes as
``<name>.png`` / ``.svg`` / ``.html``:

============================ ============================================================
name                         figure
============================ ============================================================
``timecourses``              mean response of every area over time (always); with a
                             condition slider for contrast / duration / interval
``<condition>_timecourses``  one curve per condition value, with an area selector
``classifier``               accuracy and true-class probability over time (with labels)
``weights``                  weight histograms per area and kind (with models in memory)
``kernels`` (``kernels-<m>``) V1 feedforward kernels of each model (with models in memory)
``adaptation``, ``properties`` response experiment: time courses + adaptation index /
                             sustained ratio per area; latency, peak time, duration per area
``contrast_response``,       contrast experiment: peak vs contrast with the Naka-Rushton
``contrast_latency``         fit; onset latency and peak time vs contrast
``duration_response``        duration experiment: summed response, summation ratio, offset
``interval_response``        interval experiment: second/first peak ratio and recovery fit
============================ ============================================================

Each experiment's own figures are registered in :data:`FIGURE_SETS` (an experiment
without an entry gets the general figures only).

Example:
    >>> from dynvision.views.figures import experiment_figures
    >>> figs = experiment_figures(result)  # doctest: +SKIP
    >>> sorted(figs)  # doctest: +SKIP
    ['classifier', 'contrast_latency', 'contrast_response', 'contrast_timecourses', ...]
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from dynvision.registry import Registry
from dynvision.views.data import area_names, pick, stimulus_windows
from dynvision.views.experiments import (adaptation, area_properties, contrast_latency, contrast_response,
                                         duration_response, interval_response)
from dynvision.views.timecourses import classifier_timecourses, condition_timecourses, response_timecourses
from dynvision.views.weights import conv_kernels, weight_distributions

FIGURE_SETS = Registry("figure set")
"""Experiment name -> ``fn(result, models=, areas=) -> {name: figure}``."""

FIGURE_SETS.register("response", lambda r, **kw: {"adaptation": adaptation(r, **kw),
                                                  "properties": area_properties(r, **kw)})
FIGURE_SETS.register("contrast", lambda r, **kw: {"contrast_response": contrast_response(r, **kw),
                                                  "contrast_latency": contrast_latency(r, **kw)})
FIGURE_SETS.register("duration", lambda r, **kw: {"duration_response": duration_response(r, **kw)})
FIGURE_SETS.register("interval", lambda r, **kw: {"interval_response": interval_response(r, **kw)})


def _safe(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=,+-]", "_", label)


def experiment_figures(result: Any, *, models: Sequence[str] | None = None, areas: Sequence[str] | None = None,
                       weights: bool = True, kernels: bool = True) -> dict[str, Any]:
    """The figures relevant to an experiment's result, keyed by short names (see the table).

    Args:
        result: An :class:`~dynvision.experiments.ExperimentResult`.
        models: Models to show (default all).
        areas: Areas to show (default all, hierarchy order).
        weights: Include the weight histograms (when the models are in memory).
        kernels: Include the V1 kernel grids (when the models are in memory).

    Example:
        >>> figs = experiment_figures(result, areas=["V1", "IT"])  # doctest: +SKIP
    """
    spec = result.spec
    cond = spec.conditions[0] if spec.conditions else None
    figs: dict[str, Any] = {
        "timecourses": response_timecourses(result.responses, condition=cond, models=models, areas=areas,
                                            metrics=result.metrics, title=f"{spec.name}: responses")}
    if cond:
        figs[f"{cond}_timecourses"] = condition_timecourses(result.responses, cond, models=models, areas=areas,
                                                            title=f"responses per {cond}")
    if spec.name in FIGURE_SETS:
        figs.update(FIGURE_SETS.get(spec.name)(result, models=models, areas=areas))
    if result.classifier is not None:
        figs["classifier"] = classifier_timecourses(result.classifier, models=models,
                                                    windows=stimulus_windows(result.responses),
                                                    title="classifier read-out")
    chosen = {k: m for k, m in (result.models or {}).items() if models is None or k in models}
    if chosen and weights:
        figs["weights"] = weight_distributions(chosen if len(chosen) > 1 else next(iter(chosen.values())),
                                               areas=areas, title="weight distributions")
    if chosen and kernels:
        first = area_names(pick(result.responses, areas=areas))[0]
        for label, m in chosen.items():
            key = "kernels" if len(chosen) == 1 else f"kernels-{_safe(label)}"
            figs[key] = conv_kernels(m, first, title=f"{label}: {first} feedforward kernels")
    return figs


__all__ = ["FIGURE_SETS", "experiment_figures", "response_timecourses", "condition_timecourses",
           "classifier_timecourses", "weight_distributions", "conv_kernels", "adaptation", "area_properties",
           "contrast_response", "contrast_latency", "duration_response", "interval_response"]

"""The figures of an experiment's result, by name, with a caption each.

:func:`experiment_figures` returns a dict of HoloViews objects keyed by short names, which
:func:`~dynvision.views.export.save_experiment_figures` writes as ``<name>.png`` / ``.svg`` /
``.pdf`` / ``.html``; :func:`captions` says how to read each:

============================ ============================================================
name                         figure
============================ ============================================================
``timecourses``              mean response of every area over time (± s.e.m. across
                             images, onset latency marked); with a condition slider for
                             contrast / duration / interval
``<condition>_timecourses``  one curve per condition value, with an area selector
``classifier``               accuracy and true-class probability over time, chance dashed
``weights``                  weight histograms per area and kind (with models in memory)
``kernels`` (``kernels-<m>``) V1 feedforward kernels of each model (with models in memory)
*declared by the experiment* its ``figure_specs`` (:mod:`dynvision.experiments.contract`),
                             drawn by the kind they name (:data:`FIGURE_KINDS`)
============================ ============================================================

Example:
    >>> from dynvision.views.figures import experiment_figures
    >>> figs = experiment_figures(result)  # doctest: +SKIP
    >>> sorted(figs)  # doctest: +SKIP
    ['classifier', 'contrast_latency', 'contrast_response', 'contrast_timecourses', ...]
"""

from __future__ import annotations

from typing import Any, Sequence

from dynvision.registry import Registry
from dynvision.views import data as D
from dynvision.views.experiments import (adaptation, adaptation_figure, area_bars_figure, area_properties,
                                         condition_curves_figure, contrast_latency, contrast_response,
                                         duration_response, interval_response)
from dynvision.views.timecourses import classifier_timecourses, condition_timecourses, response_timecourses

FIGURE_KINDS = Registry("figure kind")
"""How to draw each kind of declared figure: ``fn(result, figure, models=, areas=) -> HoloViews object``."""
FIGURE_KINDS.register("condition_curves", condition_curves_figure)
FIGURE_KINDS.register("area_bars", area_bars_figure)
FIGURE_KINDS.register("adaptation", adaptation_figure)

GENERAL_CAPTIONS = {
    "timecourses": "Mean response of each area over time from stimulus onset (band: ± s.e.m. across images; "
                   "grey: the stimulus; ▼: each area's onset latency, mean over images).",
    "condition_timecourses": "Mean response per {condition} value (darker: smaller), one area at a time "
                             "(choose it with the selector); grey: the stimulus.",
    "classifier": "The read-out's accuracy and probability of the true class over time, mean over images "
                  "(band: ± s.e.m.); dashed: chance (1 / number of classes); grey: the stimulus.",
    "weights": "Histograms of each area's weights by connection kind (rows) and area (columns).",
    "kernels": "Feedforward kernels of the first area's channels, on one symmetric colour scale.",
}


def _safe(label: str) -> str:
    from dynvision.experiments.result import safe_label

    return safe_label(label)


def experiment_figures(result: Any, *, models: Sequence[str] | None = None, areas: Sequence[str] | None = None,
                       weights: bool = True, kernels: bool = True, time_axis: str = "onset") -> dict[str, Any]:
    """The figures relevant to an experiment's result, keyed by short names (see the table).

    Args:
        result: An :class:`~dynvision.experiments.ExperimentResult`.
        models: Models to show (default all).
        areas: Areas to show (default all, hierarchy order).
        weights: Include the weight histograms (when the models are in memory).
        kernels: Include the V1 kernel grids (when the models are in memory).
        time_axis: ``"onset"`` (time from stimulus onset) or ``"absolute"`` for time courses.

    Example:
        >>> figs = experiment_figures(result, areas=["V1", "IT"])  # doctest: +SKIP
    """
    spec = result.spec
    cond = spec.conditions[0] if spec.conditions else None
    figs: dict[str, Any] = {
        "timecourses": response_timecourses(result.responses, condition=cond, models=models, areas=areas,
                                            metrics=result.metrics, time_axis=time_axis,
                                            title=f"{spec.name}: responses")}
    if cond:
        figs[f"{cond}_timecourses"] = condition_timecourses(result.responses, cond, models=models, areas=areas,
                                                            time_axis=time_axis, title=f"responses per {cond}")
    for figure in spec.figure_specs:
        figs[figure.name] = FIGURE_KINDS.get(figure.kind)(result, figure, models=models, areas=areas)
    if result.classifier is not None:
        onset = D.onset(result.responses) if time_axis == "onset" else None
        figs["classifier"] = classifier_timecourses(result.classifier, models=models,
                                                    windows=D.stimulus_windows(result.responses), onset=onset,
                                                    title="classifier read-out")
    chosen = {k: m for k, m in (result.models or {}).items() if models is None or k in models}
    if chosen and weights:
        from dynvision.views.weights import weight_distributions

        figs["weights"] = weight_distributions(chosen if len(chosen) > 1 else next(iter(chosen.values())),
                                               areas=areas, title="weight distributions")
    if chosen and kernels:
        from dynvision.views.weights import conv_kernels

        first = D.area_names(D.pick(result.responses, areas=areas))[0]
        for label, m in chosen.items():
            key = "kernels" if len(chosen) == 1 else f"kernels-{_safe(label)}"
            figs[key] = conv_kernels(m, first, title=f"{label}: {first} kernels")
    return figs


def captions(result: Any, names: Sequence[str] | None = None) -> dict[str, str]:
    """How to read each figure of :func:`experiment_figures` (its declared caption, or the
    general one), for the names given (default: every figure the result can have).

    Example:
        >>> captions(result)["contrast_response"]  # doctest: +SKIP
        'Points: peak response, mean over images (± s.e.m.); lines: the Naka-Rushton fit ...'
    """
    spec = result.spec
    cond = spec.conditions[0] if spec.conditions else None
    out = {"timecourses": GENERAL_CAPTIONS["timecourses"]}
    if cond:
        out[f"{cond}_timecourses"] = GENERAL_CAPTIONS["condition_timecourses"].format(condition=cond)
    out.update({f.name: f.caption for f in spec.figure_specs})
    out["classifier"] = GENERAL_CAPTIONS["classifier"]
    out["weights"] = GENERAL_CAPTIONS["weights"]
    for label in (result.models or {"": None}):
        out["kernels" if len(result.models or {}) <= 1 else f"kernels-{_safe(label)}"] = GENERAL_CAPTIONS["kernels"]
    return {k: v for k, v in out.items() if names is None or k in names}


__all__ = ["FIGURE_KINDS", "captions", "experiment_figures", "response_timecourses", "condition_timecourses",
           "classifier_timecourses", "adaptation", "area_properties", "contrast_response", "contrast_latency",
           "duration_response", "interval_response"]

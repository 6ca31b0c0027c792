"""Figures of an experiment's metrics, drawn from what its spec declares.

An experiment's spec lists its figures (:class:`~dynvision.experiments.contract.Figure`): each
names a *kind* and the metrics (and fits) it shows. This module draws the kinds:

- ``condition_curves``: each metric against the experiment's condition (mean over images ±
  s.e.m.), with the declared fit drawn and named, the metric's reference value dashed;
- ``area_bars``: each metric per area (V1 -> IT), bars grouped by model, ± s.e.m.;
- ``adaptation``: the area time courses above per-area bars of the metrics.

Fitted curves are evaluated from the parameters the analysis stored
(:meth:`~dynvision.experiments.contract.Fit.curve`), so a figure shows exactly what was
fitted. :func:`contrast_response`, :func:`interval_response`... draw one declared figure by
name.

Example:
    >>> from dynvision.views.experiments import draw
    >>> fig = draw(result, "contrast_response")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Sequence

import xarray as xr

from dynvision.views._hv import grid, hv
from dynvision.views.timecourses import LATENCY_LABEL, response_timecourses
from dynvision.views.tuning import area_bars, condition_panels


def metrics_of(result: Any) -> xr.Dataset:
    """The metrics Dataset of a result (or the Dataset itself)."""
    metrics = getattr(result, "metrics", result)
    if not isinstance(metrics, xr.Dataset):
        raise TypeError(f"expected an ExperimentResult or its metrics Dataset, got {type(result).__name__}")
    return metrics


def spec_of(result: Any):
    """The experiment spec (class or instance) a result or metrics Dataset comes from."""
    from dynvision.experiments import EXPERIMENTS

    spec = getattr(result, "spec", None)
    if spec is not None:
        return spec
    name = metrics_of(result).attrs.get("experiment")
    if name is None:
        raise ValueError("these metrics do not say which experiment produced them (attrs['experiment']); "
                         "pass the ExperimentResult")
    return EXPERIMENTS.get(name)


def declared(result: Any, name: str):
    """The figure ``name`` as the result's experiment declares it (raises listing the declared ones)."""
    from dynvision.registry import UnknownNameError, unknown_name_message

    spec = spec_of(result)
    for figure in spec.figure_specs:
        if figure.name == name:
            return figure
    raise UnknownNameError(unknown_name_message(f"figure of experiment {spec.name!r}", name,
                                                [f.name for f in spec.figure_specs]))


def _need(metrics: xr.Dataset, names: Sequence[str], what: str) -> None:
    missing = [n for n in names if n not in metrics]
    if missing:
        raise ValueError(f"{what} needs the metrics {missing}; this result has {sorted(metrics.data_vars)}")


def _metric(spec, name: str):
    try:
        return spec.metric_spec(name)
    except (KeyError, ValueError):
        return None


def condition_curves_figure(result: Any, figure, *, color_by: str | None = None,
                            models: Sequence[str] | None = None, areas: Sequence[str] | None = None,
                            title: str = ""):
    """Kind ``condition_curves``: every metric of ``figure`` against the experiment's condition."""
    metrics, spec = metrics_of(result), spec_of(result)
    _need(metrics, figure.metrics, f"the figure {figure.name!r}")
    condition = spec.conditions[0]
    drawn = [f for f in figure.fits if f.metric in figure.metrics and f.available(metrics)]
    panels, legend, setting = [], [], ""
    for name in figure.metrics:
        metric, fit = _metric(spec, name), figure.fit_for(name)
        curve = fit.curve(metrics, condition) if fit is not None and fit.available(metrics) else None
        p, labels, setting = condition_panels(
            metrics[name], condition, fit=curve, fit_params=fit.parameters(metrics) if curve is not None else None,
            fit_label=fit.label if curve is not None else None, color_by=color_by, models=models, areas=areas,
            logx=figure.logx, reference=metric.reference if metric is not None else None, name=name, metric=metric,
            fit_key=drawn[0].label if drawn and curve is None else None)
        panels += p
        legend = labels if len(labels) >= len(legend) else legend
    return grid(panels, title or figure.title, legend=legend, legend_title=setting)


def area_bars_figure(result: Any, figure, *, models: Sequence[str] | None = None,
                     areas: Sequence[str] | None = None, title: str = "", **_: Any):
    """Kind ``area_bars``: every metric of ``figure`` per area, bars grouped by model."""
    metrics, spec = metrics_of(result), spec_of(result)
    _need(metrics, figure.metrics, f"the figure {figure.name!r}")
    from dynvision.views.data import short_names

    names = list(models) if models else ([str(m) for m in metrics["model"].values] if "model" in metrics.dims else [])
    short, setting = short_names(names)
    panels = [area_bars(metrics[m], models=models, areas=areas, spec=_metric(spec, m)) for m in figure.metrics]
    return grid(panels, title or figure.title, legend=[short[n] for n in names] if len(names) > 1 else [],
                legend_title=setting)


def adaptation_figure(result: Any, figure, *, models: Sequence[str] | None = None,
                      areas: Sequence[str] | None = None, title: str = "", **_: Any):
    """Kind ``adaptation``: area time courses (± s.e.m.), then the metrics per area."""
    metrics, spec = metrics_of(result), spec_of(result)
    _need(metrics, figure.metrics, f"the figure {figure.name!r}")
    responses = getattr(result, "responses", None)
    if responses is None:
        raise TypeError("the adaptation figure draws time courses: pass the ExperimentResult, not its metrics")
    tc = response_timecourses(responses, models=models, areas=areas, metrics=metrics)
    row1 = list(tc) if isinstance(tc, hv().Layout) else [tc]
    row2 = [area_bars(metrics[m], models=models, areas=areas, spec=_metric(spec, m)) for m in figure.metrics]
    names = list(models) if models else [str(m) for m in responses["model"].values]
    if len(names) > 1:  # the bars' colours are the models: their own legend, beside the last bar panel
        from dynvision.views._hv import with_legend
        from dynvision.views.data import short_names

        row2[-1] = with_legend(row2[-1], short_names(names)[1])
    areas_shown = [str(a) for a in responses["area"].values] if areas is None else list(areas)
    return grid(row1 + row2, title or figure.title, legend=[*areas_shown, LATENCY_LABEL])


def draw(result: Any, name: str, **kwargs: Any):
    """Draw the figure ``name`` that the result's experiment declares.

    Example:
        >>> fig = draw(result, "interval_response", color_by="area")  # doctest: +SKIP
    """
    from dynvision.views.figures import FIGURE_KINDS

    figure = declared(result, name)
    return FIGURE_KINDS.get(figure.kind)(result, figure, **kwargs)


def contrast_response(result: Any, **kwargs: Any):
    """Peak response vs contrast per area, with the Naka-Rushton fit (hover shows c50, n, r²)."""
    return draw(result, "contrast_response", **kwargs)


def contrast_latency(result: Any, **kwargs: Any):
    """Onset latency and peak time vs contrast (one row per measure)."""
    return draw(result, "contrast_latency", **kwargs)


def duration_response(result: Any, **kwargs: Any):
    """Summed response, summation ratio (1 = linear) and offset response vs duration."""
    return draw(result, "duration_response", **kwargs)


def interval_response(result: Any, **kwargs: Any):
    """P2/P1 (second / first peak; 1 = full recovery) vs interval, with the recovery fit."""
    return draw(result, "interval_response", **kwargs)


def area_properties(result: Any, **kwargs: Any):
    """Onset latency, peak time and response duration per area (V1 -> IT), grouped by model."""
    return draw(result, "properties", **kwargs)


def adaptation(result: Any, **kwargs: Any):
    """Adaptation: time courses per area and the adaptation index / sustained ratio per area."""
    return draw(result, "adaptation", **kwargs)


__all__ = ["adaptation", "adaptation_figure", "area_bars_figure", "area_properties", "condition_curves_figure",
           "contrast_latency", "contrast_response", "declared", "draw", "duration_response", "interval_response",
           "metrics_of", "spec_of"]

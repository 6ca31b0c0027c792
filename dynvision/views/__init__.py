"""Views: interactive figures (HoloViews + Bokeh) of responses, metrics and weights; export.

The role of this package is to draw what :mod:`dynvision.experiments` and
:mod:`dynvision.analysis` produce; it computes no metrics (only selection and averaging
over images or samples). Every figure function takes xarray data, an
:class:`~dynvision.experiments.ExperimentResult` or a model and returns a HoloViews object
that renders interactively with bokeh (hover, zoom, widgets) and statically with matplotlib:

- :mod:`~dynvision.views.timecourses`: area responses and classifier read-out over time;
- :mod:`~dynvision.views.weights`: weight histograms per area and kind, conv kernel grids;
- :mod:`~dynvision.views.experiments`: the figure kinds an experiment's spec declares
  (metrics against a condition with their fits, metrics per area, adaptation), built from
  :mod:`~dynvision.views.tuning`;
- :mod:`~dynvision.views.figures`: :func:`experiment_figures`, the figures of a result, and
  :func:`captions`, how to read each;
- :mod:`~dynvision.views.export`: :func:`save_figures` / :func:`save_experiment_figures` to
  PNG / SVG / PDF (at a chosen dpi) and offline HTML;
- :mod:`~dynvision.views.explorer`: :class:`ActivationExplorer` (Panel), scrubbing activations
  by area, channel, condition and time beside the stimulus (:mod:`~dynvision.views.trees`
  cuts the slices it shows);
- :mod:`~dynvision.views.model_explorer`: :class:`ModelExplorer`, sliders for dt, tau, delays
  and recurrence that rebuild and re-simulate a small model;
- :mod:`~dynvision.views.serve`: :func:`serve_explorer` (a local Panel server) and the
  ``dynvision explore`` command (:func:`add_explore_command`);
- :mod:`~dynvision.views.offline`: :func:`extension` loads bokeh and panel JavaScript and CSS
  inline (notebooks and their HTML work offline, after interaction too) and draws on a
  canvas rather than WebGL; :func:`cdn_urls` finds external scripts in HTML;
- :mod:`~dynvision.views.animation`: :func:`animate`, stimuli beside responses over time (samples,
  areas, models side by side), inline with a time slider or saved as MP4 / GIF;
- :mod:`~dynvision.views.hex`: :func:`hex_scatter` and :func:`lattice_illustration` for the
  hexagonal receptor lattice;
- :mod:`~dynvision.views.ensemble`: :func:`ensemble_responses` (a unit across an ensemble,
  coloured by task error, per cluster) and :func:`cluster_embedding`.

What a view shows is the data it was given: means over images with ± s.e.m. bands or bars,
fits evaluated from the stored parameters, time from stimulus onset with the stimulus
shaded. Figures fit a notebook's width (panels wrap into a grid, one legend outside the
data).

Linked selection: figures that vary with a condition or an area are HoloMaps keyed by it,
and a Layout of HoloMaps shares one widget, so every panel (one per model) follows the
same contrast / duration / interval / area; panels of a Layout share linked axes (zoom one,
zoom all). Nothing heavy is imported with this package: holoviews, bokeh and panel load
when a figure function is first used.

Example:
    >>> from dynvision.views import experiment_figures, save_experiment_figures
    >>> figs = experiment_figures(result)  # doctest: +SKIP
    >>> save_experiment_figures(result, "reports/figures/contrast", ("png", "pdf", "html"), dpi=300)  # doctest: +SKIP
"""

from __future__ import annotations

from dynvision._lazy import lazy_exports

_LAZY = {
    "experiment_figures": "dynvision.views.figures",
    "captions": "dynvision.views.figures",
    "response_timecourses": "dynvision.views.timecourses",
    "condition_timecourses": "dynvision.views.timecourses",
    "classifier_timecourses": "dynvision.views.timecourses",
    "weight_distributions": "dynvision.views.weights",
    "conv_kernels": "dynvision.views.weights",
    "collect_weights": "dynvision.views.weights",
    "adaptation": "dynvision.views.experiments",
    "draw": "dynvision.views.experiments",
    "area_properties": "dynvision.views.experiments",
    "contrast_response": "dynvision.views.experiments",
    "contrast_latency": "dynvision.views.experiments",
    "duration_response": "dynvision.views.experiments",
    "interval_response": "dynvision.views.experiments",
    "condition_curves": "dynvision.views.tuning",
    "area_bars": "dynvision.views.tuning",
    "save_figures": "dynvision.views.export",
    "save_experiment_figures": "dynvision.views.export",
    "save_html": "dynvision.views.export",
    "save_static": "dynvision.views.export",
    "ActivationExplorer": "dynvision.views.explorer",
    "ModelExplorer": "dynvision.views.model_explorer",
    "serve_explorer": "dynvision.views.serve",
    "add_explore_command": "dynvision.views.serve",
    "extension": "dynvision.views.offline",
    "configure_bokeh": "dynvision.views.offline",
    "cdn_urls": "dynvision.views.offline",
    "animate": "dynvision.views.animation",
    "Animation": "dynvision.views.animation",
    "hex_scatter": "dynvision.views.hex",
    "lattice_illustration": "dynvision.views.hex",
    "ensemble_responses": "dynvision.views.ensemble",
    "cluster_embedding": "dynvision.views.ensemble",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

"""Experiments: frozen specs (response, contrast, duration, interval) run on models.

``run_experiment(name, model=..., **params)`` builds the stimulus, simulates every model
(activations streamed to zarr), reduces them to area responses and computes the metrics;
``list_experiments()`` lists the names. Several models share one result with a ``model``
coordinate. Each spec declares its metrics and figures (:mod:`~dynvision.experiments.contract`),
which the summary table and :mod:`dynvision.views` read; this package never imports the views.

Example:
    >>> from dynvision.experiments import list_experiments
    >>> list_experiments()
    ['contrast', 'duration', 'interval', 'response']
"""

from dynvision.experiments.contract import Figure, Fit, Metric
from dynvision.experiments.library import EXPERIMENTS, Contrast, Duration, Interval, Response
from dynvision.experiments.result import ExperimentResult, ResultExistsError
from dynvision.experiments.runner import (
    DEFAULT_MODEL,
    build_model,
    list_experiments,
    resolve_models,
    run_experiment,
)
from dynvision.experiments.spec import ExperimentSpec

__all__ = [
    "DEFAULT_MODEL",
    "EXPERIMENTS",
    "Contrast",
    "Duration",
    "ExperimentResult",
    "ExperimentSpec",
    "Figure",
    "Fit",
    "Interval",
    "Metric",
    "Response",
    "ResultExistsError",
    "build_model",
    "list_experiments",
    "resolve_models",
    "run_experiment",
]

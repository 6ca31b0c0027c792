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

from __future__ import annotations

from dynvision._lazy import lazy_exports

# Names load on first use, so the specs (``dynvision.experiments.library``) can be read
# without importing torch (``dynvision run --help`` lists every parameter instantly).
_LAZY = {
    "EXPERIMENTS": "dynvision.experiments.library",
    "Contrast": "dynvision.experiments.library",
    "Duration": "dynvision.experiments.library",
    "Interval": "dynvision.experiments.library",
    "Response": "dynvision.experiments.library",
    "ExperimentSpec": "dynvision.experiments.spec",
    "DEFAULT_MODEL": "dynvision.experiments.runner",
    "ExperimentResult": "dynvision.experiments.result",
    "ResultExistsError": "dynvision.experiments.result",
    "Figure": "dynvision.experiments.contract",
    "Fit": "dynvision.experiments.contract",
    "Metric": "dynvision.experiments.contract",
    "build_model": "dynvision.experiments.runner",
    "list_experiments": "dynvision.experiments.runner",
    "resolve_models": "dynvision.experiments.runner",
    "run_experiment": "dynvision.experiments.runner",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

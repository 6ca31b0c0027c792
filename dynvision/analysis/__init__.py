"""Analysis: response properties computed from activations, as pure functions on xarray.

The role of this package is to turn responses with a ``time`` dim (ms) into metrics
without it, keeping every other dim and coordinate and setting ``attrs["units"]`` and
``attrs["long_name"]``. Each metric documents its exact definition (baseline window,
threshold rule, interpolation) in its module:

- :mod:`~dynvision.analysis.core`: baseline, windows, condition helpers, fitting;
- :mod:`~dynvision.analysis.latency`: onset latency (threshold or half-max crossing);
- :mod:`~dynvision.analysis.response`: peak time/height, FWHM, sustained/transient,
  adaptation index, summed response;
- :mod:`~dynvision.analysis.summation`, :mod:`~dynvision.analysis.repetition`,
  :mod:`~dynvision.analysis.contrast`: duration, interval and contrast experiments;
- :mod:`~dynvision.analysis.classifier`: accuracy and confidence over time from logits;
- :mod:`~dynvision.analysis.weights`: weight statistics by area and kind (ff, recurrent...).

Importing this package registers the ``.dv`` accessors (:mod:`~dynvision.analysis.accessor`).

Example:
    >>> import numpy as np, xarray as xr
    >>> import dynvision.analysis
    >>> t = np.arange(0.0, 100.0)
    >>> r = xr.DataArray(np.where(t >= 30, 1 - np.exp(-(t - 30) / 10), 0), dims="time",
    ...                  coords={"time": t})
    >>> round(float(r.dv.onset_latency(onset=20.0)), 1)  # 10 ms delay + tau ln 2
    16.9
"""

from dynvision._lazy import lazy_exports
from dynvision.analysis import accessor as _accessor  # noqa: F401  (registers ``.dv``)
from dynvision.analysis.classifier import classifier_response, softmax
from dynvision.analysis.contrast import fit_naka_rushton, latency_vs_contrast, naka_rushton
from dynvision.analysis.core import baseline, by_condition, conditions_to_dims
from dynvision.analysis.latency import crossing_time, onset_latency
from dynvision.analysis.metrics import METRICS, compute, response_properties
from dynvision.analysis.repetition import recovery, recovery_curve, repetition_suppression
from dynvision.analysis.response import (
    adaptation_index,
    decay_time,
    offset_response,
    peak_height,
    peak_time,
    response_duration,
    summed_response,
    sustained_ratio,
)
from dynvision.analysis.summation import temporal_summation

__all__ = [
    "METRICS",
    "adaptation_index",
    "baseline",
    "by_condition",
    "classifier_response",
    "compute",
    "conditions_to_dims",
    "crossing_time",
    "decay_time",
    "fit_naka_rushton",
    "latency_vs_contrast",
    "naka_rushton",
    "offset_response",
    "onset_latency",
    "peak_height",
    "peak_time",
    "recovery",
    "recovery_curve",
    "repetition_suppression",
    "response_duration",
    "response_properties",
    "softmax",
    "summed_response",
    "sustained_ratio",
    "temporal_summation",
    "weight_statistics",
    "weight_values",
]


# The weight analyses need torch: loaded on first use, so that reading the experiments' specs
# (``dynvision run --help``) stays free of it.
__getattr__, _ = lazy_exports(__name__, {"weight_statistics": "dynvision.analysis.weights",
                                         "weight_values": "dynvision.analysis.weights"})

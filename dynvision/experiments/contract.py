"""What an experiment declares about its outputs: its metrics, their fits and its figures.

An experiment's spec lists the :class:`Metric` variables its ``metrics()`` Dataset holds
(label, units, whether they belong in the summary table, a reference value such as 1 for a
ratio), the :class:`Fit` curves whose parameters it stores, and the :class:`Figure` objects
it wants drawn: a figure names a *kind* that :mod:`dynvision.views` knows how to draw
(``condition_curves``, ``area_bars``, ``adaptation``) and the metrics and fits it shows. The
views read these declarations; nothing else ties an experiment to its figures, so adding an
experiment means writing its spec (and its notebook), and :mod:`dynvision.experiments`
never imports :mod:`dynvision.views`.

Example:
    >>> from dynvision.analysis import naka_rushton
    >>> fit = Fit("peak_height", naka_rushton, ("nr_r_max", "nr_c50", "nr_n", "nr_baseline"),
    ...           label="Naka-Rushton fit", start=0.0)
    >>> Figure("contrast_response", "condition_curves", ("peak_height",), fits=(fit,)).fit_for("peak_height").label
    'Naka-Rushton fit'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import xarray as xr


@dataclass(frozen=True)
class Metric:
    """A variable of an experiment's metrics Dataset and how to present it.

    Attributes:
        name: The variable's name in ``result.metrics``.
        label: A short axis label ("onset latency").
        units: Units shown with the label (``"ms"``, ``"1"`` for ratios, ``""`` for none).
        description: One sentence saying what the number means (for captions and docs).
        summary: Whether ``ExperimentResult.summary()`` lists it.
        reference: A value with a meaning of its own (1 for a ratio: no change), drawn as a
            dashed line.
    """

    name: str
    label: str
    units: str = ""
    description: str = ""
    summary: bool = False
    reference: float | None = None

    def axis_label(self) -> str:
        """The label with its units, as an axis shows it: ``"onset latency (ms)"``."""
        return f"{self.label} ({self.units})" if self.units and self.units != "1" else self.label


@dataclass(frozen=True)
class Fit:
    """A function fitted to a metric along the experiment's condition.

    The fitted parameters are variables of the metrics Dataset (``params``, in the order the
    function takes them after the condition), so a figure evaluates exactly what the
    analysis fitted.

    Attributes:
        metric: The metric the curve fits.
        function: ``function(x, *params)`` (an :mod:`dynvision.analysis` function).
        params: Metric variables holding the parameters.
        label: How the legend and caption name the curve ("Naka-Rushton fit").
        quality: The variable holding the fit's r² (shown on hover), if any.
        start: Where the curve starts (``None``: the smallest condition value).
        log: Sample the curve on a logarithmic grid.
    """

    metric: str
    function: Callable[..., Any]
    params: tuple[str, ...]
    label: str
    quality: str | None = None
    start: float | None = None
    log: bool = False

    def available(self, metrics: xr.Dataset) -> bool:
        """Whether ``metrics`` holds every parameter (a fit needs enough conditions)."""
        return all(p in metrics for p in self.params)

    def parameters(self, metrics: xr.Dataset) -> xr.Dataset:
        """The fitted parameters (and r²), one variable each, indexed like the metric."""
        names = [*self.params, *([self.quality] if self.quality and self.quality in metrics else [])]
        return metrics[names]

    def curve(self, metrics: xr.Dataset, condition: str, n: int = 121) -> xr.DataArray:
        """The fitted function on ``n`` points along ``condition`` (from ``start`` to the largest value).

        Example:
            >>> from dynvision.analysis import recovery_curve
            >>> m = xr.Dataset({"r0": 0.5, "r_inf": 1.0, "tau": 10.0, "interval": ("interval", [2.0, 40.0])})
            >>> c = Fit("ratio", recovery_curve, ("r0", "r_inf", "tau"), "recovery fit", log=True).curve(m, "interval")
            >>> round(float(c[0]), 3), float(c["interval"][-1])
            (0.591, 40.0)
        """
        values = np.asarray(metrics[condition].values, dtype=float)
        lo = float(np.nanmin(values)) if self.start is None else float(self.start)
        hi = float(np.nanmax(values))
        x = np.geomspace(max(lo, 1e-9), hi, n) if self.log else np.linspace(lo, hi, n)
        grid = xr.DataArray(x, dims=condition, coords={condition: x})
        params = [metrics[p].drop_vars([c for c in metrics[p].coords if c == condition]) for p in self.params]
        out = xr.apply_ufunc(self.function, grid, *params)
        return out.transpose(..., condition).rename(self.metric)


@dataclass(frozen=True)
class Figure:
    """A figure an experiment asks for.

    Attributes:
        name: Its key in the figure dict and its file name (``contrast_response``).
        kind: How to draw it: a kind registered in :data:`dynvision.views.figures.FIGURE_KINDS`
            (``condition_curves``: metrics against the condition, one row each;
            ``area_bars``: metrics per area; ``adaptation``: time courses and per-area bars).
        metrics: The metrics it shows, in order.
        fits: Fits drawn over their metric.
        logx: A logarithmic condition axis.
        title: The figure's title.
        caption: One or two sentences on how to read it (what points, lines, bands and
            markers are).
    """

    name: str
    kind: str
    metrics: tuple[str, ...]
    fits: tuple[Fit, ...] = ()
    logx: bool = False
    title: str = ""
    caption: str = ""

    def fit_for(self, metric: str) -> Fit | None:
        """The fit drawn over ``metric`` (``None`` if none)."""
        return next((f for f in self.fits if f.metric == metric), None)


RESPONSE_METRICS = (
    Metric("onset_latency", "onset latency", "ms", "time from stimulus onset until the response first "
           "exceeds its baseline by a threshold", summary=True),
    Metric("peak_time", "peak time", "ms", "time from stimulus onset to the response's maximum", summary=True),
    Metric("peak_height", "peak response", "a.u.", "maximum of the response above its pre-stimulus baseline",
           summary=True),
    Metric("response_duration", "response duration", "ms", "full width at half maximum of the response"),
    Metric("sustained_ratio", "sustained / transient", "1", "late over early response while the stimulus is "
           "on (1: no decay)", reference=1.0),
    Metric("adaptation_index", "adaptation index", "1", "(peak - sustained) / (peak + sustained): 0 is no "
           "adaptation, 1 complete (sustained below baseline counts as 0)", reference=0.0),
    Metric("summed_response", "summed response", "a.u.·ms", "response integrated over the presentation"),
    Metric("decay_time", "decay time", "ms", "time for the response to fall after stimulus offset"),
)
"""The metrics every experiment computes (:func:`dynvision.analysis.response_properties`)."""


def find_metric(metrics: Sequence[Metric], name: str) -> Metric:
    """The declaration named ``name`` (raises listing the declared names).

    Example:
        >>> find_metric(RESPONSE_METRICS, "peak_time").units
        'ms'
    """
    from dynvision.registry import UnknownNameError, unknown_name_message

    for metric in metrics:
        if metric.name == name:
            return metric
    raise UnknownNameError(unknown_name_message("metric", name, [m.name for m in metrics]))


__all__ = ["Figure", "Fit", "Metric", "RESPONSE_METRICS", "find_metric"]

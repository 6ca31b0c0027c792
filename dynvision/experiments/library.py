"""The experiments: response (adaptation), contrast, duration and interval.

Each is a frozen spec (defaults modelled on the DynVision experiment configs, in ms) that
builds its stimulus and its metrics and declares them and its figures
(:mod:`dynvision.experiments.contract`). Definitions of the metrics are in
:mod:`dynvision.analysis`. A new experiment is one more class here (and its notebook).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from dynvision.analysis.contrast import naka_rushton
from dynvision.analysis.repetition import recovery_curve
from dynvision.experiments.contract import RESPONSE_METRICS, Figure, Fit, Metric
from dynvision.experiments.spec import ExperimentSpec, ms_grid
from dynvision.registry import Registry
from dynvision.validation import ms_aliases

EXPERIMENTS = Registry("experiment")


def register(cls):
    """Register an experiment; fields named ``X_ms`` also take their bare name ``X``."""
    cls.__init__ = ms_aliases(cls.__init__)
    return EXPERIMENTS.register(cls.name, cls)


@register
@dataclass(frozen=True)
class Response(ExperimentSpec):
    """A sustained presentation: onset, peak, duration and adaptation of each area.

    Attributes:
        t_stim: How long the image stays on (ms).
    """

    name = "response"
    description = "sustained response: latency, peak, duration and adaptation per area"
    figure_specs = (
        Figure("adaptation", "adaptation", ("adaptation_index", "sustained_ratio"), title="adaptation",
               caption="Top: mean response of each area over time from stimulus onset (band: ± s.e.m. over "
                       "images; grey: the stimulus; ▼: onset latency). Bottom: adaptation index and sustained / "
                       "transient ratio per area, mean over images (error bars: ± s.e.m.; colours: the models)."),
        Figure("properties", "area_bars", ("onset_latency", "peak_time", "response_duration"),
               title="response properties per area",
               caption="Mean over images (error bars: ± s.e.m.), areas in hierarchy order."),
    )
    t_stim: float = 150.0

    def stimulus(self, model) -> xr.DataArray:
        from dynvision.stimuli import presentation

        return presentation(self.image_set(model), dt=model.dt, t_pre=self.t_pre, t_stim=self.t_stim,
                            t_post=self.t_post, contrast=self.contrast)


@register
@dataclass(frozen=True)
class Contrast(ExperimentSpec):
    """Images at several contrasts: contrast-response function and latency vs contrast.

    With at least 4 contrasts the peak response per area is fitted with a Naka-Rushton
    function (``nr_r_max``, ``nr_c50``, ``nr_n``, ``nr_baseline``, ``nr_r2``).

    Attributes:
        contrasts: Contrast levels in (0, 1].
        t_stim: Presentation duration (ms).
    """

    name = "contrast"
    conditions = ("contrast",)
    description = "contrast response: peak and latency vs contrast, Naka-Rushton fit per area"
    metric_specs = (
        *RESPONSE_METRICS,
        Metric("relative_peak", "relative peak", "1", "peak response over the same image's peak at the highest "
               "contrast: the shape of the contrast response, comparable between areas of any scale", reference=1.0),
    )
    figure_specs = (
        Figure("contrast_response", "condition_curves", ("peak_height", "relative_peak"),
               fits=(Fit("peak_height", naka_rushton, ("nr_r_max", "nr_c50", "nr_n", "nr_baseline"),
                         "Naka-Rushton fit", quality="nr_r2", start=0.0),),
               title="contrast response",
               caption="Left: peak response, mean over images (± s.e.m.), and the Naka-Rushton fit "
                       "r_max c^n / (c^n + c50^n) + baseline (hover for c50, n and r²). Right: each image's "
                       "peak relative to its peak at the highest contrast, so that areas of different "
                       "response scales compare: the lower an area's curve at low contrast, the more its "
                       "response depends on contrast."),
        Figure("contrast_latency", "condition_curves", ("onset_latency", "peak_time"),
               title="latency vs contrast",
               caption="Onset latency and peak time after stimulus onset, mean over images (± s.e.m.)."),
    )
    contrasts: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    t_stim: float = 60.0

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "contrasts", ms_grid(self.contrasts, "contrasts"))

    def stimulus(self, model) -> xr.DataArray:
        from dynvision.stimuli import presentation

        return presentation(self.image_set(model), dt=model.dt, t_pre=self.t_pre, t_stim=self.t_stim,
                            t_post=self.t_post, contrast=list(self.contrasts))

    def metrics(self, responses: xr.DataArray) -> xr.Dataset:
        from dynvision.analysis import fit_naka_rushton

        props = super().metrics(responses)
        peak = props["peak_height"]
        top = peak.sel(contrast=peak["contrast"].max())
        props["relative_peak"] = (peak / top).where(top > 0)
        if len(self.contrasts) < 4:  # the Naka-Rushton function has 4 parameters
            return props
        mean = props.mean("image") if "image" in props.dims else props
        fit = fit_naka_rushton(mean["peak_height"], contrast="contrast")
        return props.merge(fit.rename({k: f"nr_{k}" for k in fit.data_vars}), compat="override", join="outer")


@register
@dataclass(frozen=True)
class Duration(ExperimentSpec):
    """Presentations of several durations: temporal summation, saturation, offset responses.

    Attributes:
        durations: Presentation durations (ms, multiples of the model's dt).
    """

    name = "duration"
    conditions = ("duration",)
    description = "duration response: summed response vs duration (sub-additivity), offset response"
    metric_specs = (
        *(m for m in RESPONSE_METRICS if m.name != "summed_response"),
        Metric("total_response", "summed response", "a.u.·ms", "the whole response to a presentation, "
               "including what follows its offset", summary=True),
        Metric("summation_ratio", "summation ratio", "1", "summed response over what a linear sum of the "
               "shortest presentation would give (1: linear, < 1: sub-additive)", reference=1.0),
        Metric("offset_response", "offset response", "a.u.", "rise of the response after the stimulus goes "
               "off (mean over channels of each channel's rise)"),
    )
    figure_specs = (
        Figure("duration_response", "condition_curves", ("total_response", "summation_ratio", "offset_response"),
               logx=True, title="duration response",
               caption="Mean over images (± s.e.m.) against presentation duration; dashed: a summation "
                       "ratio of 1 (linear summation)."),
    )
    durations: tuple[float, ...] = (2.0, 4.0, 6.0, 10.0, 20.0, 40.0, 80.0)

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "durations", ms_grid(self.durations, "durations"))

    def stimulus(self, model) -> xr.DataArray:
        from dynvision.stimuli import presentation

        return presentation(self.image_set(model), dt=model.dt, t_pre=self.t_pre, t_stim=list(self.durations),
                            t_post=self.t_post, contrast=self.contrast)

    def activation_metrics(self, tree: xr.DataTree) -> xr.Dataset:
        """Offset responses per channel (OFF channels rise when the image goes; averaging over
        channels first would hide them under the decaying ON channels), then the channel mean."""
        from dynvision.analysis import offset_response

        areas = [n for n, node in tree.children.items() if "activity" in node.data_vars]
        per_area = []
        for name in areas:
            act = tree[name]["activity"]
            act = act.mean([d for d in ("y", "x") if d in act.dims]).astype("float64")
            per_area.append(offset_response(act, offset="stim_offset").mean("channel"))
        out = xr.concat(per_area, dim="area", coords="minimal", compat="override")
        out = out.assign_coords(area=np.array(areas, dtype=object))
        out.attrs = {"long_name": "offset response (mean over channels of each channel's rise after offset)"}
        return out.rename("offset_response").to_dataset()

    def metrics(self, responses: xr.DataArray) -> xr.Dataset:
        from dynvision.analysis import summed_response, temporal_summation

        props = super().metrics(responses)
        # the whole response to a presentation, including what follows its offset
        summed = summed_response(responses, onset="stim_onset")
        extra = self._by_condition(xr.Dataset({"total_response": summed}))
        mean = extra["total_response"].mean("image") if "image" in extra.dims else extra["total_response"]
        several = "duration" in mean.dims and mean.sizes["duration"] > 1
        summation = temporal_summation(mean.rename("summed"), duration="duration") if several else None
        out = props.drop_vars("summed_response", errors="ignore").merge(extra, compat="override", join="outer")
        if summation is not None:
            out = out.merge(summation.rename({k: f"summation_{k}" for k in summation.data_vars}), compat="override", join="outer")
        return out


@register
@dataclass(frozen=True)
class Interval(ExperimentSpec):
    """Two presentations separated by a grey interval: repetition suppression and recovery.

    Attributes:
        t_stim: Duration of each presentation (ms).
        intervals: Grey intervals between the presentations (ms).
    """

    name = "interval"
    conditions = ("interval",)
    description = "interval response: second/first peak vs interval (repetition suppression, recovery)"
    metric_specs = (
        *RESPONSE_METRICS,
        Metric("p2_p1_ratio", "P2/P1 (recovery ratio)", "1", "second over first peak response: 1 is full "
               "recovery (no repetition suppression), lower values are stronger suppression",
               summary=True, reference=1.0),
    )
    figure_specs = (
        Figure("interval_response", "condition_curves", ("p2_p1_ratio",),
               fits=(Fit("p2_p1_ratio", recovery_curve, ("recovery_r0", "recovery_r_inf", "recovery_tau"),
                         "recovery fit", quality="recovery_r2", log=True),),
               logx=True, title="repetition suppression and recovery",
               caption="Points: second / first peak response (P2/P1), mean over images (± s.e.m.); 1 "
                       "(dashed) is full recovery, lower is stronger suppression; lines: the fit "
                       "r_inf - (r_inf - r0) exp(-interval / tau) (hover for tau)."),
    )
    t_stim: float = 40.0
    intervals: tuple[float, ...] = (2.0, 4.0, 6.0, 10.0, 20.0, 40.0, 80.0, 160.0)

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "intervals", ms_grid(self.intervals, "intervals"))

    def stimulus(self, model) -> xr.DataArray:
        from dynvision.stimuli import repetition

        return repetition(self.image_set(model), dt=model.dt, t_pre=self.t_pre, t_stim=self.t_stim,
                          t_interval=list(self.intervals), t_post=self.t_post, contrast=self.contrast)

    def metrics(self, responses: xr.DataArray) -> xr.Dataset:
        from dynvision.analysis import recovery, repetition_suppression

        props = super().metrics(responses)
        ratio = repetition_suppression(responses, onset="stim_onset", onset2="onset2")
        ratio = self._by_condition(ratio.rename("p2_p1_ratio").assign_attrs(
            long_name="second / first peak response (P2/P1; 1 = full recovery)"))
        mean = ratio.mean("image") if "image" in ratio.dims else ratio
        rec = recovery(mean, interval="interval")
        out = props.merge(ratio.to_dataset(), compat="override", join="outer")
        return out.merge(rec.rename({k: f"recovery_{k}" for k in rec.data_vars}), compat="override", join="outer")

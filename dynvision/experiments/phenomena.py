"""The phenomena of the DynVision visualisation guide, checked on a model with stated criteria.

:func:`check_phenomena` runs the four experiments (response, contrast, duration, interval) on a
model (and, for the recurrence comparisons, a second model) and decides for every phenomenon
whether it holds. The decisions are strict and written down in :data:`PHENOMENA`:

- **A comparison needs a margin.** ``a > b`` holds only when the mean difference over images
  is larger than 5 % of ``|b|`` *and* larger than twice its standard error over images
  (differences are paired by image; with one image only the 5 % margin applies).
- **A fit must be meaningful.** A Naka-Rushton curve counts when its semi-saturation contrast
  lies inside the tested contrasts, its r² exceeds 0.95, and it fits better than a straight
  line by Akaike's criterion (four parameters against two).
- **Repetition suppression** compares the second peak with the activity just before the second
  onset (the tail of the first response does not count as second response), at the intervals
  after which that tail has fallen below half of the first peak (shorter intervals merge the two
  responses and say nothing about suppression).
- **Decay times** are the time after offset until the response first falls to ``1/e`` of its
  level at offset (never negative; NaN when it does not fall within the trace, which is why the
  response experiment runs here with 300 ms of grey after the stimulus: :data:`SETTINGS`).

Every phenomenon is computed from the experiments' area responses (mean over channels and
space) and, for the offset response, from each channel's spatial mean.

Example:
    >>> rows = check_phenomena("dyrcnnx4-digits", n_images=2)  # doctest: +SKIP
    >>> sum(r.holds for r in rows)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import xarray as xr

MARGIN = 0.05  # relative margin of a comparison
SEM_FACTOR = 2.0  # and the number of standard errors it must exceed


@dataclass
class Check:
    """The outcome of one phenomenon."""

    phenomenon: str
    metric: str
    values: Any
    holds: bool
    criterion: str = ""

    def asdict(self) -> dict[str, Any]:
        return {"phenomenon": self.phenomenon, "metric": self.metric, "values": self.values,
                "holds": bool(self.holds), "criterion": self.criterion}


# ---------------------------------------------------------------------------------------------
# statistics


def per_image(da: xr.DataArray) -> xr.DataArray:
    """Group samples by image (``image`` becomes a dim) if the samples carry an ``image`` coordinate."""
    if "sample" in da.dims and "image" in da.coords:
        conds = [c for c in ("contrast", "duration", "interval")
                 if c in da.coords and da[c].dims == ("sample",) and len(np.unique(da[c].values)) > 1]
        if not conds:
            return da.swap_dims(sample="image")
        da = da.set_index(sample=["image", *conds]).unstack("sample")
    return da


def greater(a: xr.DataArray, b: xr.DataArray, margin: float = MARGIN) -> xr.DataArray:
    """Whether ``a > b`` by the margin rule (over the ``image`` dim, paired), elementwise."""
    diff = a - b
    if "image" in diff.dims and diff.sizes["image"] > 1:
        mean = diff.mean("image")
        sem = diff.std("image", ddof=1) / np.sqrt(diff.sizes["image"])
        ref = abs(b.mean("image"))
    else:
        mean, sem, ref = diff, xr.zeros_like(diff), abs(b)
    return (mean > margin * ref) & (mean > SEM_FACTOR * sem)


def _mean(da: xr.DataArray) -> xr.DataArray:
    return da.mean("image") if "image" in da.dims else da


def _areas(da: xr.DataArray, digits: int = 3) -> dict[str, Any]:
    da = _mean(da)
    return {str(a): round(float(da.sel(area=a)), digits) for a in da["area"].values}


def _all(mask: xr.DataArray) -> bool:
    return bool(np.all(mask.values))


# ---------------------------------------------------------------------------------------------
# measures (on responses with a time dim, per sample)


def decay_time(resp: xr.DataArray, offset="stim_offset", onset="stim_onset") -> xr.DataArray:
    """Time (ms) after ``offset`` until the response falls to ``1/e`` of its level at offset
    (relative to the pre-stimulus baseline); NaN if it never does within the trace."""
    from dynvision.analysis.core import resolve_baseline, resolve_time, time_values, uniform_dt, window_mean
    from dynvision.analysis.latency import crossing_time

    dt = uniform_dt(time_values(resp))
    off = resolve_time(resp, offset, "offset")
    on = resolve_time(resp, onset, "onset")
    b = resolve_baseline(resp, "pre", on, (None, 0.0))
    level = window_mean(resp, off - dt, off) - b
    threshold = -(b + level / np.e)
    fall = crossing_time(-resp, threshold, off, np.inf) - off
    return fall.where(level > 0)


def nr_against_line(curve: xr.DataArray) -> xr.Dataset:
    """Naka-Rushton fit per area with the line comparison: ``c50``, ``r2``, ``aic_nr``, ``aic_line``."""
    from dynvision.analysis import fit_naka_rushton, naka_rushton

    fit = fit_naka_rushton(curve, contrast="contrast")
    c = curve["contrast"].values
    n = len(c)

    def aic(rss, k):
        return n * np.log(max(float(rss), 1e-300) / n) + 2 * k

    out = []
    for a in curve["area"].values:
        y = curve.sel(area=a).values
        f = fit.sel(area=a)
        pred = naka_rushton(c, float(f.r_max), float(f.c50), float(f.n), float(f.baseline))
        slope, icpt = np.polyfit(c, y, 1)
        out.append((aic(((y - pred) ** 2).sum(), 4), aic(((y - (slope * c + icpt)) ** 2).sum(), 2)))
    fit["aic_nr"] = ("area", np.array([o[0] for o in out]))
    fit["aic_line"] = ("area", np.array([o[1] for o in out]))
    return fit


# ---------------------------------------------------------------------------------------------
# the phenomena


@dataclass
class Phenomenon:
    """One phenomenon of the guide: what it says and how it is decided."""

    name: str
    criterion: str
    check: Callable[["_Results"], Check]
    compare: bool = False


PHENOMENA: list[Phenomenon] = []


def phenomenon(name: str, criterion: str, compare: bool = False):
    def add(fn):
        PHENOMENA.append(Phenomenon(name, criterion, fn, compare))
        return fn
    return add


@dataclass
class _Results:
    """Experiment results and their per-image measures, computed once."""

    results: dict[str, Any]
    label: str = "model"
    other: str | None = None
    cache: dict = field(default_factory=dict)

    def responses(self, experiment: str, label: str | None = None) -> xr.DataArray:
        resp = self.results[experiment].responses.sel(model=label or self.label)
        return resp.astype("float64")

    def measure(self, experiment: str, name: str, fn, label: str | None = None) -> xr.DataArray:
        key = (experiment, name, label or self.label)
        if key not in self.cache:
            self.cache[key] = per_image(fn(self.responses(experiment, label)))
        return self.cache[key]


def _latency(r):
    from dynvision.analysis import onset_latency

    return onset_latency(r, onset="stim_onset")


def _peak_time(r):
    from dynvision.analysis import peak_time

    return peak_time(r, onset="stim_onset")


def _peak(r):
    from dynvision.analysis import peak_height

    return peak_height(r, onset="stim_onset")


def _adaptation(r):
    from dynvision.analysis import adaptation_index

    return adaptation_index(r, onset="stim_onset", offset="stim_offset")


def _total(r):
    from dynvision.analysis import summed_response

    return summed_response(r, onset="stim_onset")


def _p2p1(r):
    """P2/P1 with the local baseline, NaN where the first response's tail is still above half its peak."""
    from dynvision.analysis import repetition_suppression
    from dynvision.analysis.core import resolve_baseline, resolve_time, time_values, uniform_dt, window_max, window_mean

    ratio = repetition_suppression(r, onset="stim_onset", onset2="onset2", second_baseline="local")
    on, on2 = resolve_time(r, "stim_onset", "onset"), resolve_time(r, "onset2", "onset2")
    b = resolve_baseline(r, "pre", on, (None, 0.0))
    p1, _ = window_max(r, on, on2)
    tail = window_mean(r, on2 - uniform_dt(time_values(r)), on2)
    return ratio.where((tail - b) < 0.5 * (p1 - b))


def _mean_p2p1(ratio: xr.DataArray) -> xr.DataArray:
    """P2/P1 averaged over the intervals valid in every area (and image)."""
    valid = ratio.notnull().all([d for d in ratio.dims if d != "interval"])
    return ratio.isel(interval=np.flatnonzero(valid.values)).mean("interval")


def _hierarchy_increases(values: xr.DataArray) -> bool:
    names = list(values["area"].values)
    return all(_all(greater(values.sel(area=b), values.sel(area=a), margin=0.0)) and
               float(_mean(values.sel(area=b))) > float(_mean(values.sel(area=a)))
               for a, b in zip(names, names[1:]))


@phenomenon("V1 responds first, then V2, V4, IT", "half-max onset latency rises from area to area (paired over images)")
def _(r: _Results) -> Check:
    lat = r.measure("response", "latency", _latency)
    return Check("", "onset latency (ms)", _areas(lat, 1), _hierarchy_increases(lat))


@phenomenon("higher areas peak later", "peak time of IT later than V1's by the margin")
def _(r):
    pt = r.measure("response", "peak_time", _peak_time)
    return Check("", "peak time (ms)", _areas(pt, 1), _all(greater(pt.sel(area="IT"), pt.sel(area="V1"))))


@phenomenon("activity adapts under a sustained stimulus", "adaptation index > 0.1 in every area")
def _(r):
    ai = r.measure("response", "adaptation", _adaptation)
    return Check("", "adaptation index", _areas(ai), _all(_mean(ai) > 0.1))


@phenomenon("response grows with contrast in all areas", "peak rises with every contrast step, and by the margin overall")
def _(r):
    pk = r.measure("contrast", "peak", _peak)
    hi, lo = pk.isel(contrast=-1), pk.isel(contrast=0)
    steps = _mean(pk).diff("contrast")
    return Check("", "peak(c max) / peak(c min)", _areas(_mean(hi) / _mean(lo), 2),
                 _all(steps > 0) and _all(greater(hi, lo)))


@phenomenon("higher areas depend more on contrast",
            "relative response at the lowest contrast, peak(c min)/peak(c max), smaller in IT than V1 by the margin")
def _(r):
    # The bounded form of the contrast gain peak(c max)/peak(c min): an image whose response at
    # the lowest contrast is near zero gives a gain near infinity, which would dominate the mean
    # and its standard error, while its relative response (near 0) is simply the most
    # contrast-dependent value there is.
    pk = r.measure("contrast", "peak", _peak)
    rel = pk.isel(contrast=0) / pk.isel(contrast=-1)
    return Check("", "peak(c min) / peak(c max)", _areas(rel, 3),
                 _all(greater(rel.sel(area="V1"), rel.sel(area="IT"))))


@phenomenon("high contrast gives earlier responses",
            "onset latency at the highest contrast shorter than at the lowest in every area, by the margin")
def _(r):
    lat = r.measure("contrast", "latency", _latency)
    hi, lo = lat.isel(contrast=-1), lat.isel(contrast=0)
    values = {str(a): [round(float(_mean(lo.sel(area=a))), 1), round(float(_mean(hi.sel(area=a))), 1)]
              for a in lat["area"].values}
    return Check("", "onset latency c min -> c max (ms)", values, _all(greater(lo, hi)))


@phenomenon("contrast response is Naka-Rushton shaped",
            "in every area: c50 inside the tested contrasts, r2 > 0.95, and a better fit than a line (AIC)")
def _(r):
    pk = _mean(r.measure("contrast", "peak", _peak))
    fit = nr_against_line(pk)
    c = pk["contrast"].values
    ok = (fit.c50 >= c.min()) & (fit.c50 <= c.max()) & (fit.r2 > 0.95) & (fit.aic_nr < fit.aic_line - 2)
    values = {str(a): {"c50": round(float(fit.c50.sel(area=a)), 3), "n": round(float(fit.n.sel(area=a)), 2),
                       "r2": round(float(fit.r2.sel(area=a)), 3)} for a in fit["area"].values}
    return Check("", "Naka-Rushton fit of the peak", values, _all(ok))


@phenomenon("summed response grows with duration", "summed response rises with every duration step")
def _(r):
    total = _mean(r.measure("duration", "total", _total))
    return Check("", "summed response at the longest duration", _areas(total.isel(duration=-1), 2),
                 _all(total.diff("duration") > 0))


def _per_ms(r):
    total = r.measure("duration", "total", _total)
    per_ms = total / total["duration"]
    return per_ms.isel(duration=-1) / per_ms.isel(duration=0)


@phenomenon("temporal summation saturates (sub-additive)",
            "response per ms of stimulus at the longest duration below that at the shortest by the margin")
def _(r):
    sat = _per_ms(r)
    return Check("", "response per ms, longest / shortest", _areas(sat), _all(greater(xr.ones_like(sat), sat)))


@phenomenon("higher areas saturate more", "the longest/shortest per-ms ratio smaller in IT than V1 by the margin")
def _(r):
    sat = _per_ms(r)
    return Check("", "response per ms, longest / shortest", _areas(sat),
                 _all(greater(sat.sel(area="V1"), sat.sel(area="IT"))))


@phenomenon("V1 shows an offset response",
            "mean over channels of each channel's rise after offset > 5 % of V1's peak (longest duration)")
def _(r):
    from dynvision.analysis import offset_response

    res = r.results["duration"]
    tree = res.activations[r.label]
    act = tree["V1"]["activity"]
    act = act.mean([d for d in ("y", "x") if d in act.dims]).astype("float64").load()
    longest = act["duration"] == float(act["duration"].max())
    off = offset_response(act.isel(sample=np.flatnonzero(longest.values)), offset="stim_offset").mean("channel")
    peak = r.measure("duration", "peak", _peak).sel(area="V1").isel(duration=-1)
    ratio = float(off.mean()) / max(float(_mean(peak)), 1e-12)
    return Check("", "offset response / peak (V1)", {"V1": round(ratio, 3)}, ratio > 0.05)


@phenomenon("second response is suppressed",
            "min over the valid intervals of P2/P1 below 0.9 in every area (valid: the first response's tail "
            "has fallen below half its peak)")
def _(r):
    ratio = _mean(r.measure("interval", "p2p1", _p2p1))
    low = ratio.min("interval")
    return Check("", "min over valid intervals of P2/P1", _areas(low), _all(low < 0.9))


@phenomenon("longer intervals recover", "P2/P1 at the longest interval above its minimum by 0.05 in every area")
def _(r):
    ratio = _mean(r.measure("interval", "p2p1", _p2p1))
    return Check("", "P2/P1 at the longest interval", _areas(ratio.isel(interval=-1)),
                 _all(ratio.isel(interval=-1) > ratio.min("interval") + 0.05))


@phenomenon("higher areas adapt more", "P2/P1 averaged over the valid intervals lower in IT than V1 by the margin")
def _(r):
    ratio = _mean_p2p1(r.measure("interval", "p2p1", _p2p1))
    return Check("", "mean P2/P1 over valid intervals", _areas(ratio),
                 _all(greater(ratio.sel(area="V1"), ratio.sel(area="IT"))))


@phenomenon("classification improves over time", "accuracy rises by more than 0.2 from the first step to its best")
def _(r):
    clf = r.results["contrast"].classifier.sel(model=r.label)
    acc = clf["accuracy"]
    values = [round(float(acc.isel(time=0)), 3), round(float(acc.max()), 3)]
    return Check("", "accuracy at the first step, best", values, float(acc.max()) > float(acc.isel(time=0)) + 0.2)


def _weights(r):
    from dynvision.analysis import weight_statistics

    if "weights" not in r.cache:
        r.cache["weights"] = weight_statistics(r.results["response"].models[r.label])
    return r.cache["weights"]


@phenomenon("feedforward weights are broader than recurrent", "weight SD of feedforward > recurrent by 10 % in every area")
def _(r):
    stats = _weights(r)
    ff, rc = stats["std"].sel(kind="feedforward"), stats["std"].sel(kind="recurrent")
    return Check("", "weight SD feedforward / recurrent", _areas(ff / rc, 2), _all(ff > 1.1 * rc))


@phenomenon("higher layers have larger weights", "mean |w| of IT's feedforward weights > V1's by 5 %")
def _(r):
    mag = _weights(r)["mean_abs"].sel(kind="feedforward")
    return Check("", "mean |w| feedforward", _areas(mag, 4), float(mag.sel(area="IT")) > 1.05 * float(mag.sel(area="V1")))


def _versus(r, experiment, name, fn, reduce=None, lower_is_more=False):
    a = r.measure(experiment, name, fn)
    b = r.measure(experiment, name, fn, label=r.other)
    if reduce is not None:
        a, b = reduce(a), reduce(b)
    ok = greater(b, a) if lower_is_more else greater(a, b)
    values = {"full": _areas(a), "self": _areas(b)}
    return values, _all(ok)


@phenomenon("full recurrence adapts more than self", "adaptation index larger in every area by the margin", compare=True)
def _(r):
    values, ok = _versus(r, "response", "adaptation", _adaptation)
    return Check("", "adaptation index, full vs self", values, ok)


@phenomenon("full recurrence sustains activity longer", "decay time after offset longer in every area by the margin",
            compare=True)
def _(r):
    values, ok = _versus(r, "response", "decay", decay_time)
    return Check("", "decay time (ms), full vs self", values, ok)


@phenomenon("full recurrence gives a stronger contrast response", "peak at the highest contrast larger in every area",
            compare=True)
def _(r):
    values, ok = _versus(r, "contrast", "peak", _peak, reduce=lambda d: d.isel(contrast=-1))
    return Check("", "peak at c max, full vs self", values, ok)


@phenomenon("full recurrence adapts more to repetition",
            "P2/P1 averaged over the intervals valid for both lower in every area by the margin", compare=True)
def _(r):
    a = r.measure("interval", "p2p1", _p2p1)
    b = r.measure("interval", "p2p1", _p2p1, label=r.other)
    both = (a.notnull() & b.notnull()).all([d for d in a.dims if d != "interval"])
    keep = np.flatnonzero(both.values)
    a, b = a.isel(interval=keep).mean("interval"), b.isel(interval=keep).mean("interval")
    return Check("", "mean P2/P1 over valid intervals, full vs self", {"full": _areas(a), "self": _areas(b)},
                 _all(greater(b, a)))


# ---------------------------------------------------------------------------------------------


# Experiment settings the checks need beyond the experiments' defaults: decay times are read
# after offset, and in the trained models the higher areas take over 100 ms (the experiment's
# default grey after the stimulus) to fall to 1/e, so 100 ms would leave them unmeasured (NaN).
SETTINGS: dict[str, dict[str, Any]] = {"response": {"t_post": 300.0}}


def check_phenomena(model: Any, compare: Any = None, *, n_images: int = 8, progress: bool = False,
                    out: str | None = None) -> list[Check]:
    """Run the experiments and decide every phenomenon (see the module docstring).

    Args:
        model: The model (a name, pretrained name, checkpoint, or a built model).
        compare: A second model for the recurrence comparisons (e.g. the self-recurrence twin).
        n_images: Images per condition.
        progress: Show progress bars.
        out: Folder for the experiments' stores (``None``: in memory).
    """
    from dynvision.experiments import run_experiment

    models = {"model": model} if compare is None else {"model": model, "compare": compare}
    results = {}
    for name in ("response", "contrast", "duration", "interval"):
        results[name] = run_experiment(name, model=models, out=None if out is None else f"{out}/{name}",
                                       progress=progress, n_images=n_images, **SETTINGS.get(name, {}))
    r = _Results(results, "model", "compare" if compare is not None else None)
    rows = []
    for p in PHENOMENA:
        if p.compare and compare is None:
            continue
        check = p.check(r)
        check.phenomenon, check.criterion = p.name, p.criterion
        rows.append(check)
    return rows


def markdown_table(rows: list[Check]) -> str:
    """The rows as a Markdown table (phenomenon, holds, metric and values, criterion)."""
    lines = ["| phenomenon | holds | measured | criterion |", "|---|---|---|---|"]
    for row in rows:
        values = row.values if not isinstance(row.values, dict) else ", ".join(
            f"{k} {v}" for k, v in row.values.items())
        cells = [row.phenomenon, "yes" if row.holds else "**no**", f"{row.metric}: {values}", row.criterion]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")  # "mean |w|" stays one cell
    lines.append(f"\n{sum(r.holds for r in rows)} of {len(rows)} hold.")
    return "\n".join(lines)


def runs_table(runs: Mapping[str, Sequence[Check]]) -> str:
    """Which phenomena hold in each of several runs (e.g. training seeds) as a Markdown table.

    One row per phenomenon, one column per run, and a last column counting the runs in which it
    holds; the last row counts the phenomena each run shows. Every run must have checked the same
    phenomena in the same order.
    """
    if not runs:
        raise ValueError("runs_table needs at least one run")
    labels = list(runs)
    names = [r.phenomenon for r in runs[labels[0]]]
    for label in labels[1:]:
        other = [r.phenomenon for r in runs[label]]
        if other != names:
            raise ValueError(f"run {label!r} checked other phenomena than {labels[0]!r}: "
                             f"{sorted(set(other) ^ set(names))}")
    lines = ["| phenomenon | " + " | ".join(labels) + " | runs |", "|---|" + "---|" * (len(labels) + 1)]
    for i, name in enumerate(names):
        held = [bool(runs[label][i].holds) for label in labels]
        cells = [name, *("yes" if h else "**no**" for h in held), f"{sum(held)} of {len(labels)}"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    totals = [f"{sum(bool(r.holds) for r in runs[label])} of {len(names)}" for label in labels]
    lines.append("| **phenomena held** | " + " | ".join(totals) + " | |")
    return "\n".join(lines)


__all__ = ["PHENOMENA", "SETTINGS", "Check", "check_phenomena", "decay_time", "greater", "markdown_table",
           "nr_against_line", "per_image", "runs_table"]

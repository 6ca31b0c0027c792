"""ModelExplorer: turn the dynamics knobs of a small model and watch each area respond.

Every change of ``dt``, ``tau``, the delays, the recurrence type, skip/feedback connections,
the integrator or the dynamics form rebuilds the model (same seed; parameters that exist in
both keep the reference model's values, so only the changed part differs) and simulates one
image presentation again. With the default tiny DyRCNNx4 (width 0.125, 16 px, ~40 steps) an
update takes tens of milliseconds on a CPU. A combination the model refuses (a delay that is
not a multiple of ``dt``...) sets :attr:`ModelExplorer.error` and shows the message in the app;
the last valid responses stay on screen.

Example:
    >>> from dynvision.views import ModelExplorer
    >>> explorer = ModelExplorer()  # doctest: +SKIP
    >>> explorer.param.update(recurrence_type="self", tau=10.0)  # doctest: +SKIP
    >>> explorer.responses.sel(area="IT").max()  # doctest: +SKIP
    >>> explorer.panel()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import time as _time
import warnings
from typing import Any, Iterator, Mapping

import param
import xarray as xr

from dynvision.views.offline import ensure_backend

KNOBS = ("dt", "tau", "tff", "trc", "tfb", "recurrence_type", "skip", "feedback", "integrator", "dynamics")
"""Parameters of the explorer that are model constructor arguments."""

DEFAULT_KWARGS = {"width": 0.125}
DELAYS = ("tff", "trc", "tfb")
"""The delay knobs (ms): their sliders step by ``dt``."""


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` intra-op torch threads (``None``: unchanged), then restore.

    A tiny model is fastest on one thread: on a busy machine, several threads per
    convolution wait for each other far longer than the arithmetic takes.
    """
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _recurrence_types() -> list[str]:
    from dynvision.layers import RECURRENCES

    return RECURRENCES.list()


class ModelExplorer(param.Parameterized):
    """Rebuild and re-simulate a small model whenever a dynamics parameter changes.

    Args:
        model: A registered model name, or a built model (e.g. a pretrained one) whose
            configuration and weights are the reference.
        model_kwargs: Constructor arguments for a model name (default ``width=0.125``).
        size: Image size in pixels for a model name.
        images: Image source (``dynvision.stimuli.list_sources()``).
        seed: Seed of the weights and of the image.
        t_pre: Grey before the image (ms).
        t_post: Grey after it (ms).
        threads: Torch threads while simulating (one is fastest for tiny models; ``None``
            keeps torch's setting).
        **params: Initial values of the parameters below.

    Attributes:
        responses: The last valid area responses ``(area, time)`` (mean over channels and space).
        reference: The responses of the initial settings (drawn dashed for comparison).
    """

    dt = param.Selector(default=2.0, objects=[0.5, 1.0, 2.0, 4.0], label="dt (ms)", doc="Integration step (ms).")
    tau = param.Number(default=5.0, bounds=(0.5, 50.0), step=0.5, label="tau (ms)",
                       doc="Time constant of every area (ms).")
    tff = param.Number(default=0.0, bounds=(0.0, 20.0), step=1.0, label="tff: feedforward delay (ms)")
    trc = param.Number(default=6.0, bounds=(0.0, 20.0), step=1.0, label="trc: recurrent delay (ms)")
    tfb = param.Number(default=30.0, bounds=(0.0, 60.0), step=1.0, label="tfb: feedback delay (ms)")
    recurrence_type = param.Selector(default="full", objects=["full"], label="recurrence type",
                                     doc="Recurrent connectivity (dynvision.layers.RECURRENCES).")
    skip = param.Boolean(default=True, label="skip connections", doc="V1 -> V4 and V2 -> IT.")
    feedback = param.Boolean(default=False, label="feedback connections", doc="V4 -> V1 and IT -> V2.")
    integrator = param.Selector(default="exponential", objects=["exponential", "euler"], label="integrator")
    dynamics = param.Selector(default="rate", objects=["rate", "voltage", "dynvision"], label="dynamics form")
    contrast = param.Number(default=1.0, bounds=(0.0, 1.0), step=0.05, label="contrast", doc="Image contrast.")
    t_stim = param.Number(default=40.0, bounds=(4.0, 80.0), step=4.0, label="t_stim: presentation (ms)")

    error = param.String(default="", doc="Why the last update failed ('' when it worked).")
    note = param.String(default="", doc="Warnings of the last update (a coarse dt...).")
    status = param.String(default="", doc="What the last update did and how long it took.")
    responses = param.ClassSelector(class_=xr.DataArray, default=None, allow_None=True)
    reference = param.ClassSelector(class_=xr.DataArray, default=None, allow_None=True)

    def __init__(self, model: Any = "DyRCNNx4", model_kwargs: Mapping[str, Any] | None = None, *,
                 size: int = 16, images: str = "digits", seed: int = 0, t_pre: float = 8.0,
                 t_post: float = 32.0, threads: int | None = 1, **params: Any):
        super().__init__()
        import torch

        self._ready, self._threads = False, threads
        from dynvision.models import RecurrentModel, create_model

        self.param.recurrence_type.objects = _recurrence_types()
        self._seed, self._images, self._t_pre, self._t_post = int(seed), images, float(t_pre), float(t_post)
        if isinstance(model, RecurrentModel):
            reference = model
        else:
            kwargs = dict(DEFAULT_KWARGS if model_kwargs is None else model_kwargs)
            kwargs.setdefault("input_dims", (1, 1, size, size))
            kwargs.setdefault("n_classes", 10)
            torch.manual_seed(self._seed)
            reference = create_model(str(model), **kwargs)
        config = dict(reference.config)
        config.pop("model", None)
        self._name = getattr(reference, "registry_name", type(reference).__name__)
        self._base = config
        self._weights = {k: v.detach().clone() for k, v in reference.state_dict().items() if "tau" not in k}
        self.param.update(**{**self._start(config), **params})
        self._ready = True
        self.update()
        self.reference = self.responses

    # ----------------------------------------------------------------------------- model
    def _start(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The knobs' first values from the reference configuration (ranges widened to fit)."""
        start = {}
        for name in KNOBS:
            value = config.get(name, config.get(f"{name}_ms"))  # knobs use the bare time names
            if isinstance(value, Mapping):  # per-area values: start from the first area's
                value = next(iter(value.values()), None)
            if value is None:
                continue
            p = self.param[name]
            if isinstance(p, param.Number) and not isinstance(p, param.Integer):
                value = float(value)
                lo, hi = p.bounds
                p.bounds = (min(lo, value), max(hi, value))
            elif isinstance(p, param.Selector) and value not in p.objects:
                p.objects = sorted([*p.objects, value]) if name == "dt" else [*p.objects, value]
            start[name] = value
        return start

    def settings(self) -> dict[str, Any]:
        """The constructor arguments the current knobs give (on top of the reference config)."""
        from dynvision.models import MODELS

        canonical = MODELS.get(self._name).config_class.canonical  # knob "dt" is the field "dt_ms"
        return {**self._base, **{canonical(k): getattr(self, k) for k in KNOBS}}

    def build(self):
        """The model for the current settings, with the reference weights where shapes match.

        Raises:
            ValueError: The settings are invalid (the message says why).
        """
        import torch

        from dynvision.models import create_model

        torch.manual_seed(self._seed)
        model = create_model(self._name, **self.settings())
        state = model.state_dict()
        shared = {k: v for k, v in self._weights.items() if k in state and state[k].shape == v.shape}
        model.load_state_dict(shared, strict=False)
        return model

    def stimulus(self, model) -> xr.DataArray:
        """One image presentation at the model's dt, size and channels."""
        from dynvision.stimuli import make_images, presentation

        _, channels, h, w = model.input_dims
        kwargs = {"seed": self._seed} if self._images in ("digits", "noise") else {}
        images = make_images(self._images, n=1, size=(h, w), channels=channels, **kwargs)
        return presentation(images, dt=model.dt, t_pre=self._t_pre, t_stim=self.t_stim, t_post=self._t_post,
                            contrast=self.contrast)

    def simulate(self) -> xr.DataArray:
        """Build, simulate and return the area responses ``(area, time)``."""
        from dynvision.simulation import Simulation

        with torch_threads(self._threads):
            model = self.build()
            tree = Simulation(model, progress=False).run(self.stimulus(model), reduce="mean", store_stimulus=False)
        areas = [name for name in model.area_names]
        curves = [tree[a]["activity"].isel(sample=0).mean("channel") for a in areas]
        out = xr.concat(curves, dim="area").assign_coords(area=areas)
        out = out.assign_coords(stim_onset=float(tree["logits"]["stim_onset"][0]),
                                stim_offset=float(tree["logits"]["stim_offset"][0]))
        return out.drop_vars([c for c in out.coords if c not in ("area", "time", "stim_onset", "stim_offset")])

    @param.depends(*KNOBS, "contrast", "t_stim", watch=True)
    def update(self) -> None:
        """Re-simulate with the current settings; on failure set :attr:`error` instead."""
        if not self._ready:
            return
        t0 = _time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                responses = self.simulate()
            except Exception as exc:  # noqa: BLE001 - any refusal of the model is shown, not raised
                self.param.update(error=f"{type(exc).__name__}: {exc}", note="",
                                  status="not updated: the settings are invalid")
                return
        messages = list(dict.fromkeys(str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)))
        ms = 1000 * (_time.perf_counter() - t0)
        self.param.update(responses=responses, error="", note="\n".join(messages),
                          status=f"{self._name}: {responses.sizes['time']} steps of {self.dt:g} ms simulated "
                                 f"in {ms:.0f} ms")

    # ----------------------------------------------------------------------------- views
    def element(self):
        """HoloViews overlay: each area's response (solid) over the reference (dashed), time
        from stimulus onset, the stimulus shaded."""
        hv = ensure_backend()
        from dynvision.views._hv import AREA_COLORS

        r = self.responses
        onset = float(r.stim_onset)
        items = [hv.VSpan(0.0, float(r.stim_offset) - onset).opts(backend="bokeh", color="grey", alpha=0.12)]
        for i, area in enumerate(r["area"].values.tolist()):
            color = AREA_COLORS[i % len(AREA_COLORS)]
            if self.reference is not None and area in self.reference["area"].values:
                ref = self.reference.sel(area=area)
                start = float(self.reference.stim_onset)
                items.append(hv.Curve((ref["time"].values - start, ref.values), "time", "response",
                                      label=f"{area} start").opts(
                    backend="bokeh", color=color, line_dash="dashed", line_width=1, alpha=0.6))
            cur = r.sel(area=area)
            items.append(hv.Curve((cur["time"].values - onset, cur.values), "time", "response", label=area).opts(
                backend="bokeh", color=color, line_width=2.5))
        return hv.Overlay(items).opts(
            backend="bokeh", title="area responses (mean of channels and space)", frame_width=340, frame_height=260,
            legend_position="right", framewise=True, xlabel="time from stimulus onset (ms)",
            ylabel="response (a.u.)", fontsize={"title": "11pt", "labels": "10pt", "legend": "9pt"})

    def panel(self):
        """The app: knobs left; errors, warnings, the responses and the status right."""
        import panel as pn

        hv = ensure_backend()
        names = [*KNOBS, "contrast", "t_stim"]
        widgets = {n: {"width": 220} for n in names}
        for n in ("tau", "tff", "trc", "tfb", "contrast", "t_stim"):  # update on release, not while dragging
            widgets[n].update(type=pn.widgets.FloatSlider, throttled=True)
        for n in DELAYS:  # delays are whole multiples of dt: the sliders step by dt
            widgets[n]["step"] = float(self.dt)
        knobs = pn.Param(self.param, parameters=names, show_name=False, width=240, widgets=widgets)

        def follow_dt(event) -> None:
            for n in DELAYS:
                if n in knobs._widgets:
                    knobs._widgets[n].step = float(event.new)

        self.param.watch(follow_dt, "dt")
        plot = hv.DynamicMap(lambda **_: self.element(), streams=[hv.streams.Params(self, ["responses"])])
        error = pn.pane.Alert(pn.bind(lambda e: e or "", self.param.error), alert_type="danger",
                              visible=self.param.error.rx.bool(), width=540)
        note = pn.pane.Alert(pn.bind(lambda w: w or "", self.param.note), alert_type="warning",
                             visible=self.param.note.rx.bool(), width=540)
        status = pn.pane.Markdown(self.param.status, width=540)
        return pn.Row(pn.Column(pn.pane.Markdown("### Model dynamics"), knobs),
                      pn.Column(error, note, pn.pane.HoloViews(plot, backend="bokeh"), status),
                      name="ModelExplorer")


__all__ = ["DELAYS", "KNOBS", "ModelExplorer"]

"""The model contract: areas in hierarchy order, a time loop, logits per step.

Every dynvision model is a :class:`RecurrentModel`:

- input ``(batch, time, channels, height, width)``, output logits ``(batch, time, classes)``;
- ``areas``: an ordered ``nn.ModuleDict`` of :class:`~dynvision.layers.area.DynamicArea`
  (V1, V2, V4, IT...), whose names are what :class:`~dynvision.Simulation` can record;
- an input stage (normalisation, optional retina and adaptive input gain), skip and feedback
  :class:`~dynvision.layers.connections.Connection` s with their own delays, and a linear
  classifier on the spatially averaged output of the top area;
- a functional state (:class:`ModelState`) so runs can start from zeros, a steady state, or
  where another run stopped.

Everything is built in ``__init__``: the parameter count never changes in a forward pass.

While delays are still filling, an area reads its sources' *initial* output (zeros, or the
steady state); the logits of the first ``sum of feedforward delays`` steps therefore reflect
the resting network (with zero state: the classifier bias alone). With
``delay_fill="silent"`` (DynVision's convention, see :mod:`dynvision.layers.area`) sources
emit nothing until their first input arrives, and the logits are zero while the top area is
silent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

import torch
from torch import nn
from torch.nn.utils import parametrize

from dynvision.conventions import BACKGROUND, jsonable  # noqa: F401  (BACKGROUND re-exported)
from dynvision.dynamics import delay_steps
from dynvision.layers.area import AreaState, DynamicArea
from dynvision.layers.connections import Connection
from dynvision.layers.delay import History
from dynvision.models.config import ModelConfig
from dynvision.models.input_stage import InputStage  # noqa: F401  (re-exported: it was defined here)
from dynvision.registry import check_choice, unknown_name_message, UnknownNameError



@dataclass
class ModelState:
    """The run-time state of a model: one :class:`AreaState` per area, in area order.

    Attributes:
        areas: Area states, aligned with ``model.areas``.
        gain: Trace of the adaptive input gain (``None`` without one).
        t: Steps run so far (histories are indexed by absolute step).
        features: What the classifier reads at the current time (``None`` until computed).
        frames: The recent input frames, when the input reaches V1 with a delay (``tin_ms``).
        transient: Trace of the input's transient channels (``None`` without them).
    """

    areas: list[AreaState]
    gain: torch.Tensor | None = None
    t: int = 0
    features: torch.Tensor | None = None
    frames: History | None = None
    transient: torch.Tensor | None = None

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> "ModelState":
        return ModelState([a.map(fn) for a in self.areas], None if self.gain is None else fn(self.gain), self.t,
                          None if self.features is None else fn(self.features),
                          None if self.frames is None else self.frames.map(fn),
                          None if self.transient is None else fn(self.transient))

    def detach(self) -> "ModelState":
        """A copy cut from the autograd graph (truncated backpropagation through time)."""
        return self.map(torch.Tensor.detach)

    def expand(self, batch: int) -> "ModelState":
        """Broadcast a batch-1 state (e.g. a steady state) to ``batch`` samples (no copy)."""
        return self.map(lambda x: x.expand(batch, *x.shape[1:]))

    @property
    def batch_size(self) -> int:
        return self.areas[0].v.shape[0]


@dataclass
class RunOutput:
    """What :meth:`RecurrentModel.run` returns.

    Attributes:
        logits: ``(batch, time, classes)``.
        recordings: Area name -> ``(batch, time, channel, y, x)`` (or reduced) activity.
        state: The state after the last step.
    """

    logits: torch.Tensor
    recordings: dict[str, torch.Tensor] = field(default_factory=dict)
    state: ModelState | None = None


REDUCERS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "none": lambda x: x,
    "mean": lambda x: x.mean(dim=(-2, -1)),
    "center": lambda x: x[..., x.shape[-2] // 2, x.shape[-1] // 2],
}


def config_dict(model) -> dict:
    """The model's configuration as a JSON-able dict (``{"model": name, **arguments}``).

    Use this rather than reading ``model.config`` directly: it works whatever form the
    configuration object takes.
    """
    config = getattr(model, "config", None)
    if config is None:
        return {"model": type(model).__name__}
    return jsonable(config.to_dict() if hasattr(config, "to_dict") else dict(config))


@contextlib.contextmanager
def _evaluating(model: nn.Module):
    """Evaluation mode for the duration (a steady state is an evaluation: dropout off, bounds
    exact), then the model's mode as it was."""
    was = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was)


class RecurrentModel(nn.Module):
    """Base class of all dynvision models (see the module docstring for the contract).

    A family declares ``config_class`` (a :class:`~dynvision.models.config.ModelConfig`) and
    builds from ``self.config`` in ``__init__`` (after which the model is put in the fast
    channels-last layout): ``self.input_stage``, ``self.areas`` (ordered
    ``nn.ModuleDict``), :meth:`wire` for skip/feedback connections, ``self.classifier``. Models
    are built from keyword arguments (``DyRCNNx4(tau=5, dt=2)``, times in ms, bare spellings
    accepted) or from a configuration (``DyRCNNx4(config)``), optionally with changes.
    """

    config_class: type[ModelConfig] = ModelConfig
    config: ModelConfig
    n_classes: int
    input_dims: tuple[int, int, int, int]
    dt: float

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # the signature users (and help(), the CLI) see: the configuration's fields
        params = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                                    annotation=f.type) for f in dataclasses.fields(cls.config_class)]
        cls.__signature__ = inspect.Signature(params)
        if "__init__" in cls.__dict__:
            init = cls.__init__

            @functools.wraps(init)
            def build(self, *args, **kwargs):
                outermost = not self.__dict__.get("_building", False)
                self.__dict__["_building"] = True
                try:
                    init(self, *args, **kwargs)
                finally:
                    if outermost:
                        self.__dict__["_building"] = False
                if outermost:
                    self._built()

            self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
            build.__signature__ = inspect.Signature([self_param, *params])
            cls.__init__ = build

    def _built(self) -> None:
        """Runs once after the outermost constructor: the model is put in channels-last layout.

        Channels-last is the fast layout for CPU (oneDNN) and GPU (cuDNN) convolutions; frames
        and states follow the weights' layout, so nothing converts layouts inside the time loop.
        ``model.to(memory_format=torch.contiguous_format)`` switches back.
        """
        self.to(memory_format=torch.channels_last)

    def __init__(self, config: ModelConfig | None = None, /, **kwargs):
        super().__init__()
        owner = getattr(type(self), "registry_name", type(self).__name__)
        config_class = type(self).config_class
        if config is None:
            config = config_class.from_kwargs(f"model {owner!r}", **kwargs)
        elif not isinstance(config, config_class):
            if isinstance(config, Mapping):  # a dict from JSON
                config = config_class.from_dict({**dict(config), **kwargs})
            else:
                raise TypeError(f"{owner} takes a {config_class.__name__} or keyword arguments, got "
                                f"{type(config).__name__}")
        elif kwargs:
            config = config.replace(**kwargs)
        self.config = config
        self.n_classes, self.input_dims = int(config.n_classes), tuple(config.input_dims)
        self.dt = float(config.dt_ms)
        self.connections = nn.ModuleList()
        self._inputs_of: list[tuple[list, list]] = []

    @property
    def dt_ms(self) -> float:
        """The integration step in ms (``model.dt`` is the same number)."""
        return self.dt

    # ----------------------------------------------------------------------------------------
    @property
    def area_names(self) -> list[str]:
        """Names of the areas, bottom to top (what can be recorded)."""
        return list(self.areas.keys())

    def wire(self, skip: Iterable[tuple[str, str]] = (), feedback: Iterable[tuple[str, str]] = (),
             tsk: float = 0.0, tfb: float | None = None, feedback_mode: str = "additive",
             bias: bool = False, resample: str = "area") -> None:
        """Create skip (upwards) and feedback (downwards) connections between areas.

        Args:
            skip: (source, target) pairs with the source below the target.
            feedback: (source, target) pairs with the source above the target.
            tsk: Skip delay in ms (>= 0).
            tfb: Feedback delay in ms (>= dt: the source has not run yet in the current step);
                required when ``feedback`` is given.
            feedback_mode: ``"additive"`` or ``"multiplicative"`` (gain modulation).
            bias: Whether the connections' 1 x 1 convolutions carry a bias.
            resample: How a connection shrinks a larger source: ``"area"`` (averaging) or
                ``"nearest"`` (DynVision's); enlarging is nearest-neighbour either way.
        """
        check_choice("feedback mode", feedback_mode, ("additive", "multiplicative"))
        names = self.area_names
        for kind, pairs, delay_ms in (("skip", skip, tsk), ("feedback", feedback, tfb)):
            for src, tgt in pairs:
                for n in (src, tgt):
                    if n not in self.areas:
                        raise UnknownNameError(unknown_name_message("area", n, names))
                up = names.index(src) < names.index(tgt)
                if (kind == "skip") != up or src == tgt:
                    raise ValueError(f"a {kind} connection must go {'up' if kind == 'skip' else 'down'} the "
                                     f"hierarchy {names}, got {src} -> {tgt}")
                steps = delay_steps(delay_ms, self.dt, "tsk_ms" if kind == "skip" else "tfb_ms",
                                    minimum=0 if kind == "skip" else 1)
                s, t = self.areas[src], self.areas[tgt]
                c_out, size_out = t.shape_at(kind)
                self.connections.append(Connection(src, tgt, kind, s.out_channels, c_out, s.size, size_out,
                                                   steps, mode="additive" if kind == "skip" else feedback_mode,
                                                   bias=bias, resample=resample))
                s.history_length = max(s.history_length, steps + 1)
        self._finish_wiring(feedback_mode)

    def _finish_wiring(self, feedback_mode: str = "additive") -> None:
        names = self.area_names
        self._inputs_of = [([], []) for _ in names]
        for conn in self.connections:
            slot = 0 if conn.kind == "skip" else 1
            self._inputs_of[names.index(conn.target)][slot].append((conn, names.index(conn.source)))
        for i, area in enumerate(self.areas.values()):
            skips, fbs = self._inputs_of[i]
            area.set_connections(bool(skips), bool(fbs), "additive", feedback_mode)
            area.set_stimulus_driven(i == 0)

    # ----------------------------------------------------------------------------------------
    @property
    def channels_last(self) -> bool:
        """Whether the model runs in channels-last layout (after ``model.to(memory_format=
        torch.channels_last)``): states and inputs then follow, so no step converts layouts."""
        for module in self.areas.modules():  # the first weight whose layout is unambiguous
            if isinstance(module, nn.Conv2d) and module.weight.is_contiguous() != \
                    module.weight.is_contiguous(memory_format=torch.channels_last):
                return not module.weight.is_contiguous()
        return False

    def initial_state(self, batch: int, device=None, dtype=None) -> ModelState:
        """All-zero state for ``batch`` samples (in the parameters' dtype and layout)."""
        device = device or next(self.parameters()).device
        dtype = dtype or next(self.parameters()).dtype
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        areas = [a.initial_state(batch, device, dtype, fmt) for a in self.areas.values()]
        gain = frames = transient = None
        c = self.input_stage.frame_channels
        if self.input_stage.gain is not None:
            gain = torch.zeros(batch, c, *self.input_dims[2:], device=device, dtype=dtype)
        if self.input_stage.transient is not None:
            transient = torch.zeros(batch, c, *self.input_dims[2:], device=device, dtype=dtype)
        if self.input_stage.delay_steps:  # grey (0 after normalisation) until the first frame arrives
            blank = torch.zeros(batch, c, *self.input_dims[2:], device=device, dtype=dtype).contiguous(memory_format=fmt)
            frames = History(blank, self.input_stage.delay_steps + 1)
        return ModelState(areas, gain, 0, frames=frames, transient=transient)

    def check_input(self, x: torch.Tensor) -> None:
        """Validate a stimulus tensor ``(batch, time, channels, height, width)``.

        Floating-point input of any precision is accepted (:meth:`run` casts it to the model's
        dtype); integer, boolean and complex tensors are refused (dynvision stimuli are
        luminance in [0, 1]), as are non-finite values and input on another device.
        """
        if not torch.is_tensor(x):
            raise TypeError(f"expected a torch.Tensor (batch, time, channels, height, width), got {type(x).__name__}")
        if x.is_complex() or not x.is_floating_point():
            hint = " (for 0..255 images use x.float() / 255)" if x.dtype == torch.uint8 else ""
            raise TypeError(f"input has dtype {x.dtype}; expected floating-point luminance (grey = 0.5, "
                            f"typically in [0, 1]){hint}")
        device = next(self.parameters()).device
        if x.device != device:
            raise ValueError(f"input is on {x.device} but the model is on {device}; move one of them "
                             f"(x.to({str(device)!r}) or model.to({str(x.device)!r}))")
        _, c, h, w = self.input_dims
        if x.ndim != 5:
            raise ValueError(f"expected input of rank 5 (batch, time, channels, height, width), got rank "
                             f"{x.ndim} with shape {tuple(x.shape)}")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"empty input: shape {tuple(x.shape)} has no samples or no time steps")
        if x.shape[2] != c:
            raise ValueError(f"input has {x.shape[2]} channels; {type(self).__name__} was built for "
                             f"input_dims={self.input_dims} ({c} channels)")
        if tuple(x.shape[3:]) != (h, w):
            raise ValueError(f"input is {tuple(x.shape[3:])} pixels; {type(self).__name__} was built for "
                             f"{(h, w)} (input_dims={self.input_dims}); rebuild it with matching input_dims")
        if x.device.type == "meta":  # shapes only: a meta tensor holds no values to check
            return
        finite = torch.isfinite(x)
        if not bool(finite.all()):
            where = (~finite).nonzero()[0].tolist()
            raise ValueError(f"input contains non-finite values (NaN or inf), first at sample {where[0]}, "
                             f"step {where[1]}")

    def _validate_record(self, record) -> dict[str, Callable]:
        if record is None:
            return {}
        if isinstance(record, str):
            record = [record]
        if isinstance(record, Mapping):
            items = record.items()
        else:
            items = [(name, "none") for name in record]
        out = {}
        for name, reduce in items:
            if name not in self.areas:
                raise UnknownNameError(unknown_name_message("area", name, self.area_names))
            out[name] = reduce if callable(reduce) else REDUCERS[check_choice("reduction", reduce or "none", REDUCERS)]
        return out

    def run(self, x: torch.Tensor, state: ModelState | None = None, record=None,
            out: Mapping[str, torch.Tensor] | None = None) -> RunOutput:
        """Run the time loop over all frames of ``x``.

        Output index ``k`` holds the state at time ``t0 + k dt``, *before* frame ``k`` acts (see
        :mod:`dynvision.dynamics`): index 0 is the starting state, and frame ``k``, shown over
        ``[t_k, t_k + dt)``, shows up from index ``k + 1`` on. The state after the last frame
        is in ``RunOutput.state``.

        Args:
            x: Stimulus ``(batch, time, channels, height, width)``.
            state: Where to start (left unchanged: the state after the run is returned);
                ``None`` starts from zeros.
            record: Area names to record, or a mapping name -> reduction (``"none"``,
                ``"mean"``, ``"center"`` or a callable on ``(batch, C, H, W)``).
            out: Optional preallocated outputs, name -> tensor ``(batch, time, ...)`` in any
                dtype and layout: each step's recording of an area (and ``"logits"``) is copied
                into it instead of being collected and stacked.

        Returns:
            Logits per step, recorded activity, and the final state.
        """
        self.check_input(x)
        dtype = next(self.parameters()).dtype
        if x.dtype != dtype and not torch.is_autocast_enabled(x.device.type):
            x = x.to(dtype)  # float64 arrays, bfloat16 models...
        reducers = self._validate_record(record)
        out = dict(out or {})
        batch, steps = x.shape[:2]
        if state is None:
            state = self.initial_state(batch, x.device)
        elif state.batch_size != batch:
            raise ValueError(f"state holds {state.batch_size} samples but the input has {batch}")
        else:
            state = state.map(lambda t: t)  # new containers: the caller's state is never changed
        for name, buf in out.items():
            if name != "logits" and name not in reducers:
                raise ValueError(f"out[{name!r}] is given but {name!r} is not recorded (record={list(reducers)})")
            if buf.shape[:2] != (batch, steps):
                raise ValueError(f"out[{name!r}] has shape {tuple(buf.shape)}; expected (batch={batch}, "
                                 f"time={steps}, ...)")
        areas = list(self.areas.values())
        for area in areas:
            area.prepare()
        index = {name: i for i, name in enumerate(self.area_names)}
        frames = self.input_stage.frames(x, self.channels_last)
        if state.features is None:
            state.features = self.readout(areas[-1].output_at(state.areas[-1], state.t - 1), state)
        features, recs = [], {name: [] for name in reducers if name not in out}
        with parametrize.cached():  # parametrised weights (excitatory recurrence): once per run
            for k in range(steps):
                t = state.t + k
                features.append(state.features)  # the state at t_k, before frame k acts
                for name, reduce in reducers.items():
                    value = reduce(state.areas[index[name]].recorded)
                    if name in out:
                        out[name][:, k].copy_(value)
                    else:
                        recs[name].append(value)
                self._advance(frames[k], t, state, areas)
        state.t += steps
        logits = self._logits(features, batch, x)
        if "logits" in out:
            logits = out["logits"].copy_(logits)
        recordings = {n: out[n] if n in out else torch.stack(recs[n], dim=1) for n in reducers}
        return RunOutput(logits, recordings, state)

    def _logits(self, features: list, batch: int, like: torch.Tensor) -> torch.Tensor:
        """The classifier on each step's features; zero where the top area emitted nothing
        (``None``, only with ``delay_fill="silent"``), as in DynVision."""
        if all(f is not None for f in features):
            return self.classifier(torch.stack(features, dim=1))
        present = [k for k, f in enumerate(features) if f is not None]
        logits = like.new_zeros(batch, len(features), self.n_classes)
        if present:
            logits[:, present] = self.classifier(torch.stack([features[k] for k in present], dim=1)).to(logits.dtype)
        return logits

    def _advance(self, frame: torch.Tensor, t: int, state: ModelState, areas: list[DynamicArea]) -> None:
        """One step ``t -> t + dt`` of every area under ``frame`` (shown over that step)."""
        if state.frames is not None:  # the frame reaches the first area after the input delay
            state.frames.write(t, frame)
            frame = state.frames.read(t, self.input_stage.delay_steps)
        gain = self.input_stage.gain
        if gain is not None:
            y_start = gain.apply(frame, state.gain)
            state.gain = gain.advance(state.gain, frame, frame)
            y = gain.apply(frame, state.gain)
        else:
            y_start = y = frame
        transient = self.input_stage.transient
        if transient is not None:  # sustained and transient channels side by side
            z_start = transient.apply(frame, state.transient)
            state.transient = transient.advance(state.transient, frame, frame)
            z = transient.apply(frame, state.transient)
            y_start, y = torch.cat([y_start, z_start], dim=1), torch.cat([y, z], dim=1)
        starts: list[tuple | None] = [None] * len(areas)
        for i, area in enumerate(areas):  # inputs at the start of the step, read before any area moves
            st = state.areas[i]
            if area.uses_start and (i == 0 or st.target is None):
                skips, fbs = self._inputs_of[i]
                x0 = y_start if i == 0 else areas[i - 1].output_at(state.areas[i - 1], t - 1)
                starts[i] = (x0, self._gather(skips, t - 1, state, st, "skip") if skips else None,
                             self._gather(fbs, t - 1, state, st, "feedback") if fbs else None)
        for i, area in enumerate(areas):
            st = state.areas[i]
            skips, fbs = self._inputs_of[i]
            skip = self._gather(skips, t, state, st, "skip") if skips else None
            fb = self._gather(fbs, t, state, st, "feedback") if fbs else None
            y = area.step(y, t, st, skip, fb, starts[i])
        state.features = self.readout(y, state)

    @staticmethod
    def _gather(conns, t, state, target_state=None, kind: str = ""):
        """The summed terms of connections ``conns`` read at step ``t`` (cached per target and step)."""
        memo = target_state.memo if target_state is not None else None
        if memo is not None and memo.get(kind) is not None and memo[kind][0] == t:
            return memo[kind][1]
        total = None
        for conn, src in conns:
            h = state.areas[src].history.read(t, conn.delay)
            if h is None:  # nothing emitted yet (delay_fill="silent"): no term
                continue
            term = conn(h)
            total = term if total is None else total + term
        if memo is not None:
            memo[kind] = (t, total)
        return total

    def readout(self, output: torch.Tensor, state: ModelState) -> torch.Tensor:
        """What the classifier sees at each step: the top area's output averaged over space.

        Args:
            output: What the top area sent on in this step, ``(batch, C, H, W)``, or ``None``
                while it has emitted nothing (``delay_fill="silent"``).
            state: The model state after this step (every area's ``v`` is current).

        Returns:
            Features ``(batch, F)`` (``None`` for ``None``); families override this (AlexNet
            flattens a 6 x 6 map, CordsNet adds its two top areas).
        """
        return None if output is None else output.mean(dim=(-2, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, time, classes)`` for a stimulus ``(batch, time, C, H, W)``."""
        return self.run(x).logits

    # ----------------------------------------------------------------------------------------
    def steady_state(self, batch: int = 1, background: float = BACKGROUND, max_ms: float = 2000.0,
                     tol: float = 1e-5, chunk_steps: int = 25) -> ModelState:
        """The state reached under a blank (uniform ``background``) screen.

        Runs blank frames in chunks until no state changes by more than ``tol`` between
        chunks (or ``max_ms`` elapse) and returns that state, broadcast to ``batch``.
        """
        _, c, h, w = self.input_dims
        device = next(self.parameters()).device
        blank = torch.full((1, chunk_steps, c, h, w), float(background), device=device,
                           dtype=next(self.parameters()).dtype)
        state, previous = self.initial_state(1, device), None
        max_chunks = max(1, int(max_ms / (self.dt * chunk_steps)))
        change = float("inf")
        with torch.no_grad(), _evaluating(self):
            for chunk in range(max_chunks):
                state = self.run(blank, state).state
                current = [a.v.clone() for a in state.areas]
                unstable = [n for n, v in zip(self.area_names, current) if not torch.isfinite(v).all() or v.abs().max() > 1e6]
                if unstable:
                    raise ValueError(
                        f"the model does not settle under a blank screen: activity in {unstable} grows without "
                        f"bound within {(chunk + 1) * chunk_steps * self.dt:g} ms (its recurrent loops are unstable); "
                        f"use initial_state='zeros', or stabilise the model (e.g. train with an activity penalty)")
                if previous is not None:
                    change = max(float((a - b).abs().max()) for a, b in zip(current, previous))
                    if change < tol:
                        break
                previous = current
            else:
                warnings.warn(f"no steady state within {max_ms:g} ms under a blank screen (activity still changes "
                              f"by {change:.3g} per {chunk_steps * self.dt:g} ms); using the state reached",
                              RuntimeWarning, stacklevel=2)
        return state.expand(batch) if batch != 1 else state

    def fade_in_state(self, first_frame: torch.Tensor, fade_ms: float = 100.0,
                      background: float = BACKGROUND) -> ModelState:
        """The state after the first frame fades in from the background over ``fade_ms``.

        Args:
            first_frame: ``(batch, channels, height, width)``.
        """
        steps = max(1, int(round(fade_ms / self.dt)))
        ramp = torch.linspace(0.0, 1.0, steps, device=first_frame.device).view(1, -1, 1, 1, 1)
        frames = background + ramp * (first_frame.unsqueeze(1) - background)
        with torch.no_grad(), _evaluating(self):
            return self.run(frames).state

    def extra_repr(self) -> str:
        return f"n_classes={self.n_classes}, input_dims={self.input_dims}, dt={self.dt:g} ms"

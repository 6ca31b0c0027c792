"""A visual area with continuous-time dynamics: the building block of every model.

:class:`DynamicArea` owns the feedforward convolution(s), the recurrence, the leaky dynamics,
the activation, optional norm/adaptation/pooling, and the delays of its output. Its operation
order (see :mod:`dynvision.layers.operations`) is validated when the area is built and
compiled into bound methods when the area is built.

One step from ``t`` to ``t + dt`` (see :mod:`dynvision.dynamics` for the time convention):

1. the *target* ``g`` is computed by the operations before ``integrate`` (convolution,
   recurrence, skip, feedback, adaptation, norm, and ``phi`` for the rate form) from the inputs
   at the end of the step (``g1``) and, for second-order integrators, at its start (``g0``:
   the previous step's ``g1`` when the input is continuous, recomputed for an area fed by the
   stimulus, whose frame changes at ``t``);
2. the unit model's right-hand side is integrated (:mod:`dynvision.dynamics.integrators`);
3. the operations after ``integrate`` (``phi`` for the voltage form, ``record``, ``delay``,
   ``pool``) produce what the area records and sends on.

While delays are still filling, a delayed read (feedforward input, recurrence, skip, feedback)
returns the source's initial output (``delay_fill="rest"``, the default: zeros or the steady
state), or nothing (``delay_fill="silent"``, DynVision 0.1.0's convention): the term is then
left out, biases included, and an area with no term at all stays silent for that step (its
state keeps its initial value, it records that value and emits nothing, ``None``).

The area holds no run-time state itself: everything that changes during a simulation lives
in an :class:`AreaState` passed in by the model, so states can be saved, detached (truncated
BPTT), expanded to a batch (steady states) or handed to the next chunk of a stream.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from dynvision.dynamics import Leaky, check_dt, delay_steps, get_form, get_integrator
from dynvision.layers.activation import lipschitz
from dynvision.layers.bound import RecurrenceBound
from dynvision.layers.connections import resample
from dynvision.layers import onednn
from dynvision.layers.delay import History
from dynvision.layers.gain import AdaptiveGain
from dynvision.layers.operations import recurrence_target_of, validate_operations
from dynvision.layers.recurrence import combine, make_recurrence
from dynvision.layers.config import AreaConfig
from dynvision.layers.state import AreaState


class DynamicArea(nn.Module):
    """One area: ``target -> unit dynamics -> output``, with delays in ms.

    When the recurrence is ``full`` at the output and the feedforward convolution has stride 1
    and the same kernel, the two convolutions run as one over the concatenated input and
    delayed output (``fuse = False`` and :meth:`compile` turn that off).

    Args:
        name: Area name (V1, V2, ...).
        conv: Feedforward module from the input to ``mid_channels`` (two-stage) or
            ``out_channels``; usually an ``nn.Conv2d``, but any module works (a ResNet stage).
        in_channels: Channels of the input from below.
        out_channels: Channels of the area (its state and output).
        in_size: Spatial size (H, W) of the input.
        size: Spatial size of the area (after the feedforward stride).
        conv2: Second feedforward stage of a two-stage area (``mid_channels -> out_channels``).
        mid_channels: Channels between the two stages; ``mid_size`` their spatial size.
        recurrence: Recurrence type name (see :mod:`dynvision.layers.recurrence`).
        recurrence_kernel: Kernel size of the recurrent connections.
        recurrence_mode: ``"additive"`` or ``"multiplicative"``.
        recurrence_bias: Whether the recurrent convolutions have a bias.
        recurrence_init: Scale of the initial recurrent weights.
        recurrence_bound: Keep the loop gain, the operator norm of the recurrence times the
            activation's largest slope (:func:`~dynvision.layers.activation.lipschitz`; 1 for
            ReLU), at most this value (below 1 the area's dynamics have one stable steady state;
            see ``layers.bound``). An activation of unbounded slope (a pure power law) is refused;
            one whose slope is not known (a user-registered module without ``lipschitz``) counts as 1.
        dt: Integration step in ms.
        tau: Time constant in ms.
        tff: Feedforward delay in ms (delay of the output sent on).
        trc: Recurrent delay in ms (at least ``dt``).
        integrator: ``"etd2"``, ``"exponential"`` or ``"euler"`` (ignored by the ``dynvision``
            form, which fixes its own update).
        form: Dynamics form, a registered unit model: ``"rate"``, ``"voltage"`` or ``"dynvision"``.
        train_tau: Learn ``tau`` (kept positive through a log parametrisation).
        activation: The activation ``phi``.
        norm: Optional normalisation module.
        pool: Optional pooling module applied to the output sent on.
        adapt: Optional :class:`~dynvision.layers.gain.AdaptiveGain` for the ``adapt`` operation
            (per-unit adaptation).
        normalize: Optional :class:`~dynvision.layers.gain.AdaptiveGain` pooling over channels,
            for the ``normalize`` operation (divisive normalisation).
        operations: The operation order (validated).
        history_length: Slots kept in the output history (at least the longest delay + 1);
            the model raises it to cover skip/feedback delays read from this area.
        delay_fill: ``"rest"`` (a read from before the source's first output gives its initial
            output) or ``"silent"`` (it gives nothing and the term is left out; see above).
    """

    fuse = True

    def __init__(self, name: str, conv: nn.Module, config: AreaConfig | None = None, /, *, in_channels: int,
                 out_channels: int, in_size: tuple[int, int], size: tuple[int, int], operations,
                 conv2: nn.Module | None = None, mid_channels: int | None = None,
                 mid_size: tuple[int, int] | None = None, activation: nn.Module | None = None,
                 norm: nn.Module | None = None, pool: nn.Module | None = None,
                 adapt: AdaptiveGain | None = None, normalize: AdaptiveGain | None = None, **dynamics):
        super().__init__()
        if config is None:
            config = AreaConfig.from_kwargs(f"area {name!r}", **dynamics)
        elif dynamics:
            config = config.replace(**dynamics)
        self.name, self.config = name, config
        c = config
        two_stage = conv2 is not None
        self.operations = validate_operations(operations, c.dynamics, two_stage=two_stage)
        form, integrator, tau, dt = c.dynamics, c.integrator, c.tau_ms, c.dt_ms
        self.form, self.dt = form, float(dt)
        self.unit = get_form(form)(float(tau))
        # Leaky units step by two lerps (the integrator's fractions); any other unit model by the
        # integrator's reference step, which calls its right-hand side.
        self._leaky = type(self.unit).derivative is Leaky.derivative
        self.integrator_name = "fixed" if self.unit.fixed else integrator
        self.integrator = None if self.unit.fixed else get_integrator(integrator)
        check_dt(self.dt, float(tau), self.integrator_name if not self.unit.fixed else "dynvision", where=f"area {name}")
        self.in_channels, self.out_channels, self.mid_channels = in_channels, out_channels, mid_channels
        self.in_size, self.size = tuple(in_size), tuple(size)
        self.mid_size = tuple(mid_size) if mid_size is not None else self.size
        self.conv, self.conv2 = conv, conv2
        self.activation = activation if activation is not None else nn.ReLU()
        self.norm, self.pool, self.adapt, self.normalize = norm, pool, adapt, normalize
        shunting = [op for op, g in (("adapt", adapt), ("normalize", normalize)) if g is not None and g.shunting]
        if shunting and (self.integrator is None or not self._leaky):
            raise ValueError(f"area {name!r}: shunting {' and '.join(shunting)} changes the leak of a leaky unit; "
                             f"the {form!r} form has none (use dynamics='rate' or 'voltage')")
        # Delays: one rule (dynamics.timing.delay_steps); recurrence reads the past, so >= 1 step.
        self.tff_steps = delay_steps(c.tff_ms, dt, "tff_ms")
        trc = self.dt if c.trc_ms is None else c.trc_ms
        self.recurrence_target = recurrence_target_of(self.operations)
        rec_channels = {"input": in_channels, "middle": mid_channels, "output": out_channels}[self.recurrence_target]
        self.recurrence = make_recurrence(c.recurrence_type, out_channels, rec_channels,
                                          kernel_size=c.recurrence_kernel, size=self.size, bias=c.recurrence_bias,
                                          init_scale=c.recurrence_init, sign=c.recurrence_sign)
        self.has_recurrence = not self.recurrence.is_none and "recurrence" in self.operations
        self.trc_steps = max(1, delay_steps(trc, dt, "trc_ms", minimum=int(self.has_recurrence)))
        self.rec_size = {"input": self.in_size, "middle": self.mid_size, "output": self.size}[self.recurrence_target]
        self.recurrence_mode = c.recurrence_mode
        self._combine = combine(c.recurrence_mode)
        self.bound = None
        if c.recurrence_bound is not None and c.recurrence_gain is not None:
            raise ValueError(f"give recurrence_bound (a largest gain, {c.recurrence_bound}) or recurrence_gain "
                             f"(a set gain, {c.recurrence_gain}), not both")
        limit = c.recurrence_gain if c.recurrence_gain is not None else c.recurrence_bound
        if limit is not None and self.has_recurrence:
            if c.recurrence_mode != "additive" or self.recurrence_target != "output":
                raise ValueError("recurrence_bound and recurrence_gain apply to additive recurrence at the output; got "
                                 f"recurrence_mode={c.recurrence_mode!r}, target {self.recurrence_target!r}")
            # The bound is on the loop gain ||R|| * (largest slope of phi): a contraction below 1.
            slope = lipschitz(self.activation)
            if slope is not None and not math.isfinite(slope):
                which = "recurrence_gain" if c.recurrence_gain is not None else "recurrence_bound"
                raise ValueError(f"{which}={limit} bounds the loop gain, which needs an activation of bounded slope; "
                                 f"{self.activation!r} has none: give the supralinear activation a "
                                 f"supralinear_limit (e.g. 1.0), or {which}=None")
            self.bound = RecurrenceBound(self.recurrence, limit / (slope or 1.0), fixed=c.recurrence_gain is not None)
        self._rec_scale = 1.0
        # Time constant: fixed (buffer) or learned (log-parametrised parameter).
        tau_t = torch.tensor(float(tau))
        if c.train_tau:
            self.log_tau = nn.Parameter(tau_t.log())
        else:
            self.register_buffer("tau_ms", tau_t, persistent=False)  # the configuration owns it
        self.train_tau = c.train_tau
        self.delay_fill = c.delay_fill
        self.history_length = max(self.tff_steps, self.trc_steps) + 1
        self.has_skip = self.has_feedback = False  # set by the model when it wires connections
        self.skip_mode = self.feedback_mode = "additive"
        self._skip_combine = self._feedback_combine = combine("additive")
        # An area reading the stimulus sees its input jump when the frame changes; the model marks
        # every area it feeds from another area as not stimulus-driven.
        self.stimulus_driven = True
        self._alpha: torch.Tensor | float = 0.0
        self._mix: torch.Tensor | float = 0.0
        self.compile()

    # ----------------------------------------------------------------------------------------
    # shape bookkeeping used by the model to wire connections
    def shape_at(self, op: str) -> tuple[int, tuple[int, int]]:
        """Channels and spatial size of the running tensor when operation ``op`` runs."""
        order = self.operations
        i = order.index(op) if op in order else len(order)
        if i < order.index("conv"):
            return self.in_channels, self.in_size
        if self.conv2 is not None and i < order.index("conv2"):
            return self.mid_channels, self.mid_size
        if "pool" in order and i > order.index("pool"):
            return self.out_channels, self.out_size
        return self.out_channels, self.size

    @property
    def out_size(self) -> tuple[int, int]:
        """Spatial size of the feedforward output (after pooling)."""
        if self.pool is None:
            return self.size
        with torch.no_grad():
            probe = torch.zeros(1, 1, *self.size)
            return tuple(self.pool(probe).shape[-2:])

    @property
    def tau(self) -> torch.Tensor:
        """The time constant in ms."""
        return self.log_tau.exp() if self.train_tau else self.tau_ms

    @property
    def uses_start(self) -> bool:
        """Whether a step needs the target at its start as well as at its end (``etd2``)."""
        return self.integrator is not None and self.integrator.uses_start

    # ----------------------------------------------------------------------------------------
    # compilation: operation names -> the methods' functions, once
    def compile(self) -> None:
        """Turn the operation order into the callables the time loop runs.

        ``_target_ops`` compute the target (everything before ``integrate``), ``_output_ops``
        what follows it, and ``_tap_ops`` the operations between ``integrate`` and ``record``
        (applied to a state to get what a recording stores).
        """
        cls = type(self)  # plain functions, called with the area: no bound copies of it in its state
        table = {
            "conv": cls._op_conv,
            "conv2": cls._op_conv2,
            "recurrence": cls._op_recurrence if self.has_recurrence else None,
            "skip": cls._op_skip if self.has_skip else None,
            "feedback": cls._op_feedback if self.has_feedback else None,
            "adapt": cls._op_adapt if self.adapt is not None else None,
            "normalize": cls._op_normalize if self.normalize is not None else None,
            "norm": cls._op_norm if self.norm is not None else None,
            "nonlinearity": cls._op_nonlinearity,
            "record": cls._op_record,
            "delay": cls._op_delay,
            "pool": cls._op_pool if self.pool is not None else None,
        }
        ops = list(self.operations)
        k = ops.index("integrate")
        before, after = ops[:k], ops[k + 1:]
        if self.unit.fixed and after and after[0] == "nonlinearity":
            after = after[1:]  # the fixed (DynVision) step applies phi itself
        target_ops, i = [], 0
        while i < len(before):
            op = before[i]
            if op == "conv" and i + 1 < len(before) and before[i + 1] == "recurrence" and self._fusable():
                target_ops.append(cls._op_conv_recurrence_fused)
                i += 2
                continue
            if table[op] is not None:
                target_ops.append(table[op])
            i += 1
        self._target_ops = self._fuse_rectification(target_ops)
        self._output_ops = [table[op] for op in after if table[op] is not None]
        tap = after[: after.index("record")] if "record" in after else []
        self._tap_ops = [table[op] for op in tap if table[op] is not None]

    def _fuse_rectification(self, ops: list) -> list:
        """Merge a convolution, the additive recurrence that follows it and a ReLU into one
        operation, which runs (at inference on the CPU) as one oneDNN convolution with the
        addition and the rectification as post-operations: two passes over the area's largest
        tensors fewer per target (see :mod:`dynvision.layers.onednn`; elsewhere the plain operations
        run, with the same result).

        An area that evaluates its target twice per step from the same input (fed by the
        stimulus, second-order integrator) otherwise convolves that input once; it is fused
        only when convolving an image again (at most 4 channels) costs less than the passes saved.
        """
        cls, c = type(self), self.conv
        if not (self.fuse and type(self.activation) is nn.ReLU and type(c) is nn.Conv2d and self.conv2 is None
                and c.padding_mode == "zeros" and isinstance(c.padding, tuple)):
            return ops
        once = not (self.stimulus_driven and self.uses_start) or c.in_channels <= 4
        additive = self.recurrence_mode == "additive" and self.recurrence_target == "output"
        patterns = [
            ((cls._op_conv_recurrence_fused, cls._op_nonlinearity), cls._op_conv_recurrence_fused_relu, True),
            ((cls._op_conv, cls._op_recurrence, cls._op_nonlinearity), cls._op_conv_recurrence_relu, once and additive),
            ((cls._op_conv, cls._op_nonlinearity), cls._op_conv_relu, once),
        ]
        out, i = [], 0
        while i < len(ops):
            for pattern, fused, allowed in patterns:
                if allowed and tuple(ops[i:i + len(pattern)]) == pattern:
                    out.append(fused)
                    i += len(pattern)
                    break
            else:
                out.append(ops[i])
                i += 1
        return out

    def __setstate__(self, state) -> None:
        """Unpickled or deep-copied areas compile their operations again (bound to themselves)."""
        super().__setstate__(state)
        self.compile()

    def _fusable(self) -> bool:
        """Can the feedforward and recurrent convolutions run as one convolution?

        Not for an area fed by the stimulus under a second-order integrator: it evaluates its
        target twice per step with the same input, so the input's convolution is reused instead.
        """
        c, r = self.conv, getattr(self.recurrence, "conv", None)
        return (
            self.fuse and self.has_recurrence and self.recurrence_mode == "additive" and self.conv2 is None
            and not (self.stimulus_driven and self.uses_start)
            and type(c) is nn.Conv2d and type(r) is nn.Conv2d and self.recurrence_target == "output"
            and c.stride == (1, 1) and r.stride == (1, 1) and c.kernel_size == r.kernel_size
            and c.padding == r.padding and c.dilation == r.dilation == (1, 1)
            and c.groups == r.groups == 1 and c.padding_mode == r.padding_mode == "zeros"
            and type(self.recurrence).__name__ == "FullRecurrence"
        )

    def set_connections(self, has_skip: bool, has_feedback: bool, skip_mode: str, feedback_mode: str) -> None:
        """Called by the model once it knows which connections enter this area."""
        self.has_skip, self.has_feedback = has_skip, has_feedback
        self.skip_mode, self.feedback_mode = skip_mode, feedback_mode
        self._skip_combine, self._feedback_combine = combine(skip_mode), combine(feedback_mode)
        self.compile()

    def set_stimulus_driven(self, driven: bool = True) -> None:
        """Mark the area that reads the stimulus (its input jumps when the frame changes)."""
        self.stimulus_driven = bool(driven)
        self.compile()

    # ----------------------------------------------------------------------------------------
    # run-time
    def initial_state(self, batch: int, device=None, dtype=torch.float32,
                      memory_format=torch.contiguous_format) -> AreaState:
        """All-zero state for a batch; its recording holds what that state emits, and so does
        its history (with ``delay_fill="silent"``: nothing, ``None``)."""
        v = torch.empty(batch, self.out_channels, *self.size, device=device, dtype=dtype,
                        memory_format=memory_format).zero_()
        traces = {}
        for op, gain in (("adapt", self.adapt), ("normalize", self.normalize)):
            if gain is not None:
                c, s = self.shape_at(op)
                traces[op] = torch.empty(batch, gain.trace_channels(c), *s, device=device, dtype=dtype,
                                         memory_format=memory_format).zero_()
        emitted = self.tap(v)
        initial = None if self.delay_fill == "silent" else emitted
        return AreaState(v, History(initial, self.history_length), traces, recorded=emitted)

    def tap(self, v: torch.Tensor) -> torch.Tensor:
        """What the ``record`` operation sees for state ``v`` (e.g. ``phi(v)`` for the voltage form)."""
        for op in self._tap_ops:
            v = op(self, v, 0, None, None)
        return v

    def output_at(self, st: AreaState, t: int) -> torch.Tensor:
        """What the area sends on at the end of step ``t`` (its output delayed by ``tff``, pooled;
        ``None`` while it has emitted nothing)."""
        y = st.history.read(t, self.tff_steps)
        return self._op_pool(y, t, st, None) if "pool" in self.operations else y

    def prepare(self) -> None:
        """Per-forward constants: the integration fractions and fused weights."""
        self._rec_scale = self.bound.scale() if self.bound is not None else 1.0
        # A fixed tau is the configuration's number: no read of a device tensor (no GPU sync,
        # and shapes-only runs on the ``meta`` device work).
        tau = self.tau if self.train_tau else float(self.config.tau_ms)
        self.unit.tau_ms = tau
        if self.integrator is None:
            self._mix, self._alpha = 0.0, self.dt / tau
        else:
            self._mix, self._alpha = self.integrator.fractions(self.dt, tau)
        if {type(self)._op_conv_recurrence_fused, type(self)._op_conv_recurrence_fused_relu} & set(self._target_ops):
            w = torch.cat([self.conv.weight, self._rec_scale * self.recurrence.conv.weight], dim=1)
            if self.conv.weight.is_contiguous(memory_format=torch.channels_last):
                w = w.contiguous(memory_format=torch.channels_last)
            bias = self.conv.bias
            if self.recurrence.conv.bias is not None:
                rb = self._rec_scale * self.recurrence.conv.bias
                bias = rb if bias is None else bias + rb
            self._fused = (w, bias)  # a tuple, so nn.Module does not register the tensors

    def target(self, x: torch.Tensor, t: int, st: AreaState, skip=None, feedback=None,
               point: str = "end") -> torch.Tensor:
        """The target ``g`` at the end of step ``t`` (``point="end"``), or at its start
        (``point="start"``: inputs at the start, recurrence read one step earlier)."""
        extra = (skip, feedback, point)
        t_read = t if point == "end" else t - 1
        for op in self._target_ops:
            x = op(self, x, t_read, st, extra)
        return x

    def step(self, x: torch.Tensor, t: int, state: AreaState, skip=None, feedback=None,
             start: tuple | None = None) -> torch.Tensor:
        """Advance one step (``t -> t + dt``) and return the output sent on.

        With ``delay_fill="silent"``, any input may be ``None`` (nothing arrived yet); when no
        term is left the area stays silent for the step (see the module docstring).

        Args:
            x: The input from below at the end of the step.
            t: The step index.
            state: The area's state at the start of the step (updated in place).
            skip, feedback: The summed skip/feedback terms at the end of the step.
            start: ``(x, skip, feedback)`` at the start of the step, for second-order
                integrators when the input changed discontinuously at ``t`` (the stimulus) or no
                start target is known yet; otherwise the previous end target is reused. Left
                out where it is needed, the input is taken as held over the step.
        """
        st = state
        if start is None and self.uses_start and (self.stimulus_driven or st.target is None):
            start = (x, skip, feedback)  # the input held over the step (a frame)
        if self.integrator is None:  # a form with its own step (DynVision)
            g1 = self.target(x, t, st, skip, feedback)
            if g1 is None:
                return self._silent_step(t, st)
            st.v = self.unit.fixed_step(st.v, g1, self.dt, self.activation)
        elif self.uses_start:
            g0 = st.target if start is None else self.target(start[0], t, st, start[1], start[2], "start")
            g1 = self.target(x, t, st, skip, feedback)
            if g1 is None:
                return self._silent_step(t, st)
            if g0 is None:
                if self.delay_fill != "silent":
                    raise RuntimeError(f"area {self.name}: no target at the start of step {t}")
                g0 = g1  # the first input arrived during this step: held over it
            shunt = st.memo.pop("shunt", None)
            if shunt is not None:
                st.v = self._shunted_step(st.v, g0, g1, shunt)
            elif self._leaky:
                weighted = torch.lerp(g1, g0.to(g1.dtype), self._mix)  # (w0 g0 + w1 g1) / (w0 + w1)
                st.v = torch.lerp(st.v, weighted.to(st.v.dtype), self._alpha)
            else:
                st.v = self.integrator.step(self.unit, st.v, g0.to(st.v.dtype), g1.to(st.v.dtype), self.dt)
            st.target = g1
        else:
            g1 = self.target(x, t, st, skip, feedback)
            if g1 is None:
                return self._silent_step(t, st)
            shunt = st.memo.pop("shunt", None)
            if shunt is not None:
                st.v = self._shunted_step(st.v, None, g1, shunt)
            elif self._leaky:
                st.v = torch.lerp(st.v, g1.to(st.v.dtype), self._alpha)
            else:
                st.v = self.integrator.step(self.unit, st.v, None, g1.to(st.v.dtype), self.dt)
        x = st.v
        for op in self._output_ops:
            x = op(self, x, t, st, None)
        return x

    def _shunted_step(self, v, g0, g1, shunt):
        """One step of ``tau dv/dt = -(1 + c(t)) v + g(t)`` (shunting gains: ``c`` is their summed
        conductance at the step's start and end).

        The conductance is held at its mean over the step: the ODE is then leaky with time
        constant ``tau / (1 + c)`` and target ``g / (1 + c)``, which the area's integrator steps
        as usual (elementwise fractions). Holding the mid-step value leaves an error of order
        ``dt^3`` per step, so ``etd2`` stays second order.
        """
        c0, c1 = shunt
        leak = 1.0 + (0.5 * (c0 + c1) if g0 is not None else c1)
        mix, alpha = self.integrator.fractions(self.dt, self.unit.tau_ms / leak)
        target = g1 if g0 is None else torch.lerp(g1, g0.to(g1.dtype), mix.to(g1.dtype))
        return torch.lerp(v, (target / leak).to(v.dtype), alpha.to(v.dtype))

    def _silent_step(self, t: int, st: AreaState) -> torch.Tensor | None:
        """A step without any input (``delay_fill="silent"``): the state and its recording
        stay, nothing is emitted, and what was emitted ``tff`` ago (if anything) is sent on."""
        st.history.write(t, None)
        return self.output_at(st, t)

    # the operations (with delay_fill="silent" a term may be None: nothing arrived yet) -------
    def _op_conv(self, x, t, st, extra):
        if x is None:
            return None
        memo = st.memo
        if memo.get("conv_in") is x:
            return memo["conv_out"]
        y = self.conv(x)
        if self.stimulus_driven:
            memo["conv_in"], memo["conv_out"] = x, y
        return y

    def _op_conv2(self, x, t, st, extra):
        return None if x is None else self.conv2(x)

    def _recurrent_term(self, t, st):
        memo, key = st.memo, t - self.trc_steps
        if memo.get("rec_key") == key:
            return memo["rec"]
        h = st.history.read(t, self.trc_steps)
        if h is None:
            return None
        r = self.recurrence(h)
        if self.bound is not None:
            r = self._rec_scale * r
        if self.recurrence_target == "input" and r.shape[-2:] != self.in_size:
            r = resample(r, self.in_size)
        if self.stimulus_driven:
            memo["rec_key"], memo["rec"] = key, r
        return r

    def _op_recurrence(self, x, t, st, extra):
        return self._with_recurrence(x, self._recurrent_term(t, st))

    def _with_recurrence(self, x, r):
        """The drive ``x`` combined with the recurrent term ``r`` (either may be ``None``: nothing arrived)."""
        return x if r is None else r if x is None else self._combine(x, r)

    def _op_conv_recurrence_fused(self, x, t, st, extra):
        h = st.history.read(t, self.trc_steps)
        if h is None or x is None:
            return self._op_recurrence(self._op_conv(x, t, st, extra), t, st, extra)
        weight, bias = self._fused
        return F.conv2d(torch.cat([x, h.to(x.dtype)], dim=1), weight, bias, padding=self.conv.padding)

    def _op_conv_recurrence_fused_relu(self, x, t, st, extra):
        h = st.history.read(t, self.trc_steps)
        weight, bias = self._fused if h is not None else (None, None)
        if h is None or x is None or not onednn.ready(x, weight, bias):
            return self._op_nonlinearity(self._op_conv_recurrence_fused(x, t, st, extra), t, st, extra)
        return onednn.conv_relu(torch.cat([x, h.to(x.dtype)], dim=1), weight, bias, self.conv)

    def _op_conv_recurrence_relu(self, x, t, st, extra):
        r = self._recurrent_term(t, st)
        c = self.conv
        if x is not None and r is not None and onednn.ready(x, c.weight, c.bias, r):
            return onednn.conv_relu(x, c.weight, c.bias, c, other=r)
        y = self._with_recurrence(self._op_conv(x, t, st, extra), r)
        return self._op_nonlinearity(y, t, st, extra)

    def _op_conv_relu(self, x, t, st, extra):
        c = self.conv
        if x is not None and onednn.ready(x, c.weight, c.bias):
            return onednn.conv_relu(x, c.weight, c.bias, c)
        return self._op_nonlinearity(self._op_conv(x, t, st, extra), t, st, extra)

    def _op_skip(self, x, t, st, extra):
        s = extra[0]
        return x if s is None else s if x is None else self._skip_combine(x, s)

    def _op_feedback(self, x, t, st, extra):
        f = extra[1]
        return x if f is None else f if x is None else self._feedback_combine(x, f)

    def _gain_op(self, name, gain, x, st, point):
        """A gain operation at the start (trace at t) or end of a step (trace stepped to t + dt)."""
        if x is None:  # nothing arrived yet (delay_fill="silent")
            return None
        before = st.traces[name]  # the trace at t
        if gain.instantaneous:  # the trace is the present drive
            st.traces[name] = gain.drive(x).to(before.dtype)
        elif point == "start":
            st.inputs[name] = x
        else:
            st.traces[name] = gain.advance(before, st.inputs.get(name), x, self.integrator)
            st.inputs[name] = x
        if gain.shunting and point == "end":
            # The leak this gain adds at the start (t) and end (t + dt) of the step, for the
            # integrator; several shunting gains add their conductances.
            c0, c1 = gain.conductance(before) - 1.0, gain.conductance(st.traces[name]) - 1.0
            prev = st.memo.get("shunt")
            st.memo["shunt"] = (c0, c1) if prev is None else (prev[0] + c0, prev[1] + c1)
        return gain.apply(x, st.traces[name])

    def _op_adapt(self, x, t, st, extra):
        return self._gain_op("adapt", self.adapt, x, st, extra[2])

    def _op_normalize(self, x, t, st, extra):
        return self._gain_op("normalize", self.normalize, x, st, extra[2])

    def _op_norm(self, x, t, st, extra):
        return None if x is None else self.norm(x)

    def _op_nonlinearity(self, x, t, st, extra):
        return None if x is None else self.activation(x)

    def _op_record(self, x, t, st, extra):
        st.recorded = x
        return x

    def _op_delay(self, x, t, st, extra):
        st.history.write(t, x)
        return st.history.read(t, self.tff_steps) if self.tff_steps else x

    def _op_pool(self, x, t, st, extra):
        return x if x is None or self.pool is None else self.pool(x)

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, channels={self.out_channels}, size={self.size}, "
                f"tau={float(self.tau.detach()):g} ms, tff={self.tff_steps} steps, trc={self.trc_steps} steps, "
                f"form={self.form!r}, integrator={self.integrator_name!r}, "
                f"operations={list(self.operations)}")


__all__ = ["AreaState", "DynamicArea"]

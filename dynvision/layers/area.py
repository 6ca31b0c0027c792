"""A visual area with continuous-time dynamics: the building block of every model.

:class:`DynamicArea` owns the feedforward convolution(s), the recurrence, the leaky dynamics,
the activation, optional norm/adaptation/pooling, and the delays of its output. Its operation
order (see :mod:`dynvision.layers.operations`) is validated when the area is built and
compiled into a list of bound methods; :meth:`DynamicArea.step` just calls them in turn.

The area holds no run-time state itself: everything that changes during a simulation lives
in an :class:`AreaState` passed in by the model, so states can be saved, detached (truncated
BPTT), expanded to a batch (steady states) or handed to the next chunk of a stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from dynvision.dynamics import Leaky, check_dt, delay_steps, get_integrator
from dynvision.layers.bound import RecurrenceBound
from dynvision.layers.connections import resample
from dynvision.layers.delay import History
from dynvision.layers.gain import AdaptiveGain
from dynvision.layers.operations import recurrence_target_of, validate_operations
from dynvision.layers.recurrence import combine, make_recurrence


@dataclass
class AreaState:
    """Everything about one area that changes during a run.

    Attributes:
        v: The integrator state (batch, C, H, W).
        history: The emitted outputs of past steps (for delays).
        trace: The adaptation trace (only with the ``adapt`` operation).
        recorded: The tensor at the ``record`` tap in the latest step.
    """

    v: torch.Tensor
    history: History
    trace: torch.Tensor | None = None
    recorded: torch.Tensor | None = None

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> "AreaState":
        """Apply ``fn`` to every tensor (detach, to(device), expand...)."""
        return AreaState(
            fn(self.v),
            self.history.map(fn),
            None if self.trace is None else fn(self.trace),
            None if self.recorded is None else fn(self.recorded),
        )


class DynamicArea(nn.Module):
    """One area: ``drive -> leaky dynamics -> output``, with delays in ms.

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
        recurrence_bound: Keep the operator norm of the recurrence at most this value (below 1
            the area's dynamics have one stable steady state; see ``layers.bound``).
        dt: Integration step in ms.
        tau: Time constant in ms.
        tff: Feedforward delay in ms (delay of the output sent on).
        trc: Recurrent delay in ms (at least ``dt``).
        integrator: ``"exponential"`` or ``"euler"``.
        form: Dynamics form: ``"rate"``, ``"voltage"`` or ``"dynvision"``.
        train_tau: Learn ``tau`` (kept positive through a log parametrisation).
        activation: The activation ``phi``.
        norm: Optional normalisation module.
        pool: Optional pooling module applied to the output sent on.
        adapt: Optional :class:`~dynvision.layers.gain.AdaptiveGain` for the ``adapt`` operation.
        operations: The operation order (validated).
        history_length: Slots kept in the output history (at least the longest delay + 1);
            the model raises it to cover skip/feedback delays read from this area.
    """

    fuse = True

    def __init__(self, name: str, conv: nn.Module, *, in_channels: int, out_channels: int,
                 in_size: tuple[int, int], size: tuple[int, int], operations,
                 conv2: nn.Module | None = None, mid_channels: int | None = None,
                 mid_size: tuple[int, int] | None = None, recurrence: str = "full",
                 recurrence_kernel: int = 3, recurrence_mode: str = "additive",
                 recurrence_bias: bool = False, recurrence_init: float = 0.5,
                 recurrence_bound: float | None = None,
                 dt: float = 2.0, tau: float = 5.0, tff: float = 0.0, trc: float | None = None,
                 integrator: str = "exponential", form: str = "rate", train_tau: bool = False,
                 activation: nn.Module | None = None, norm: nn.Module | None = None,
                 pool: nn.Module | None = None, adapt: AdaptiveGain | None = None):
        super().__init__()
        self.name = name
        two_stage = conv2 is not None
        self.operations = validate_operations(operations, form, two_stage=two_stage)
        self.form, self.dt, self.integrator_name = form, float(dt), integrator
        self.integrator = get_integrator(integrator)
        check_dt(self.dt, float(tau), integrator, where=f"area {name}")
        self.in_channels, self.out_channels, self.mid_channels = in_channels, out_channels, mid_channels
        self.in_size, self.size = tuple(in_size), tuple(size)
        self.mid_size = tuple(mid_size) if mid_size is not None else self.size
        self.conv, self.conv2 = conv, conv2
        self.activation = activation if activation is not None else nn.ReLU()
        self.norm, self.pool, self.adapt = norm, pool, adapt
        # Delays: one rule (dynamics.timing.delay_steps); recurrence reads the past, so >= 1 step.
        self.tff_steps = delay_steps(tff, dt, "tff")
        trc = self.dt if trc is None else trc
        self.recurrence_target = recurrence_target_of(self.operations)
        rec_channels = {"input": in_channels, "middle": mid_channels, "output": out_channels}[self.recurrence_target]
        self.recurrence = make_recurrence(recurrence, out_channels, rec_channels, kernel_size=recurrence_kernel,
                                          size=self.size, bias=recurrence_bias, init_scale=recurrence_init)
        self.has_recurrence = not self.recurrence.is_none and "recurrence" in self.operations
        self.trc_steps = max(1, delay_steps(trc, dt, "trc", minimum=int(self.has_recurrence)))
        self.rec_size = {"input": self.in_size, "middle": self.mid_size, "output": self.size}[self.recurrence_target]
        self.recurrence_mode = recurrence_mode
        self._combine = combine(recurrence_mode)
        self.bound = None
        if recurrence_bound is not None and self.has_recurrence:
            if recurrence_mode != "additive" or self.recurrence_target != "output":
                raise ValueError("recurrence_bound applies to additive recurrence at the output; got "
                                 f"recurrence_mode={recurrence_mode!r}, target {self.recurrence_target!r}")
            self.bound = RecurrenceBound(self.recurrence, recurrence_bound)
        self._rec_scale = 1.0
        # Time constant: fixed (buffer) or learned (log-parametrised parameter).
        tau_t = torch.tensor(float(tau))
        if train_tau:
            self.log_tau = nn.Parameter(tau_t.log())
        else:
            self.register_buffer("tau_ms", tau_t, persistent=False)  # the constructor (config) owns it
        self.train_tau = train_tau
        self.history_length = max(self.tff_steps, self.trc_steps) + 1
        self.has_skip = self.has_feedback = False  # set by the model when it wires connections
        self.skip_mode = self.feedback_mode = "additive"
        self._skip_combine = self._feedback_combine = combine("additive")
        self._alpha: torch.Tensor | float = 0.0
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

    # ----------------------------------------------------------------------------------------
    # compilation: operation names -> bound methods, once
    def compile(self) -> None:
        """Turn the operation order into the list of callables the time loop runs."""
        table = {
            "conv": self._op_conv,
            "conv2": self._op_conv2,
            "recurrence": self._op_recurrence if self.has_recurrence else None,
            "skip": self._op_skip if self.has_skip else None,
            "feedback": self._op_feedback if self.has_feedback else None,
            "adapt": self._op_adapt if self.adapt is not None else None,
            "norm": self._op_norm if self.norm is not None else None,
            "nonlinearity": self._op_nonlinearity,
            "integrate": self._op_integrate,
            "record": self._op_record,
            "delay": self._op_delay,
            "pool": self._op_pool if self.pool is not None else None,
        }
        ops = list(self.operations)
        steps = []
        i = 0
        while i < len(ops):
            op = ops[i]
            if op == "integrate" and self.form == "dynvision":
                steps.append(self._op_integrate_rectified)  # fused with the nonlinearity after it
                i += 2
                continue
            if op == "conv" and i + 1 < len(ops) and ops[i + 1] == "recurrence" and self._fusable():
                steps.append(self._op_conv_recurrence_fused)
                i += 2
                continue
            if table[op] is not None:
                steps.append(table[op])
            i += 1
        self._steps = steps

    def _fusable(self) -> bool:
        """Can the feedforward and recurrent convolutions run as one convolution?"""
        c, r = self.conv, getattr(self.recurrence, "conv", None)
        return (
            self.fuse and self.has_recurrence and self.recurrence_mode == "additive" and self.conv2 is None
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

    # ----------------------------------------------------------------------------------------
    # run-time
    def initial_state(self, batch: int, device=None, dtype=torch.float32,
                      memory_format=torch.contiguous_format) -> AreaState:
        """All-zero state and history for a batch."""
        v = torch.empty(batch, self.out_channels, *self.size, device=device, dtype=dtype,
                        memory_format=memory_format).zero_()
        trace = None
        if self.adapt is not None:
            c, s = self.shape_at("adapt")
            trace = torch.empty(batch, c, *s, device=device, dtype=dtype, memory_format=memory_format).zero_()
        return AreaState(v, History(v, self.history_length), trace)

    def prepare(self) -> None:
        """Per-forward constants: the integration coefficient and fused weights."""
        self._rec_scale = self.bound.scale() if self.bound is not None else 1.0
        alpha = self.integrator.coefficient(self.dt, self.tau)
        self._alpha = alpha if self.train_tau else float(alpha)
        if self._op_conv_recurrence_fused in self._steps:
            w = torch.cat([self.conv.weight, self._rec_scale * self.recurrence.conv.weight], dim=1)
            if self.conv.weight.is_contiguous(memory_format=torch.channels_last):
                w = w.contiguous(memory_format=torch.channels_last)
            bias = self.conv.bias
            if self.recurrence.conv.bias is not None:
                rb = self._rec_scale * self.recurrence.conv.bias
                bias = rb if bias is None else bias + rb
            self._fused = (w, bias)  # a tuple, so nn.Module does not register the tensors

    def step(self, x: torch.Tensor, t: int, state: AreaState, skip=None, feedback=None) -> torch.Tensor:
        """Advance one step: ``x`` is the input from below; returns the output sent on."""
        extra = (skip, feedback)
        for op in self._steps:
            x = op(x, t, state, extra)
        return x

    # the operations -------------------------------------------------------------------------
    def _op_conv(self, x, t, st, extra):
        return self.conv(x)

    def _op_conv2(self, x, t, st, extra):
        return self.conv2(x)

    def _recurrent_term(self, t, st):
        r = self.recurrence(st.history.read(t, self.trc_steps))
        if self.bound is not None:
            r = self._rec_scale * r
        if self.recurrence_target == "input" and r.shape[-2:] != self.in_size:
            r = resample(r, self.in_size)
        return r

    def _op_recurrence(self, x, t, st, extra):
        return self._combine(x, self._recurrent_term(t, st))

    def _op_conv_recurrence_fused(self, x, t, st, extra):
        h = st.history.read(t, self.trc_steps)
        weight, bias = self._fused
        return F.conv2d(torch.cat([x, h.to(x.dtype)], dim=1), weight, bias, padding=self.conv.padding)

    def _op_skip(self, x, t, st, extra):
        return x if extra[0] is None else self._skip_combine(x, extra[0])

    def _op_feedback(self, x, t, st, extra):
        return x if extra[1] is None else self._feedback_combine(x, extra[1])

    def _op_adapt(self, x, t, st, extra):
        y, st.trace = self.adapt.step(x, st.trace)
        return y

    def _op_norm(self, x, t, st, extra):
        return self.norm(x)

    def _op_nonlinearity(self, x, t, st, extra):
        return self.activation(x)

    def _op_integrate(self, x, t, st, extra):
        # one fused pass: v + alpha (x - v); the state keeps its dtype (float32 under autocast)
        st.v = torch.lerp(st.v, x.to(st.v.dtype), self._alpha)
        return st.v

    def _op_integrate_rectified(self, x, t, st, extra):
        st.v = self.activation(torch.lerp(st.v, x.to(st.v.dtype), self._alpha))
        return st.v

    def _op_record(self, x, t, st, extra):
        st.recorded = x
        return x

    def _op_delay(self, x, t, st, extra):
        st.history.write(t, x)
        return st.history.read(t, self.tff_steps) if self.tff_steps else x

    def _op_pool(self, x, t, st, extra):
        return self.pool(x)

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, channels={self.out_channels}, size={self.size}, "
                f"tau={float(self.tau.detach()):g} ms, tff={self.tff_steps} steps, trc={self.trc_steps} steps, "
                f"form={self.form!r}, integrator={self.integrator_name!r}, "
                f"operations={list(self.operations)}")


__all__ = ["AreaState", "DynamicArea"]

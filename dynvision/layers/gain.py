"""Adaptive gain: a gain that follows the recent history of its input.

A leaky trace ``a`` of the input, with its own time constant ``tau_a``, adapts the signal:

- ``divisive`` (default; contrast-gain control): ``tau_a da/dt = -a + |x|``,
  ``y = x / (1 + strength * a)``. Under a sustained stimulus the gain falls; during a blank
  (``x = 0``, the grey background after normalisation) ``a`` decays and the gain recovers, so a
  stimulus shown after a blank gets a fresh response.
- ``subtractive`` (a high-pass, transient channel): ``tau_a da/dt = -a + x``,
  ``y = x - strength * a``. A sustained input is cancelled as ``a`` catches up, and when the
  input stops ``y = -strength * a`` swings the other way: units driven by the opposite sign
  (OFF units) give an offset response.

With ``tau_ms = 0`` the trace is the present drive itself: ``pool="channels"`` is then static
divisive normalisation, ``y = x / (1 + strength * mean_c |x|)``, which saturates even the first
response to a stimulus.

With ``pool="channels"`` the trace follows the channel mean of the drive at each position: the
gain then divides every unit by the recent activity of its population there - divisive
normalisation (Carandini & Heeger) - ``y = x / (1 + strength * a)``, ``tau_a da/dt = -a +
mean_c |x|``, which makes responses saturate with contrast (a Naka-Rushton curve of exponent 1,
semi-saturation where ``strength * a`` reaches 1) and, with a pool a few ms slower than the
response, peak earlier at high contrast.

- ``shunting`` (conductance-based normalisation; Carandini, Heeger & Movshon 1997): the trace
  follows ``|x|`` as in ``divisive`` but leaves the signal alone and raises the *leak* of the
  unit it feeds instead: ``tau dr/dt = -(1 + strength * a) r + g``. The steady state is the
  divisive one, ``g / (1 + strength * a)`` (a Naka-Rushton curve), and the unit's effective time
  constant ``tau / (1 + strength * a)`` shrinks as the pool grows, so a stronger stimulus is
  answered sooner: responses to high contrast rise earlier, even with an instantaneous pool.
  The area's integrator steps that linear ODE with the conductance at the middle of the step
  (second order with ``etd2``), see :meth:`conductance`.

The trace is a leaky unit of its own, stepped by the area's integrator (:meth:`AdaptiveGain.advance`,
second order with ``etd2``), and the signal at time ``t`` is adapted by the trace at ``t``
(:meth:`AdaptiveGain.apply`). The same module serves as the model's input gain (whose input, a
frame, is constant over a step, so its trace is exact) and as the per-area ``adapt`` operation.
"""

from __future__ import annotations

import torch
from torch import nn

from dynvision.dynamics.integrators import Exponential, Integrator
from dynvision.registry import check_choice

_EXPONENTIAL = Exponential()

MODES = ("divisive", "subtractive", "shunting")
POOLS = ("unit", "channels")


class AdaptiveGain(nn.Module):
    """Divisive or subtractive adaptation driven by a leaky trace of the input.

    Args:
        strength: How strongly the trace acts (0 turns adaptation off).
        tau_ms: Time constant of the trace, in ms.
        dt_ms: Integration step, in ms.
        mode: ``"divisive"``, ``"subtractive"`` or ``"shunting"`` (a conductance: see the module
            docstring; only as an area's operation, which hands it to the integrator).
        pool: ``"unit"`` (each unit's own trace: adaptation) or ``"channels"`` (one trace per
            position, following the channel mean: divisive normalisation).
    """

    def __init__(self, strength: float = 1.0, tau_ms: float = 100.0, dt_ms: float = 2.0, mode: str = "divisive",
                 pool: str = "unit"):
        super().__init__()
        if strength < 0:
            raise ValueError(f"adaptation strength must be >= 0, got {strength}")
        if tau_ms < 0:
            raise ValueError(f"adaptation tau must be >= 0 ms (0: instantaneous), got {tau_ms}")
        self.mode = check_choice("adaptation mode", mode, MODES)
        self.pool = check_choice("adaptation pool", pool, POOLS)
        self.strength, self.tau_ms, self.dt_ms = float(strength), float(tau_ms), float(dt_ms)

    @property
    def instantaneous(self) -> bool:
        """``tau_ms == 0``: the trace is the present drive (e.g. static divisive normalisation)."""
        return self.tau_ms == 0

    def trace_channels(self, channels: int) -> int:
        """Channels of the trace for a signal of ``channels`` channels."""
        return 1 if self.pool == "channels" else channels

    def apply(self, x: torch.Tensor, trace: torch.Tensor) -> torch.Tensor:
        """The adapted signal for input ``x`` and trace ``trace`` at the same time."""
        if self.mode == "divisive":
            return x / (1.0 + self.strength * trace)
        if self.mode == "shunting":  # acts on the leak (conductance), not on the signal
            return x
        return x - self.strength * trace

    @property
    def shunting(self) -> bool:
        """Whether the trace sets a conductance of the unit (``mode="shunting"``)."""
        return self.mode == "shunting"

    def conductance(self, trace: torch.Tensor) -> torch.Tensor:
        """The relative leak ``1 + strength * trace`` of a shunting gain."""
        return 1.0 + self.strength * trace

    def drive(self, x: torch.Tensor) -> torch.Tensor:
        """What the trace follows: ``x`` (subtractive) or ``|x|`` (divisive, shunting), per unit or pooled."""
        d = x if self.mode == "subtractive" else x.abs()
        return d.mean(dim=1, keepdim=True) if self.pool == "channels" else d

    def advance(self, trace: torch.Tensor, x0: torch.Tensor | None, x1: torch.Tensor,
                integrator: Integrator | None = None) -> torch.Tensor:
        """The trace one step later, driven by the input at the step's start (``x0``) and end (``x1``).

        ``integrator`` is the area's (default: exponential, exact for an input constant over the
        step); second-order integrators use both ends of the step.
        """
        if self.instantaneous:
            return self.drive(x1).to(trace.dtype)
        integrator = integrator or _EXPONENTIAL
        mix, alpha = integrator.fractions(self.dt_ms, self.tau_ms)
        d1 = self.drive(x1).to(trace.dtype)
        if integrator.uses_start and x0 is not None and x0 is not x1:
            d1 = torch.lerp(d1, self.drive(x0).to(trace.dtype), mix)
        return torch.lerp(trace, d1, alpha)

    def step(self, x: torch.Tensor, trace: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance the trace under an input ``x`` held over one step; return ``(apply(x, new), new)``."""
        new = self.advance(trace, x, x)
        return self.apply(x, new), new

    def extra_repr(self) -> str:
        return (f"mode={self.mode!r}, pool={self.pool!r}, strength={self.strength}, tau_ms={self.tau_ms}, "
                f"dt_ms={self.dt_ms}")

"""Adaptive gain: a divisive gain that follows the recent history of its input.

A leaky trace ``a`` of the input magnitude, with its own time constant, divides the signal:

    tau_a da/dt = -a + |x|,        y = x / (1 + strength * a)

Under a sustained stimulus ``a`` grows and the gain falls (adaptation); during a blank
(``x = 0``, the grey background after normalisation) ``a`` decays and the gain recovers, so a
stimulus shown after a blank gets a fresh response. The gain at step ``t`` uses the trace up
to step ``t - 1`` (strictly causal). The same module serves as the model's input gain and as
the optional per-area ``adapt`` operation.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class AdaptiveGain(nn.Module):
    """Divisive gain driven by a leaky trace of the input magnitude.

    Args:
        strength: How strongly the trace divides the input (0 turns adaptation off).
        tau_ms: Time constant of the trace, in ms.
        dt_ms: Integration step, in ms.
    """

    def __init__(self, strength: float = 1.0, tau_ms: float = 100.0, dt_ms: float = 2.0):
        super().__init__()
        if strength < 0:
            raise ValueError(f"adaptation strength must be >= 0, got {strength}")
        if tau_ms <= 0:
            raise ValueError(f"adaptation tau must be > 0 ms, got {tau_ms}")
        self.strength, self.tau_ms, self.dt_ms = float(strength), float(tau_ms), float(dt_ms)
        self.decay = -math.expm1(-dt_ms / tau_ms)  # exponential integrator coefficient

    def initial_trace(self, like: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(like)

    def step(self, x: torch.Tensor, trace: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the adapted signal and the updated trace."""
        y = x / (1.0 + self.strength * trace)
        return y, torch.lerp(trace, x.abs().to(trace.dtype), self.decay)

    def extra_repr(self) -> str:
        return f"strength={self.strength}, tau_ms={self.tau_ms}, dt_ms={self.dt_ms}"

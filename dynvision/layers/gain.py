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

The output at step ``t`` uses the trace up to step ``t - 1`` (strictly causal). The same module
serves as the model's input gain and as the optional per-area ``adapt`` operation.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from dynvision.registry import check_choice

MODES = ("divisive", "subtractive")


class AdaptiveGain(nn.Module):
    """Divisive or subtractive adaptation driven by a leaky trace of the input.

    Args:
        strength: How strongly the trace acts (0 turns adaptation off).
        tau_ms: Time constant of the trace, in ms.
        dt_ms: Integration step, in ms.
        mode: ``"divisive"`` or ``"subtractive"``.
    """

    def __init__(self, strength: float = 1.0, tau_ms: float = 100.0, dt_ms: float = 2.0, mode: str = "divisive"):
        super().__init__()
        if strength < 0:
            raise ValueError(f"adaptation strength must be >= 0, got {strength}")
        if tau_ms <= 0:
            raise ValueError(f"adaptation tau must be > 0 ms, got {tau_ms}")
        self.mode = check_choice("adaptation mode", mode, MODES)
        self.strength, self.tau_ms, self.dt_ms = float(strength), float(tau_ms), float(dt_ms)
        self.decay = -math.expm1(-dt_ms / tau_ms)  # exponential integrator coefficient

    def step(self, x: torch.Tensor, trace: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the adapted signal and the updated trace."""
        if self.mode == "divisive":
            return x / (1.0 + self.strength * trace), torch.lerp(trace, x.abs().to(trace.dtype), self.decay)
        return x - self.strength * trace, torch.lerp(trace, x.to(trace.dtype), self.decay)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, strength={self.strength}, tau_ms={self.tau_ms}, dt_ms={self.dt_ms}"

"""The ODE contract: a dynamics object only computes the derivative.

A leaky unit with time constant ``tau`` (ms) driven by ``u`` obeys

    tau dx/dt = -x + u

Everything else (stepping, the choice of integrator, where the activation function sits, delays)
lives elsewhere, so this class stays a few lines long.

Example:
    >>> import torch
    >>> Leaky(tau_ms=5.0).derivative(torch.zeros(1), torch.ones(1))
    tensor([0.2000])
"""

from __future__ import annotations

import torch


class Leaky:
    """Leaky integration ``tau dx/dt = -x + u``.

    Args:
        tau_ms: Time constant in ms; a float or a tensor broadcastable to the state.
    """

    def __init__(self, tau_ms: float | torch.Tensor):
        self.tau_ms = tau_ms

    def derivative(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Return dx/dt (per ms) for state ``x`` under drive ``u``."""
        return (u - x) / self.tau_ms

    def __repr__(self) -> str:
        return f"Leaky(tau_ms={self.tau_ms})"

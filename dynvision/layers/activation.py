"""Activation functions (the ``phi`` of the rate equation), by name.

``supralinear`` is the power-law rectification of the stabilised supralinear network
(Rubin et al., 2015): ``phi(x) = k * relu(x) ** n`` with ``n > 1``.

Example:
    >>> import torch
    >>> make_activation("supralinear", exponent=2.0)(torch.tensor([-1.0, 2.0]))
    tensor([0., 4.])
"""

from __future__ import annotations

import torch
from torch import nn

from dynvision.registry import Registry, check_kwargs

ACTIVATIONS = Registry("activation")


class SupraLinear(nn.Module):
    """``k * relu(x) ** n``: a rectified power law, supralinear for ``n > 1``."""

    def __init__(self, exponent: float = 2.0, gain: float = 1.0):
        super().__init__()
        if exponent <= 0:
            raise ValueError(f"supralinear exponent must be > 0, got exponent={exponent}")
        if gain <= 0:
            raise ValueError(f"supralinear gain must be > 0, got gain={gain}")
        self.exponent = float(exponent)
        self.gain = float(gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gain * torch.relu(x).pow(self.exponent)

    def extra_repr(self) -> str:
        return f"exponent={self.exponent}, gain={self.gain}"


ACTIVATIONS.register("relu", nn.ReLU)
ACTIVATIONS.register("identity", nn.Identity)
ACTIVATIONS.register("tanh", nn.Tanh)
ACTIVATIONS.register("sigmoid", nn.Sigmoid)
ACTIVATIONS.register("softplus", nn.Softplus)
ACTIVATIONS.register("supralinear", SupraLinear)


def make_activation(name: str, **kwargs) -> nn.Module:
    """Build the activation registered as ``name`` (``list(ACTIVATIONS)`` lists them)."""
    cls = ACTIVATIONS.get(name)
    check_kwargs(f"activation {name!r}", kwargs, cls.__init__)
    return cls(**kwargs)

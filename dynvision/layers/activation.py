"""Activation functions (the ``phi`` of the rate equation), by name.

``supralinear`` is the power-law rectification of the stabilised supralinear network
(Rubin et al., 2015): ``phi(x) = k * relu(x) ** n`` with ``n > 1``. A pure power law has no
largest slope, so no bound on the recurrent weights keeps an area's loop a contraction at high
drive; with ``linear_above=x0`` it continues linearly above ``x0`` with its slope there, and its
slope (Lipschitz constant, :func:`lipschitz`) is at most ``k * n * x0 ** (n - 1)``.

Example:
    >>> import torch
    >>> make_activation("supralinear", exponent=2.0)(torch.tensor([-1.0, 2.0]))
    tensor([0., 4.])
"""

from __future__ import annotations

import math

import torch
from torch import nn

from dynvision.registry import Registry, check_kwargs

ACTIVATIONS = Registry("activation")


class SupraLinear(nn.Module):
    """``k * relu(x) ** n``: a rectified power law, supralinear for ``n > 1``.

    Args:
        exponent: ``n`` (> 0).
        gain: ``k`` (> 0).
        linear_above: ``x0``: above this drive the function continues linearly with its slope at
            ``x0`` (continuous, with a continuous slope), so its slope is bounded; ``None``: a pure
            power law.
    """

    def __init__(self, exponent: float = 2.0, gain: float = 1.0, linear_above: float | None = None):
        super().__init__()
        if not exponent > 0:
            raise ValueError(f"supralinear exponent must be > 0, got exponent={exponent}")
        if not gain > 0:
            raise ValueError(f"supralinear gain must be > 0, got gain={gain}")
        if linear_above is not None and not (0 < linear_above < math.inf):
            raise ValueError(f"supralinear linear_above must be a positive number or None, "
                             f"got linear_above={linear_above}")
        self.exponent = float(exponent)
        self.gain = float(gain)
        self.linear_above = None if linear_above is None else float(linear_above)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = torch.relu(x)
        if self.linear_above is None:
            return self.gain * r.pow(self.exponent)
        x0, n = self.linear_above, self.exponent
        # torch.where, not a sum of clamps: at x0 both clamps would pass the gradient (twice the slope)
        return self.gain * torch.where(r > x0, x0 ** n + n * x0 ** (n - 1) * (r - x0), r.clamp(max=x0).pow(n))

    @property
    def lipschitz(self) -> float:
        """The largest slope: ``k`` for ``n = 1``, ``k n x0^(n-1)`` with ``linear_above`` (``n >= 1``), else inf."""
        n = self.exponent
        if n == 1:
            return self.gain
        if n < 1 or self.linear_above is None:  # n < 1: infinite slope at 0; pure power law: unbounded
            return math.inf
        return self.gain * n * self.linear_above ** (n - 1)

    def extra_repr(self) -> str:
        extra = "" if self.linear_above is None else f", linear_above={self.linear_above}"
        return f"exponent={self.exponent}, gain={self.gain}{extra}"


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


_SLOPES = {nn.ReLU: 1.0, nn.Identity: 1.0, nn.Tanh: 1.0, nn.Sigmoid: 0.25}


def lipschitz(activation: nn.Module) -> float | None:
    """The largest slope of ``activation`` (``math.inf`` if unbounded; ``None`` if not known).

    Example:
        >>> lipschitz(make_activation("supralinear", exponent=1.2, linear_above=1.0))
        1.2
    """
    if isinstance(activation, nn.Softplus):
        return 1.0
    if type(activation) in _SLOPES:
        return _SLOPES[type(activation)]
    value = getattr(activation, "lipschitz", None)
    return None if value is None else float(value)

"""Normalisation layers for the ``norm`` operation, by name."""

from __future__ import annotations

from torch import nn

from dynvision.registry import Registry

NORMS = Registry("norm")
NORMS.register("batch", lambda c: nn.BatchNorm2d(c))
NORMS.register("group", lambda c: nn.GroupNorm(min(32, c) if c % min(32, c) == 0 else 1, c))
NORMS.register("layer", lambda c: nn.GroupNorm(1, c))
NORMS.register("instance", lambda c: nn.InstanceNorm2d(c, affine=True))


def make_norm(name: str | None, channels: int) -> nn.Module | None:
    """Build the norm ``name`` for ``channels`` channels; ``None``/``"none"`` gives ``None``."""
    if name in (None, "none"):
        return None
    return NORMS.get(name)(channels)

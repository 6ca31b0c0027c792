"""Skip and feedback connections between areas, each with its own delay.

A :class:`Connection` carries the output of a source area (read ``delay`` steps in the past)
to a target area: it changes the spatial size to the target's and mixes channels with a
1 x 1 convolution. Both operations are linear and commute, so the convolution always runs at
the *smaller* of the two resolutions (resample first when going down, as skip connections do;
convolve first when going up, as feedback does). That gives the same result as convolving at
full resolution at a fraction of the cost.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from dynvision.layers.recurrence import combine


RESAMPLE_MODES = ("area", "nearest")


def resample(x: torch.Tensor, size: tuple[int, int], mode: str = "area") -> torch.Tensor:
    """Resize (B, C, H, W) to ``size``: area averaging down (``mode="area"``) or nearest
    neighbour (``mode="nearest"``, DynVision's), nearest-neighbour up."""
    h, w = x.shape[-2:]
    if (h, w) == tuple(size):
        return x
    if mode == "area" and h >= size[0] and w >= size[1]:
        if h % size[0] == 0 and w % size[1] == 0:
            return F.avg_pool2d(x, (h // size[0], w // size[1]))
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=tuple(size), mode="nearest")


class Connection(nn.Module):
    """A delayed connection from one area's output to another area's drive.

    Args:
        source: Name of the source area.
        target: Name of the target area.
        kind: ``"skip"`` (source earlier in the hierarchy) or ``"feedback"`` (later).
        in_channels: Output channels of the source.
        out_channels: Channels where the term enters the target.
        in_size: Spatial size of the source output.
        out_size: Spatial size where the term enters the target.
        delay: Delay in steps (already converted from ms).
        mode: ``"additive"`` or ``"multiplicative"``.
        init_scale: 1 x 1 weights start uniform in ``+-init_scale / sqrt(in_channels)``.
        bias: Whether the 1 x 1 convolution carries a bias (starting at zero).
        resample: ``"area"`` or ``"nearest"``: how a larger source is shrunk (see :func:`resample`).
    """

    def __init__(self, source: str, target: str, kind: str, in_channels: int, out_channels: int,
                 in_size: tuple[int, int], out_size: tuple[int, int], delay: int,
                 mode: str = "additive", init_scale: float = 0.5, bias: bool = False, resample: str = "area"):
        super().__init__()
        if kind not in ("skip", "feedback"):
            raise ValueError(f"unknown connection kind {kind!r}; valid kinds: 'skip', 'feedback'")
        if resample not in RESAMPLE_MODES:
            raise ValueError(f"unknown resample mode {resample!r}; valid modes: 'area', 'nearest'")
        self.source, self.target, self.kind, self.mode = source, target, kind, mode
        self.in_size, self.out_size, self.delay = tuple(in_size), tuple(out_size), int(delay)
        self.resample = resample
        self.combine = combine(mode)
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=bias)
        bound = init_scale / math.sqrt(in_channels)
        nn.init.uniform_(self.conv.weight, -bound, bound)
        if bias:
            nn.init.zeros_(self.conv.bias)
        # a per-pixel bias commutes with resampling as the weights do
        self.conv_first = math.prod(self.out_size) > math.prod(self.in_size)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.conv_first:
            return resample(self.conv(h), self.out_size, self.resample)
        return self.conv(resample(h, self.out_size, self.resample))

    def extra_repr(self) -> str:
        return f"{self.source} -> {self.target} ({self.kind}, delay={self.delay} steps, {self.mode})"

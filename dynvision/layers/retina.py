"""Retinal preprocessing: a centre-surround front stage before V1.

Two convolutions with a rectification in between, as in the retina/LGN bottleneck of
Lindsey et al. (2019). The first stage starts as difference-of-Gaussians filters (ON-centre
and OFF-centre pairs on every input channel), so an untrained retina already removes the mean
luminance and enhances edges; the second stage pools them into a narrow optic-nerve
bottleneck. Both stages are trainable.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def difference_of_gaussians(size: int, sigma_centre: float, sigma_surround: float) -> torch.Tensor:
    """A zero-sum (size, size) DoG kernel, normalised to unit centre mass."""
    r = torch.arange(size, dtype=torch.float32) - size // 2
    d2 = r.view(-1, 1) ** 2 + r.view(1, -1) ** 2
    centre = torch.exp(-d2 / (2 * sigma_centre**2))
    surround = torch.exp(-d2 / (2 * sigma_surround**2))
    return centre / centre.sum() - surround / surround.sum()


class Retina(nn.Module):
    """Centre-surround retina with a channel bottleneck.

    Args:
        in_channels: Channels of the stimulus.
        out_channels: Channels sent on to V1 (the optic-nerve bottleneck).
        mid_channels: Channels of the first (ganglion-cell) stage; at least ``2 * in_channels``.
        kernel_size: Spatial extent of both stages (odd).
        sigma_centre: Centre width in pixels of the initial DoG filters.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 18, mid_channels: int = 36,
                 kernel_size: int = 9, sigma_centre: float = 1.0):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"retina kernel_size must be odd, got {kernel_size}")
        if mid_channels < 2 * in_channels:
            raise ValueError(f"retina mid_channels={mid_channels} must be >= 2 * in_channels={2 * in_channels} (ON and OFF)")
        self.in_channels, self.out_channels = in_channels, out_channels
        pad = kernel_size // 2
        self.ganglion = nn.Conv2d(in_channels, mid_channels, kernel_size, padding=pad)
        self.lgn = nn.Conv2d(mid_channels, out_channels, kernel_size, padding=pad)
        self.rectify = nn.ReLU()
        with torch.no_grad():
            nn.init.zeros_(self.ganglion.bias)
            weight = torch.zeros_like(self.ganglion.weight)
            for j in range(mid_channels):
                scale = 1.0 + (j // (2 * in_channels)) * 0.5  # a range of centre sizes
                dog = difference_of_gaussians(kernel_size, sigma_centre * scale, 3 * sigma_centre * scale)
                weight[j, (j // 2) % in_channels] = dog if j % 2 == 0 else -dog
            self.ganglion.weight.copy_(weight)
            nn.init.kaiming_uniform_(self.lgn.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lgn.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lgn(self.rectify(self.ganglion(x)))

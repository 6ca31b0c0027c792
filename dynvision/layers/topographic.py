"""Topographic lateral connections on a cortical sheet.

An area's (C, H, W) activity is laid out as a 2-D sheet of hypercolumns: the C channels at
each position (y, x) are tiled into a ``gy x gx`` block, and neighbouring blocks are mirrored
(odd rows/columns flipped), so that a channel's neighbours across a block border are the same
channels, as in the mirrored maps of visual cortex. A single kernel, shared over the whole
sheet, connects units by their distance on the sheet only: its weight depends on
``dy^2 + dx^2`` (one parameter per distinct distance), so connectivity is isotropic and
translation-invariant in cortical coordinates.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sheet_layout(channels: int) -> tuple[int, int]:
    """Return the (gy, gx) tile of a hypercolumn holding ``channels`` channels."""
    gx = math.ceil(math.sqrt(channels))
    gy = math.ceil(channels / gx)
    return gy, gx


def sheet_permutation(channels: int, height: int, width: int) -> torch.Tensor:
    """Index that maps a flattened, channel-padded (gy*gx, H, W) tensor to the sheet.

    ``sheet.flatten()[i] = layer.flatten()[perm[i]]`` with the sheet of shape
    (H*gy, W*gx) and mirrored tiling.
    """
    gy, gx = sheet_layout(channels)
    sy = torch.arange(height * gy).view(-1, 1).expand(-1, width * gx)
    sx = torch.arange(width * gx).view(1, -1).expand(height * gy, -1)
    y, cy = sy // gy, sy % gy
    x, cx = sx // gx, sx % gx
    cy = torch.where(y % 2 == 1, gy - 1 - cy, cy)
    cx = torch.where(x % 2 == 1, gx - 1 - cx, cx)
    c = cy * gx + cx
    return (c * height * width + y * width + x).flatten()


def radial_index(kernel_size: int) -> tuple[torch.Tensor, int]:
    """Return a (k, k) index into the distinct squared distances, and their number."""
    r = kernel_size // 2
    d2 = torch.tensor([[dy * dy + dx * dx for dx in range(-r, r + 1)] for dy in range(-r, r + 1)])
    values = torch.unique(d2)
    return torch.searchsorted(values, d2), len(values)


class LocalLateral(nn.Module):
    """Isotropic lateral connections on the cortical sheet of a (C, H, W) area.

    Args:
        channels: Channels per position.
        size: (H, W) of the area.
        kernel_size: Extent of the lateral kernel on the sheet (odd).
        bias: Whether to add a learned bias.
        init_scale: Weights start uniform in ``+-init_scale / k``.
    """

    def __init__(self, channels: int, size: tuple[int, int], kernel_size: int = 3,
                 bias: bool = False, init_scale: float = 0.5):
        super().__init__()
        h, w = size
        self.channels, self.size, self.kernel_size = channels, (h, w), kernel_size
        self.gy, self.gx = sheet_layout(channels)
        perm = sheet_permutation(channels, h, w)
        self.register_buffer("perm", perm, persistent=False)
        self.register_buffer("inverse", torch.argsort(perm), persistent=False)
        index, n = radial_index(kernel_size)
        self.register_buffer("radial", index, persistent=False)
        self.weight = nn.Parameter(torch.empty(n).uniform_(-init_scale / kernel_size, init_scale / kernel_size))
        self.bias = nn.Parameter(torch.zeros(1)) if bias else None

    def kernel(self) -> torch.Tensor:
        """The (1, 1, k, k) sheet kernel built from the radial profile."""
        return self.weight[self.radial].view(1, 1, self.kernel_size, self.kernel_size)

    def to_sheet(self, h: torch.Tensor) -> torch.Tensor:
        b, c, hh, ww = h.shape
        pad = self.gy * self.gx - c
        if pad:
            h = F.pad(h, (0, 0, 0, 0, 0, pad))
        flat = h.reshape(b, -1).index_select(1, self.perm)
        return flat.view(b, 1, hh * self.gy, ww * self.gx)

    def from_sheet(self, s: torch.Tensor) -> torch.Tensor:
        b = s.shape[0]
        h, w = self.size
        flat = s.reshape(b, -1).index_select(1, self.inverse)
        return flat.view(b, self.gy * self.gx, h, w)[:, : self.channels]

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        sheet = self.to_sheet(h.contiguous())
        out = F.conv2d(sheet, self.kernel().to(sheet.dtype), self.bias, padding=self.kernel_size // 2)
        return self.from_sheet(out).contiguous(memory_format=torch.channels_last
                                              if h.is_contiguous(memory_format=torch.channels_last)
                                              and not h.is_contiguous() else torch.contiguous_format)

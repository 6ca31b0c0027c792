"""Max pooling that stays fast in every memory layout and dtype.

PyTorch's CPU max-pool kernel for contiguous (NCHW) tensors, and for bfloat16 in any layout,
is several times slower than the convolutions around it (it was a third of a bfloat16
forward pass of DyRCNNx4). :class:`MaxPool2d` computes the same result as a separable
maximum over strided slices (rows, then columns, borders by index ranges instead of a padded
copy), which vectorises well, and falls back to PyTorch's kernel where that kernel is fast
(float32 channels-last) or when the pooling's gradient is needed.

Example:
    >>> import torch
    >>> x = torch.randn(2, 3, 9, 9)
    >>> torch.equal(MaxPool2d(3, 2, 1)(x), torch.nn.functional.max_pool2d(x, 3, 2, 1))
    True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _max_along(x: torch.Tensor, dim: int, kernel: int, stride: int, padding: int) -> torch.Tensor:
    """1-D max pooling along ``dim`` by strided slices, borders handled without padding."""
    n = x.shape[dim]
    out_n = (n + 2 * padding - kernel) // stride + 1
    # the slice that every output position sees (offset ``padding`` is always inside)
    out = x.narrow(dim, 0, (out_n - 1) * stride + 1)[(slice(None),) * (dim % x.ndim) + (slice(None, None, stride),)]
    out = out.clone()
    for offset in range(kernel):
        start = offset - padding
        if start == 0:
            continue
        lo = -(-max(0, -start) // stride)  # first output whose input index is >= 0
        hi = min(out_n, (n - 1 - start) // stride + 1)  # past the last one whose index is < n
        if hi <= lo:
            continue
        src = x.narrow(dim, lo * stride + start, (hi - lo - 1) * stride + 1)
        src = src[(slice(None),) * (dim % x.ndim) + (slice(None, None, stride),)]
        dst = out.narrow(dim, lo, hi - lo)
        torch.maximum(dst, src, out=dst)
    return out


def separable_max_pool2d(x: torch.Tensor, kernel: int, stride: int, padding: int) -> torch.Tensor:
    """Max pooling as a maximum over strided row slices, then column slices (no padding copy)."""
    if padding > kernel // 2:
        raise ValueError(f"padding={padding} must be at most kernel_size // 2 = {kernel // 2}")
    return _max_along(_max_along(x, -2, kernel, stride, padding), -1, kernel, stride, padding)


class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` (square kernel, no dilation, floor mode) with a faster CPU path."""

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0):
        super().__init__(kernel_size, stride, padding)
        for name in ("kernel_size", "stride", "padding"):
            if not isinstance(getattr(self, name), int):
                raise ValueError(f"MaxPool2d takes a single int {name}, got {getattr(self, name)!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fast_native = x.dtype == torch.float32 and x.is_contiguous(memory_format=torch.channels_last) \
            and not x.is_contiguous()
        if fast_native or x.device.type != "cpu" or (torch.is_grad_enabled() and x.requires_grad):
            return super().forward(x)
        return separable_max_pool2d(x, self.kernel_size, self.stride, self.padding)

"""Spatio-temporal separable convolution: a 2-D spatial kernel times a 1-D temporal kernel.

Each output channel ``o`` filters its input with the kernel
``W[o, c, s, y, x] = k_o[s] * S[o, c, y, x]``: a spatial kernel ``S`` (per input and output
channel) and one temporal kernel ``k_o`` over the lags ``s = 0 .. K-1`` (``s`` steps of
``dt_ms`` into the past; ``s = 0`` is the current frame). The filter is causal: the output at
step ``t`` reads frames ``t, t-1, ... t-K+1``; frames before the start count as zero (in
:class:`SpatioTemporalCore`, which normalises its input, zero is the grey background).

The temporal kernel is a weighted sum of a fixed basis (:func:`temporal_basis`), so it stays
smooth with few parameters: with ``u = (s + 1/2) / K`` over the kernel window,

    basis = [cos(pi f u) for f = 0 .. F-1] + [sin(pi f u) for f = 1 .. F]

(``2F`` functions for ``n_frequencies = F``; with ``2F >= K`` they span every kernel), and
``k_o = temporal_weight[o] @ basis``.

:class:`SpatioTemporalConv` maps whole sequences ``(batch, time, C, H, W)`` at once and can be
stacked into a feedforward core (:class:`SpatioTemporalCore`) whose output a
:class:`~dynvision.layers.readout.GaussianReadout` reads, as in openretina's core + readout
models.

Example:
    >>> import torch
    >>> layer = SpatioTemporalConv(2, 4, kernel_size=3, kernel_ms=10, dt_ms=2, n_frequencies=2)
    >>> layer.temporal_kernel().shape, layer(torch.rand(1, 7, 2, 8, 8)).shape
    (torch.Size([4, 5]), torch.Size([1, 7, 4, 8, 8]))
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dynvision.conventions import BACKGROUND
from dynvision.dynamics import delay_steps
from dynvision.validation import check_int, check_number, ms_aliases


def temporal_basis(n_taps: int, n_frequencies: int, device=None, dtype=None) -> torch.Tensor:
    """The ``(2 * n_frequencies, n_taps)`` cosine/sine basis of the temporal kernels.

    Rows: ``cos(pi f u)`` for ``f = 0 .. F-1``, then ``sin(pi f u)`` for ``f = 1 .. F``, with
    ``u = (s + 1/2) / n_taps`` at lag ``s``.

    Example:
        >>> temporal_basis(4, 1).double().numpy().round(3).tolist()
        [[1.0, 1.0, 1.0, 1.0], [0.383, 0.924, 0.924, 0.383]]
    """
    n_taps = check_int("n_taps", n_taps, lo=1)
    n_frequencies = check_int("n_frequencies", n_frequencies, lo=1)
    u = (torch.arange(n_taps, device=device, dtype=dtype or torch.float32) + 0.5) / n_taps
    cos = [torch.cos(math.pi * f * u) for f in range(n_frequencies)]
    sin = [torch.sin(math.pi * f * u) for f in range(1, n_frequencies + 1)]
    return torch.stack(cos + sin)


class SpatioTemporalConv(nn.Module):
    """A causal spatio-temporal separable convolution of sequences ``(B, T, C, H, W)``.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Spatial kernel size (int or ``(kh, kw)``).
        kernel_ms: Temporal extent of the kernel in ms (a whole multiple of ``dt_ms``): the
            kernel has ``kernel_ms / dt_ms`` taps.
        dt_ms: Time between frames in ms.
        n_frequencies: ``F``: the temporal kernel is a sum of ``2F`` basis functions.
        stride: Spatial stride.
        padding: Spatial zero padding (default: ``kernel_size // 2``, same size at stride 1).
        bias: Add a bias per output channel.

    Attributes:
        spatial_weight: ``(out, in, kh, kw)``.
        temporal_weight: ``(out, 2F)`` basis coefficients.
        basis: ``(2F, K)`` (a buffer).
    """

    @ms_aliases
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int] = 3, *,
                 kernel_ms: float = 20.0, dt_ms: float = 2.0, n_frequencies: int = 3, stride: int = 1,
                 padding: int | Sequence[int] | None = None, bias: bool = True):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, lo=1)
        self.out_channels = check_int("out_channels", out_channels, lo=1)
        ks = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        self.kernel_size = tuple(check_int(f"kernel_size[{i}]", k, lo=1) for i, k in enumerate(ks))
        self.dt_ms = check_number("dt_ms", dt_ms, lo=0, lo_open=True, unit="ms")
        self.kernel_ms = check_number("kernel_ms", kernel_ms, lo=self.dt_ms, unit="ms")
        self.n_taps = delay_steps(self.kernel_ms, self.dt_ms, "kernel_ms", minimum=1)
        self.stride = check_int("stride", stride, lo=1)
        pad = tuple(k // 2 for k in self.kernel_size) if padding is None else \
            ((padding, padding) if isinstance(padding, int) else tuple(padding))
        self.padding = pad
        self.register_buffer("basis", temporal_basis(self.n_taps, n_frequencies), persistent=False)
        fan_in = self.in_channels * math.prod(self.kernel_size)
        self.spatial_weight = nn.Parameter(torch.empty(self.out_channels, self.in_channels, *self.kernel_size)
                                           .uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in)))
        temporal = torch.zeros(self.out_channels, self.basis.shape[0])
        temporal[:, 0] = 1.0 / self.n_taps  # start as a boxcar average over the window
        self.temporal_weight = nn.Parameter(temporal + 0.1 / self.n_taps * torch.randn_like(temporal))
        self.bias = nn.Parameter(torch.zeros(self.out_channels)) if bias else None

    @property
    def n_frequencies(self) -> int:
        return self.basis.shape[0] // 2

    @property
    def lags_ms(self) -> torch.Tensor:
        """Lag of each temporal tap in ms (``0, dt, 2 dt, ...``)."""
        return torch.arange(self.n_taps) * self.dt_ms

    def temporal_kernel(self) -> torch.Tensor:
        """``(out, K)``: each output channel's temporal kernel over the lags."""
        return self.temporal_weight @ self.basis

    def full_weight(self) -> torch.Tensor:
        """``(out, in, K, kh, kw)``: the separable kernel as one 3-D convolution kernel (lag order)."""
        k = self.temporal_kernel()
        return k[:, None, :, None, None] * self.spatial_weight[:, :, None]

    def out_size(self, size: Sequence[int]) -> tuple[int, int]:
        """Spatial output size for an input of spatial ``size``."""
        return tuple((int(s) + 2 * p - k) // self.stride + 1 for s, p, k in zip(size, self.padding, self.kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Filter a sequence ``(B, T, C, H, W)`` -> ``(B, T, out, H', W')``."""
        if x.ndim != 5 or x.shape[2] != self.in_channels:
            raise ValueError(f"expected a sequence (batch, time, {self.in_channels}, height, width), "
                             f"got shape {tuple(x.shape)}")
        b, t = x.shape[:2]
        y = F.conv2d(x.flatten(0, 1), self.spatial_weight, None, self.stride, self.padding)
        y = y.unflatten(0, (b, t))  # (B, T, out, H', W')
        out = torch.einsum("ots,bsop->btop", self.temporal_matrix(t).to(y.dtype), y.flatten(3)).view(y.shape)
        return out if self.bias is None else out + self.bias.view(1, 1, -1, 1, 1).to(out.dtype)

    def temporal_matrix(self, n_steps: int) -> torch.Tensor:
        """``(out, T, T)``: the causal temporal filter as a matrix, ``M[o, t, s] = k_o[t - s]``
        (zero outside the kernel's window); one batched matrix product filters all positions."""
        lag = torch.arange(n_steps, device=self.basis.device)
        lag = lag[:, None] - lag[None, :]
        inside = (lag >= 0) & (lag < self.n_taps)
        k = self.temporal_kernel()
        return torch.where(inside, k[:, lag.clamp(0, self.n_taps - 1)], torch.zeros((), dtype=k.dtype,
                                                                                    device=k.device))

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"kernel_ms={self.kernel_ms:g} ({self.n_taps} taps of {self.dt_ms:g} ms), "
                f"n_frequencies={self.n_frequencies}, stride={self.stride}")


class SpatioTemporalCore(nn.Module):
    """A feedforward core: luminance normalised as in the models, then spatio-temporal layers with ELUs.

    Args:
        channels: ``(input channels, hidden 1, hidden 2, ...)``.
        kernel_size: Spatial kernel size of every layer, or one per layer.
        kernel_ms: Temporal extent of every layer's kernel in ms, or one per layer.
        padding: Spatial zero padding of every layer, or one per layer (``None``: same size).
        mean: Luminance mapped to zero (the grey background).
        std: Luminance difference mapped to one.
        **kwargs: Other options of :class:`SpatioTemporalConv` (``dt_ms``, ``n_frequencies``...).

    Example:
        >>> import torch
        >>> core = SpatioTemporalCore((2, 4, 6), kernel_size=(5, 3), kernel_ms=(10, 6), dt_ms=2)
        >>> core(torch.rand(1, 5, 2, 8, 8)).shape, core.out_channels
        (torch.Size([1, 5, 6, 8, 8]), 6)
    """

    @ms_aliases
    def __init__(self, channels: Sequence[int], kernel_size: int | Sequence[int] = 3,
                 kernel_ms: float | Sequence[float] = 20.0, *, padding: int | Sequence[int | None] | None = None,
                 mean: float = BACKGROUND, std: float = 0.25, **kwargs):
        super().__init__()
        channels = [check_int(f"channels[{i}]", c, lo=1) for i, c in enumerate(channels)]
        if len(channels) < 2:
            raise ValueError(f"channels must list the input channels and at least one layer, got {channels}")
        n = len(channels) - 1
        sizes = _per_layer("kernel_size", kernel_size, n)
        times = _per_layer("kernel_ms", kernel_ms, n)
        pads = _per_layer("padding", padding, n)
        self.config = {"channels": channels, "kernel_size": sizes, "kernel_ms": times, "padding": pads, "mean": mean,
                       "std": std, **kwargs}
        self.mean = check_number("mean", mean)
        self.std = check_number("std", std, lo=0, lo_open=True)
        self.layers = nn.ModuleList(SpatioTemporalConv(a, b, k, kernel_ms=t, padding=p, **kwargs)
                                    for a, b, k, t, p in zip(channels[:-1], channels[1:], sizes, times, pads))
        self.out_channels = channels[-1]

    def out_size(self, size: Sequence[int]) -> tuple[int, int]:
        for layer in self.layers:
            size = layer.out_size(size)
        return tuple(size)

    def front(self, x: torch.Tensor) -> torch.Tensor:
        """The affine first stage: normalisation and the first layer, before its nonlinearity.

        ``forward(x) == from_front(front(x))``, and ``front`` is affine in ``x``, so analyses
        of stimuli ``base + a A + b B`` can run it on three stimuli only.
        """
        return self.layers[0]((x - self.mean) / self.std)

    def from_front(self, y: torch.Tensor) -> torch.Tensor:
        """The rest of the core, from the output of :meth:`front`."""
        y = F.elu(y)
        for layer in self.layers[1:]:
            y = F.elu(layer(y))
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Activity ``(B, T, out_channels, H', W')`` of a luminance sequence ``(B, T, C, H, W)``."""
        return self.from_front(self.front(x))


def _per_layer(name: str, value, n: int) -> list:
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(values) != n:
        raise ValueError(f"{name} needs one value or one per layer ({n}), got {value!r}")
    return values


__all__ = ["SpatioTemporalConv", "SpatioTemporalCore", "temporal_basis"]

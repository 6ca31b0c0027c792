"""The hexagonal front stage: frames onto a receptor lattice and back, as a model's first step.

:class:`HexFront` is an ``nn.Module`` mapping ``(N, C, H, W)`` frames to ``(N, C, H, W)``
images that hold only what a hexagonal eye of ``extent`` rings of receptors sees: each
receptor averages a box (or Gaussian) of pixels (:func:`~dynvision.layers.hexgrid.sampling_operator`),
and the image is rebuilt from the receptor values (:func:`~dynvision.layers.hexgrid.image_operator`).
Both steps are one sparse matrix product each over the whole batch, differentiable, so the
module fits the ``retina`` slot of a model's input stage (it keeps the channel count:
``out_channels == in_channels``) and trains like any other layer (it has no parameters).

The operators are built in float32 and applied in float32 whatever the input's dtype (the
result is cast back), so bfloat16 models and channels-last inputs work unchanged.

Example:
    >>> front = HexFront(1, (16, 16), extent=4)
    >>> x = torch.full((2, 1, 16, 16), 0.3)
    >>> y = front(x)
    >>> y.shape, bool(torch.allclose(y, x))  # a uniform frame stays uniform
    (torch.Size([2, 1, 16, 16]), True)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from dynvision.layers.hexgrid import HexLattice, image_operator, sampling_operator
from dynvision.validation import check_int, check_number


def sparse_operator(rows: np.ndarray, cols: np.ndarray, values: np.ndarray,
                    shape: tuple[int, int]) -> torch.Tensor:
    """A coalesced float32 COO tensor from COO arrays (checked once, here).

    Example:
        >>> sparse_operator(np.array([0]), np.array([1]), np.array([2.0]), (1, 2)).to_dense().tolist()
        [[0.0, 2.0]]
    """
    index = torch.as_tensor(np.stack([rows, cols]), dtype=torch.long, device="cpu")
    return torch.sparse_coo_tensor(index, torch.as_tensor(values, dtype=torch.float32, device="cpu"), shape,
                                   check_invariants=True, device="cpu").coalesce()  # moved with the model


def apply_operator(operator: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``operator @ x`` over the last axis of ``x``: ``(..., P) -> (..., R)``, one sparse product.

    Computed in float32 and cast back to ``x``'s dtype; differentiable in ``x``.

    Example:
        >>> op = sparse_operator(np.array([0, 0]), np.array([0, 1]), np.array([0.5, 0.5]), (1, 2))
        >>> apply_operator(op, torch.tensor([[1.0, 3.0]])).tolist()
        [[2.0]]
    """
    lead, p = x.shape[:-1], x.shape[-1]
    if p != operator.shape[1]:
        raise ValueError(f"expected {operator.shape[1]} values on the last axis, got shape {tuple(x.shape)}")
    if x.device.type == "meta":  # torch has no sparse product on meta tensors: the shape alone
        return x.new_empty((*lead, operator.shape[0]))
    flat = x.reshape(-1, p).to(torch.float32)
    out = torch.sparse.mm(operator.to(device=x.device, dtype=torch.float32), flat.t().contiguous()).t()
    return out.reshape(*lead, operator.shape[0]).to(x.dtype)


class HexFront(nn.Module):
    """Frames onto a hexagonal receptor lattice and back to an image of the same size.

    Args:
        in_channels: Channels of the frames (kept: ``out_channels == in_channels``).
        size: ``(height, width)`` of the frames (a model's ``input_dims[2:]``), or one int.
        extent: Rings of receptors around the centre (``3 e (e + 1) + 1`` receptors).
        kernel_size: Side of each receptor's box in canvas pixels (see
            :mod:`~dynvision.layers.hexgrid`); with ``spacing`` it sets how much boxes overlap.
        spacing: Distance between neighbouring receptors in canvas pixels (default
            ``kernel_size``: boxes tile the plane like flyvis's BoxEye).
        kernel: ``"box"`` or ``"gaussian"`` averaging.
        sigma: Width of the Gaussian in canvas pixels (default: the box's spread).
        fit: How the lattice lies on the frame: ``"crop"``, ``"stretch"`` or ``"none"``.
        interpolation: Back to pixels by ``"linear"`` (barycentric) or ``"nearest"`` receptor.
        fill: Value of pixels beyond the lattice (in the units the module sees: after the
            input stage's normalisation, 0 is the grey background); ``None`` extends the
            nearest receptor's value (no artificial edge at the rim).

    Example:
        >>> HexFront(3, 32, extent=6).n_receptors
        127
    """

    def __init__(self, in_channels: int, size: int | Sequence[int], extent: int = 15,
                 kernel_size: float = 13, spacing: float | None = None, kernel: str = "box",
                 sigma: float | None = None, fit: str = "crop", interpolation: str = "linear",
                 fill: float | None = None):
        super().__init__()
        self.in_channels = self.out_channels = check_int("in_channels", in_channels, lo=1)
        hw = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        self.size = tuple(check_int("size", s, lo=1) for s in hw)
        self.lattice = HexLattice(extent)
        self.fill = check_number("fill", fill, allow_none=True)
        self.options = {"extent": self.lattice.extent, "kernel_size": kernel_size, "spacing": spacing,
                        "kernel": kernel, "sigma": sigma, "fit": fit, "interpolation": interpolation,
                        "fill": self.fill}
        rows, cols, vals, shape = sampling_operator(self.lattice, self.size, kernel_size, spacing, kernel,
                                                    sigma, fit)
        self.register_buffer("sampling", sparse_operator(rows, cols, vals, shape), persistent=False)
        rows, cols, vals, shape, outside = image_operator(self.lattice, self.size, kernel_size, spacing,
                                                          interpolation, fit)
        self.register_buffer("imaging", sparse_operator(rows, cols, vals, shape), persistent=False)
        self.register_buffer("outside", torch.as_tensor(outside.reshape(self.size)), persistent=False)

    @property
    def n_receptors(self) -> int:
        """Receptors in the lattice."""
        return len(self.lattice)

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels or tuple(x.shape[2:]) != self.size:
            raise ValueError(f"HexFront expects (N, {self.in_channels}, {self.size[0]}, {self.size[1]}) "
                             f"frames, got shape {tuple(x.shape)}")

    def receptors(self, x: torch.Tensor) -> torch.Tensor:
        """Receptor values ``(N, C, R)`` of frames ``(N, C, H, W)``."""
        self._check(x)
        return apply_operator(self.sampling, x.reshape(*x.shape[:2], -1))

    def to_image(self, r: torch.Tensor) -> torch.Tensor:
        """Images ``(N, C, H, W)`` of receptor values ``(N, C, R)``."""
        img = apply_operator(self.imaging, r).reshape(*r.shape[:-1], *self.size)
        if self.fill is not None:
            img = img.masked_fill(self.outside.to(img.device), self.fill)
        return img

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.to_image(self.receptors(x))
        if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            out = out.contiguous(memory_format=torch.channels_last)
        return out

    def extra_repr(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items() if v is not None)
        return f"in_channels={self.in_channels}, size={self.size}, receptors={self.n_receptors}, {opts}"

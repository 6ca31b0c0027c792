"""Gaussian readouts: an area's activity -> the responses of recorded neurons.

Neuron ``n`` reads the activity ``a[c, y, x]`` of one area through a 2-D Gaussian spatial
mask ``m_n`` (its receptive-field position and extent on the area's map) and per-channel
feature weights ``w_n``, then a positive nonlinearity ``f``::

    r_n = f( sum_c w_nc * sum_yx m_n(y, x) a[c, y, x]  +  b_n )

The mask lives on the area's map in normalised coordinates (``-1`` to ``1`` from the left/top
edge to the right/bottom edge; pixel centres at ``-1 + (2 j + 1) / W``)::

    m_n(p) ∝ exp(-1/2 (p - mu_n)^T S_n^-1 (p - mu_n)),    sum_p m_n(p) = 1

with ``S_n = diag(sigma_x, sigma_y)^2`` (isotropic: ``sigma_x = sigma_y``) or, with
``anisotropic=True``, a full covariance with correlation ``rho_n`` (an oriented ellipse). The
mask sums to one, so its extent and the feature weights do not trade off: the feature weights
carry the gain. Positions stay on the map: ``mu = tanh(mu_raw)`` (a clamp would stop the
gradient of a position that strays off the map, and the position could not come back).

:class:`MultiSessionReadout` holds one :class:`GaussianReadout` per recording session, all
reading the same core (``readout_keys()`` lists the sessions).

Example:
    >>> import torch
    >>> readout = GaussianReadout(in_channels=4, size=(8, 8), n_neurons=3)
    >>> readout(torch.rand(2, 4, 8, 8)).shape, readout(torch.rand(2, 5, 4, 8, 8)).shape
    (torch.Size([2, 3]), torch.Size([2, 5, 3]))
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dynvision.registry import Registry, UnknownNameError, unknown_name_message
from dynvision.validation import check_bool, check_int, check_number

NONLINEARITIES = Registry("readout nonlinearity")
NONLINEARITIES.register("softplus", F.softplus)
NONLINEARITIES.register("elu1", lambda x: F.elu(x) + 1.0)
NONLINEARITIES.register("exp", torch.exp)


def map_grid(size: Sequence[int], device=None, dtype=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised ``(x, y)`` coordinates of the pixel centres of an ``(H, W)`` map, each ``(H, W)``.

    Example:
        >>> x, y = map_grid((1, 2))
        >>> x.tolist(), y.tolist()
        ([[-0.5, 0.5]], [[0.0, 0.0]])
    """
    h, w = (int(s) for s in size)
    ys = -1 + (2 * torch.arange(h, device=device, dtype=dtype) + 1) / h
    xs = -1 + (2 * torch.arange(w, device=device, dtype=dtype) + 1) / w
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return x, y


class GaussianReadout(nn.Module):
    """Responses of ``n_neurons`` recorded neurons read from one area (see the module docstring).

    Args:
        in_channels: Channels of the area.
        size: ``(H, W)`` of the area's map.
        n_neurons: Neurons read out.
        anisotropic: Elliptical masks (two extents and a correlation) instead of circular ones.
        nonlinearity: Positive output nonlinearity: ``softplus``, ``elu1`` (ELU + 1) or ``exp``.
        init_sigma: Initial extent (normalised units: 1 is half the map).
        bias: Learn a bias per neuron.

    Attributes:
        mu_raw: ``(N, 2)`` unconstrained positions; :attr:`mu` is ``tanh(mu_raw)``.
        log_sigma: ``(N, 2)`` log extents (``(N, 1)`` when isotropic).
        rho: ``(N,)`` pre-tanh correlation (anisotropic only).
        features: ``(N, C)`` feature weights.
    """

    def __init__(self, in_channels: int, size: Sequence[int], n_neurons: int, *, anisotropic: bool = False,
                 nonlinearity: str = "softplus", init_sigma: float = 0.3, bias: bool = True):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, lo=1)
        self.n_neurons = check_int("n_neurons", n_neurons, lo=1)
        if len(size) != 2:
            raise ValueError(f"size must be (height, width), got {tuple(size)}")
        self.size = tuple(check_int(f"size[{i}]", s, lo=1) for i, s in enumerate(size))
        self.anisotropic = check_bool("anisotropic", anisotropic)
        self.nonlinearity = nonlinearity
        self._f = NONLINEARITIES.get(nonlinearity)
        init_sigma = check_number("init_sigma", init_sigma, lo=0, lo_open=True)
        self.mu_raw = nn.Parameter(torch.empty(self.n_neurons, 2).uniform_(-0.2, 0.2))
        self.log_sigma = nn.Parameter(torch.full((self.n_neurons, 2 if anisotropic else 1), math.log(init_sigma)))
        self.rho = nn.Parameter(torch.zeros(self.n_neurons)) if anisotropic else None
        self.features = nn.Parameter(torch.empty(self.n_neurons, self.in_channels).normal_(0, 1 / self.in_channels))
        self.bias = nn.Parameter(torch.zeros(self.n_neurons)) if bias else None

    @property
    def mu(self) -> torch.Tensor:
        """``(N, 2)`` positions ``(x, y)`` on the map, normalised (-1 to 1)."""
        return torch.tanh(self.mu_raw)

    @torch.no_grad()
    def set(self, mu=None, sigma=None, features=None, bias=None, correlation=None) -> "GaussianReadout":
        """Set parameters to given values (e.g. a known readout for a simulation); returns ``self``.

        Args:
            mu: ``(N, 2)`` positions in ``(-1, 1)``.
            sigma: ``(N, 1)`` or ``(N, 2)`` extents (``(N, 2)`` needs ``anisotropic``).
            features: ``(N, C)`` feature weights.
            bias: ``(N,)`` biases.
            correlation: ``(N,)`` correlations in ``(-0.95, 0.95)`` (anisotropic only).
        """
        as_t = lambda v: torch.as_tensor(v, dtype=self.mu_raw.dtype, device=self.mu_raw.device)  # noqa: E731
        if mu is not None:
            self.mu_raw.copy_(torch.atanh(as_t(mu).clamp(-1 + 1e-6, 1 - 1e-6)))
        if sigma is not None:
            self.log_sigma.copy_(as_t(sigma).log().expand_as(self.log_sigma))
        if features is not None:
            self.features.copy_(as_t(features))
        if bias is not None:
            self.bias.copy_(as_t(bias))
        if correlation is not None:
            self.rho.copy_(torch.atanh(as_t(correlation) / 0.95))
        return self

    @property
    def sigma(self) -> torch.Tensor:
        """``(N, 2)`` extents ``(sigma_x, sigma_y)`` (equal when isotropic)."""
        return self.log_sigma.exp().expand(self.n_neurons, 2)

    @property
    def correlation(self) -> torch.Tensor:
        """``(N,)`` correlation of the mask's x and y (0 when isotropic)."""
        if self.rho is None:
            return torch.zeros(self.n_neurons, device=self.mu_raw.device, dtype=self.mu_raw.dtype)
        return 0.95 * torch.tanh(self.rho)

    def mask(self) -> torch.Tensor:
        """``(N, H, W)`` spatial masks, each summing to one."""
        x, y = map_grid(self.size, self.mu_raw.device, self.mu_raw.dtype)
        mu = self.mu
        dx = (x.unsqueeze(0) - mu[:, 0, None, None]) / self.sigma[:, 0, None, None]
        dy = (y.unsqueeze(0) - mu[:, 1, None, None]) / self.sigma[:, 1, None, None]
        rho = self.correlation[:, None, None]
        d2 = (dx * dx - 2 * rho * dx * dy + dy * dy) / (1 - rho * rho)
        logits = -0.5 * d2
        return torch.softmax(logits.flatten(1), dim=1).view(self.n_neurons, *self.size)

    def drive(self, x: torch.Tensor) -> torch.Tensor:
        """The input to the nonlinearity, ``(..., N)`` for activity ``(..., C, H, W)``."""
        if x.shape[-3:] != (self.in_channels, *self.size):
            raise ValueError(f"the readout reads activity of shape (..., {self.in_channels}, {self.size[0]}, "
                             f"{self.size[1]}) (channels, height, width), got {tuple(x.shape)}")
        pooled = torch.einsum("...chw,nhw->...nc", x, self.mask().to(x.dtype))
        out = (pooled * self.features.to(x.dtype)).sum(-1)
        return out if self.bias is None else out + self.bias.to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Responses ``(..., N)`` of activity ``(..., C, H, W)`` (e.g. ``(B, T, C, H, W)``)."""
        return self._f(self.drive(x))

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, size={self.size}, n_neurons={self.n_neurons}, "
                f"anisotropic={self.anisotropic}, nonlinearity={self.nonlinearity!r}")


class MultiSessionReadout(nn.ModuleDict):
    """One :class:`GaussianReadout` per recording session, all reading the same area of one core.

    Args:
        in_channels: Channels of the area.
        size: ``(H, W)`` of the area's map.
        sessions: ``{session key: number of neurons}``.
        **kwargs: Options of :class:`GaussianReadout` (``anisotropic``, ``nonlinearity``...).

    Example:
        >>> import torch
        >>> readouts = MultiSessionReadout(4, (8, 8), {"mouse1": 3, "mouse2": 5})
        >>> readouts.readout_keys(), readouts(torch.rand(2, 4, 8, 8), "mouse2").shape
        (['mouse1', 'mouse2'], torch.Size([2, 5]))
    """

    def __init__(self, in_channels: int, size: Sequence[int], sessions: Mapping[str, int], **kwargs):
        if not sessions:
            raise ValueError("sessions is empty: give {session key: number of neurons}")
        super().__init__({str(k): GaussianReadout(in_channels, size, n, **kwargs) for k, n in sessions.items()})

    def readout_keys(self) -> list[str]:
        """The session keys, in the order given."""
        return list(self.keys())

    def session(self, key: str) -> GaussianReadout:
        """The readout of session ``key`` (unknown keys raise, listing the valid ones)."""
        if key not in self:
            raise UnknownNameError(unknown_name_message("readout session", key, self.readout_keys()))
        return self[key]

    def forward(self, x: torch.Tensor, session: str) -> torch.Tensor:
        """Responses of session ``session``'s neurons to activity ``(..., C, H, W)``."""
        return self.session(session)(x)


__all__ = ["NONLINEARITIES", "GaussianReadout", "MultiSessionReadout", "map_grid"]

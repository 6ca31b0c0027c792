"""Recurrence types: how an area's delayed output feeds back into its own drive.

Each type maps the area's output ``h`` (batch, C_in, H, W), read ``trc`` ms in the past, to
a recurrent drive (batch, C_out, H, W). ``C_in`` is the area's output channels; ``C_out`` is
the channels where the term enters (output, middle or input of the area, see
:mod:`dynvision.layers.operations`). Parameter counts (``k`` = kernel size, bias off):

============== ===================================== =========================================
type           connectivity                          parameters
============== ===================================== =========================================
none           no recurrence                         0
self           each unit to itself, weight/channel   C
scalar         each unit to itself, one weight       1
               for the area (DynVision's ``self``)
full           k x k conv across all channels        C_out * C_in * k^2
depthwise      k x k conv within each channel        C * k^2
pointwise      1 x 1 conv across channels            C_out * C_in
depthpointwise depthwise k x k, then pointwise       C_in * k^2 + C_out * C_in
pointdepthwise pointwise, then depthwise k x k       C_out * C_in + C_out * k^2
local          topographic: on the cortical sheet,   number of distinct squared distances
               weight depends on distance only       dy^2 + dx^2 in a k x k kernel
localdepthwise local, then depthwise k x k           local + C * k^2
============== ===================================== =========================================

Per-channel types (self, scalar, depthwise, local, localdepthwise) need ``C_out == C_in``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from dynvision.layers.topographic import LocalLateral
from dynvision.registry import Registry, check_kwargs

RECURRENCES = Registry("recurrence type")


class Recurrence(nn.Module):
    """Base class. Subclasses set ``per_channel`` and build their weights in ``__init__``.

    Args:
        in_channels: Channels of the area output the recurrence reads.
        out_channels: Channels where the recurrent term enters.
        kernel_size: Spatial extent (odd) of the lateral connections.
        size: Spatial size (H, W) of the area output.
        bias: Whether the recurrent convolutions carry a bias.
        init_scale: Weights start uniform in ``+-init_scale / sqrt(fan_in)``.
    """

    per_channel = False
    is_none = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 size: tuple[int, int] | None = None, bias: bool = False,
                 init_scale: float = 0.5):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"recurrence kernel_size must be a positive odd number, got {kernel_size}")
        if self.per_channel and in_channels != out_channels:
            raise ValueError(
                f"recurrence type {self.kind!r} connects each channel to itself and needs equal "
                f"channels where it reads and where it enters (got {in_channels} -> "
                f"{out_channels}); use recurrence_target='output' or a channel-mixing type "
                f"('full', 'pointwise', 'depthpointwise', 'pointdepthwise')"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.size, self.init_scale = kernel_size, size, init_scale

    @property
    def kind(self) -> str:
        return getattr(type(self), "registry_name", type(self).__name__)

    def _conv(self, cin: int, cout: int, k: int, groups: int = 1, bias: bool = False) -> nn.Conv2d:
        conv = nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=bias)
        bound = self.init_scale / math.sqrt(conv.weight[0].numel())
        nn.init.uniform_(conv.weight, -bound, bound)
        if conv.bias is not None:
            nn.init.zeros_(conv.bias)
        return conv


def _register(name: str):
    def add(cls):
        cls.registry_name = name
        return RECURRENCES.register(name, cls)

    return add


@_register("none")
class NoRecurrence(Recurrence):
    """No recurrent connections (the area is purely feedforward plus its own leak)."""

    is_none = True

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.zeros((h.shape[0], self.out_channels, *h.shape[2:]), dtype=h.dtype, device=h.device)


@_register("self")
class SelfRecurrence(Recurrence):
    """Each unit excites (or inhibits) itself with one weight per channel."""

    per_channel = True

    def __init__(self, in_channels, out_channels, kernel_size=3, size=None, bias=False, init_scale=0.5):
        super().__init__(in_channels, out_channels, kernel_size, size, bias, init_scale)
        self.weight = nn.Parameter(torch.empty(out_channels).uniform_(-init_scale, init_scale))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, h):
        out = h * self.weight.view(1, -1, 1, 1)
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)


@_register("scalar")
class ScalarRecurrence(Recurrence):
    """Each unit excites (or inhibits) itself with one weight for the whole area: DynVision
    0.1.0's ``self`` recurrence (its ``SelfConnection``)."""

    per_channel = True

    def __init__(self, in_channels, out_channels, kernel_size=3, size=None, bias=False, init_scale=0.5):
        super().__init__(in_channels, out_channels, kernel_size, size, bias, init_scale)
        self.weight = nn.Parameter(torch.empty(1).uniform_(-init_scale, init_scale))
        self.bias = nn.Parameter(torch.zeros(1)) if bias else None

    def forward(self, h):
        out = h * self.weight
        return out if self.bias is None else out + self.bias


@_register("full")
class FullRecurrence(Recurrence):
    """A k x k convolution across all channels (the most connections)."""

    def __init__(self, in_channels, out_channels, kernel_size=3, size=None, bias=False, init_scale=0.5):
        super().__init__(in_channels, out_channels, kernel_size, size, bias, init_scale)
        self.conv = self._conv(in_channels, out_channels, kernel_size, bias=bias)

    def forward(self, h):
        return self.conv(h)


@_register("depthwise")
class DepthwiseRecurrence(Recurrence):
    """A k x k convolution within each channel: lateral spread, no channel mixing."""

    per_channel = True

    def __init__(self, in_channels, out_channels, kernel_size=3, size=None, bias=False, init_scale=0.5):
        super().__init__(in_channels, out_channels, kernel_size, size, bias, init_scale)
        self.conv = self._conv(in_channels, in_channels, kernel_size, groups=in_channels, bias=bias)

    def forward(self, h):
        return self.conv(h)


@_register("pointwise")
class PointwiseRecurrence(Recurrence):
    """A 1 x 1 convolution: channel mixing at each position, no lateral spread."""

    def __init__(self, in_channels, out_channels, kernel_size=3, size=None, bias=False, init_scale=0.5):
        super().__init__(in_channels, out_channels, kernel_size, size, bias, init_scale)
        self.conv = self._conv(in_channels, out_channels, 1, bias=bias)

    def forward(self, h):
        return self.conv(h)


@_register("depthpointwise")
class DepthPointwiseRecurrence(Recurrence):
    """Depthwise k x k then pointwise 1 x 1 (a depthwise-separable convolution)."""

    def __init__(self, in_channels, out_channels, kernel_size=3, size=None, bias=False, init_scale=0.5):
        super().__init__(in_channels, out_channels, kernel_size, size, bias, init_scale)
        self.depthwise = self._conv(in_channels, in_channels, kernel_size, groups=in_channels, bias=bias)
        self.pointwise = self._conv(in_channels, out_channels, 1, bias=bias)

    def forward(self, h):
        return self.pointwise(self.depthwise(h))


@_register("pointdepthwise")
class PointDepthwiseRecurrence(Recurrence):
    """Pointwise 1 x 1 then depthwise k x k."""

    def __init__(self, in_channels, out_channels, kernel_size=3, size=None, bias=False, init_scale=0.5):
        super().__init__(in_channels, out_channels, kernel_size, size, bias, init_scale)
        self.pointwise = self._conv(in_channels, out_channels, 1, bias=bias)
        self.depthwise = self._conv(out_channels, out_channels, kernel_size, groups=out_channels, bias=bias)

    def forward(self, h):
        return self.depthwise(self.pointwise(h))


@_register("local")
class LocalRecurrence(Recurrence):
    """Topographic lateral connections on the cortical sheet (see :mod:`.topographic`)."""

    per_channel = True

    def __init__(self, in_channels, out_channels, kernel_size=3, size=None, bias=False, init_scale=0.5):
        super().__init__(in_channels, out_channels, kernel_size, size, bias, init_scale)
        if size is None:
            raise ValueError("recurrence type 'local' needs the area's spatial size (H, W)")
        self.lateral = LocalLateral(in_channels, size, kernel_size, bias=bias, init_scale=init_scale)

    def forward(self, h):
        return self.lateral(h)


@_register("localdepthwise")
class LocalDepthwiseRecurrence(Recurrence):
    """Topographic lateral connections, then a depthwise k x k convolution."""

    per_channel = True

    def __init__(self, in_channels, out_channels, kernel_size=3, size=None, bias=False, init_scale=0.5):
        super().__init__(in_channels, out_channels, kernel_size, size, bias, init_scale)
        if size is None:
            raise ValueError("recurrence type 'localdepthwise' needs the area's spatial size (H, W)")
        self.lateral = LocalLateral(in_channels, size, kernel_size, bias=bias, init_scale=init_scale)
        self.depthwise = self._conv(in_channels, in_channels, kernel_size, groups=in_channels, bias=bias)

    def forward(self, h):
        return self.depthwise(self.lateral(h))


SIGNS = ("any", "excitatory")


class NonNegative(nn.Module):
    """Parametrisation ``w = |v|``: connections that can only excite."""

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return v.abs()

    def right_inverse(self, w: torch.Tensor) -> torch.Tensor:
        return w.abs()


def make_recurrence(kind: str, in_channels: int, out_channels: int, sign: str = "any", **kwargs) -> Recurrence:
    """Build the recurrence type registered as ``kind`` (``RECURRENCES.list()`` lists them).

    Args:
        sign: ``"any"`` (weights of either sign) or ``"excitatory"`` (every weight is kept
            non-negative by the parametrisation ``w = |v|``; biases keep any sign).
    """
    from torch.nn.utils import parametrize

    if sign not in SIGNS:
        raise ValueError(f"unknown recurrence sign {sign!r}; valid signs: {', '.join(map(repr, SIGNS))}")
    cls = RECURRENCES.get(kind)
    check_kwargs(f"recurrence type {kind!r}", kwargs, cls.__init__)
    rec = cls(in_channels, out_channels, **kwargs)
    if sign == "excitatory":
        for module in list(rec.modules()):
            if isinstance(getattr(module, "weight", None), nn.Parameter):
                parametrize.register_parametrization(module, "weight", NonNegative())
    return rec


def expected_parameters(kind: str, c_in: int, c_out: int, k: int) -> int:
    """The parameter count formula of each type (bias off), for docs and tests."""
    local = len({dy * dy + dx * dx for dy in range(-(k // 2), k // 2 + 1) for dx in range(-(k // 2), k // 2 + 1)})
    return {
        "none": 0,
        "self": c_out,
        "scalar": 1,
        "full": c_out * c_in * k * k,
        "depthwise": c_in * k * k,
        "pointwise": c_out * c_in,
        "depthpointwise": c_in * k * k + c_out * c_in,
        "pointdepthwise": c_out * c_in + c_out * k * k,
        "local": local,
        "localdepthwise": local + c_in * k * k,
    }[kind]


def combine(mode: str):
    """Return the function that mixes a term into the drive: additive or multiplicative.

    ``additive``: ``x + r``. ``multiplicative``: ``x * (1 + r)`` (gain modulation; a zero
    term leaves the drive unchanged in both modes).
    """
    if mode == "additive":
        return torch.add
    if mode == "multiplicative":
        return lambda x, r: x * (1.0 + r)
    raise ValueError(f"unknown combination mode {mode!r}; valid modes: 'additive', 'multiplicative'")


__all__ = ["RECURRENCES", "SIGNS", "NonNegative", "Recurrence", "make_recurrence", "expected_parameters", "combine"]

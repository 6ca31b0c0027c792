"""CordsNet (Soo, Battista, Radmard & Wang, 2024): a convolutional RNN dynamical system.

Every area is a population of leaky rate units with recurrent convolutions,

    tau dr/dt = -r + relu(Conv_rec(r) + b + Conv_inp(h_inp)),

integrated with forward Euler (``dt = 2 ms``, ``tau = 10 ms``: ``alpha = 0.2`` as in the
paper). ``b`` is a bias per unit (channel x position). A stem (7 x 7 / 2 convolution, 3 x 3 / 2
average pool, no nonlinearity) turns each frame into the input ``h`` at once. CordsNet-R8 has
eight areas in four resolution stages; the input of each area is the output of the area below
plus a residual path from the area two below:

======== ==================== ========= ======== ==========================================
area     input ``h_inp``      channels  stride   residual path into the input
======== ==================== ========= ======== ==========================================
stem     frame                64        2 + 2    (instantaneous, no dynamics)
area1    stem                 64        1        -
area2    area1                64        1        3 x 3 convolution of the stem (no delay)
area3    area2                128       2        area1 (identity)
area4    area3                128       1        1 x 1 / 2 convolution of area2
area5    area4                256       2        area3 (identity)
area6    area5                256       1        1 x 1 / 2 convolution of area4
area7    area6                512       2        area5 (identity)
area8    area7                512       1        1 x 1 / 2 convolution of area6
======== ==================== ========= ======== ==========================================

Areas read each other one step back (``tff = tsk = trc = dt``), and the classifier reads the
sum of the two top areas averaged over space. ``depth`` 2, 4 or 6 keeps the first areas
(CordsNet-R2/R4/R6). Convolutions and the classifier use weight normalisation, as in the
original. The original starts each trial from the spontaneous activity under a blank input:
use ``Simulation(...).run(x, initial_state="steady")`` or :meth:`steady_state`.

Example:
    >>> import torch
    >>> from dynvision.models import CordsNet
    >>> model = CordsNet(n_classes=10, input_dims=(12, 3, 32, 32), width=0.125)
    >>> model(torch.rand(2, 12, 3, 32, 32)).shape
    torch.Size([2, 12, 10])
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Mapping

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm as _weight_norm

from dynvision.dynamics import delay_steps
from dynvision.layers.area import DynamicArea
from dynvision.models._builder import conv_size, scaled
from dynvision.models._zoo import ZooConfig, resolve_taus, zoo_area
from dynvision.models.base import ModelState, RecurrentModel
from dynvision.models.input_stage import InputStage
from dynvision.models.config import _recurrences, param
from dynvision.models.registry import register_model
from dynvision.registry import check_choice

CHANNELS = (64, 64, 64, 128, 128, 256, 256, 512, 512)  # stem, area1 ... area8
STRIDES = (1, 1, 2, 1, 2, 1, 2, 1)  # area1 ... area8
DEPTHS = (2, 4, 6, 8)
OPERATIONS = ("skip", "conv", "recurrence", "nonlinearity", "integrate", "record", "delay")


class SpatialBias(nn.Module):
    """A learned bias per unit (channel x position), starting at zero."""

    def __init__(self, channels: int, size: tuple[int, int]):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels, *size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias

    def extra_repr(self) -> str:
        return f"shape={tuple(self.bias.shape)}"


class Residual(nn.Module):
    """A delayed residual path from one area's output into another area's input.

    Same interface as :class:`~dynvision.layers.connections.Connection` (``source``,
    ``target``, ``kind``, ``delay``), but with CordsNet's own path: identity, a 1 x 1 strided
    convolution or a 3 x 3 convolution.
    """

    kind = "skip"

    def __init__(self, source: str, target: str, path: nn.Module, delay: int):
        super().__init__()
        self.source, self.target, self.delay, self.path = source, target, int(delay), path

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.path(h)

    def extra_repr(self) -> str:
        return f"{self.source} -> {self.target} (delay={self.delay} steps)"


@dataclass(frozen=True)
class CordsNetConfig(ZooConfig):
    """CordsNet's options (see :class:`~dynvision.models._zoo.ZooConfig`)."""

    input_dims: tuple = param((100, 3, 224, 224), "dims", doc="(time, channels, height, width) of the input")
    tau_ms: float | Mapping[str, float] = param(10.0, "per_area_ms", lo=0, doc="time constant of area1..N, or {area: ms}")
    tff_ms: float | None = param(None, "ms", lo=0, allow_none=True, doc="delay between areas (None: one step)")
    tsk_ms: float | None = param(None, "ms", lo=0, allow_none=True, doc="delay of the residual paths (None: one step)")
    depth: int = param(8, "int", lo=1, hi=8, doc="number of recurrent areas: 2, 4, 6 or 8")
    recurrence_type: str = param("full", "choice", choices=_recurrences, doc="recurrent connections per area")
    weight_norm: bool = param(True, "bool", doc="weight-normalise the convolutions and the classifier")

    def validate(self) -> None:
        check_choice("CordsNet depth", self.depth, DEPTHS)


@register_model("CordsNet")
class CordsNet(RecurrentModel):
    """CordsNet-R8 (or R2/R4/R6) with areas stem, area1 ... area8 (see the module docstring).

    Args:
        n_classes: Classes of the output layer.
        input_dims: (time, channels, height, width).
        dt: Integration step (ms).
        tau: Time constant (ms) of area1 ... areaN, one number or ``{area: ms}``; the stem is
            always instantaneous.
        integrator: ``"euler"`` (the original) or ``"exponential"``.
        tff: Delay from one area to the next (ms; ``None``: one step); the classifier reads
            the top areas undelayed.
        trc: Recurrent delay (ms, >= dt; ``None``: one step).
        tsk: Delay of the residual paths between areas (ms; ``None``: one step); the path
            from the stem has none, as in the original.
        depth: Number of recurrent areas: 2, 4, 6 or 8.
        recurrence_type: Recurrent connections in each area (``"full"``: a 3 x 3 convolution).
        recurrence_kernel: Kernel size of the recurrent connections.
        weight_norm: Weight-normalise the convolutions and the classifier.
        train_tau: Learn the time constants.
        width: Multiplies every channel count.
    """

    config_class = CordsNetConfig

    def __init__(self, config: CordsNetConfig | None = None, /, **kwargs):
        super().__init__(config, **kwargs)
        c = self.config
        dt, tau, integrator, tff, trc, tsk = c.dt_ms, c.tau_ms, c.integrator, c.tff_ms, c.trc_ms, c.tsk_ms
        depth, width, weight_norm, train_tau = c.depth, c.width, c.weight_norm, c.train_tau
        recurrence_type, recurrence_kernel = c.recurrence_type, c.recurrence_kernel
        _, channels, h, w = self.input_dims
        norm = _weight_norm if weight_norm else (lambda m: m)
        self.input_stage = InputStage(channels)
        names = [f"area{i}" for i in range(1, depth + 1)]
        taus = resolve_taus(tau, dt, names)
        chans = [scaled(c, width) for c in CHANNELS[:depth + 1]]
        tff = dt if tff is None else tff
        tsk_steps = delay_steps(dt if tsk is None else tsk, dt, "tsk_ms")

        stem = nn.Sequential(OrderedDict([
            ("conv", norm(nn.Conv2d(channels, chans[0], 7, stride=2, padding=3, bias=False))),
            ("pool", nn.AvgPool2d(3, stride=2, padding=1))]))
        size = conv_size(conv_size((h, w), 7, 2, 3), 3, 2, 1)
        self.areas = nn.ModuleDict()
        self.areas["stem"] = zoo_area(
            "stem", stem, dt=dt, tau=dt, integrator="euler", in_channels=channels, out_channels=chans[0],
            in_size=(h, w), size=size, operations=("conv", "integrate", "record", "delay"),
            recurrence_type="none", tff=0.0, activation=nn.Identity())
        for i, name in enumerate(names, start=1):
            area_size = conv_size(size, 3, STRIDES[i - 1], 1)
            ff = nn.Sequential(OrderedDict([
                ("conv", norm(nn.Conv2d(chans[i - 1], chans[i], 3, stride=STRIDES[i - 1], padding=1, bias=False))),
                ("bias", SpatialBias(chans[i], area_size))]))
            area = zoo_area(
                name, ff, dt=dt, tau=taus[name], integrator=integrator, in_channels=chans[i - 1],
                out_channels=chans[i], in_size=size, size=area_size, operations=OPERATIONS,
                recurrence_type=recurrence_type, recurrence_kernel=recurrence_kernel, recurrence_bias=False,
                tff=0.0 if i == depth else tff, trc=trc, train_tau=train_tau)
            for m in area.recurrence.modules():
                if isinstance(m, nn.Conv2d):
                    norm(m)
            self.areas[name] = area
            size = area_size
        self._add_residuals(chans, norm, tsk_steps)
        self.classifier = norm(nn.Linear(chans[-1], c.n_classes))

    def _add_residuals(self, chans: list[int], norm, tsk_steps: int) -> None:
        names = self.area_names  # stem, area1, ...
        for i in range(2, len(names)):
            src, tgt = names[i - 2], names[i]
            if i == 2:  # the stem's output, through a 3 x 3 convolution, at once
                path, delay = norm(nn.Conv2d(chans[0], chans[1], 3, padding=1, bias=False)), 0
            elif i % 2:  # same channels and size: identity
                path, delay = nn.Identity(), tsk_steps
            else:  # one stage down: 1 x 1 convolution with stride 2
                path, delay = norm(nn.Conv2d(chans[i - 2], chans[i - 1], 1, stride=2, bias=False)), tsk_steps
            self.connections.append(Residual(src, tgt, path, delay))
            source: DynamicArea = self.areas[src]
            source.history_length = max(source.history_length, delay + 1)
        self._finish_wiring()

    def readout(self, output: torch.Tensor, state: ModelState) -> torch.Tensor:
        """The two top areas added and averaged over space, as in the original."""
        return (output + state.areas[-2].v).mean(dim=(-2, -1))

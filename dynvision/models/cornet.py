"""CORnet-RT (Kubilius et al., 2018): four recurrent areas V1, V2, V4, IT.

Each area has an input stage (a strided convolution, group norm, ReLU) on the output of the
area below, adds its own state of the previous step, and passes the sum through a 3 x 3
convolution, group norm and ReLU to get its new state::

    inp   = relu(norm_input(conv_input(output of the area below, one step ago)))
    state = relu(norm1(conv1(inp + g * state one step ago)))

``g`` is a per-channel gain (recurrence type ``"self"``) that starts at 1, CORnet-RT's plain
sum; the recurrent path therefore reuses ``conv1``, CORnet-RT's "recurrent convolution on
the area state". In dynvision terms each area is two-stage (``conv`` = the input stage,
``conv2`` = ``conv1``) with the recurrence entering between the stages. Areas reach the next
one after one step (``tff = dt``) and the state reads itself one step back (``trc = dt``).

====== =============================== ==============================
area   input stage                     channels / size (224 px input)
====== =============================== ==============================
V1     7 x 7 / 4 convolution           64 / 56 x 56
V2     3 x 3 / 2 convolution           128 / 28 x 28
V4     3 x 3 / 2 convolution           256 / 14 x 14
IT     3 x 3 / 2 convolution           512 / 7 x 7
====== =============================== ==============================

The classifier reads IT averaged over space. By default (``integrator="euler"``,
``tau = dt``) the state is replaced every step as in the original; ``tau > dt`` makes it leaky.
Differences from the original: the input stage of V2-IT also runs (on zeros) in the first
step instead of being skipped, and the gain ``g`` is learnable (960 parameters at width 1).

Example:
    >>> import torch
    >>> from dynvision.models import CorNetRT
    >>> model = CorNetRT(n_classes=10, input_dims=(5, 3, 64, 64), width=0.25)
    >>> model(torch.rand(2, 5, 3, 64, 64)).shape
    torch.Size([2, 5, 10])
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from torch import nn

from dynvision.models._builder import conv_size, scaled
from dynvision.models._zoo import ZooConfig, group_norm, resolve_taus, zoo_area
from dynvision.models.base import RecurrentModel
from dynvision.models.input_stage import InputStage
from dynvision.models.config import _recurrences, param
from dynvision.models.registry import register_model

# name, channels, kernel and stride of the input convolution
SPECS = (("V1", 64, 7, 4), ("V2", 128, 3, 2), ("V4", 256, 3, 2), ("IT", 512, 3, 2))
OPERATIONS = ("conv", "recurrence", "conv2", "norm", "nonlinearity", "integrate", "record", "delay")


@dataclass(frozen=True)
class CorNetRTConfig(ZooConfig):
    """CORnet-RT's options (see :class:`~dynvision.models._zoo.ZooConfig`)."""

    input_dims: tuple = param((5, 3, 224, 224), "dims", doc="(time, channels, height, width) of the input")
    tff_ms: float | None = param(None, "ms", lo=0, allow_none=True, doc="delay between areas (None: one step)")
    recurrence_type: str = param("self", "choice", choices=_recurrences,
                                 doc="how the previous state enters before conv1 (self: CORnet-RT's sum)")


@register_model("CorNetRT")
class CorNetRT(RecurrentModel):
    """CORnet-RT with areas V1, V2, V4, IT (see the module docstring).

    Args:
        n_classes: Classes of the output layer.
        input_dims: (time, channels, height, width).
        dt: Integration step (ms).
        tau: Time constant (ms), one number or ``{area: ms}``; ``None`` (default) means
            ``tau = dt``: with Euler the state is replaced every step (CORnet-RT). ``tau > dt``:
            leaky.
        integrator: ``"euler"`` or ``"exponential"``.
        tff: Delay from one area to the next (ms; ``None``: one step, as in CORnet-RT);
            the classifier reads IT undelayed.
        trc: Recurrent delay (ms, >= dt; ``None``: one step).
        recurrence_type: How the previous state enters before ``conv1``: ``"self"`` (a
            per-channel gain starting at 1, CORnet-RT), ``"none"``, or any other type.
        recurrence_kernel: Kernel size for spatial recurrence types.
        train_tau: Learn the time constants.
        width: Multiplies every channel count (64, 128, 256, 512 at width 1).
    """

    config_class = CorNetRTConfig

    def __init__(self, config: CorNetRTConfig | None = None, /, **kwargs):
        super().__init__(config, **kwargs)
        c = self.config
        dt, tau, integrator, tff, trc, width = c.dt_ms, c.tau_ms, c.integrator, c.tff_ms, c.trc_ms, c.width
        recurrence_type, recurrence_kernel, train_tau = c.recurrence_type, c.recurrence_kernel, c.train_tau
        _, channels, h, w = self.input_dims
        self.input_stage = InputStage(channels)
        taus = resolve_taus(tau, dt, [s[0] for s in SPECS])
        self.areas = nn.ModuleDict()
        cin, size = channels, (h, w)
        for name, ch, kernel, stride in SPECS:
            cout = scaled(ch, width)
            area_size = conv_size(size, kernel, stride, kernel // 2)
            input_stage = nn.Sequential(OrderedDict([
                ("conv_input", nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)),
                ("norm_input", group_norm(cout)), ("nonlin_input", nn.ReLU())]))
            area = zoo_area(
                name, input_stage, dt=dt, tau=taus[name], integrator=integrator, in_channels=cin,
                out_channels=cout, in_size=size, size=area_size, operations=OPERATIONS,
                conv2=nn.Conv2d(cout, cout, 3, padding=1, bias=False), mid_channels=cout,
                mid_size=area_size, recurrence_type=recurrence_type, recurrence_kernel=recurrence_kernel,
                tff=0.0 if name == "IT" else (dt if tff is None else tff), trc=trc, train_tau=train_tau,
                norm=group_norm(cout))
            for conv in (input_stage.conv_input, area.conv2):
                nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            if recurrence_type == "self":
                nn.init.ones_(area.recurrence.weight)
            self.areas[name] = area
            cin, size = cout, area_size
        self.wire()
        self.classifier = nn.Linear(cin, c.n_classes)

"""ResNets (He et al., 2016) as dynamic systems: one area per residual stage.

The four stages of a ResNet are four areas; the stem (7 x 7 / 2 convolution, batch norm,
ReLU, 3 x 3 / 2 max-pool) is folded into the first area's feedforward module, and the
classifier reads the top area averaged over space (global average pooling):

====== ================ ============= ================================
area   stage            output size   channels (BasicBlock/Bottleneck)
====== ================ ============= ================================
V1     stem + layer1    1/4           64 / 256
V2     layer2           1/8           128 / 512
V4     layer3           1/16          256 / 1024
IT     layer4           1/32          512 / 2048
====== ================ ============= ================================

The blocks follow torchvision's layout and names (``conv1``, ``bn1``, ..., ``downsample``;
Bottleneck strides in its 3 x 3 convolution, "ResNet v1.5"), so parameter counts match:
ResNet18 11.7 M, ResNet34 21.8 M, ResNet50 25.6 M, ResNet101 44.5 M, ResNet152 60.2 M
(1000 classes). By default (``integrator="euler"``, ``tau = dt``, ``tff = 0``) every frame is
processed by the static ResNet; ``tau > dt`` makes each stage a leaky integrator.

Example:
    >>> import torch
    >>> from dynvision.models import ResNet18
    >>> model = ResNet18(n_classes=10, input_dims=(4, 3, 32, 32), width=0.25)
    >>> model(torch.rand(2, 4, 3, 32, 32)).shape
    torch.Size([2, 4, 10])
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Mapping, Sequence

import torch
from torch import nn

from dynvision.layers.operations import default_operations
from dynvision.models._builder import conv_size, scaled
from dynvision.models._zoo import ZooConfig, resolve_taus, zoo_area
from dynvision.models.base import RecurrentModel
from dynvision.models.input_stage import InputStage
from dynvision.models.config import _forms, param
from dynvision.models.registry import register_model

AREAS = ("V1", "V2", "V4", "IT")
STAGE_WIDTHS = (64, 128, 256, 512)


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3 x 3 convolutions with a residual connection (ResNet18/34)."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1, self.bn1 = conv3x3(cin, planes, stride), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv3x3(planes, planes), nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.downsample = _downsample(cin, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1 x 1 reduce, 3 x 3 (strided), 1 x 1 expand (x4), with a residual connection."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1, self.bn1 = conv1x1(cin, planes), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv3x3(planes, planes, stride), nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = conv1x1(planes, planes * self.expansion), nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = _downsample(cin, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


def _downsample(cin: int, cout: int, stride: int) -> nn.Module | None:
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(conv1x1(cin, cout, stride), nn.BatchNorm2d(cout))


def make_stage(block: type[BasicBlock] | type[Bottleneck], cin: int, planes: int, blocks: int,
               stride: int) -> nn.Sequential:
    """``blocks`` residual blocks; the first one strides and changes the channels."""
    layers = [block(cin, planes, stride)]
    layers += [block(planes * block.expansion, planes) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class ResNetConfig(ZooConfig):
    """The ResNet family's options (see :class:`~dynvision.models._zoo.ZooConfig`)."""

    dynamics: str = param("rate", "choice", choices=_forms, doc="dynamics form: rate, voltage or dynvision")
    zero_init_residual: bool = param(False, "bool", doc="start every block's last batch norm at zero")


class ResNet(RecurrentModel):
    """Base of the ResNet family; subclasses set ``block`` and ``layers`` (blocks per stage).

    Args:
        n_classes: Classes of the output layer.
        input_dims: (time, channels, height, width).
        dt: Integration step (ms).
        tau: Time constant (ms), one number or ``{area: ms}``; ``None`` (default) means
            ``tau = dt``: with Euler, every step is the static network. ``tau > dt``: leaky.
        integrator: ``"euler"`` or ``"exponential"``.
        tff: Feedforward delay between areas (ms); the classifier reads IT undelayed.
        trc: Recurrent delay (ms, >= dt; ``None``: one step).
        recurrence_type: Lateral recurrence on each stage's output (``"none"``: feedforward).
        recurrence_kernel: Kernel size of the recurrent connections.
        dynamics: Dynamics form: rate, voltage or dynvision.
        train_tau: Learn the time constants.
        width: Multiplies every channel count (64, 128, 256, 512 at width 1).
        zero_init_residual: Start the last batch norm of every block at zero (each block
            starts as the identity).
    """

    block: type[BasicBlock] | type[Bottleneck] = BasicBlock
    layers: tuple[int, int, int, int] = (2, 2, 2, 2)

    config_class = ResNetConfig

    def __init__(self, config: ResNetConfig | None = None, /, **kwargs):
        super().__init__(config, **kwargs)
        c = self.config
        dt, tau, integrator, tff, trc, width = c.dt_ms, c.tau_ms, c.integrator, c.tff_ms, c.trc_ms, c.width
        _, channels, h, w = self.input_dims
        self.input_stage = InputStage(channels)
        taus = resolve_taus(tau, dt, AREAS)
        operations = default_operations(c.dynamics)
        block = self.block
        stem_out = scaled(64, width)
        stem = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(channels, stem_out, 7, stride=2, padding=3, bias=False)),
            ("bn1", nn.BatchNorm2d(stem_out)), ("relu", nn.ReLU()),
            ("maxpool", nn.MaxPool2d(3, stride=2, padding=1))]))
        self.areas = nn.ModuleDict()
        cin, size = channels, (h, w)
        for i, (name, planes, blocks) in enumerate(zip(AREAS, STAGE_WIDTHS, self.layers)):
            planes, stride = scaled(planes, width), 1 if i == 0 else 2
            stage = make_stage(block, stem_out if i == 0 else cin, planes, blocks, stride)
            parts = [(f"layer{i + 1}", stage)]
            in_size = size
            if i == 0:
                parts.insert(0, ("stem", stem))
                size = conv_size(conv_size(size, 7, 2, 3), 3, 2, 1)
            size = conv_size(size, 3, stride, 1)
            cout = planes * block.expansion
            self.areas[name] = zoo_area(
                name, nn.Sequential(OrderedDict(parts)), dt=dt, tau=taus[name], integrator=integrator,
                in_channels=cin, out_channels=cout, in_size=in_size, size=size, operations=operations,
                recurrence_type=c.recurrence_type, recurrence_kernel=c.recurrence_kernel,
                tff=0.0 if name == "IT" else tff, trc=trc, dynamics=c.dynamics, train_tau=c.train_tau)
            cin = cout
        self.wire()
        self.classifier = nn.Linear(cin, c.n_classes)
        self._init_weights(c.zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for area in self.areas.values():
            for m in area.conv.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                if zero_init_residual and isinstance(m, (BasicBlock, Bottleneck)):
                    nn.init.zeros_((m.bn3 if isinstance(m, Bottleneck) else m.bn2).weight)


@register_model("ResNet18")
class ResNet18(ResNet):
    """ResNet-18: BasicBlocks, (2, 2, 2, 2) per stage."""

    block, layers = BasicBlock, (2, 2, 2, 2)


@register_model("ResNet34")
class ResNet34(ResNet):
    """ResNet-34: BasicBlocks, (3, 4, 6, 3) per stage."""

    block, layers = BasicBlock, (3, 4, 6, 3)


@register_model("ResNet50")
class ResNet50(ResNet):
    """ResNet-50: Bottlenecks, (3, 4, 6, 3) per stage."""

    block, layers = Bottleneck, (3, 4, 6, 3)


@register_model("ResNet101")
class ResNet101(ResNet):
    """ResNet-101: Bottlenecks, (3, 4, 23, 3) per stage."""

    block, layers = Bottleneck, (3, 4, 23, 3)


@register_model("ResNet152")
class ResNet152(ResNet):
    """ResNet-152: Bottlenecks, (3, 8, 36, 3) per stage."""

    block, layers = Bottleneck, (3, 8, 36, 3)

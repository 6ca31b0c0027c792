"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012) as a dynamic system.

The five convolutional layers are five areas; the classic head (6 x 6 average pool, two
4096-unit fully connected layers with dropout, linear output) reads the top area at every
step. Layers map to visual areas by the usual convention (conv3 ~ V4, conv5 ~ IT):

====== ======================================= =========================
area   layer                                    channels (width = 1)
====== ======================================= =========================
V1     conv1 11 x 11 / 4, ReLU, max-pool 3 / 2  64
V2     conv2 5 x 5, ReLU, max-pool 3 / 2        192
V4     conv3 3 x 3, ReLU                        384
pIT    conv4 3 x 3, ReLU (posterior IT, TEO)    256
IT     conv5 3 x 3, ReLU, max-pool 3 / 2        256
====== ======================================= =========================

By default (``integrator="euler"``, ``tau = dt``, ``tff = 0``) every frame is processed by the
static AlexNet; ``tau > dt`` makes each area a leaky integrator of its drive, ``tff`` delays
the output of each area, and ``recurrence_type`` adds lateral recurrence. Inputs must be at
least 63 x 63 pixels (the three max-pools need it).

Example:
    >>> import torch
    >>> from dynvision.models import AlexNet
    >>> model = AlexNet(n_classes=10, input_dims=(4, 3, 64, 64), width=0.25)
    >>> model(torch.rand(2, 4, 3, 64, 64)).shape
    torch.Size([2, 4, 10])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dynvision.layers.operations import default_operations
from dynvision.models._builder import conv_size, scaled
from dynvision.models._zoo import ZooConfig, resolve_taus, zoo_area
from dynvision.models.base import ModelState, RecurrentModel
from dynvision.models.input_stage import InputStage
from dynvision.models.config import _forms, param
from dynvision.models.registry import register_model

# name, channels, kernel, stride, padding, max-pool after the area
LAYERS = (
    ("V1", 64, 11, 4, 2, True),
    ("V2", 192, 5, 1, 2, True),
    ("V4", 384, 3, 1, 1, False),
    ("pIT", 256, 3, 1, 1, False),
    ("IT", 256, 3, 1, 1, True),
)
MIN_SIZE = 63  # smallest input (pixels) for which the pooled conv5 map is at least 1 x 1
HEAD_GRID = 6  # the classifier reads a 6 x 6 average-pooled map


@dataclass(frozen=True)
class AlexNetConfig(ZooConfig):
    """AlexNet's options (see :class:`~dynvision.models._zoo.ZooConfig`)."""

    dynamics: str = param("rate", "choice", choices=_forms, doc="dynamics form: rate, voltage or dynvision")
    dropout: float = param(0.5, "number", lo=0, hi=1, hi_open=True, doc="dropout probability in the classifier")


@register_model("AlexNet")
class AlexNet(RecurrentModel):
    """AlexNet with five dynamic areas V1, V2, V4, pIT, IT (see the module docstring).

    Args:
        n_classes: Classes of the output layer.
        input_dims: (time, channels, height, width); height and width >= 63.
        dt: Integration step (ms).
        tau: Time constant (ms), one number or ``{area: ms}``; ``None`` (default) means
            ``tau = dt``: with Euler, every step is the static network. ``tau > dt``: leaky.
        integrator: ``"euler"`` or ``"exponential"``.
        tff: Feedforward delay between areas (ms); the classifier reads IT undelayed.
        trc: Recurrent delay (ms, >= dt; ``None``: one step).
        recurrence_type: Lateral recurrence in every area (``"none"``: feedforward).
        recurrence_kernel: Kernel size of the recurrent connections.
        dynamics: Dynamics form: rate, voltage or dynvision.
        train_tau: Learn the time constants.
        width: Multiplies every channel count, the fully connected layers included.
        dropout: Dropout probability in the classifier.
    """

    config_class = AlexNetConfig

    def __init__(self, config: AlexNetConfig | None = None, /, **kwargs):
        super().__init__(config, **kwargs)
        c = self.config
        dt, tau, integrator, tff, trc = c.dt_ms, c.tau_ms, c.integrator, c.tff_ms, c.trc_ms
        _, channels, h, w = self.input_dims
        if min(h, w) < MIN_SIZE:
            raise ValueError(f"AlexNet needs inputs of at least {MIN_SIZE} x {MIN_SIZE} pixels (its three "
                             f"max-pools shrink smaller maps to nothing), got input_dims={self.input_dims}")
        width, dropout = c.width, c.dropout
        self.input_stage = InputStage(channels)
        taus = resolve_taus(tau, dt, [layer[0] for layer in LAYERS])
        operations = default_operations(c.dynamics)
        self.areas = nn.ModuleDict()
        cin, size = channels, (h, w)
        for name, ch, kernel, stride, pad, pool in LAYERS:
            cout = scaled(ch, width)
            area_size = conv_size(size, kernel, stride, pad)
            self.areas[name] = zoo_area(
                name, nn.Conv2d(cin, cout, kernel, stride=stride, padding=pad), dt=dt, tau=taus[name],
                integrator=integrator, in_channels=cin, out_channels=cout, in_size=size, size=area_size,
                operations=operations, recurrence_type=c.recurrence_type, recurrence_kernel=c.recurrence_kernel,
                tff=0.0 if name == "IT" else tff, trc=trc, dynamics=c.dynamics, train_tau=c.train_tau,
                pool=nn.MaxPool2d(3, 2) if pool else None)
            cin, size = cout, self.areas[name].out_size
        self.wire()
        hidden = scaled(4096, width)
        # the torchvision layout (indices 1, 4, 6 hold the linear layers)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(cin * HEAD_GRID * HEAD_GRID, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, c.n_classes))

    def readout(self, output: torch.Tensor, state: ModelState) -> torch.Tensor:
        """The pooled conv5 map averaged to 6 x 6 and flattened, as in the original head."""
        return F.adaptive_avg_pool2d(output, HEAD_GRID).flatten(1)

"""DyRCNN: recurrent convolutional networks with continuous-time dynamics (V1 -> V2 -> V4 -> IT).

The DynVision family: each area is a convolution whose units follow leaky dynamics with time
constant ``tau``, recurrent connections of a chosen type read ``trc`` ms in the past, outputs
reach the next area after ``tff`` ms, skip connections (V1 -> V4, V2 -> IT) after ``tsk`` ms
and feedback connections (V4 -> V1, IT -> V2) after ``tfb`` ms. All times in ms.

Example:
    >>> import torch
    >>> from dynvision.models import DyRCNNx4
    >>> model = DyRCNNx4(n_classes=10, input_dims=(20, 3, 64, 64), recurrence_type="full",
    ...                  dt=2, tau=5, tff=8, trc=4)
    >>> model(torch.randn(1, 20, 3, 64, 64)).shape
    torch.Size([1, 20, 10])
"""

from __future__ import annotations

from typing import Mapping, Sequence

from torch import nn

from dynvision.layers.gain import AdaptiveGain
from dynvision.layers.retina import Retina
from dynvision.models._builder import AreaSpec, build_areas, scaled
from dynvision.models.base import InputStage, RecurrentModel, capture_config
from dynvision.models.registry import register_model


class DyRCNN(RecurrentModel):
    """Base of the DyRCNN family; subclasses define ``specs``, ``skips`` and ``feedbacks``.

    Args:
        n_classes: Classes of the classifier.
        input_dims: (time, channels, height, width) of the input.
        dt: Integration step (ms).
        tau: Time constant (ms), one number or ``{area: ms}``.
        tff: Feedforward delay (ms).
        trc: Recurrent delay (ms, >= dt).
        tsk: Skip-connection delay (ms).
        tfb: Feedback delay (ms, >= dt).
        recurrence_type: none, self, full, depthwise, pointwise, depthpointwise, pointdepthwise,
            local or localdepthwise.
        recurrence_target: Where the recurrent term enters: input, middle (two-stage areas) or output.
        recurrence_mode: additive or multiplicative.
        recurrence_kernel: Kernel size of the recurrent connections.
        recurrence_bound: Keep each area's recurrent gain (operator norm) at most this value;
            below 1 every area has one stable steady state whatever the weights learn.
        skip: Turn the skip connections on.
        feedback: Turn the feedback connections on.
        feedback_mode: additive or multiplicative.
        dynamics: Dynamics form: rate, voltage or dynvision (see ``layers.operations``).
        integrator: exponential or euler.
        activation: Activation name (relu, supralinear, ...).
        supralinearity: Exponent of the supralinear activation.
        norm: Normalisation (none, batch, group, layer, instance).
        retina: Put a centre-surround retina stage in front of V1.
        input_gain: Strength of the adaptive input gain (0 = off).
        tau_gain: Time constant of the input gain's trace (ms).
        gain_mode: divisive (contrast-gain control) or subtractive (a transient, high-pass
            input that gives OFF units offset responses); see ``layers.gain``.
        adaptation: Strength of per-area activity adaptation (0 = off).
        tau_adaptation: Time constant of the per-area adaptation (ms).
        train_tau: Learn the time constants.
        bias: Biases in the feedforward convolutions.
        width: Multiplies every area's channel count (small variants for quick work).
        operations: Custom per-step operation order (see ``layers.operations``).
    """

    specs: Sequence[AreaSpec] = ()
    skips: Sequence[tuple[str, str]] = ()
    feedbacks: Sequence[tuple[str, str]] = ()

    @capture_config
    def __init__(self, n_classes: int = 10, input_dims: Sequence[int] = (20, 3, 64, 64), *,
                 dt: float = 2.0, tau: float | Mapping[str, float] = 5.0, tff: float = 0.0,
                 trc: float = 6.0, tsk: float = 0.0, tfb: float = 30.0,
                 recurrence_type: str = "full", recurrence_target: str = "output",
                 recurrence_mode: str = "additive", recurrence_kernel: int = 3,
                 recurrence_bound: float | None = None,
                 skip: bool = True, feedback: bool = False, feedback_mode: str = "additive",
                 dynamics: str = "rate", integrator: str = "etd2",
                 activation: str = "relu", supralinearity: float = 2.0, norm: str | None = None,
                 retina: bool = False, input_gain: float = 0.0, tau_gain: float = 100.0,
                 gain_mode: str = "divisive", adaptation: float = 0.0, tau_adaptation: float = 100.0, train_tau: bool = False,
                 bias: bool = True, width: float = 1.0, operations: Sequence[str] | None = None):
        super().__init__(n_classes, input_dims, dt)
        if width <= 0:
            raise ValueError(f"width must be > 0, got {width}")
        _, channels, h, w = self.input_dims
        front = Retina(channels) if retina else None
        gain = AdaptiveGain(input_gain, tau_gain, dt, gain_mode) if input_gain > 0 else None
        self.input_stage = InputStage(channels, retina=front, gain=gain)
        specs = [AreaSpec(s.name, scaled(s.channels, width), s.kernel, s.stride, s.pool,
                          None if s.mid_channels is None else scaled(s.mid_channels, width), s.stride2)
                 for s in self.specs]
        self.areas = build_areas(
            specs, self.input_stage.out_channels, (h, w), dt=dt, tau=tau, tff=tff, trc=trc,
            recurrence_type=recurrence_type, recurrence_target=recurrence_target,
            recurrence_mode=recurrence_mode, recurrence_kernel=recurrence_kernel,
            recurrence_bound=recurrence_bound, dynamics=dynamics,
            integrator=integrator, activation=activation, supralinearity=supralinearity, norm=norm,
            adaptation=adaptation, tau_adaptation=tau_adaptation, train_tau=train_tau, bias=bias,
            operations=operations)
        self.wire(self.skips if skip else (), self.feedbacks if feedback else (), tsk=tsk, tfb=tfb,
                  feedback_mode=feedback_mode)
        top = specs[-1].channels
        self.classifier = nn.Linear(top, n_classes)
        nn.init.trunc_normal_(self.classifier.weight, std=0.01)
        nn.init.zeros_(self.classifier.bias)


@register_model("DyRCNNx2")
class DyRCNNx2(DyRCNN):
    """Two areas (V1, V2): 36 and 64 channels, 3x3 kernels, max-pooling after V1."""

    specs = (AreaSpec("V1", 36, pool=(3, 2, 1)), AreaSpec("V2", 64))
    feedbacks = (("V2", "V1"),)


@register_model("DyRCNNx4")
class DyRCNNx4(DyRCNN):
    """Four areas V1 (36), V2 (64), V4 (121), IT (256): the DynVision DyRCNNx4 layout."""

    specs = (
        AreaSpec("V1", 36, pool=(3, 2, 1)),
        AreaSpec("V2", 64, pool=(3, 2, 1)),
        AreaSpec("V4", 121),
        AreaSpec("IT", 256, stride=2),
    )
    skips = (("V1", "V4"), ("V2", "IT"))
    feedbacks = (("V4", "V1"), ("IT", "V2"))


@register_model("DyRCNNx8")
class DyRCNNx8(DyRCNN):
    """Four two-stage areas (eight convolutions): V1 (64), V2 (144), V4 (256), IT (529)."""

    specs = (
        AreaSpec("V1", 64, kernel=5, stride=2, pool=(3, 2, 1), mid_channels=64),
        AreaSpec("V2", 144, stride=2, pool=(3, 2, 1), mid_channels=144),
        AreaSpec("V4", 256, stride=2, mid_channels=256),
        AreaSpec("IT", 529, stride=2, mid_channels=529),
    )
    skips = (("V1", "V4"), ("V2", "IT"))
    feedbacks = (("V4", "V1"), ("IT", "V2"))

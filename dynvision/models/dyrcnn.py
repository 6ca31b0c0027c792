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

from dataclasses import dataclass
from typing import Mapping, Sequence

from torch import nn

from dynvision.dynamics import delay_steps
from dynvision.layers.gain import MODES as GAIN_MODES
from dynvision.layers.gain import AdaptiveGain
from dynvision.layers.retina import Retina
from dynvision.models._builder import AreaSpec, build_areas, scaled
from dynvision.models.base import RecurrentModel
from dynvision.models.input_stage import InputStage
from dynvision.config import same_as
from dynvision.layers.config import AreaConfig
from dynvision.layers.connections import RESAMPLE_MODES
from dynvision.models.config import MODES, ModelConfig, param
from dynvision.models.registry import register_model
from dynvision.validation import InvalidValueError


def _activations() -> list[str]:
    from dynvision.layers.activation import ACTIVATIONS

    return ACTIVATIONS.list()


NORMS = ("none", "batch", "group", "layer", "instance")


@dataclass(frozen=True)
class DyRCNNConfig(ModelConfig):
    """Options of the DyRCNN family (DyRCNNx2, DyRCNNx4, DyRCNNx8); times in ms."""

    dt_ms: float = same_as(AreaConfig, "dt_ms")
    tin_ms: float = param(0.0, "ms", lo=0, doc="input delay: from the stimulus to V1 (retina and LGN)")
    tau_ms: float | Mapping[str, float] = param(5.0, "per_area_ms", lo=0, doc="time constant, or {area: ms}")
    tff_ms: float = param(0.0, "ms", lo=0, doc="feedforward delay")
    trc_ms: float = param(6.0, "ms", lo=0, doc="recurrent delay (>= dt)")
    tsk_ms: float = param(0.0, "ms", lo=0, doc="skip-connection delay")
    tfb_ms: float = param(30.0, "ms", lo=0, doc="feedback delay (>= dt)")
    recurrence_type: str = same_as(AreaConfig, "recurrence_type", doc="lateral recurrence in every area")
    recurrence_target: str = param("output", "choice", choices=("input", "middle", "output"),
                                   doc="where the recurrent term enters (middle: two-stage areas)")
    recurrence_mode: str = same_as(AreaConfig, "recurrence_mode")
    recurrence_kernel: int = same_as(AreaConfig, "recurrence_kernel")
    recurrence_sign: str = same_as(AreaConfig, "recurrence_sign")
    recurrence_bound: float | None = same_as(AreaConfig, "recurrence_bound",
                                             doc="largest loop gain of each area's recurrence: operator norm x largest "
                                                 "slope of the activation (None: unbounded)")
    recurrence_gain: float | None = same_as(AreaConfig, "recurrence_gain")
    recurrence_bias: bool = same_as(AreaConfig, "recurrence_bias")
    skip: bool = param(True, "bool", doc="skip connections V1 -> V4 and V2 -> IT")
    feedback: bool = param(False, "bool", doc="feedback connections V4 -> V1 and IT -> V2")
    feedback_mode: str = param("additive", "choice", choices=MODES, doc="how feedback enters")
    connection_bias: bool = param(False, "bool", doc="biases in the skip/feedback 1 x 1 convolutions")
    connection_resample: str = param("area", "choice", choices=RESAMPLE_MODES,
                                     doc="how skip connections shrink their source: area (average) or nearest")
    delay_fill: str = same_as(AreaConfig, "delay_fill")
    normalize_input: bool = param(True, "bool", doc="map grey 0.5 to 0 and 0.25 to 1 (False: raw input, as DynVision)")
    dynamics: str = same_as(AreaConfig, "dynamics")
    integrator: str = same_as(AreaConfig, "integrator", doc="etd2 (2nd order), exponential or euler")
    activation: str = param("relu", "choice", choices=_activations, doc="activation phi")
    supralinearity: float = param(2.0, "number", lo=0, lo_open=True, hi=10, doc="exponent of the supralinear activation")
    supralinear_limit: float | None = param(None, "number", lo=0, lo_open=True, hi=1e3, allow_none=True,
                                            doc="drive above which the supralinear activation continues linearly "
                                                "(a bounded slope, so recurrence_bound holds; None: pure power law)")
    norm: str | None = param(None, "choice", choices=NORMS, allow_none=True, doc="normalisation layer per area")
    retina: bool = param(False, "bool", doc="a centre-surround retina stage in front of V1")
    hex_extent: int | None = param(None, "int", lo=1, hi=200, allow_none=True,
                                   doc="a hexagonal receptor front stage with this many rings (None: off)")
    hex_kernel_size: int = param(13, "int", lo=1, hi=999, doc="side of each receptor's box (canvas pixels)")
    input_gain: float = param(0.0, "number", lo=0, hi=1e3, doc="strength of the adaptive input gain (0: off)")
    tau_gain_ms: float = param(100.0, "ms", lo=0, lo_open=True, doc="time constant of the input gain's trace")
    gain_mode: str = param("divisive", "choice", choices=("divisive", "subtractive"), doc="input gain mode")
    input_transient: float = param(0.0, "number", lo=0, hi=1e3,
                                   doc="add transient input channels (input minus this times its trace; 0: off)")
    tau_transient_ms: float = param(50.0, "ms", lo=0, lo_open=True, doc="time constant of the transient channels")
    adaptation: float | Mapping[str, float] = param(0.0, "per_area", lo=0, hi=1e3,
                                                    doc="strength of per-area adaptation (0: off), or {area: strength}")
    tau_adaptation_ms: float = param(100.0, "ms", lo=0, lo_open=True, doc="time constant of the adaptation")
    adaptation_mode: str = param("divisive", "choice", choices=GAIN_MODES,
                                 doc="divisive (gain), subtractive (a rebound at offset: OFF responses) or "
                                     "shunting (a leak conductance, like an after-hyperpolarisation current)")
    normalization: float | Mapping[str, float] = param(
        0.0, "per_area", lo=0, hi=1e3,
        doc="strength of divisive normalisation by the local population (0: off), or {area: strength}")
    tau_normalization_ms: float = param(10.0, "ms", lo=0,
                                        doc="time constant of the normalisation pool (0: instantaneous)")
    normalization_mode: str = param("divisive", "choice", choices=("divisive", "shunting"),
                                    doc="divisive (the drive is divided by the pool) or shunting (the pool raises "
                                        "the leak: same steady state, faster responses to stronger stimuli)")
    train_tau: bool = same_as(AreaConfig, "train_tau", doc="learn the time constants")
    bias: bool = param(True, "bool", doc="biases in the feedforward convolutions")
    width: float = param(1.0, "number", lo=0, lo_open=True, hi=64, doc="multiplies every area's channels")
    operations: tuple | None = param(None, "operations", allow_none=True, doc="custom per-step operation order")

    def validate(self) -> None:
        if self.recurrence_kernel % 2 == 0:
            raise InvalidValueError("recurrence_kernel", self.recurrence_kernel, "an odd whole number >= 1")


class DyRCNN(RecurrentModel):
    """Base of the DyRCNN family; subclasses define ``specs``, ``skips`` and ``feedbacks``.

    Options (all in :class:`DyRCNNConfig`, times in ms; ``dt``, ``tau``, ``tff``... work too):
    ``n_classes``, ``input_dims``, ``dt_ms``, ``tau_ms`` (one number or ``{area: ms}``),
    ``tff_ms``, ``trc_ms``, ``tsk_ms``, ``tfb_ms``, the recurrence (type, target, mode, kernel,
    bound, bias), ``skip`` and ``feedback`` connections (``feedback_mode``, bias, resampling),
    the dynamics form and integrator, what delayed reads give before their source first emits
    (``delay_fill``), input normalisation and delay (``tin_ms``), the activation, a norm, a retina
    front stage, an adaptive input gain, per-area adaptation (divisive or subtractive) and
    divisive normalisation, ``train_tau``, ``bias``, ``width`` (channel multiplier) and a custom
    operation order. ``DyRCNNConfig.describe()`` lists them with their defaults;
    ``dynvision.models.from_dynvision`` sets the DynVision 0.1.0 ones.
    """

    config_class = DyRCNNConfig
    specs: Sequence[AreaSpec] = ()
    skips: Sequence[tuple[str, str]] = ()
    feedbacks: Sequence[tuple[str, str]] = ()

    def __init__(self, config: DyRCNNConfig | None = None, /, **kwargs):
        super().__init__(config, **kwargs)
        c = self.config
        _, channels, h, w = self.input_dims
        if c.retina and c.hex_extent is not None:
            raise ValueError("retina=True and hex_extent are two front stages; choose one")
        front = Retina(channels) if c.retina else None
        if c.hex_extent is not None:
            from dynvision.layers.hex import HexFront

            front = HexFront(channels, (h, w), extent=c.hex_extent, kernel_size=c.hex_kernel_size)
        gain = AdaptiveGain(c.input_gain, c.tau_gain_ms, c.dt_ms, c.gain_mode) if c.input_gain > 0 else None
        transient = AdaptiveGain(c.input_transient, c.tau_transient_ms, c.dt_ms, "subtractive") \
            if c.input_transient > 0 else None
        self.input_stage = InputStage(channels, retina=front, gain=gain, normalize=c.normalize_input,
                                      delay_steps=delay_steps(c.tin_ms, c.dt_ms, "tin_ms"), transient=transient)
        specs = [AreaSpec(s.name, scaled(s.channels, c.width), s.kernel, s.stride, s.pool,
                          None if s.mid_channels is None else scaled(s.mid_channels, c.width), s.stride2)
                 for s in self.specs]
        self.areas = build_areas(specs, self.input_stage.out_channels, (h, w), c)
        self.wire(self.skips if c.skip else (), self.feedbacks if c.feedback else (), tsk=c.tsk_ms,
                  tfb=c.tfb_ms, feedback_mode=c.feedback_mode, bias=c.connection_bias,
                  resample=c.connection_resample)
        top = specs[-1].channels
        self.classifier = nn.Linear(top, c.n_classes)
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

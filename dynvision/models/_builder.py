"""Infrastructure shared by model families: area specs, sizes, per-area options.

A family describes its areas with :class:`AreaSpec` (channels, kernel, stride, pooling); the
functions here turn specs plus the model's dynamics options into
:class:`~dynvision.layers.area.DynamicArea` modules with all sizes computed up front.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from torch import nn

from dynvision.layers.activation import make_activation
from dynvision.layers.area import DynamicArea
from dynvision.layers.gain import AdaptiveGain
from dynvision.layers.norm import make_norm
from dynvision.layers.pool import MaxPool2d
from dynvision.layers.operations import default_operations
from dynvision.layers.config import AREA_FIELDS, AreaConfig
from dynvision.registry import UnknownNameError, unknown_name_message


@dataclass(frozen=True)
class AreaSpec:
    """Architecture of one area.

    Attributes:
        name: Area name.
        channels: Output channels.
        kernel: Feedforward kernel size.
        stride: Feedforward stride.
        pool: Max-pool (kernel, stride, padding) applied to the output sent on, or ``None``.
        mid_channels: Channels between two feedforward stages (two-stage area), or ``None``.
        stride2: Stride of the second stage.
    """

    name: str
    channels: int
    kernel: int = 3
    stride: int = 1
    pool: tuple[int, int, int] | None = None
    mid_channels: int | None = None
    stride2: int = 1


def conv_size(size: Sequence[int], kernel: int, stride: int, padding: int) -> tuple[int, int]:
    """Output size of a convolution or pooling."""
    out = tuple((s + 2 * padding - kernel) // stride + 1 for s in size)
    if min(out) < 1:
        raise ValueError(f"input of {tuple(size)} pixels is too small for kernel {kernel}, stride {stride}")
    return out


def per_area(value: Any, names: Sequence[str], what: str) -> dict[str, Any]:
    """Expand a scalar or a {area: value} mapping to one value per area."""
    if isinstance(value, Mapping):
        for key in value:
            if key not in names:
                raise UnknownNameError(f"{what} names an {unknown_name_message('area', key, names)}")
        missing = [n for n in names if n not in value]
        if missing:
            raise ValueError(f"{what} gives no value for area(s) {missing}; give all of {list(names)} or one number")
        return dict(value)
    return {n: value for n in names}


def scaled(channels: int, width: float) -> int:
    """Channel count scaled by ``width`` (at least 4)."""
    return max(4, int(math.ceil(channels * width)))


def area_config(config, name: str, **overrides) -> AreaConfig:
    """The :class:`AreaConfig` of area ``name`` under a model configuration (per-area values resolved)."""
    values = {f: getattr(config, f) for f in AREA_FIELDS if hasattr(config, f)}
    if isinstance(values.get("tau_ms"), Mapping):
        values["tau_ms"] = values["tau_ms"][name]
    values.update(overrides)
    return AreaConfig(**values)


def build_areas(specs: Sequence[AreaSpec], in_channels: int, in_size: Sequence[int], config) -> nn.ModuleDict:
    """Build the areas of a family from specs and the model's configuration (a DyRCNNConfig)."""
    c = config
    names = [s.name for s in specs]
    for field in ("tau_ms", "adaptation", "normalization"):  # every area named, none unknown
        per_area(getattr(c, field), names, field)
    areas = nn.ModuleDict()
    size = tuple(in_size)
    for spec in specs:
        two_stage = spec.mid_channels is not None
        pad = spec.kernel // 2
        first_out = spec.mid_channels if two_stage else spec.channels
        conv = nn.Conv2d(in_channels, first_out, spec.kernel, stride=spec.stride, padding=pad, bias=c.bias)
        nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
        mid_size = conv_size(size, spec.kernel, spec.stride, pad)
        conv2, area_size = None, mid_size
        if two_stage:
            conv2 = nn.Conv2d(spec.mid_channels, spec.channels, spec.kernel, stride=spec.stride2, padding=pad, bias=c.bias)
            nn.init.kaiming_normal_(conv2.weight, nonlinearity="relu")
            conv = nn.Sequential(conv, nn.ReLU())
            area_size = conv_size(mid_size, spec.kernel, spec.stride2, pad)
        for module in (conv, conv2):
            for m in (module.modules() if module is not None else []):
                if isinstance(m, nn.Conv2d) and m.bias is not None:
                    nn.init.zeros_(m.bias)
        order = c.operations or default_operations(c.dynamics, c.recurrence_target, two_stage)
        act_kwargs = {"exponent": c.supralinearity, "linear_above": c.supralinear_limit} \
            if c.activation == "supralinear" else {}
        pool = MaxPool2d(*spec.pool) if spec.pool else None
        adaptation = c.adaptation[spec.name] if isinstance(c.adaptation, Mapping) else c.adaptation
        normalization = c.normalization[spec.name] if isinstance(c.normalization, Mapping) else c.normalization
        adapt = AdaptiveGain(adaptation, c.tau_adaptation_ms, c.dt_ms, c.adaptation_mode) \
            if adaptation > 0 else None
        normalize = AdaptiveGain(normalization, c.tau_normalization_ms, c.dt_ms, c.normalization_mode, pool="channels") \
            if normalization > 0 else None
        area = DynamicArea(
            spec.name, conv, area_config(c, spec.name), in_channels=in_channels, out_channels=spec.channels,
            in_size=size, size=area_size, operations=order, conv2=conv2, mid_channels=spec.mid_channels,
            mid_size=mid_size if two_stage else None, activation=make_activation(c.activation, **act_kwargs),
            pool=pool, adapt=adapt, normalize=normalize)
        if c.norm not in (None, "none"):
            area.norm = make_norm(c.norm, area.shape_at("norm")[0])
            area.compile()
        areas[spec.name] = area
        in_channels, size = spec.channels, area.out_size
    return areas

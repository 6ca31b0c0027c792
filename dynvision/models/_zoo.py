"""Helpers shared by the model zoo (AlexNet, ResNet, CORnet-RT, CordsNet).

The zoo wraps classic architectures as dynamic systems: every layer or stage becomes a
:class:`~dynvision.layers.area.DynamicArea` whose feedforward module is the original layer.
With ``integrator="euler"`` and ``tau == dt`` the integration coefficient is
``alpha = dt / tau = 1``: the state is replaced by the drive in every step, so each frame is
processed exactly as by the static network. ``tau > dt`` turns the same network into a leaky
(low-pass) dynamic system, and delays (``tff``) stagger the areas in time.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from torch import nn

from dynvision.dynamics import IntegrationWarning
from dynvision.layers.area import DynamicArea
from dynvision.models._builder import per_area
from dynvision.models.config import ModelConfig, _integrators, _recurrences, param


@dataclass(frozen=True)
class ZooConfig(ModelConfig):
    """Options shared by the model zoo (AlexNet, ResNet, CORnet-RT, CordsNet); times in ms.

    By default every area is instantaneous (``integrator="euler"``, ``tau = dt``): each frame
    is processed by the static network. ``tau_ms > dt_ms`` makes the areas leaky.
    """

    n_classes: int = param(1000, "int", lo=1, hi=10**7, doc="classes of the output layer")
    input_dims: tuple = param((20, 3, 224, 224), "dims", doc="(time, channels, height, width) of the input")
    dt_ms: float = param(2.0, "ms", lo=0, lo_open=True, doc="integration step")
    tau_ms: float | Mapping[str, float] | None = param(None, "per_area_ms", lo=0, allow_none=True,
                                                       doc="time constant or {area: ms}; None: tau = dt (static)")
    integrator: str = param("euler", "choice", choices=_integrators, doc="euler (static with tau = dt), etd2 or exponential")
    tff_ms: float | None = param(0.0, "ms", lo=0, allow_none=True, doc="feedforward delay between areas")
    trc_ms: float | None = param(None, "ms", lo=0, allow_none=True, doc="recurrent delay (None: one step)")
    recurrence_type: str = param("none", "choice", choices=_recurrences, doc="lateral recurrence in every area")
    recurrence_kernel: int = param(3, "int", lo=1, hi=99, doc="kernel size of the recurrence (odd)")
    train_tau: bool = param(False, "bool", doc="learn the time constants")
    width: float = param(1.0, "number", lo=0, lo_open=True, hi=64, doc="multiplies every channel count")

def instantaneous(dt: float, tau: float, integrator: str) -> bool:
    """Whether an area with these settings replaces its state by its drive every step."""
    return integrator == "euler" and math.isclose(float(tau), float(dt), rel_tol=1e-9)


def resolve_taus(tau: float | Mapping[str, float] | None, dt: float, names: Sequence[str]) -> dict[str, float]:
    """One time constant per area; ``None`` means ``dt`` (instantaneous with Euler)."""
    if dt is None or not dt > 0:
        raise ValueError(f"dt must be a positive number of ms, got dt={dt!r}")
    return {n: float(v) for n, v in per_area(float(dt) if tau is None else tau, names, "tau_ms").items()}


def group_norm(channels: int, groups: int = 32) -> nn.GroupNorm:
    """GroupNorm with up to ``groups`` groups of at least two channels each.

    The largest divisor of ``channels`` that leaves two or more channels per group: 32 groups
    for the usual 64...512 channels; fewer for narrow variants, so that a group never holds a
    single value on a 1 x 1 map (which would normalise to zero).
    """
    n = max((g for g in range(1, min(groups, channels // 2) + 1) if channels % g == 0), default=1)
    return nn.GroupNorm(n, channels)


def zoo_area(name: str, ff: nn.Module, *, dt: float, tau: float, integrator: str, **kwargs: Any) -> DynamicArea:
    """Build a :class:`DynamicArea`; see its arguments.

    ``euler`` with ``tau == dt`` is the deliberate instantaneous (static) setting of the zoo,
    so the :class:`~dynvision.dynamics.IntegrationWarning` that forward Euler is coarse there
    is not raised; every other setting is checked as usual.
    """
    with warnings.catch_warnings():
        if instantaneous(dt, tau, integrator):
            warnings.simplefilter("ignore", IntegrationWarning)
        return DynamicArea(name, ff, dt=dt, tau=tau, integrator=integrator, **kwargs)

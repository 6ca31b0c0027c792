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
from typing import Any, Mapping, Sequence

from torch import nn

from dynvision.dynamics import IntegrationWarning
from dynvision.layers.area import DynamicArea
from dynvision.models._builder import per_area

def instantaneous(dt: float, tau: float, integrator: str) -> bool:
    """Whether an area with these settings replaces its state by its drive every step."""
    return integrator == "euler" and math.isclose(float(tau), float(dt), rel_tol=1e-9)


def resolve_taus(tau: float | Mapping[str, float] | None, dt: float, names: Sequence[str]) -> dict[str, float]:
    """One time constant per area; ``None`` means ``dt`` (instantaneous with Euler)."""
    if dt is None or not dt > 0:
        raise ValueError(f"dt must be a positive number of ms, got dt={dt!r}")
    return {n: float(v) for n, v in per_area(float(dt) if tau is None else tau, names, "tau").items()}


def check_width(width: float) -> float:
    """Validate a channel multiplier."""
    if not (isinstance(width, (int, float)) and width > 0 and math.isfinite(width)):
        raise ValueError(f"width must be a positive number (channel multiplier), got width={width!r}")
    return float(width)


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

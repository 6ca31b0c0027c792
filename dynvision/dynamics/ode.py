"""The ODE contract: a unit model computes the right-hand side ``dx/dt``; integrators step it.

Every area's state ``x`` follows a *leaky* equation driven by a target ``g(t)``:

    tau dx/dt = -x + g(t)

``g`` is everything the area computes before ``integrate`` in its operation order (see
:mod:`dynvision.layers.operations`): the feedforward convolution, recurrent, skip and feedback
terms, adaptation, normalisation, and - for the ``rate`` form - the activation ``phi``. A unit
model is one small class:

- :meth:`Unit.derivative` is the right-hand side. Every integrator in
  :mod:`~dynvision.dynamics.integrators` advances the state by a weighted sum of right-hand
  sides at the targets it needs (``x + w0 f(x, g0) + w1 f(x, g1)``), so a new unit model works
  with every integrator by defining this one method (and ``tau_ms``, the time scale of its
  linear part, which the exponential integrators use).
- :attr:`Unit.nonlinearity` says where the activation sits in the default operation order:
  ``"before"`` integration (rate units, ``phi`` is part of ``g``) or ``"after"`` (voltage
  units emit ``phi(x)``).
- :meth:`Unit.fixed_step` lets a form define its own discrete update instead (DynVision's).

The forms, registered in :data:`FORMS`:

======== ================================ =============================================
form     equation                         emitted output
======== ================================ =============================================
rate     tau dr/dt = -r + phi(drive)      r
voltage  tau dv/dt = -v + drive           phi(v)
dynvision r <- phi(r + dt/tau (drive - r)) r (DynVision 0.1.0's update, its own step)
======== ================================ =============================================

What one step from ``t`` to ``t + dt`` computes, with ``a = dt / tau``, ``g1`` the target at the
end of the step (the frame shown over ``[t, t + dt)`` and the delayed outputs) and ``g0`` at
its start:

- ``rate``: ``r`` integrates ``tau dr/dt = -r + g`` with ``g = phi(drive)`` by the chosen
  integrator: ``euler`` ``r + a (g1 - r)``; ``exponential`` ``r + (1 - e^-a) (g1 - r)``;
  ``etd2`` ``r + (1 - e^-a) (g* - r)`` with ``g*`` the weighted mean of ``g0`` and ``g1`` of
  :meth:`~dynvision.dynamics.integrators.Integrator.fractions` (exact for ``g`` linear over
  the step).
- ``voltage``: the same three updates of ``v`` with ``g = drive``; the area emits ``phi(v)``.
- ``dynvision``: ``r <- phi(r + a (g1 - r))`` with ``g1 = drive``, whatever ``integrator``
  says (forward Euler on the rectified state, ``torch.lerp``). This is DynVision 0.1.0's
  ``EulerStep`` followed by its ReLU: its state is the layer's last stored output, taken after
  the activation (checked against the real package, ``tests/models/test_interop.py``; with no
  history at all, DynVision falls back to the solver's own unrectified state, which
  ``from_dynvision`` refuses).

Example:
    >>> import torch
    >>> Leaky(tau_ms=5.0).derivative(torch.zeros(1), torch.ones(1))
    tensor([0.2000])
"""

from __future__ import annotations

from typing import Callable

import torch

from dynvision.registry import Registry

FORMS = Registry("dynamics form")


class Unit:
    """Base class of unit models: ``derivative`` is the right-hand side, in 1/ms.

    Args:
        tau_ms: Time constant in ms; a float or a tensor broadcastable to the state.
    """

    nonlinearity = "before"  # where phi sits in the default operation order
    fixed = False  # True: the unit defines its own discrete step (fixed_step), ignoring integrators

    def __init__(self, tau_ms: float | torch.Tensor):
        self.tau_ms = tau_ms

    def derivative(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Return ``dx/dt`` (per ms) for state ``x`` under target ``g``."""
        raise NotImplementedError

    def fixed_step(self, x: torch.Tensor, g: torch.Tensor, dt_ms: float,
                   phi: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """The unit's own discrete update (only for ``fixed`` units)."""
        raise NotImplementedError(f"{type(self).__name__} is integrated, it has no fixed step")

    def __repr__(self) -> str:
        tau = self.tau_ms
        return f"{type(self).__name__}(tau_ms={float(tau) if not torch.is_tensor(tau) or tau.numel() == 1 else tau})"


class Leaky(Unit):
    """Leaky integration ``tau dx/dt = -x + g``: relaxes towards its target with time constant tau."""

    def derivative(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return (g - x) / self.tau_ms


@FORMS.register("rate")
class RateUnit(Leaky):
    """``tau dr/dt = -r + phi(drive)``: the activation is part of the target; emits ``r``."""

    nonlinearity = "before"


@FORMS.register("voltage")
class VoltageUnit(Leaky):
    """``tau dv/dt = -v + drive``, emitting ``phi(v)``: the activation follows integration."""

    nonlinearity = "after"


@FORMS.register("dynvision")
class DynVisionUnit(Leaky):
    """DynVision 0.1.0's update ``r <- phi(r + dt/tau (drive - r))``: one forward-Euler step of
    the leaky equation, rectified every step. It fixes its own step (the ``integrator`` option
    does not apply) and needs ``nonlinearity`` right after ``integrate``."""

    nonlinearity = "after"
    fixed = True

    def fixed_step(self, x, g, dt_ms, phi):
        return phi(torch.lerp(x, g.to(x.dtype), dt_ms / self.tau_ms))


def get_form(name: str) -> type[Unit]:
    """The unit class of a dynamics form (``rate``, ``voltage``, ``dynvision``)."""
    return FORMS.get(name)

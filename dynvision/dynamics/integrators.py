"""Integrators: turn the derivative of :class:`~dynvision.dynamics.ode.Leaky` into a step.

Both integrators advance the state by ``x + h * dx/dt`` with an *effective step* ``h``:

- ``euler``: ``h = dt``. First order; the step is ``x + dt/tau (u - x)``. Stable only for
  ``dt < 2 tau`` and accurate only for ``dt << tau``.
- ``exponential``: ``h = tau (1 - exp(-dt/tau))``. The exponential (exact-for-constant-drive)
  integrator: for drive held constant over a step it reproduces the analytic solution
  ``x(t+dt) = u + (x - u) exp(-dt/tau)`` at any ``dt``.

Because ``h/tau`` is a constant per area, the compiled time loop calls
:meth:`Integrator.coefficient` once per forward pass and then steps with ``torch.lerp``;
:meth:`Integrator.step` is the readable reference it is tested against.

Example:
    >>> import torch
    >>> from dynvision.dynamics import Leaky
    >>> x = get_integrator("exponential").step(Leaky(5.0), torch.zeros(1), torch.ones(1), 5.0)
    >>> round(float(x), 4)  # 1 - exp(-1)
    0.6321
"""

from __future__ import annotations

import math

import torch

from dynvision.dynamics.ode import Leaky
from dynvision.registry import Registry

INTEGRATORS = Registry("integrator")


class Integrator:
    """Base class: an integrator is defined by its effective step ``h(dt, tau)``."""

    name = "base"

    def effective_step(self, dt_ms: float, tau_ms):
        raise NotImplementedError

    def coefficient(self, dt_ms: float, tau_ms):
        """Return ``h / tau``: the fraction of the way to the drive covered in one step."""
        return self.effective_step(dt_ms, tau_ms) / tau_ms

    def step(self, dynamics: Leaky, x: torch.Tensor, u: torch.Tensor, dt_ms: float) -> torch.Tensor:
        """Advance state ``x`` under drive ``u`` by one step of ``dt_ms``."""
        return x + self.effective_step(dt_ms, dynamics.tau_ms) * dynamics.derivative(x, u)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@INTEGRATORS.register("euler")
class Euler(Integrator):
    """Forward Euler: ``h = dt``."""

    name = "euler"

    def effective_step(self, dt_ms, tau_ms):
        return dt_ms if not torch.is_tensor(tau_ms) else torch.full_like(tau_ms, dt_ms)


@INTEGRATORS.register("exponential")
class Exponential(Integrator):
    """Exponential integrator: ``h = tau (1 - exp(-dt/tau))``, exact for constant drive."""

    name = "exponential"

    def effective_step(self, dt_ms, tau_ms):
        if torch.is_tensor(tau_ms):
            return -tau_ms * torch.expm1(-dt_ms / tau_ms)
        return -tau_ms * math.expm1(-dt_ms / tau_ms)


def get_integrator(name: str) -> Integrator:
    """Return an integrator instance by name (``"euler"`` or ``"exponential"``)."""
    return INTEGRATORS.get(name)()

"""Integrators: advance a unit's state by weighted right-hand sides.

A step from ``t`` to ``t + dt`` may use the unit's target at the start of the step (``g0``, at
``t``) and at its end (``g1``, at ``t + dt``, just before the next frame). Every integrator here
is a weighted sum of right-hand-side evaluations at the same state::

    x(t + dt) = x + w0 * f(x, g0) + w1 * f(x, g1),     f = unit.derivative

============ ====================================== ========= ==================================
name         weights (z = dt / tau)                 order     exact when
============ ====================================== ========= ==================================
euler        w0 = 0, w1 = dt                        1         never (stable only for dt < 2 tau)
exponential  w0 = 0, w1 = tau (1 - e^-z)            1         the target is constant over a step
etd2         w0 = dt (phi1 - phi2), w1 = dt phi2    2         the target is linear over a step
============ ====================================== ========= ==================================

with ``phi1 = (1 - e^-z) / z`` and ``phi2 = (z - 1 + e^-z) / z^2``. ``etd2`` (exponential time
differencing of second order, the "exponential trapezoid") treats the target as linear between
its values at the two ends of the step. It is the default: results converge at second order in
``dt`` for a whole cascade of areas (the first-order integrators' latencies shift by up to a
step when ``dt`` changes). ``euler`` uses the end target ``g1``, so that a frame shown over
``[t, t + dt)`` acts from ``t + dt`` on, as with the other integrators.

:meth:`Integrator.step` calls the unit's right-hand side; the time loop of an area uses the
same weights through :meth:`Integrator.fractions` (two ``torch.lerp`` s instead of six
elementwise passes) and is tested against :meth:`Integrator.step`.

Example:
    >>> import torch
    >>> from dynvision.dynamics import Leaky
    >>> x = get_integrator("exponential").step(Leaky(5.0), torch.zeros(1), None, torch.ones(1), 5.0)
    >>> round(float(x), 4)  # 1 - exp(-1)
    0.6321
"""

from __future__ import annotations

import math

import torch

from dynvision.dynamics.ode import Unit
from dynvision.registry import Registry

INTEGRATORS = Registry("integrator")


def _exp(z):
    return torch.exp(z) if torch.is_tensor(z) else math.exp(z)


def _expm1(z):
    return torch.expm1(z) if torch.is_tensor(z) else math.expm1(z)


def phi1(z):
    """``(1 - e^-z) / z`` for ``z = dt / tau > 0`` (the exponential integrator's weight / dt)."""
    return -_expm1(-z) / z


def phi2(z):
    """``(z - 1 + e^-z) / z^2``, by its series where the closed form would cancel."""
    if torch.is_tensor(z):
        series = 0.5 - z / 6 + z * z / 24
        closed = (z + _expm1(-z)) / (z * z)
        return torch.where(z < 1e-3, series, closed)
    if z < 1e-3:
        return 0.5 - z / 6 + z * z / 24
    return (z + math.expm1(-z)) / (z * z)


class Integrator:
    """Base class: an integrator is defined by its weights ``(w0, w1)`` on ``f(x, g0)``, ``f(x, g1)``.

    Attributes:
        uses_start: Whether the step needs the target at the start of the step (``g0``).
        order: Order of accuracy in ``dt``.
    """

    name = "base"
    uses_start = False
    order = 1

    def weights(self, dt_ms: float, tau_ms):
        """Return ``(w0, w1)`` in ms (floats, or tensors when ``tau_ms`` is a tensor)."""
        raise NotImplementedError

    def step(self, unit: Unit, x: torch.Tensor, g0: torch.Tensor | None, g1: torch.Tensor,
             dt_ms: float) -> torch.Tensor:
        """Advance ``x`` by one step of ``dt_ms``: the reference, written from the definition."""
        w0, w1 = self.weights(dt_ms, unit.tau_ms)
        out = x + w1 * unit.derivative(x, g1)
        if self.uses_start:
            if g0 is None:
                raise ValueError(f"integrator {self.name!r} needs the target at the start of the step (g0)")
            out = out + w0 * unit.derivative(x, g0)
        return out

    def fractions(self, dt_ms: float, tau_ms):
        """``(mix, a)`` such that a leaky step is ``lerp(x, lerp(g1, g0, mix), a)``.

        For a leaky unit ``f(x, g) = (g - x) / tau``, so the step moves ``x`` the fraction
        ``a = (w0 + w1) / tau`` of the way to the weighted target ``(w0 g0 + w1 g1) / (w0 + w1)``.
        """
        w0, w1 = self.weights(dt_ms, tau_ms)
        total = w0 + w1
        return w0 / total, total / tau_ms

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@INTEGRATORS.register("euler")
class Euler(Integrator):
    """Forward Euler on the end target: ``x + dt f(x, g1)``. First order."""

    name = "euler"

    def weights(self, dt_ms, tau_ms):
        w1 = torch.full_like(tau_ms, dt_ms) if torch.is_tensor(tau_ms) else float(dt_ms)
        return 0.0 * w1, w1


@INTEGRATORS.register("exponential")
class Exponential(Integrator):
    """Exponential Euler: exact when the target is constant over a step. First order."""

    name = "exponential"

    def weights(self, dt_ms, tau_ms):
        w1 = -tau_ms * _expm1(-dt_ms / tau_ms)
        return 0.0 * w1, w1


@INTEGRATORS.register("etd2")
class ETD2(Integrator):
    """Second-order exponential time differencing: exact when the target is linear over a step."""

    name = "etd2"
    uses_start = True
    order = 2

    def weights(self, dt_ms, tau_ms):
        z = dt_ms / tau_ms
        p1, p2 = phi1(z), phi2(z)
        return dt_ms * (p1 - p2), dt_ms * p2


def get_integrator(name: str) -> Integrator:
    """Return an integrator instance by name (``"etd2"``, ``"exponential"`` or ``"euler"``)."""
    return INTEGRATORS.get(name)()

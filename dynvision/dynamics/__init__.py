"""Continuous-time dynamics: unit models (the ODE right-hand side), integrators, time steps.

Units are milliseconds throughout.

- :mod:`~dynvision.dynamics.ode`: a unit model computes only ``dx/dt`` (:class:`Leaky` and the
  forms ``rate``, ``voltage``, ``dynvision`` in :data:`FORMS`).
- :mod:`~dynvision.dynamics.integrators`: ``etd2`` (default, second order), ``exponential``
  (exact for a constant target) and ``euler`` step any unit by calling its right-hand side.
- :mod:`~dynvision.dynamics.timing`: delays in ms to steps by one rule, the time axis, the
  ``dt`` guard.

**The time convention.** The value stored under time label ``t`` is the state *at* ``t``.
The frame shown over ``[t, t + dt)`` changes the state only from ``t + dt`` on: a model's
outputs at index ``k`` (logits, recorded activity) are the state at ``t0 + k dt``, before frame
``k`` acts, so index 0 is the initial state. With no feedforward delay a step stimulus at
``t0`` first changes every area at ``t0 + dt``; each feedforward delay ``tff`` shifts the next
area by exactly ``tff``.
"""

from dynvision.dynamics.integrators import ETD2, INTEGRATORS, Euler, Exponential, Integrator, get_integrator
from dynvision.dynamics.ode import FORMS, DynVisionUnit, Leaky, RateUnit, Unit, VoltageUnit, get_form
from dynvision.dynamics.timing import IntegrationWarning, check_dt, delay_steps, time_axis

__all__ = [
    "ETD2",
    "FORMS",
    "INTEGRATORS",
    "DynVisionUnit",
    "Euler",
    "Exponential",
    "IntegrationWarning",
    "Integrator",
    "Leaky",
    "RateUnit",
    "Unit",
    "VoltageUnit",
    "check_dt",
    "delay_steps",
    "get_form",
    "get_integrator",
    "time_axis",
]

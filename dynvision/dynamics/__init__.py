"""Continuous-time dynamics: the ODE right-hand side, integrators, time steps and dt checks.

Units are milliseconds throughout. :class:`Leaky` computes only the derivative of the leaky
unit ``tau dx/dt = -x + u``; :mod:`~dynvision.dynamics.integrators` turns a derivative into a
step (forward Euler or the exponential integrator, exact for constant drive);
:mod:`~dynvision.dynamics.timing` converts delays in ms to steps by one rule and guards ``dt``.
"""

from dynvision.dynamics.integrators import INTEGRATORS, Euler, Exponential, get_integrator
from dynvision.dynamics.ode import Leaky
from dynvision.dynamics.timing import IntegrationWarning, check_dt, delay_steps, time_axis

__all__ = [
    "INTEGRATORS",
    "Euler",
    "Exponential",
    "IntegrationWarning",
    "Leaky",
    "check_dt",
    "delay_steps",
    "get_integrator",
    "time_axis",
]

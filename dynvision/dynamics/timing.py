"""Time in ms: delays to steps by one rule, the time axis, and the ``dt`` guard.

Example:
    >>> delay_steps(8.0, 2.0, "tff")
    4
    >>> time_axis(3, 2.0).tolist()
    [0.0, 2.0, 4.0]
"""

from __future__ import annotations

import math
import warnings

import numpy as np


class IntegrationWarning(UserWarning):
    """The integration step is coarse for the time constant: results may be inaccurate."""


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.number))


def delay_steps(delay_ms: float, dt_ms: float, name: str = "delay", minimum: int = 0) -> int:
    """Convert a delay (or any duration) in ms to a whole number of integration steps.

    The one rule, used for every delay and every stimulus time in dynvision:
    ``steps = delay_ms / dt_ms`` must be a non-negative whole number (to 1e-6).

    Args:
        delay_ms: The delay in ms.
        dt_ms: The integration step in ms.
        name: The parameter's name, used in error messages.
        minimum: The fewest steps the delay may have (1 for recurrence and feedback, which
            read activity that is only available from the previous step on).

    Raises:
        ValueError: If the delay is negative, not finite, not a multiple of ``dt_ms``, or
            shorter than ``minimum`` steps.
    """
    if not _is_number(dt_ms) or not math.isfinite(float(dt_ms)) or dt_ms <= 0:
        raise ValueError(f"dt_ms must be a positive number of ms, got dt_ms={dt_ms!r}")
    if not _is_number(delay_ms) or not math.isfinite(float(delay_ms)):
        raise ValueError(f"{name} must be a finite number of ms, got {name}={delay_ms!r}")
    unit = "" if name.endswith("_ms") else " ms"
    if delay_ms < 0:
        raise ValueError(f"{name}={delay_ms:g}{unit} is negative; times must be >= 0 ms")
    ratio = float(delay_ms) / float(dt_ms)
    steps = int(round(ratio))
    if abs(ratio - steps) > 1e-6:
        lo, hi = math.floor(ratio) * dt_ms, math.ceil(ratio) * dt_ms
        raise ValueError(
            f"{name}={delay_ms:g}{unit} is not a multiple of dt_ms={dt_ms:g}; "
            f"valid values are whole multiples of dt such as {lo:g} or {hi:g} ms"
        )
    if steps < minimum:
        raise ValueError(
            f"{name}={delay_ms:g}{unit} is shorter than {minimum} step(s) of dt_ms={dt_ms:g}; "
            f"use {name} >= {minimum * dt_ms:g}{unit}"
        )
    return steps


def time_axis(n_steps: int, dt_ms: float, start_ms: float = 0.0) -> np.ndarray:
    """Return the times in ms of ``n_steps`` steps of ``dt_ms`` starting at ``start_ms``."""
    return start_ms + dt_ms * np.arange(n_steps, dtype=np.float64)


def check_dt(dt_ms: float, tau_ms: float, integrator: str, where: str = "") -> None:
    """Guard the integration step against the time constant.

    - Euler with ``dt > tau`` raises: the step overshoots the drive (and diverges for
      ``dt >= 2 tau``).
    - Euler with ``dt > tau / 2`` warns with :class:`IntegrationWarning`.
    - The exponential integrators (``etd2``, ``exponential``) are stable at any ``dt``, but
      ``dt > tau`` still warns: the transient is shorter than one step and is not resolved.
    - The ``dynvision`` form's fixed update is checked like the exponential integrators (as
      DynVision does, it accepts any ``dt``).

    Raises:
        ValueError: If ``dt`` or ``tau`` is not positive, or Euler is asked to step
            ``dt > tau``.
    """
    at = f" ({where})" if where else ""
    if not (dt_ms > 0 and math.isfinite(dt_ms)):
        raise ValueError(f"dt must be a positive number of ms, got dt={dt_ms!r}{at}")
    if not (tau_ms > 0 and math.isfinite(tau_ms)):
        raise ValueError(f"tau must be a positive number of ms, got tau={tau_ms!r}{at}")
    if integrator == "euler":
        if dt_ms > tau_ms:
            raise ValueError(
                f"dt={dt_ms:g} ms > tau={tau_ms:g} ms{at}: forward Euler overshoots (and diverges "
                f"for dt >= 2 tau). Use dt <= {tau_ms:g} ms, a larger tau, or "
                f"integrator='etd2' (exponential, stable at any dt)"
            )
        if dt_ms > tau_ms / 2:
            warnings.warn(
                f"dt={dt_ms:g} ms is more than half of tau={tau_ms:g} ms{at}: forward Euler is "
                f"inaccurate here; consider dt <= {tau_ms / 2:g} ms or integrator='etd2'",
                IntegrationWarning,
                stacklevel=3,
            )
    elif dt_ms > tau_ms:
        warnings.warn(
            f"dt={dt_ms:g} ms > tau={tau_ms:g} ms{at}: the exponential integrators stay stable, but "
            f"transients faster than one step are not resolved",
            IntegrationWarning,
            stacklevel=3,
        )

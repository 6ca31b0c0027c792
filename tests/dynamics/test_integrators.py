"""The leaky unit under constant drive follows the analytic exponential."""

import contextlib
import math

import numpy as np
import pytest
import torch

from dynvision.dynamics import IntegrationWarning, Leaky, check_dt, get_integrator
from dynvision.registry import UnknownNameError


def simulate(integrator: str, dt: float, tau: float, t_end: float) -> np.ndarray:
    x, out = torch.zeros(1, dtype=torch.float64), []
    step = get_integrator(integrator)
    for _ in range(int(round(t_end / dt))):
        x = step.step(Leaky(tau), x, torch.ones(1, dtype=torch.float64), dt)
        out.append(float(x))
    return np.array(out)


@pytest.mark.parametrize("dt", [0.1, 1.0, 2.0, 5.0, 10.0, 20.0])
def test_exponential_integrator_is_exact_for_constant_drive(dt):
    tau = 5.0
    with pytest.warns(IntegrationWarning) if dt > tau else contextlib.nullcontext():
        check_dt(dt, tau, "exponential")
    r = simulate("exponential", dt, tau, 40.0)
    t = dt * np.arange(1, len(r) + 1)
    analytic = 1 - np.exp(-t / tau)
    assert np.max(np.abs(r - analytic) / analytic) < 0.01


def test_euler_converges_as_dt_halves():
    tau, t_end = 5.0, 20.0
    errors = []
    for dt in (2.0, 1.0, 0.5, 0.25):
        r = simulate("euler", dt, tau, t_end)
        errors.append(abs(r[-1] - (1 - math.exp(-t_end / tau))))
    ratios = [a / b for a, b in zip(errors, errors[1:])]
    assert all(e > 0 for e in errors)
    assert all(1.7 < q < 2.3 for q in ratios), ratios  # first order: error halves with dt


def test_coefficient_matches_reference_step():
    for name in ("euler", "exponential"):
        integ = get_integrator(name)
        x, u = torch.tensor([0.3]), torch.tensor([2.0])
        ref = integ.step(Leaky(7.0), x, u, 1.5)
        fast = torch.lerp(x, u, integ.coefficient(1.5, 7.0))
        assert torch.allclose(ref, fast)


def test_euler_dt_larger_than_tau_is_an_error():
    with pytest.raises(ValueError, match=r"dt=6 ms > tau=5 ms.*exponential"):
        check_dt(6.0, 5.0, "euler")
    with pytest.warns(IntegrationWarning, match="more than half"):
        check_dt(3.0, 5.0, "euler")


def test_bad_dt_and_tau():
    with pytest.raises(ValueError, match="dt must be a positive"):
        check_dt(0.0, 5.0, "euler")
    with pytest.raises(ValueError, match="tau must be a positive"):
        check_dt(1.0, -1.0, "euler")


def test_unknown_integrator_lists_valid_ones():
    with pytest.raises(UnknownNameError, match="'rk4'.*'euler', 'exponential'"):
        get_integrator("rk4")

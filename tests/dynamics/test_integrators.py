"""Integrators against analytic solutions of the leaky unit, and their orders of accuracy."""

import contextlib
import math

import numpy as np
import pytest
import torch

from dynvision.dynamics import INTEGRATORS, IntegrationWarning, Leaky, Unit, check_dt, get_integrator
from dynvision.dynamics.integrators import phi1, phi2
from dynvision.registry import UnknownNameError


def simulate(integrator: str, dt: float, tau: float, t_end: float, target=lambda t: 1.0, x0=0.0):
    """Step a leaky unit from ``x0`` under ``target(t)``; return the states at dt, 2 dt, ..."""
    x, out = torch.tensor([x0], dtype=torch.float64), []
    step = get_integrator(integrator)
    for k in range(int(round(t_end / dt))):
        g0 = torch.tensor([target(k * dt)], dtype=torch.float64)
        g1 = torch.tensor([target((k + 1) * dt)], dtype=torch.float64)
        x = step.step(Leaky(tau), x, g0, g1, dt)
        out.append(float(x))
    return np.array(out)


@pytest.mark.parametrize("name", ["exponential", "etd2"])
@pytest.mark.parametrize("dt", [0.1, 1.0, 2.0, 5.0, 10.0, 20.0])
def test_exponential_integrators_are_exact_for_constant_drive(name, dt):
    tau = 5.0
    with pytest.warns(IntegrationWarning) if dt > tau else contextlib.nullcontext():
        check_dt(dt, tau, name)
    r = simulate(name, dt, tau, 40.0)
    t = dt * np.arange(1, len(r) + 1)
    np.testing.assert_allclose(r, 1 - np.exp(-t / tau), rtol=1e-12)


@pytest.mark.parametrize("dt", [0.05, 0.5, 2.0, 8.0])
def test_etd2_is_exact_for_a_linear_target(dt):
    """tau x' = -x + a + b t has x(t) = a + b (t - tau) + (x0 - a + b tau) exp(-t / tau)."""
    tau, a, b, x0 = 5.0, 0.3, 0.07, 1.2
    r = simulate("etd2", dt, tau, 40.0, target=lambda t: a + b * t, x0=x0)
    t = dt * np.arange(1, len(r) + 1)
    np.testing.assert_allclose(r, a + b * (t - tau) + (x0 - a + b * tau) * np.exp(-t / tau), rtol=1e-10)


def _order(name: str) -> float:
    """Observed order on a smooth target: log2 of the error ratio when dt halves."""
    tau, t_end = 5.0, 20.0
    target = lambda t: math.sin(0.3 * t)  # noqa: E731
    fine = simulate("etd2", 1 / 256, tau, t_end, target)[255::256]  # at t = 1, 2, ... ms
    errors = [np.abs(simulate(name, dt, tau, t_end, target)[int(1 / dt) - 1::int(1 / dt)] - fine).max()
              for dt in (1.0, 0.5, 0.25)]
    return float(np.mean(np.log2(np.array(errors[:-1]) / np.array(errors[1:]))))


def test_orders_of_accuracy():
    assert 0.9 < _order("euler") < 1.2
    assert 0.9 < _order("exponential") < 1.2
    assert 1.9 < _order("etd2") < 2.2


def test_fast_fractions_match_the_reference_step():
    """The area's two-lerp fast path is the integrator's definition (floats and tensor tau)."""
    x, g0, g1 = torch.tensor([0.3, -1.0]), torch.tensor([2.0, 0.5]), torch.tensor([1.1, 0.0])
    for name in INTEGRATORS:
        integ = get_integrator(name)
        for tau in (7.0, torch.tensor(7.0)):
            ref = integ.step(Leaky(tau), x, g0, g1, 1.5)
            mix, a = integ.fractions(1.5, tau)
            fast = torch.lerp(x, torch.lerp(g1, g0, mix), a)
            assert torch.allclose(ref, fast, atol=1e-6), name


def test_phi_functions_are_smooth_where_the_series_takes_over():
    for z in (1e-3 * (1 - 1e-9), 1e-3 * (1 + 1e-9)):
        assert abs(phi2(z) - (0.5 - z / 6)) < 1e-6
    assert abs(phi1(1e-8) - 1.0) < 1e-7
    zt = torch.tensor([1e-5, 1e-3, 0.4, 3.0], dtype=torch.float64)
    closed = (zt + torch.expm1(-zt)) / zt ** 2
    assert torch.allclose(phi2(zt)[2:], closed[2:])


def test_a_new_unit_model_is_one_class():
    """A unit that only defines its right-hand side is stepped by every integrator through it."""

    class Quadratic(Unit):
        def derivative(self, x, g):
            return (g - x - 0.1 * x * x) / self.tau_ms

    x, g = torch.tensor([0.5]), torch.tensor([1.0])
    out = get_integrator("euler").step(Quadratic(4.0), x, None, g, 0.5)
    assert torch.allclose(out, x + 0.5 * (g - x - 0.1 * x * x) / 4.0)


def test_euler_dt_larger_than_tau_is_an_error():
    with pytest.raises(ValueError, match=r"dt=6 ms > tau=5 ms.*etd2"):
        check_dt(6.0, 5.0, "euler")
    with pytest.warns(IntegrationWarning, match="more than half"):
        check_dt(3.0, 5.0, "euler")


def test_bad_dt_and_tau():
    with pytest.raises(ValueError, match="dt must be a positive"):
        check_dt(0.0, 5.0, "euler")
    with pytest.raises(ValueError, match="tau must be a positive"):
        check_dt(1.0, -1.0, "euler")


def test_unknown_integrator_lists_valid_ones():
    with pytest.raises(UnknownNameError, match="'rk4'.*'etd2', 'euler', 'exponential'"):
        get_integrator("rk4")


def test_etd2_needs_the_start_target():
    with pytest.raises(ValueError, match="start of the step"):
        get_integrator("etd2").step(Leaky(5.0), torch.zeros(1), None, torch.ones(1), 1.0)

"""Constraints are Euclidean projections: closed forms, idempotent, and the nearest feasible point."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import LinearConstraint, NonlinearConstraint, minimize

from dynvision.insilico.constraints import Constraints, lowpass_basis


def _qp(y: np.ndarray, c: Constraints, shape) -> np.ndarray:
    """The nearest feasible point of one row by a general-purpose solver (scipy's trust-constr).

    With the smoothness constraint the variables are the coefficients ``a`` of the allowed
    temporal components (``z = M a``, ``M`` with orthonormal columns, so ``||z|| = ||a||``).
    """
    m = np.eye(y.size)
    if c.basis is not None:
        b = c.basis.double().numpy()
        m = np.kron(b.T, np.eye(int(np.prod(shape[1:]))))  # (T * pixels, K * pixels)
    cons = [LinearConstraint(m, -np.inf if c.lo is None else c.lo, np.inf if c.hi is None else c.hi)]
    if c.norm is not None:
        cons.append(NonlinearConstraint(lambda a: a @ a, -np.inf, c.norm ** 2, jac=lambda a: 2 * a[None]))
    res = minimize(lambda a: 0.5 * np.sum((m @ a - y) ** 2), np.zeros(m.shape[1]), jac=lambda a: m.T @ (m @ a - y),
                   hess=lambda a: m.T @ m, constraints=cons, method="trust-constr",
                   options={"gtol": 1e-12, "xtol": 1e-14, "maxiter": 5000})
    assert res.success, res.message
    return m @ res.x


def test_each_set_alone_is_its_closed_form():
    y = torch.randn(3, 4, 1, 2, 2) * 2
    torch.testing.assert_close(Constraints(lo=-0.5, hi=0.3).project(y), y.clamp(-0.5, 0.3))
    ball = Constraints(norm=1.0).project(y)
    norms = y.flatten(1).norm(dim=1)
    torch.testing.assert_close(ball, y / norms.view(-1, 1, 1, 1, 1))
    b = lowpass_basis(4, 2.0, 130.0)  # 0, 62.5 and 125 Hz of 4 steps at 2 ms
    assert b.shape == (3, 4)
    torch.testing.assert_close(b @ b.T, torch.eye(3))
    smooth = Constraints(basis=b).project(y)
    torch.testing.assert_close(smooth, torch.einsum("kt,ks,rs...->rt...", b, b, y))
    small = y * 0.01
    torch.testing.assert_close(Constraints(norm=1.0).project(small), small)  # inside: unchanged


@pytest.mark.parametrize("kind", ["range+norm", "smooth+range", "smooth+range+norm"])
def test_several_sets_project_to_the_nearest_feasible_point(kind):
    g = torch.Generator().manual_seed(0)
    y = torch.randn(4, 5, 1, 1, 2, generator=g, dtype=torch.float64) * 1.5
    c = Constraints(norm=1.2 if "norm" in kind else None, lo=-0.4, hi=0.6,
                    basis=lowpass_basis(5, 2.0, 100.0, dtype=torch.float64) if "smooth" in kind else None)
    p = c.project(y)
    assert c.violation(p) < 1e-9
    # Dykstra's iterations converge to the projection; run them to convergence for the comparison
    p = c.project(y, iterations=100_000, tol=1e-13)
    assert c.violation(p) < 1e-9
    for row in range(4):
        best = _qp(y[row].numpy().ravel(), c, y.shape[1:])
        np.testing.assert_allclose(p[row].numpy().ravel(), best, atol=1e-5)
    torch.testing.assert_close(c.project(p), p, atol=1e-8, rtol=0)  # idempotent


def test_feasible_points_stay_where_they_are_and_no_constraint_is_the_identity():
    c = Constraints(norm=2.0, lo=-0.5, hi=0.5)
    x = torch.rand(2, 1, 1, 3, 3) * 0.2 - 0.1
    torch.testing.assert_close(c.project(x), x)
    y = torch.randn(2, 1, 1, 3, 3)
    assert Constraints().project(y) is y and Constraints().active == []


def test_free_gradient_drops_only_what_pushes_outward():
    c = Constraints(lo=-0.5, hi=0.5)
    delta = torch.tensor([[0.5, 0.5, -0.5, -0.5, 0.0]])
    grad = torch.tensor([[1.0, -1.0, 1.0, -1.0, 3.0]])
    assert c.free_gradient(delta, grad).tolist() == [[0.0, -1.0, 1.0, 0.0, 3.0]]


def test_bad_constraints_are_named():
    with pytest.raises(ValueError, match="norm=-1"):
        Constraints(norm=-1)
    with pytest.raises(ValueError, match="temporal_cutoff_hz=-5"):
        lowpass_basis(4, 2.0, -5)

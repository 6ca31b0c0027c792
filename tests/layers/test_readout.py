"""Gaussian readout: each neuron reads a Gaussian patch of the map through its feature weights."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from dynvision.layers import GaussianReadout, MultiSessionReadout
from dynvision.layers.readout import map_grid
from dynvision.registry import UnknownNameError
from dynvision.validation import InvalidValueError


def _set(readout, mu, sigma, rho=None, features=None, bias=None):
    readout.set(mu=mu, sigma=sigma, correlation=rho, features=features, bias=bias)
    torch.testing.assert_close(readout.mu.detach(), torch.tensor(mu, dtype=torch.float32))


def _moments(mask, size):
    x, y = map_grid(size, dtype=torch.float64)
    m = mask.detach().double()
    mx, my = (m * x).sum(), (m * y).sum()
    cxx, cyy = (m * (x - mx) ** 2).sum(), (m * (y - my) ** 2).sum()
    cxy = (m * (x - mx) * (y - my)).sum()
    return mx, my, cxx, cyy, cxy


def test_mask_is_a_normalised_gaussian_at_its_position_with_its_extent():
    size = (64, 64)
    r = GaussianReadout(2, size, 2)
    _set(r, [[0.2, -0.3], [-0.1, 0.25]], [[0.15], [0.1]])
    masks = r.mask()
    assert masks.shape == (2, 64, 64)
    torch.testing.assert_close(masks.sum((1, 2)), torch.ones(2))
    for mask, (mx, my), s in zip(masks, [(0.2, -0.3), (-0.1, 0.25)], (0.15, 0.1)):
        gx, gy, cxx, cyy, cxy = _moments(mask, size)
        assert (float(gx), float(gy)) == pytest.approx((mx, my), abs=1e-3)
        assert float(cxx) == pytest.approx(s * s, rel=0.02) and float(cyy) == pytest.approx(s * s, rel=0.02)
        assert abs(float(cxy)) < 1e-6


def test_anisotropic_mask_has_the_covariance_of_its_parameters():
    size = (80, 80)
    r = GaussianReadout(1, size, 1, anisotropic=True)
    _set(r, [[0.0, 0.1]], [[0.2, 0.1]], rho=[0.6])
    _, _, cxx, cyy, cxy = _moments(r.mask()[0], size)
    assert float(cxx) == pytest.approx(0.04, rel=0.02) and float(cyy) == pytest.approx(0.01, rel=0.02)
    assert float(cxy) == pytest.approx(0.6 * 0.2 * 0.1, rel=0.03)


def test_a_unit_impulse_reaches_each_neuron_through_its_mask_and_feature_weight():
    size = (6, 8)
    r = GaussianReadout(3, size, 2, nonlinearity="exp")
    _set(r, [[0.3, -0.2], [-0.5, 0.4]], [[0.4], [0.3]], features=[[1.0, -2.0, 0.5], [0.3, 0.0, 1.5]],
         bias=[0.1, -0.2])
    masks = r.mask().detach()
    blank = torch.zeros(1, 3, *size)
    torch.testing.assert_close(r(blank), torch.exp(r.bias.detach())[None])
    for c, y, x in [(0, 2, 3), (1, 5, 0), (2, 0, 7)]:
        a = blank.clone()
        a[0, c, y, x] = 1.0
        expected = r.features.detach()[:, c] * masks[:, y, x] + r.bias.detach()
        torch.testing.assert_close(r.drive(a)[0], expected)
        torch.testing.assert_close(r(a)[0], torch.exp(expected))


def test_time_and_batch_axes_pass_through_and_outputs_are_positive():
    r = GaussianReadout(4, (5, 5), 7)
    a = torch.randn(3, 6, 4, 5, 5) * 10
    out = r(a)
    assert out.shape == (3, 6, 7) and bool((out > 0).all())
    torch.testing.assert_close(out[1, 4], r(a[1, 4]))
    torch.testing.assert_close(GaussianReadout(4, (5, 5), 7, nonlinearity="elu1")(a).min() >= 0, torch.tensor(True))


def test_sessions_share_the_area_and_keep_their_own_neurons():
    readouts = MultiSessionReadout(4, (6, 6), {"a": 2, "b": 5}, anisotropic=True)
    assert readouts.readout_keys() == ["a", "b"]
    a = torch.rand(2, 4, 6, 6)
    assert readouts(a, "a").shape == (2, 2) and readouts(a, "b").shape == (2, 5)
    torch.testing.assert_close(readouts(a, "b"), F.softplus(readouts["b"].drive(a)))
    with pytest.raises(UnknownNameError, match="unknown readout session 'c'.*'a', 'b'"):
        readouts(a, "c")


def test_bad_arguments_are_named():
    with pytest.raises(UnknownNameError, match="readout nonlinearity 'relu'.*'elu1'"):
        GaussianReadout(2, (4, 4), 3, nonlinearity="relu")
    with pytest.raises(InvalidValueError, match="n_neurons=0"):
        GaussianReadout(2, (4, 4), 0)
    with pytest.raises(ValueError, match=r"\(\.\.\., 2, 4, 4\)"):
        GaussianReadout(2, (4, 4), 3)(torch.rand(1, 3, 4, 4))
    with pytest.raises(ValueError, match="sessions is empty"):
        MultiSessionReadout(2, (4, 4), {})
    assert math.isclose(GaussianReadout(2, (4, 4), 1, init_sigma=0.5).sigma[0, 0].item(), 0.5, rel_tol=1e-6)

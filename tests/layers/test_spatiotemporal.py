"""Spatio-temporal separable convolution: spatial kernel x temporal kernel, causal in time."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from dynvision.layers import SpatioTemporalConv, SpatioTemporalCore, temporal_basis


def naive(layer: SpatioTemporalConv, x: torch.Tensor) -> torch.Tensor:
    """out[t] = sum_s k[s] * conv2d(x[t - s], S): the definition, one lag at a time."""
    k = layer.temporal_kernel().detach()
    b, t = x.shape[:2]
    spatial = [F.conv2d(x[:, i], layer.spatial_weight.detach(), None, layer.stride, layer.padding) for i in range(t)]
    out = []
    for i in range(t):
        acc = torch.zeros_like(spatial[0])
        for s in range(layer.n_taps):
            if i - s >= 0:
                acc = acc + k[:, s].view(1, -1, 1, 1) * spatial[i - s]
        out.append(acc + layer.bias.detach().view(1, -1, 1, 1))
    return torch.stack(out, 1)


@pytest.mark.parametrize("stride, kernel", [(1, 3), (2, (3, 5))])
def test_output_is_the_separable_filter_applied_causally(stride, kernel):
    layer = SpatioTemporalConv(2, 3, kernel, kernel_ms=8, dt_ms=2, n_frequencies=2, stride=stride)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(2, 9, 2, 10, 12)
    torch.testing.assert_close(layer(x), naive(layer, x), rtol=1e-5, atol=1e-5)


def test_a_one_frame_impulse_traces_out_the_temporal_kernel():
    layer = SpatioTemporalConv(1, 2, 3, kernel_ms=10, dt_ms=2, bias=False)
    x = torch.zeros(1, 12, 1, 7, 7)
    x[0, 3, 0, 3, 3] = 1.0
    y = layer(x).detach()
    k = layer.temporal_kernel().detach()
    spatial = layer.spatial_weight.detach()[:, 0, 1, 1]  # the kernel's centre reads the impulse at the centre
    for o in range(2):
        trace = y[0, :, o, 3, 3]
        assert torch.all(trace[:3] == 0), "nothing before the impulse (causal)"
        torch.testing.assert_close(trace[3:8], k[o] * spatial[o])
        assert torch.all(trace[8:] == 0), "nothing after the kernel's window"


def test_full_weight_is_the_outer_product_and_the_kernel_a_basis_sum():
    layer = SpatioTemporalConv(2, 3, 3, kernel_ms=12, dt_ms=3, n_frequencies=2)
    assert layer.n_taps == 4 and layer.lags_ms.tolist() == [0.0, 3.0, 6.0, 9.0]
    k = layer.temporal_kernel()
    torch.testing.assert_close(k, layer.temporal_weight @ temporal_basis(4, 2))
    w = layer.full_weight()
    assert w.shape == (3, 2, 4, 3, 3)
    torch.testing.assert_close(w[1, 0, 2], k[1, 2] * layer.spatial_weight[1, 0])


def test_basis_is_smooth_and_spans_every_kernel_when_large_enough():
    b = temporal_basis(6, 3)
    assert b.shape == (6, 6) and torch.linalg.matrix_rank(b.double()) == 6
    u = (torch.arange(6) + 0.5) / 6
    torch.testing.assert_close(b[1], torch.cos(math.pi * u))
    torch.testing.assert_close(b[3], torch.sin(math.pi * u))
    assert torch.linalg.matrix_rank(temporal_basis(10, 2).double()) == 4


def test_core_stacks_layers_and_normalises_grey_to_zero():
    core = SpatioTemporalCore((1, 3, 4), kernel_size=3, kernel_ms=4, dt_ms=2, stride=1)
    for layer in core.layers:
        torch.nn.init.zeros_(layer.bias)
    grey = torch.full((1, 5, 1, 8, 8), 0.5)
    assert core(grey).shape == (1, 5, 4, 8, 8) and core.out_size((8, 8)) == (8, 8)
    assert torch.count_nonzero(core(grey)) == 0


def test_bad_timing_is_named():
    with pytest.raises(ValueError, match="kernel_ms"):
        SpatioTemporalConv(1, 1, 3, kernel_ms=5, dt_ms=2)
    with pytest.raises(ValueError, match="expected a sequence"):
        SpatioTemporalConv(1, 1, 3)(torch.rand(1, 1, 8, 8))
    assert SpatioTemporalConv(1, 1, 3, kernel=6, dt=2).n_taps == 3  # DynVision's bare spellings work too


def test_the_cores_front_is_affine_and_the_rest_completes_it():
    core = SpatioTemporalCore((2, 3, 2), kernel_size=3, kernel_ms=4, dt_ms=2).double()
    base, a, b = (torch.rand(1, 5, 2, 8, 8, dtype=torch.float64) for _ in range(3))
    f = core.front
    torch.testing.assert_close(f(base + 0.3 * a - 2.0 * b), f(base) + 0.3 * (f(base + a) - f(base))
                               - 2.0 * (f(base + b) - f(base)))
    torch.testing.assert_close(core.from_front(core.front(base)), core(base))

"""Retina (centre-surround front stage) and the activation registry."""

import math

import pytest
import torch

import dynvision
from dynvision.layers.activation import ACTIVATIONS, lipschitz, make_activation
from dynvision.layers.retina import Retina, difference_of_gaussians
from dynvision.registry import UnknownNameError


def test_dog_kernels_are_zero_sum():
    assert abs(float(difference_of_gaussians(9, 1.0, 3.0).sum())) < 1e-6


def test_retina_ignores_uniform_light_and_signals_edges():
    retina = Retina(in_channels=1, out_channels=4, mid_channels=4, kernel_size=9)
    with torch.no_grad():
        ganglia = retina.ganglion(torch.full((1, 1, 32, 32), 0.8))[..., 8:-8, 8:-8]
        assert ganglia.abs().max() < 1e-5  # centre and surround cancel on a uniform field
        edge = torch.zeros(1, 1, 32, 32)
        edge[..., 16:] = 1.0
        response = retina.ganglion(edge)[..., 8:-8, 8:-8]
        assert response.abs().max() > 0.1 and response[0, 0, :, 0].abs().max() < 1e-5  # only at the edge


def test_model_with_retina_bottleneck():
    model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(4, 3, 16, 16), retina=True, width=0.25)
    assert model.input_stage.out_channels == 18 and model.areas["V1"].in_channels == 18
    assert model(torch.rand(1, 4, 3, 16, 16)).shape == (1, 4, 3)


def test_front_runs_once_per_distinct_frame_with_the_same_result_and_gradient():
    torch.manual_seed(0)
    model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(9, 1, 12, 12), retina=True, width=0.25)
    stage = model.input_stage
    x = torch.full((2, 9, 1, 12, 12), 0.5)
    x[:, 3:6] = torch.rand(2, 1, 1, 12, 12)  # grey, a held image, grey: 3 distinct runs of frames
    x[1, 7] = 0.7  # one frame differs in one sample only: it must not share the grey result
    calls = []
    stage.retina.register_forward_hook(lambda mod, inp, out: calls.append(inp[0].shape[0]))
    frames = stage.frames(x)
    assert calls == [5 * 2]  # frames 0, 3, 6, 7, 8 start runs; each runs once for both samples
    single = [stage.frames(x[:, k:k + 1])[0] for k in range(9)]  # each frame through the front alone
    for k in range(9):
        torch.testing.assert_close(frames[k], single[k], rtol=0, atol=0)
    # gradients: the held frame's 3 steps all reach the retina's weights
    (g_shared,) = torch.autograd.grad(sum((f * (k + 1)).sum() for k, f in enumerate(stage.frames(x))),
                                      stage.retina.lgn.weight)
    (g_alone,) = torch.autograd.grad(sum((stage.frames(x[:, k:k + 1])[0] * (k + 1)).sum() for k in range(9)),
                                     stage.retina.lgn.weight)
    torch.testing.assert_close(g_shared, g_alone)


def test_supralinear_activation():
    phi = make_activation("supralinear", exponent=2.0, gain=0.5)
    torch.testing.assert_close(phi(torch.tensor([-2.0, 0.0, 1.0, 3.0])), torch.tensor([0.0, 0.0, 0.5, 4.5]))
    with pytest.raises(ValueError, match="exponent must be > 0"):
        make_activation("supralinear", exponent=0.0)
    with pytest.raises(UnknownNameError, match=r"'gelu'.*'relu'.*'supralinear'"):
        make_activation("gelu")
    assert {"relu", "identity", "supralinear", "tanh", "sigmoid", "softplus"} <= set(ACTIVATIONS)
    model = dynvision.create_model("DyRCNNx2", input_dims=(3, 1, 16, 16), activation="supralinear", supralinearity=1.5)
    assert model.areas["V1"].activation.exponent == 1.5


def test_supralinear_continues_linearly_above_its_limit():
    n, x0 = 1.5, 0.5
    phi = make_activation("supralinear", exponent=n, linear_above=x0)
    x = torch.linspace(-1.0, 3.0, 4001, dtype=torch.float64, requires_grad=True)
    y = phi(x)
    below, above = x.detach() <= x0, x.detach() > x0
    torch.testing.assert_close(y[below], x.detach()[below].clamp(min=0) ** n)   # the power law
    slope = n * x0 ** (n - 1)
    torch.testing.assert_close(y[above], x0 ** n + slope * (x.detach()[above] - x0))  # its tangent at x0
    (grad,) = torch.autograd.grad(y.sum(), x)
    assert float(grad.max()) == pytest.approx(slope, rel=1e-3) == lipschitz(phi)   # the largest slope
    assert lipschitz(make_activation("supralinear", exponent=n)) == math.inf       # a pure power law: unbounded
    assert lipschitz(make_activation("relu")) == 1.0 and lipschitz(make_activation("sigmoid")) == 0.25
    with pytest.raises(ValueError, match="linear_above=-1"):
        make_activation("supralinear", exponent=n, linear_above=-1.0)


def test_recurrence_bound_is_on_the_loop_gain():
    kw = dict(input_dims=(3, 1, 16, 16), width=0.25, recurrence_bound=0.9, activation="supralinear",
              supralinearity=1.2)
    with pytest.raises(ValueError, match=r"recurrence_bound=0.9 .* bounded slope.*supralinear_limit"):
        dynvision.create_model("DyRCNNx2", **kw)
    model = dynvision.create_model("DyRCNNx2", supralinear_limit=2.0, **kw)
    slope = 1.2 * 2.0 ** 0.2
    assert model.areas["V1"].bound.bound == pytest.approx(0.9 / slope)
    assert dynvision.create_model("DyRCNNx2", **{**kw, "activation": "relu"}).areas["V1"].bound.bound == 0.9

"""Retina (centre-surround front stage) and the activation registry."""

import pytest
import torch

import dynvision
from dynvision.layers.activation import ACTIVATIONS, make_activation
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

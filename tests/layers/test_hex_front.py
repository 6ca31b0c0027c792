"""HexFront: the hexagonal front stage in a model's retina slot."""

import math

import numpy as np
import pytest
import torch

import dynvision
from dynvision.layers.hex import HexFront
from dynvision.stimuli import hex_to_image, render_hex


def test_matches_render_and_back_of_the_stimuli_package():
    front = HexFront(1, (20, 24), extent=4, kernel_size=4)
    x = torch.rand(3, 1, 20, 24)
    expected = hex_to_image(render_hex(x[:, 0].numpy(), extent=4, kernel_size=4)).values
    np.testing.assert_allclose(front(x)[:, 0].detach().numpy(), expected, atol=1e-6)
    assert front.receptors(x).shape == (3, 1, 61) and front.out_channels == 1


def test_uniform_stays_uniform_and_a_bar_keeps_its_orientation():
    front = HexFront(2, 32, extent=6, kernel_size=3)
    torch.testing.assert_close(front(torch.full((1, 2, 32, 32), -0.8)), torch.full((1, 2, 32, 32), -0.8))
    ii, jj = np.mgrid[:32, :32] + 0.5
    for angle in (0, 45, 90, 135):
        t = math.radians(angle)
        across = (jj - 16) * math.sin(t) + (ii - 16) * math.cos(t)
        along = (jj - 16) * math.cos(t) - (ii - 16) * math.sin(t)
        bar = torch.tensor((np.abs(across) < 1.45) & (np.abs(along) < 10.95), dtype=torch.float32)
        out = front(bar.expand(1, 2, 32, 32))[0, 1].numpy()
        w = np.clip(out - out.min(), 0, None)
        m = w.sum()
        cx, cy = (w * jj).sum() / m, (w * ii).sum() / m
        mu20, mu02 = (w * (jj - cx) ** 2).sum(), (w * (ii - cy) ** 2).sum()
        mu11 = (w * (jj - cx) * (ii - cy)).sum()
        measured = math.degrees(-0.5 * math.atan2(2 * mu11, mu20 - mu02)) % 180
        assert min(abs(measured - angle), 180 - abs(measured - angle)) < 3.0


def test_fill_marks_the_outside_and_is_in_normalised_units():
    front = HexFront(1, 16, extent=2, kernel_size=4, fill=0.0)
    out = front(torch.ones(1, 1, 16, 16))
    assert out[0, 0, 0, 0] == 0.0 and abs(float(out[0, 0, 8, 8]) - 1) < 1e-6


def test_is_differentiable_and_has_no_parameters():
    front = HexFront(1, 16, extent=3, kernel_size=4)
    x = torch.rand(2, 1, 16, 16, requires_grad=True)
    front(x).pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert list(front.parameters()) == [] and front.state_dict() == {}


def test_in_a_models_retina_slot():
    model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 16, 16), width=0.25)
    plain = model(torch.rand(1, 4, 1, 16, 16))
    model.input_stage.retina = HexFront(1, (16, 16), extent=3, kernel_size=4)
    x = torch.rand(2, 4, 1, 16, 16, requires_grad=True)
    logits = model(x)
    assert logits.shape == (2, 4, 3) and plain.shape == (1, 4, 3)
    normalised = (x.detach()[:, 0] - 0.5) / 0.25
    seen = model.input_stage.frames(x.detach())[0]  # what V1 receives at step 0
    torch.testing.assert_close(seen, model.input_stage.retina(normalised))
    logits.sum().backward()
    assert x.grad.abs().sum() > 0  # gradients reach the stimulus through the front stage
    # a checkpoint of the model does not change: the front stage keeps no state
    assert not any(k.startswith("input_stage.retina") for k in model.state_dict())


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_simulation_runs_with_the_front_stage(precision):
    model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 16, 16), width=0.25)
    model.input_stage.retina = HexFront(1, 16, extent=3, kernel_size=4)
    tree = dynvision.Simulation(model, precision=precision, progress=False).run(torch.rand(2, 4, 1, 16, 16))
    assert tree["V1"]["activity"].sizes["sample"] == 2
    assert np.isfinite(tree["logits"].values).all()


def test_errors():
    front = HexFront(1, 16, extent=2, kernel_size=4)
    with pytest.raises(ValueError, match=r"HexFront expects \(N, 1, 16, 16\) frames, got shape \(1, 3, 16, 16\)"):
        front(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"in_channels=0 is invalid"):
        HexFront(0, 16)


def test_hex_front_is_a_model_option():
    import dynvision

    model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 16, 16), width=0.25,
                                   hex_extent=3, hex_kernel_size=3)
    assert type(model.input_stage.retina).__name__ == "HexFront"
    with torch.no_grad():
        assert model(torch.rand(2, 4, 1, 16, 16)).shape == (2, 4, 3)
    with pytest.raises(ValueError, match="two front stages"):
        dynvision.create_model("DyRCNNx2", input_dims=(4, 1, 16, 16), retina=True, hex_extent=3)

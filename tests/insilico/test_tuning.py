"""Gradient grids equal finite differences, honour start/stop/step, take any pair; channel equalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

import dynvision
from dynvision.insilico import equalize_channels, gradient_grid, objective_values
from dynvision.insilico.tuning import contrast_values
from dynvision.validation import InvalidValueError


@pytest.fixture
def rgb_model():
    torch.manual_seed(5)
    model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(5, 3, 8, 8), width=0.15).double()
    with torch.no_grad():
        model.areas["V1"].conv.bias.fill_(0.3)
    return model.eval()


def _response(model, stim, unit, a, b, ca, cb, bg=0.5):
    """The unit's response with channel ca's contrast times a and cb's times b, computed directly."""
    x = stim.clone()
    x[:, ca] = bg + a * (stim[:, ca] - bg)
    x[:, cb] = bg + b * (stim[:, cb] - bg)
    with torch.no_grad():
        return float(objective_values(model, x[None], [unit])[0])


@pytest.mark.parametrize("channels", [(0, 1), (2, 0)])
def test_grid_values_and_gradients_equal_direct_runs_and_finite_differences(rgb_model, channels):
    g = torch.Generator().manual_seed(0)
    image = torch.rand(3, 8, 8, generator=g, dtype=torch.float64)
    ds = gradient_grid(rgb_model, image, "V1:1", channels=channels, start=-1, stop=1, step=0.5, progress=False)
    ca, cb = channels
    dims = (f"contrast_{ca}", f"contrast_{cb}")
    assert ds["response"].dims == dims and list(ds["component"].values) == [str(ca), str(cb)]
    stim = image.unsqueeze(0).expand(5, -1, -1, -1).clone()
    h = 1e-6
    for a in (-1.0, 0.0, 0.5):
        for b in (-0.5, 1.0):
            point = {dims[0]: a, dims[1]: b}
            assert float(ds["response"].sel(point)) == pytest.approx(_response(rgb_model, stim, "V1:1", a, b, ca, cb),
                                                                     rel=1e-10, abs=1e-12)
            fd_a = (_response(rgb_model, stim, "V1:1", a + h, b, ca, cb)
                    - _response(rgb_model, stim, "V1:1", a - h, b, ca, cb)) / (2 * h)
            fd_b = (_response(rgb_model, stim, "V1:1", a, b + h, ca, cb)
                    - _response(rgb_model, stim, "V1:1", a, b - h, ca, cb)) / (2 * h)
            grad = ds["gradient"].sel(point).values
            np.testing.assert_allclose(grad, [fd_a, fd_b], rtol=1e-5, atol=1e-8)
            assert float(ds["norm"].sel(point)) == pytest.approx(np.hypot(*grad))
    assert np.abs(ds["gradient"]).max() > 0


def test_start_stop_and_step_are_honoured(rgb_model):
    ds = gradient_grid(rgb_model, torch.rand(3, 8, 8), "output:0", channels=(1, 2), start=0.0, stop=0.6, step=0.2,
                       progress=False)
    np.testing.assert_allclose(ds["contrast_1"], [0.0, 0.2, 0.4, 0.6])
    np.testing.assert_allclose(ds["contrast_2"], [0.0, 0.2, 0.4, 0.6])
    assert ds["response"].shape == (4, 4) and ds["gradient"].shape == (2, 4, 4)
    assert len(contrast_values(-1, 1, 0.1)) == 21 and contrast_values(-1, 1, 0.1)[-1] == pytest.approx(1.0)
    assert contrast_values(0, 0.55, 0.2).tolist() == pytest.approx([0.0, 0.2, 0.4])
    assert ds.attrs["settings"]["step"] == 0.2 and ds.attrs["unit"] == "output:0"


def test_points_are_evaluated_in_batches_not_one_run_each(rgb_model):
    calls = []
    run = rgb_model.run
    rgb_model.run = lambda x, **kw: calls.append(x.shape[0]) or run(x, **kw)
    ds = gradient_grid(rgb_model, torch.rand(3, 8, 8), "V2:0", start=-1, stop=1, step=0.1, batch_size=200,
                       progress=False)
    assert ds["response"].shape == (21, 21)
    assert calls == [200, 200, 41]


def test_masks_vary_two_parts_of_a_one_channel_stimulus(tiny_dyrcnn):
    model = tiny_dyrcnn.double().eval()
    image = torch.rand(1, 8, 8, dtype=torch.float64)
    yy, xx = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    centre = (((yy - 4) ** 2 + (xx - 4) ** 2) <= 4).double()
    ds = gradient_grid(model, image, "V1:0", masks=(centre, 1 - centre), names=("centre", "surround"),
                       start=0, stop=1, step=0.5, progress=False)
    assert ds["response"].dims == ("contrast_centre", "contrast_surround")
    x = 0.5 + (0.5 * centre + 1.0 * (1 - centre)) * (image - 0.5)  # centre at half contrast
    with torch.no_grad():
        direct = float(objective_values(model, x.unsqueeze(0).expand(6, -1, -1, -1)[None], ["V1:0"])[0])
    assert float(ds["response"].sel(contrast_centre=0.5, contrast_surround=1.0)) == pytest.approx(direct, rel=1e-10)


def test_bad_grids_are_named(tiny_dyrcnn, rgb_model):
    with pytest.raises(ValueError, match="1 input channel.*masks="):
        gradient_grid(tiny_dyrcnn, torch.rand(1, 8, 8), "V1:0", progress=False)
    with pytest.raises(InvalidValueError, match="two different channels"):
        gradient_grid(rgb_model, torch.rand(3, 8, 8), "V1:0", channels=(1, 1), progress=False)
    with pytest.raises(InvalidValueError, match=r"channels\[1\]=3"):
        gradient_grid(rgb_model, torch.rand(3, 8, 8), "V1:0", channels=(0, 3), progress=False)
    with pytest.raises(InvalidValueError, match="stop=-2"):
        gradient_grid(rgb_model, torch.rand(3, 8, 8), "V1:0", stop=-2, progress=False)
    with pytest.raises(InvalidValueError, match="step=0"):
        gradient_grid(rgb_model, torch.rand(3, 8, 8), "V1:0", step=0, progress=False)
    with pytest.raises(ValueError, match=r"image \(3, 8, 8\)"):
        gradient_grid(rgb_model, torch.rand(3, 16, 16), "V1:0", progress=False)


def test_equalize_channels_gives_equal_norms_and_keeps_the_total():
    g = torch.Generator().manual_seed(2)
    stim = 0.5 + 0.2 * torch.randn(2, 4, 3, 5, 5, generator=g, dtype=torch.float64) * torch.tensor([1.0, 3.0, 0.5],
                                                                                                  dtype=torch.float64
                                                                                                  ).view(3, 1, 1)
    out = equalize_channels(stim, flip=[1])
    for s in range(2):
        d, e = stim[s] - 0.5, out[s] - 0.5
        norms = e.pow(2).sum((0, 2, 3)).sqrt()
        torch.testing.assert_close(norms, norms.mean().expand(3))
        torch.testing.assert_close(e.norm(), d.norm())
        torch.testing.assert_close(torch.sign(e[:, 1]), -torch.sign(d[:, 1]))  # flipped
        torch.testing.assert_close(torch.sign(e[:, 0]), torch.sign(d[:, 0]))
    da = xr.DataArray(stim.numpy(), dims=("sample", "time", "channel", "y", "x"), attrs={"stimulus": "noise"})
    eq = equalize_channels(da, flip=1)
    np.testing.assert_allclose(eq.values, out.numpy(), rtol=1e-12)
    assert eq.attrs == {"stimulus": "noise"}
    np.testing.assert_allclose(equalize_channels(stim.numpy()[0]), equalize_channels(stim[0]).numpy())
    flat = stim.clone()
    flat[:, :, 2] = 0.5
    with pytest.raises(ValueError, match=r"channel\(s\) \[2\] have no contrast"):
        equalize_channels(flat)


def test_a_cores_affine_first_stage_runs_three_times_with_the_same_grid():
    from dynvision.layers import SpatioTemporalCore
    from dynvision.training.readout import ReadoutModel

    torch.manual_seed(0)
    core = SpatioTemporalCore((2, 3, 4), kernel_size=(5, 3), kernel_ms=(6, 4), padding=(0, None), dt_ms=2)
    model = ReadoutModel(core, {"s": 3}, input_dims=(6, 2, 10, 9)).double().eval()
    assert model.has_affine_front
    calls = []
    front = model.affine_front
    model.affine_front = lambda x: calls.append(x.shape[0]) or front(x)
    image = torch.rand(2, 10, 9, dtype=torch.float64)
    kw = {"start": -1, "stop": 1, "step": 0.5, "progress": False, "batch_size": 10}
    fast = gradient_grid(model, image, "readout:s:1", **kw)
    assert calls == [3], "the first stage runs on base, base + A and base + B only"
    slow = gradient_grid(model, image, "readout:s:1", affine_front=False, **kw)
    np.testing.assert_allclose(fast["response"], slow["response"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast["gradient"], slow["gradient"], rtol=1e-8, atol=1e-12)
    stim = image.unsqueeze(0).expand(6, -1, -1, -1).clone()
    h = 1e-6
    fd = (_response(model, stim, "readout:s:1", 0.5 + h, -1.0, 0, 1) -
          _response(model, stim, "readout:s:1", 0.5 - h, -1.0, 0, 1)) / (2 * h)
    assert float(fast["gradient"].sel(component="0", contrast_0=0.5, contrast_1=-1.0)) == pytest.approx(fd, rel=1e-5)

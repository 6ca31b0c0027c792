"""Most exciting inputs: known optima, monotone ascent, feasible iterates, per-unit batching, frozen models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from dynvision.insilico import best_meis, mei, open_meis, save_meis
from dynvision.insilico.units import Unit
from dynvision.registry import UnknownNameError
from dynvision.validation import InvalidValueError


def _cos(a, b) -> float:
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.mark.parametrize("channel, optimizer, lr", [(0, "ascent", 0.5), (2, "ascent", 0.5), (1, "sgd", 0.2)])
def test_linear_unit_mei_is_its_normalised_weight_pattern_and_ascent_is_monotone(linear_toy, channel, optimizer, lr):
    radius = 1.5
    ds = mei(linear_toy, [Unit("A", channel)], optimizer=optimizer, lr=lr, steps=80, value_range=None, norm=radius,
             progress=False)
    w = linear_toy.w.detach()[channel].numpy()
    contrast = ds["mei"].isel(unit=0, start=0).values - 0.5
    assert np.linalg.norm(contrast) == pytest.approx(radius, rel=1e-5)
    np.testing.assert_allclose(contrast, radius * w / np.linalg.norm(w), atol=1e-4)
    trace = ds["trace"].isel(unit=0, start=0).values
    assert np.all(np.diff(trace) >= -1e-5 * np.abs(trace[1:])), "the objective never decreases"
    assert trace[-1] == pytest.approx(radius * np.linalg.norm(w), rel=1e-5)  # the known maximum
    assert float(ds["objective"].isel(unit=0, start=0)) == trace[-1]


@pytest.mark.parametrize("optimizer", ["ascent", "adam"])
def test_in_a_value_range_the_mei_is_the_corner_of_the_weight_signs(linear_toy, optimizer):
    ds = mei(linear_toy, ["A:1", "output:1"], optimizer=optimizer, lr=0.5 if optimizer == "ascent" else 0.1,
             steps=60, progress=False)
    w = linear_toy.w.detach()[1].numpy()
    np.testing.assert_allclose(ds["mei"].sel(unit="A:1@1,1").isel(start=0), 0.5 + 0.5 * np.sign(w), atol=1e-3)
    np.testing.assert_allclose(ds["mei"].sel(unit="output:1").isel(start=0), 0.5 - 0.5 * np.sign(w), atol=1e-3)


def test_constraints_hold_after_every_step(linear_toy):
    seen = []

    def check(step, units, stimulus):
        contrast = stimulus - 0.5
        assert stimulus.min() >= 0.2 - 1e-6 and stimulus.max() <= 0.9 + 1e-6
        assert float(contrast.flatten(1).norm(dim=1).max()) <= 1.2 + 1e-5
        seen.append(step)

    mei(linear_toy, ["A:0", "A:1", "A:2"], n_starts=2, steps=25, lr=0.3, value_range=(0.2, 0.9), norm=1.2,
        init_std=1.0, progress=False, callback=check)
    assert seen == list(range(1, 26))


def test_movie_constraint_keeps_every_frame_band_limited(linear_toy):
    from dynvision.insilico.constraints import lowpass_basis

    linear_toy.input_dims = (10, *linear_toy.input_dims[1:])
    basis = lowpass_basis(10, 2.0, 60.0).double()
    residuals = []

    def check(step, units, stimulus):
        d = stimulus.double() - 0.5
        smooth = torch.einsum("kt,rk...->rt...", basis, torch.einsum("kt,rt...->rk...", basis, d))
        residuals.append(float((d - smooth).abs().max()))
        assert float(d.abs().max()) <= 0.5 + 1e-6

    ds = mei(linear_toy, ["A:0"], static=False, temporal_cutoff_hz=60.0, steps=10, init_std=0.5,
             progress=False, callback=check)
    assert ds["mei"].dims == ("unit", "start", "time", "channel", "y", "x") and ds.sizes["time"] == 10
    assert max(residuals) < 1e-5


def test_each_unit_gets_its_own_mei_whatever_the_batch(tiny_dyrcnn):
    units = ["V1:0", "V1:1@2,5", "V2:2", "output:1"]
    kw = {"n_starts": 2, "steps": 12, "lr": 0.1, "seed": 7, "progress": False}
    together = mei(tiny_dyrcnn, units, **kw)
    split = mei(tiny_dyrcnn, units, batch_size=3, **kw)
    for i, unit in enumerate(units):
        alone = mei(tiny_dyrcnn, [unit], **kw)
        for other in (together, split):
            np.testing.assert_allclose(other["mei"].isel(unit=i).values, alone["mei"].isel(unit=0).values, atol=2e-5)
            np.testing.assert_allclose(other["trace"].isel(unit=i).values, alone["trace"].isel(unit=0).values,
                                       rtol=1e-4, atol=1e-6)
    meis = together["mei"].values
    assert not np.allclose(meis[0], meis[2]) and not np.allclose(meis[0], meis[3]), "units differ"
    assert np.all(together["trace"].isel(step=-1) >= together["trace"].isel(step=0))


def test_the_model_is_frozen_and_restored(tiny_dyrcnn):
    model = tiny_dyrcnn
    model.train()
    model.areas["V2"].eval()
    frozen_before = model.areas["V1"].conv.bias
    frozen_before.requires_grad_(False)
    model.classifier.weight.grad = torch.ones_like(model.classifier.weight)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    modes = {n: m.training for n, m in model.named_modules()}
    training_inside = []
    mei(model, ["V2:0"], steps=3, progress=False,
        callback=lambda *a: training_inside.append(any(m.training for m in model.modules())))
    assert training_inside == [False] * 3
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert {n: m.training for n, m in model.named_modules()} == modes
    assert all(p.grad is None for n, p in model.named_parameters() if n != "classifier.weight")
    assert torch.equal(model.classifier.weight.grad, torch.ones_like(model.classifier.weight))
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), f"{k} changed"


def test_seeded_and_stored_with_its_settings(tiny_dyrcnn, tmp_path):
    kw = {"n_starts": 3, "steps": 4, "seed": 1, "progress": False, "window_ms": (4, 10), "reduce": "max"}
    a = mei(tiny_dyrcnn, ["V1:2", "output:0"], **kw)
    b = mei(tiny_dyrcnn, ["V1:2", "output:0"], **kw)
    xr.testing.assert_identical(a, b)
    assert not np.allclose(a["mei"].isel(start=0), a["mei"].isel(start=1)), "starts differ"
    assert a.attrs["settings"]["window_ms"] == [4, 10] and a.attrs["model"]["model"] == "DyRCNNx2"
    path = save_meis(a, tmp_path / "meis.zarr")
    back = open_meis(path).load()
    xr.testing.assert_identical(back, a)
    assert back.attrs["settings"] == a.attrs["settings"]
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_meis(a, path)
    save_meis(b.isel(start=[0]), path, overwrite=True)
    assert open_meis(path).sizes["start"] == 1
    best = best_meis(a)
    for i in range(2):
        np.testing.assert_array_equal(best.isel(unit=i), a["mei"].isel(unit=i, start=int(a["best_start"][i])))


def test_bad_arguments_are_named(tiny_dyrcnn):
    with pytest.raises(UnknownNameError, match="'V3'.*'V1'"):
        mei(tiny_dyrcnn, ["V3:0"], progress=False)
    with pytest.raises(InvalidValueError, match="channel of unit 'V1:99'"):
        mei(tiny_dyrcnn, ["V1:99"], progress=False)
    with pytest.raises(InvalidValueError, match="value_range"):
        mei(tiny_dyrcnn, ["V1:0"], value_range=(0.6, 1.0), progress=False)
    with pytest.raises(ValueError, match="static=False"):
        mei(tiny_dyrcnn, ["V1:0"], temporal_cutoff_hz=10, progress=False)
    with pytest.raises(UnknownNameError, match="time reducer 'median'"):
        mei(tiny_dyrcnn, ["V1:0"], reduce="median", progress=False)
    with pytest.raises(ValueError, match="duration_ms"):
        mei(tiny_dyrcnn, ["V1:0"], duration_ms=5, progress=False)
    with pytest.raises(ValueError, match="window_ms"):
        mei(tiny_dyrcnn, ["V1:0"], window_ms=(100, 200), steps=1, progress=False)

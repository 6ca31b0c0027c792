"""Impulse responses: a leaky unit's response to a flash is a jump of alpha * drive, then exp(-dt/tau) decay."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import dynvision
from dynvision.insilico import impulse_responses
from dynvision.registry import UnknownNameError


@pytest.mark.parametrize("dt, tau", [(2.0, 5.0), (1.0, 20.0)])
def test_a_leaky_unit_jumps_by_alpha_drive_then_decays_with_its_time_constant(dt, tau):
    model = dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(4, 1, 16, 16), width=0.25, dt=dt, tau=tau,
                                   recurrence_type="none", bias=False)
    tree = impulse_responses(model, ["V1"], duration_ms=30 * dt, output=False)
    r = tree["V1"]["response"]
    w = model.areas["V1"].conv.weight.detach().double()
    drive = {"on": 2.0 * w.sum((1, 2, 3)), "off": -2.0 * w.sum((1, 2, 3))}  # (1 - 0.5) / 0.25 = 2 at every pixel
    alpha = 1 - math.exp(-dt / tau)
    onset = tree.attrs["onset_ms"]
    for pol in ("on", "off"):
        trace = r.sel(polarity=pol).values  # (time, channel)
        times = r["time"].values
        assert np.all(trace[times < onset] == 0), "nothing before the flash"
        np.testing.assert_allclose(trace.max(0), alpha * torch.relu(drive[pol]).numpy(), rtol=1e-5, atol=1e-7)
        for c in np.flatnonzero(drive[pol].numpy() > 0):
            k = int(np.argmax(trace[:, c]))
            ratios = trace[k + 1:k + 6, c] / trace[k:k + 5, c]
            np.testing.assert_allclose(ratios, math.exp(-dt / tau), rtol=1e-4)
        silent = drive[pol].numpy() <= 0
        assert np.all(trace[:, silent] == 0), "rectified channels stay at rest"


def test_outputs_and_recurrence_show_up_and_time_is_in_ms(tiny_dyrcnn):
    tree = impulse_responses(tiny_dyrcnn, pulse_ms=4, onset_ms=6, duration_ms=40, polarities=["off"])
    assert set(tree.children) == {"V1", "V2", "output"}
    out = tree["output"]["response"]
    assert out.dims == ("polarity", "time", "class") and out.sizes["class"] == 3
    np.testing.assert_allclose(out["time"].values[:3], [0.0, 2.0, 4.0])
    assert tree.attrs["pulse_ms"] == 4 and tree.attrs["onset_ms"] == 6
    assert np.abs(tree["V2"]["response"]).max() > 0
    v1 = tree["V1"]["response"]
    assert np.all(v1.where(v1["time"] < 6, drop=True) == 0), "the resting response (biases) is subtracted"
    with pytest.raises(UnknownNameError, match="'V5'"):
        impulse_responses(tiny_dyrcnn, ["V5"])
    with pytest.raises(ValueError, match="does not fit"):
        impulse_responses(tiny_dyrcnn, onset_ms=20, duration_ms=10)
    with pytest.raises(ValueError, match="pulse_ms"):
        impulse_responses(tiny_dyrcnn, pulse_ms=3)

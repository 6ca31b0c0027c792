"""The time convention: the value under label t is the state at t; frame t acts from t + dt on."""

import numpy as np
import pytest
import torch

import dynvision
from dynvision.stimuli import presentation


def _model(tff_ms, integrator, **kw):
    torch.manual_seed(0)
    model = dynvision.create_model("DyRCNNx4", n_classes=3, input_dims=(12, 1, 16, 16), width=0.125,
                                   dt=2.0, tff=tff_ms, integrator=integrator, **kw)
    for name, p in model.named_parameters():  # a resting state that is not zero
        if name.endswith("bias"):
            torch.nn.init.uniform_(p, 0.0, 0.3)
    return model


def first_change(a: torch.Tensor, b: torch.Tensor) -> int:
    changed = (a != b).flatten(2).any(-1).any(0)
    return int(torch.nonzero(changed)[0]) if changed.any() else -1


@pytest.mark.parametrize("tin_steps", [0, 2])
@pytest.mark.parametrize("skip", [True, False])
@pytest.mark.parametrize("integrator", ["etd2", "exponential", "euler"])
@pytest.mark.parametrize("tff_steps", [0, 1, 3])
def test_step_stimulus_shows_one_step_later_in_v1_and_each_delay_later_above(tff_steps, integrator, skip, tin_steps):
    model = _model(2.0 * tff_steps, integrator, tau=5.0 if integrator != "euler" else 8.0, skip=skip,
                   tin=2.0 * tin_steps)
    steady = model.steady_state(2)
    k0, steps = 4, 28
    grey = torch.full((2, steps, 1, 16, 16), 0.5)
    stim = grey.clone()
    stim[:, k0:] = torch.rand(2, 1, 1, 16, 16)  # onset at t0 = k0 * dt
    with torch.no_grad():
        a = model.run(stim, steady, record=model.area_names)
        b = model.run(grey, steady, record=model.area_names)
    onsets = [first_change(a.recordings[n], b.recordings[n]) for n in model.area_names]
    # every area sits exactly at its pre-stimulus value at every label <= t0 ...
    assert min(onsets) > k0
    # ... V1 first changes at t0 + tin + dt and each later area exactly its feedforward delay later
    # (DyRCNNx4's V1 -> V4 and V2 -> IT skips, tsk = 0, read V1 and V2 without their delay)
    skip_reach = {"V1": 0, "V2": 1, "V4": 0, "IT": 1} if skip else {"V1": 0, "V2": 1, "V4": 2, "IT": 3}
    assert onsets == [k0 + tin_steps + 1 + skip_reach[n] * tff_steps for n in model.area_names]
    # the logits leave rest when the stimulus reaches IT's output
    assert first_change(a.logits, b.logits) == onsets[-1] + tff_steps


def test_simulation_labels_follow_the_stimulus_time_axis():
    model = _model(0.0, "etd2")
    stim = presentation(dynvision.stimuli.make_images("digits", n=1, size=16), dt=2.0, t_pre=10.0,
                        t_stim=20.0, t_post=10.0)
    tree = dynvision.Simulation(model, progress=False).run(stim, initial_state="steady")
    times = tree["V1"]["time"].values
    np.testing.assert_array_equal(times, stim["time"].values)
    v1 = tree["V1"]["activity"].mean(("channel", "y", "x")).isel(sample=0).values
    # the stimulus appears at 10 ms: V1 is at rest up to and including the 10 ms label
    assert np.all(v1[times <= 10.0] == v1[0])
    assert v1[times == 12.0][0] != v1[0]

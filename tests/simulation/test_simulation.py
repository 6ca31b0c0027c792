"""Simulation -> xarray DataTree -> zarr: schema, round trips, streaming, resume, bad input."""

import json

import numpy as np
import pytest
import torch
import xarray as xr

import dynvision
from dynvision import Simulation, open_activations
from dynvision.io import StoreMismatchError, store_status
from dynvision.registry import UnknownNameError

from shared_helpers import make_stimulus


def test_tree_schema(tiny_model, stimulus):
    tree = Simulation(tiny_model, progress=False, batch_size=2).run(stimulus)
    assert set(tree.children) == {"V1", "V2", "stimulus"}
    act = tree["V1"]["activity"]
    assert act.dims == ("sample", "time", "channel", "y", "x")
    assert act.shape == (5, 6, tiny_model.areas["V1"].out_channels, 16, 16)
    assert tree["logits"].dims == ("sample", "time", "class") and tree["logits"].shape == (5, 6, 3)
    np.testing.assert_allclose(act["time"], np.arange(6) * 2.0)
    assert act["time"].attrs["units"] == "ms"
    # stimulus conditions are coordinates on every node (DataTree does not pass them down)
    for node in ("V1", "V2", "stimulus"):
        np.testing.assert_allclose(tree[node].to_dataset(inherit=False)["contrast"], stimulus["contrast"])
    assert tree.attrs["model"] == "DyRCNNx2"
    assert tree.attrs["config"]["input_dims"] == [6, 1, 16, 16]
    assert tree.attrs["dt"] == 2.0 and tree.attrs["dynvision_version"] == dynvision.__version__
    assert tree["V1"].attrs["tau_ms"] == 5.0
    np.testing.assert_array_equal(tree["stimulus"]["luminance"].values, stimulus.values)


def test_results_equal_a_direct_model_run(tiny_model, stimulus):
    tree = Simulation(tiny_model, progress=False, batch_size=2).run(stimulus)
    with torch.no_grad():
        out = tiny_model.eval().run(torch.from_numpy(stimulus.values), record=["V2"])
    np.testing.assert_allclose(tree["V2"]["activity"].values, out.recordings["V2"].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tree["logits"].values, out.logits.numpy(), rtol=1e-5, atol=1e-6)


def test_no_gradients_unless_asked(tiny_model, stimulus):
    sim = Simulation(tiny_model, progress=False)
    x = torch.from_numpy(stimulus.values)
    assert not sim.run_tensors(x).logits.requires_grad
    assert sim.run_tensors(x, grad=True).logits.requires_grad


@pytest.mark.parametrize("url", ["dir", "memory://dv-test/acts.zarr"])
def test_zarr_round_trip_is_identical(tiny_model, stimulus, tmp_path, url):
    store = tmp_path / "acts.zarr" if url == "dir" else url
    sim = Simulation(tiny_model, progress=False, batch_size=2)
    in_memory = sim.run(stimulus)
    stored = sim.run(stimulus, store=store)
    assert stored["V1"]["activity"].chunks is not None  # lazy, dask-backed
    xr.testing.assert_identical(in_memory, stored)
    xr.testing.assert_identical(open_activations(store), in_memory)
    assert store_status(store)["complete"] is True


def test_streaming_writes_unit_by_unit_and_resumes_after_a_failure(tiny_model, stimulus, tmp_path, monkeypatch):
    from dynvision.simulation.executor import Executor

    store = tmp_path / "acts.zarr"
    sim = Simulation(tiny_model, progress=False, batch_size=2)
    reference = sim.run(stimulus)
    calls = {"n": 0}
    original = Executor.run

    def flaky(self, unit, frames):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash")
        return original(self, unit, frames)

    monkeypatch.setattr(Executor, "run", flaky)
    with pytest.raises(RuntimeError, match="simulated crash"):
        sim.run(stimulus, store=store)
    status = store_status(store)
    assert status["complete"] is False and status["samples_written"] == 2 and status["samples_total"] == 5
    with pytest.raises(ValueError, match=r"incomplete \(2 of 5 samples written\).*resume"):
        open_activations(store)
    calls["n"] = 10  # no more crashes; count the units the resumed run computes
    resumed = sim.run(stimulus, store=store)
    assert calls["n"] == 12  # 2 units left (samples 2-3 and 4), the first one was kept
    xr.testing.assert_identical(resumed, reference)
    again = sim.run(stimulus, store=store)  # complete: reopened, not recomputed
    assert calls["n"] == 12
    xr.testing.assert_identical(again, reference)


def test_store_holding_a_different_run_is_not_overwritten(tiny_model, stimulus, tmp_path):
    store = tmp_path / "acts.zarr"
    sim = Simulation(tiny_model, progress=False)
    sim.run(stimulus, store=store)
    other = make_stimulus(seed=1)
    with pytest.raises(StoreMismatchError, match="already holds a different run.*overwrite=True"):
        sim.run(other, store=store)
    tree = sim.run(other, store=store, overwrite=True)
    np.testing.assert_array_equal(tree["stimulus"]["luminance"].values, other.values)


def test_store_less_options(tiny_model, stimulus, tmp_path):
    sim = Simulation(tiny_model, progress=False, batch_size=3)
    full = sim.run(stimulus)
    mean = sim.run(stimulus, record=["V2"], reduce="mean", store=tmp_path / "m.zarr", store_stimulus=False)
    assert set(mean.children) == {"V2"}
    assert mean["V2"]["activity"].dims == ("sample", "time", "channel")
    np.testing.assert_allclose(mean["V2"]["activity"], full["V2"]["activity"].mean(("y", "x")), rtol=1e-5, atol=1e-6)
    centre = sim.run(stimulus, record={"V1": "center"})
    np.testing.assert_allclose(centre["V1"]["activity"], full["V1"]["activity"].isel(y=8, x=8))
    half = sim.run(stimulus, store=tmp_path / "h.zarr", store_dtype="float16")
    assert half["V1"]["activity"].dtype == np.float16
    np.testing.assert_allclose(half["V1"]["activity"].values, full["V1"]["activity"].values, rtol=2e-3, atol=2e-3)


def test_stream_memory_does_not_hold_all_samples(tiny_model, tmp_path):
    stim = make_stimulus(n=12)
    sim = Simulation(tiny_model, progress=False, batch_size=4)
    seen = []
    sim.run(stim, batch_size=4)  # builds the executor (a prepared copy of the model)
    executor = next(iter(sim._executors.values()))
    original = executor.model.run

    def spy(x, *a, **k):
        seen.append(x.shape[0])
        return original(x, *a, **k)

    executor.model.run = spy
    sim.run(stim, store=tmp_path / "s.zarr")
    assert seen == [4, 4, 4]


def test_initial_states_and_idle_time(tiny_model, stimulus):
    with torch.no_grad():  # spontaneous activity: the resting state under a blank is not zero
        for area in tiny_model.areas.values():
            area.conv.bias.fill_(0.2)
    sim = Simulation(tiny_model, progress=False)
    zeros = sim.run(stimulus, record=["V1"])
    steady = sim.run(stimulus, record=["V1"], initial_state="steady")
    idle = sim.run(stimulus, record=["V1"], idle_ms=200)
    fade = sim.run(stimulus, record=["V1"], initial_state="fade_in")
    assert steady.attrs["initial_state"] == "steady" and idle.attrs["idle_ms"] == 200.0
    # a long blank before the stimulus reaches the steady state
    np.testing.assert_allclose(idle["V1"]["activity"], steady["V1"]["activity"], rtol=1e-4, atol=1e-5)
    assert not np.allclose(zeros["V1"]["activity"][:, 0], steady["V1"]["activity"][:, 0])
    assert not np.allclose(fade["V1"]["activity"][:, 0], steady["V1"]["activity"][:, 0])


def test_stimulus_time_grid_is_resampled_to_dt(tiny_model):
    stim = make_stimulus(steps=3, dt=4.0)  # frames every 4 ms, model steps of 2 ms
    tree = Simulation(tiny_model, progress=False).run(stim)
    np.testing.assert_allclose(tree["time"], np.arange(6) * 2.0)
    lum = tree["stimulus"]["luminance"].values
    np.testing.assert_array_equal(lum[:, 0], lum[:, 1])  # sample-and-hold
    np.testing.assert_array_equal(lum[:, ::2], stim.values)


def test_bad_input_errors(tiny_model, stimulus, tmp_path):
    sim = Simulation(tiny_model, progress=False)
    with pytest.raises(ValueError, match="rank 5"):
        sim.run(np.zeros((2, 6, 16, 16), np.float32))
    with pytest.raises(ValueError, match=r"stimulus has 3 channels.*1 channel"):
        sim.run(np.zeros((2, 6, 3, 16, 16), np.float32))
    bad = stimulus.copy()
    bad[0, 0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        sim.run(bad)
    with pytest.raises(ValueError, match="empty"):
        sim.run(stimulus.isel(sample=slice(0, 0)))
    with pytest.raises(UnknownNameError, match=r"unknown area 'V4'.*'V1', 'V2'"):
        sim.run(stimulus, record=["V1", "V4"])
    with pytest.raises(UnknownNameError, match=r"unknown reduction 'median'.*'center', 'mean', 'none'"):
        sim.run(stimulus, reduce="median")
    with pytest.raises(UnknownNameError, match=r"unknown initial_state 'blank'.*'fade_in', 'steady', 'zeros'"):
        sim.run(stimulus, initial_state="blank")
    with pytest.raises(ValueError, match=r"idle_ms=3 is not a multiple of dt_ms=2"):
        sim.run(stimulus, idle_ms=3)
    with pytest.raises(ValueError, match=r"dims \('sample', 'time', 'channel', 'y', 'x'\)"):
        sim.run(stimulus.rename(y="row"))
    with pytest.raises(TypeError, match="needs a dynvision model"):
        Simulation(torch.nn.Linear(2, 2))
    with pytest.raises(UnknownNameError, match="precision"):
        Simulation(tiny_model, precision="float8")
    assert not (tmp_path / "nothing.zarr").exists()


@pytest.mark.parametrize("precision", ["bfloat16", "autocast"])
def test_bfloat16_paths_stay_close_to_float32(tiny_x4, precision):
    stim = make_stimulus(n=2, steps=8)
    ref = Simulation(tiny_x4, progress=False).run(stim, record=["IT"], initial_state="steady")
    bf = Simulation(tiny_x4, progress=False, precision=precision).run(stim, record=["IT"], initial_state="steady")
    a, b = ref["IT"]["activity"].values, bf["IT"]["activity"].values
    assert np.abs(a - b).max() <= 0.03 * np.abs(a).max() + 1e-6
    assert next(tiny_x4.parameters()).dtype == torch.float32  # the caller's model is untouched
    np.testing.assert_array_equal(bf["stimulus"]["luminance"].values, stim.values)


def test_channels_last_gives_the_same_result_without_converting_the_callers_model(tiny_x4):
    stim = make_stimulus(n=2, steps=8)
    tiny_x4.to(memory_format=torch.contiguous_format).train()  # (models are built channels-last)
    before = {k: (v.clone(), v.stride()) for k, v in tiny_x4.state_dict().items()}
    plain = Simulation(tiny_x4, progress=False, channels_last=False).run(stim)
    fast = Simulation(tiny_x4, progress=False, channels_last=True).run(stim)
    xr.testing.assert_allclose(plain, fast, rtol=1e-5, atol=1e-6)
    assert not tiny_x4.channels_last and tiny_x4.training  # layout and mode untouched
    for k, v in tiny_x4.state_dict().items():
        assert v.stride() == before[k][1] and torch.equal(v, before[k][0])


def test_attrs_are_json_serialisable(tiny_model, stimulus):
    tree = Simulation(tiny_model, progress=False).run(stimulus)
    json.dumps(tree.attrs)


def _unstable(model):
    with torch.no_grad():
        for area in model.areas.values():
            area.conv.bias.fill_(0.1)
            area.recurrence.conv.weight.fill_(1.0)  # loop gain >> 1: activity explodes
    return model


def test_diverging_activity_is_refused_with_the_area_and_time(tiny_model, stimulus):
    sim = Simulation(_unstable(tiny_model), progress=False)
    long = make_stimulus(n=2, steps=400)
    with pytest.raises(FloatingPointError, match=r"diverged \(inf or NaN\) in area V1: first at sample 0, "
                                                 r"time \d+ ms; nothing of samples 0..1 was stored"):
        sim.run(long)


def test_steady_state_of_an_unstable_model_is_an_error(tiny_model):
    with pytest.raises(ValueError, match=r"does not settle under a blank screen: activity in \['V1', 'V2'\]"):
        _unstable(tiny_model).steady_state()

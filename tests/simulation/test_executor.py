"""The executor alone: a prepared copy, buffers in the stored dtype and layout, device-agnostic."""

import numpy as np
import pytest
import torch

from dynvision import Simulation
from dynvision.simulation.executor import Executor, prepare_model
from dynvision.simulation.plan import make_plan

from shared_helpers import make_stimulus


def test_the_callers_model_is_never_converted(tiny_x4):
    tiny_x4.to(memory_format=torch.contiguous_format).train()  # (models are built channels-last)
    before = {k: v.clone() for k, v in tiny_x4.state_dict().items()}
    for precision in ("bfloat16", "autocast", "float32"):
        Simulation(tiny_x4, progress=False, precision=precision).run(make_stimulus(n=2, steps=8))
    assert tiny_x4.training and not tiny_x4.channels_last
    for k, v in tiny_x4.state_dict().items():
        assert v.dtype == before[k].dtype and torch.equal(v, before[k])


def test_a_unit_comes_back_in_the_stored_dtype_and_layout(tiny_model):
    stim = make_stimulus(n=3)
    plan = make_plan([tiny_model], stim, record=["V1"], store_dtype="float16", batch_size=3)
    out = Executor(tiny_model, plan).run(plan.units[0], stim.values)
    assert out["V1"].dtype == np.float16 and out["V1"].flags["C_CONTIGUOUS"] and out["V1"].shape == (3, 6, 9, 16, 16)
    with torch.no_grad():
        ref = tiny_model.eval().run(torch.from_numpy(stim.values), record=["V1"])
    np.testing.assert_allclose(out["V1"], ref.recordings["V1"].numpy(), rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(out["logits"], ref.logits.numpy(), rtol=2e-3, atol=2e-3)


def test_units_reuse_two_alternating_buffer_sets(tiny_model):
    stim = make_stimulus(n=6)
    plan = make_plan([tiny_model], stim, record=["V1"], batch_size=2)
    ex = Executor(tiny_model, plan)
    a, b, c = (ex.run(u, stim.values[u.start:u.stop])["V1"] for u in plan.units)
    assert np.shares_memory(a, c) and not np.shares_memory(a, b)  # a's write must finish before c runs


def test_prepared_copy_and_buffers_on_the_meta_device(tiny_model):
    copy = prepare_model(tiny_model, "float32", True, "meta")
    assert next(copy.parameters()).device.type == "meta" and next(tiny_model.parameters()).device.type == "cpu"
    plan = make_plan([tiny_model], make_stimulus(n=2), record=["V1"], store_dtype="float16")
    ex = Executor(tiny_model, plan, device="meta")
    assert ex.shapes() == {"V1": (9, 16, 16), "logits": (3,)}  # the probe step runs on meta
    dev, host = ex._buffers_for(2, 6)
    assert dev["V1"].device.type == "meta" and host["V1"].device.type == "cpu"
    assert host["V1"].dtype == torch.float16 and host["V1"].shape == (2, 6, 9, 16, 16)


def test_given_state_is_not_mutated_and_slices_per_unit(tiny_model):
    stim = make_stimulus(n=4)
    state = tiny_model.steady_state(4)
    snapshot = state.map(torch.clone)
    sim = Simulation(tiny_model, progress=False, batch_size=2)
    tree = sim.run(stim, initial_state=state)
    for a, b in zip(state.areas, snapshot.areas):
        assert torch.equal(a.v, b.v)
    assert state.t == snapshot.t
    whole = Simulation(tiny_model, progress=False, batch_size=4).run(stim, initial_state=state)
    np.testing.assert_array_equal(tree["logits"].values, whole["logits"].values)

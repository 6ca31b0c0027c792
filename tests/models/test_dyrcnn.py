"""DyRCNN family: quick start, delays through the hierarchy, skip/feedback timing, errors."""

import numpy as np
import pytest
import torch

import dynvision
from dynvision.models import DyRCNNx2, DyRCNNx4, DyRCNNx8
from dynvision.registry import UnknownNameError


def test_seed_quick_start_runs_verbatim_on_smaller_input():
    from dynvision.models import DyRCNNx4  # noqa: F811  (the seed's import line)

    model = DyRCNNx4(
        n_classes=10,
        input_dims=(20, 3, 64, 64),  # the seed uses 224 x 224; smaller here to stay fast
        recurrence_type="full",
        dt=2,
        tau=5,
        tff=8,
        trc=4,
    )
    batch = torch.randn(1, 20, 3, 64, 64)
    outputs = model(batch)
    assert outputs.shape == (1, 20, 10)
    assert torch.isfinite(outputs).all()


@pytest.mark.parametrize("cls,areas", [(DyRCNNx2, ["V1", "V2"]), (DyRCNNx4, ["V1", "V2", "V4", "IT"]),
                                       (DyRCNNx8, ["V1", "V2", "V4", "IT"])])
def test_areas_and_parameter_count_do_not_change_in_forward(cls, areas):
    model = cls(n_classes=5, input_dims=(3, 3, 32, 32), width=0.25, feedback=True)
    assert model.area_names == areas
    before = sum(p.numel() for p in model.parameters())
    names = [n for n, _ in model.named_parameters()]
    model(torch.rand(2, 3, 3, 32, 32)).sum().backward()
    assert sum(p.numel() for p in model.parameters()) == before
    assert [n for n, _ in model.named_parameters()] == names
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_dyrcnnx4_matches_dynvision_layout():
    model = DyRCNNx4(input_dims=(20, 3, 64, 64))
    assert [a.out_channels for a in model.areas.values()] == [36, 64, 121, 256]
    assert [a.size for a in model.areas.values()] == [(64, 64), (32, 32), (16, 16), (8, 8)]
    assert {(c.source, c.target, c.kind) for c in model.connections} == {("V1", "V4", "skip"), ("V2", "IT", "skip")}


def onset(x: torch.Tensor, eps=1e-7) -> int:
    active = x.abs().flatten(2).amax(-1).amax(0) > eps  # over batch and units, per step
    return int(torch.nonzero(active)[0])


@pytest.mark.parametrize("tff_steps", [0, 1, 3])
def test_feedforward_delay_shifts_onset_by_exactly_that_many_steps_per_area(tff_steps):
    dt, pre = 2.0, 3
    model = DyRCNNx4(n_classes=3, input_dims=(20, 1, 16, 16), width=0.125, dt=dt, tff=tff_steps * dt,
                     skip=False, recurrence_type="none")
    x = torch.full((2, 20, 1, 16, 16), 0.5)
    x[:, pre:] = torch.rand(2, 20 - pre, 1, 16, 16)
    with torch.no_grad():
        rec = model.run(x, record=model.area_names).recordings
    onsets = [onset(rec[a]) for a in model.area_names]
    # frame `pre` (shown over [t_pre, t_pre + dt)) first shows in V1 one step later, at index pre + 1
    assert onsets == [pre + 1 + i * tff_steps for i in range(4)]


@pytest.mark.parametrize("tsk_steps", [0, 2])
def test_skip_changes_the_target_only_after_its_delay(tsk_steps):
    dt, pre = 2.0, 2
    kw = dict(n_classes=3, input_dims=(16, 1, 16, 16), width=0.125, dt=dt, tff=4.0, recurrence_type="none")
    with_skip = DyRCNNx4(skip=True, tsk=tsk_steps * dt, **kw)
    without = DyRCNNx4(skip=False, **kw)
    without.load_state_dict(with_skip.state_dict(), strict=False)
    x = torch.full((2, 16, 1, 16, 16), 0.5)
    x[:, pre:] = torch.rand(2, 16 - pre, 1, 16, 16)
    with torch.no_grad():
        a = with_skip.run(x, record=["V1", "V4"]).recordings
        b = without.run(x, record=["V4"]).recordings
    first_diff = onset(a["V4"] - b["V4"])
    assert first_diff == onset(a["V1"]) + tsk_steps


def test_feedback_changes_the_target_only_after_its_delay():
    dt, pre = 2.0, 2
    kw = dict(n_classes=3, input_dims=(24, 1, 16, 16), width=0.125, dt=dt, tff=2.0, recurrence_type="none", skip=False)
    with_fb = DyRCNNx4(feedback=True, tfb=6.0, **kw)
    without = DyRCNNx4(feedback=False, **kw)
    without.load_state_dict(with_fb.state_dict(), strict=False)
    x = torch.full((2, 24, 1, 16, 16), 0.5)
    x[:, pre:] = torch.rand(2, 24 - pre, 1, 16, 16)
    with torch.no_grad():
        a = with_fb.run(x, record=["V1", "V4"]).recordings
        b = without.run(x, record=["V1"]).recordings
    assert onset(a["V1"] - b["V1"]) == onset(a["V4"]) + 3


def test_multiplicative_feedback_and_recurrence_modes_run():
    model = DyRCNNx4(n_classes=3, input_dims=(6, 1, 16, 16), width=0.125, feedback=True, tfb=2.0,
                     feedback_mode="multiplicative", recurrence_mode="multiplicative")
    assert torch.isfinite(model(torch.rand(1, 6, 1, 16, 16))).all()


@pytest.mark.parametrize("target", ["input", "output"])
def test_recurrence_targets(target):
    model = DyRCNNx4(n_classes=3, input_dims=(5, 1, 16, 16), width=0.125, recurrence_target=target,
                     recurrence_type="pointwise" if target == "input" else "full")
    assert all(a.recurrence_target == target for a in model.areas.values())
    assert model(torch.rand(1, 5, 1, 16, 16)).shape == (1, 5, 3)


def test_middle_target_on_two_stage_areas():
    model = DyRCNNx8(n_classes=3, input_dims=(3, 1, 32, 32), width=0.1, recurrence_target="middle",
                     recurrence_type="depthwise")
    assert model(torch.rand(1, 3, 1, 32, 32)).shape == (1, 3, 3)
    with pytest.raises(ValueError, match="middle.*two-stage"):
        DyRCNNx4(input_dims=(3, 1, 16, 16), recurrence_target="middle")


def test_per_area_tau_and_errors():
    model = DyRCNNx2(input_dims=(3, 1, 16, 16), tau={"V1": 4.0, "V2": 20.0})
    assert [float(a.tau) for a in model.areas.values()] == [4.0, 20.0]
    with pytest.raises(UnknownNameError, match=r"tau_ms names an unknown area 'V3'.*'V1', 'V2'"):
        DyRCNNx2(input_dims=(3, 1, 16, 16), tau={"V1": 4.0, "V3": 20.0})
    with pytest.raises(ValueError, match=r"no value for area\(s\) \['V2'\]"):
        DyRCNNx2(input_dims=(3, 1, 16, 16), tau={"V1": 4.0})


def test_registry_errors_name_the_bad_value_and_list_valid_ones():
    assert {"DyRCNNx2", "DyRCNNx4", "DyRCNNx8"} <= set(dynvision.list_models())
    with pytest.raises(UnknownNameError, match=r"unknown model 'DyRCNNx5'.*'DyRCNNx4'"):
        dynvision.create_model("DyRCNNx5")
    with pytest.raises(UnknownNameError, match=r"'recurence_type' \(did you mean 'recurrence_type'\?\).*valid keywords"):
        dynvision.create_model("DyRCNNx4", recurence_type="full")
    with pytest.raises(ValueError, match=r"tff_ms=3 is not a multiple of dt_ms=2"):
        DyRCNNx4(input_dims=(3, 1, 16, 16), tff=3)
    with pytest.raises(ValueError, match=r"dt=6 ms > tau=5 ms"):
        DyRCNNx4(input_dims=(3, 1, 16, 16), dt=6, tau=5, integrator="euler", trc=6, tfb=30)
    with pytest.raises(ValueError, match=r"tfb_ms=0 is shorter than 1 step"):
        DyRCNNx4(input_dims=(3, 1, 16, 16), feedback=True, tfb=0)


def test_bad_input_is_rejected_with_what_was_expected():
    model = DyRCNNx2(n_classes=3, input_dims=(4, 1, 16, 16))
    with pytest.raises(ValueError, match=r"rank 5.*got rank 4"):
        model(torch.rand(4, 1, 16, 16))
    with pytest.raises(ValueError, match=r"3 channels.*\(1 channels\)"):
        model(torch.rand(1, 4, 3, 16, 16))
    with pytest.raises(ValueError, match=r"\(8, 8\) pixels.*\(16, 16\)"):
        model(torch.rand(1, 4, 1, 8, 8))
    with pytest.raises(ValueError, match="non-finite"):
        model(torch.full((1, 4, 1, 16, 16), float("nan")))
    with pytest.raises(ValueError, match="empty input"):
        model(torch.rand(0, 4, 1, 16, 16))


def test_steady_state_is_a_fixed_point_of_the_blank_screen():
    model = DyRCNNx4(n_classes=3, input_dims=(10, 1, 16, 16), width=0.125)
    state = model.steady_state(2, tol=1e-7, max_ms=4000)
    with torch.no_grad():
        out = model.run(torch.full((2, 10, 1, 16, 16), 0.5), state, record=["IT"])
    before = [a.v for a in state.areas]  # run() replaced the tensors, the old ones are intact
    v_after = out.state.areas[-1].v
    assert torch.allclose(v_after, before[-1], atol=1e-5)


def test_config_records_every_argument():
    model = dynvision.create_model("DyRCNNx4", input_dims=(5, 1, 16, 16), tau=7.0)
    assert model.config["model"] == "DyRCNNx4"
    assert model.config["tau_ms"] == model.config["tau"] == 7.0 and model.config["input_dims"] == (5, 1, 16, 16)
    assert "recurrence_type" in model.config
    assert model.config.to_dict()["input_dims"] == [5, 1, 16, 16]


# --- the options that reproduce DynVision 0.1.0 (see dynvision.models.interop) -----------------
def test_raw_input_option_skips_the_normalisation():
    torch.manual_seed(0)
    kw = dict(n_classes=3, input_dims=(2, 1, 8, 8), width=0.25, dynamics="dynvision", recurrence_type="none",
              skip=False)
    x = torch.rand(1, 2, 1, 8, 8)
    for normalize, frame in ((True, (x[:, 0] - 0.5) / 0.25), (False, x[:, 0])):
        model = DyRCNNx2(normalize_input=normalize, **kw)
        v1 = model.run(x, record=["V1"]).recordings["V1"][:, 1]  # after the first frame
        area = model.areas["V1"]
        expected = torch.relu(area.dt / float(area.tau) * area.conv(frame))
        torch.testing.assert_close(v1, expected, rtol=1e-5, atol=1e-6)


def test_silent_fill_gives_zero_logits_until_the_top_area_emits():
    torch.manual_seed(0)
    kw = dict(n_classes=3, input_dims=(6, 1, 8, 8), width=0.25, dynamics="dynvision", tff=4, trc=2,
              recurrence_bias=True, skip=False)
    x = torch.rand(2, 6, 1, 8, 8)
    silent = DyRCNNx2(delay_fill="silent", **kw)
    rest = DyRCNNx2(delay_fill="rest", **kw)
    rest.load_state_dict(silent.state_dict())
    with torch.no_grad():
        for m in (silent, rest):
            m.classifier.bias.fill_(0.3)
            m.areas["V2"].conv.bias.fill_(0.2)
        out_s, out_r = silent.run(x, record=["V2"]), rest.run(x, record=["V2"])
    # V2 first gets V1's output after tff = 2 steps: silent before (its biases act only then)
    v2_s = out_s.recordings["V2"].abs().sum(dim=(-3, -2, -1))  # (batch, time)
    assert torch.all(v2_s[:, :3] == 0) and torch.all(v2_s[:, 3] > 0)
    assert torch.all(out_r.recordings["V2"][:, 1] > 0)
    # the top area (V2) emits after another tff: logits are exactly zero until then, not the bias
    assert torch.all(out_s.logits[:, :5] == 0) and torch.all(out_s.logits[:, 5] != 0)
    torch.testing.assert_close(out_r.logits[:, 0], torch.full((2, 3), 0.3))


@pytest.mark.parametrize("how", ["pickle", "dask"])
def test_a_serialised_model_runs_like_the_original(how):
    """Models travel to Dask workers by pickle or by distributed's generic serializer (which
    restores ``__dict__`` without ``__setstate__``): the copy must run on its own operations."""
    import pickle

    torch.manual_seed(0)
    model = DyRCNNx4(n_classes=5, input_dims=(6, 3, 16, 16), recurrence_type="full", trc=4).eval()
    if how == "pickle":
        copy = pickle.loads(pickle.dumps(model))
    else:
        from distributed.protocol import deserialize, serialize

        copy = deserialize(*serialize(model))
    x = torch.rand(2, 6, 3, 16, 16)
    with torch.no_grad():
        np.testing.assert_allclose(copy(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs", [
    {},
    {"hex_extent": 4},
    {"retina": True, "train_tau": True},
    {"skip": True, "feedback": True, "recurrence_sign": "excitatory", "recurrence_bound": 0.9, "adaptation": 0.2,
     "normalization": 0.3, "input_transient": 0.3, "integrator": "euler"},
    {"dynamics": "dynvision"},
])
def test_forward_and_backward_run_on_the_meta_device(kwargs):
    """Device-agnostic code: nothing reads a value or makes a CPU tensor in the time loop, so
    a model on ``meta`` (shapes only, no memory) runs forward and backward."""
    model = DyRCNNx4(n_classes=10, input_dims=(5, 3, 32, 32), **kwargs).to("meta")
    x = torch.empty(2, 5, 3, 32, 32, device="meta")
    out = model.run(x, record=model.area_names)
    assert out.logits.device.type == "meta" and out.logits.shape == (2, 5, 10)
    assert {n: tuple(r.shape[2:]) for n, r in out.recordings.items()} == {
        "V1": (36, 32, 32), "V2": (64, 16, 16), "V4": (121, 8, 8), "IT": (256, 4, 4)}
    out.logits.sum().backward()
    assert all(p.grad is not None and p.grad.device.type == "meta" for p in model.parameters() if p.requires_grad)

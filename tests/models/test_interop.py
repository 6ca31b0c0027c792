"""``from_dynvision`` against the real DynVision 0.1.0.

``tests/fixtures/dynvision/`` was written by ``scripts/dynvision_fixture.py`` running the
published package in its own venv: per configuration the constructor arguments, the state dict
(as a recipe with SHA-256 checksums of every tensor, rebuilt bit for bit here), the input, and
DynVision's logits and per-area responses (channel means at every step; every unit for
``x4_full``); plus a checkpoint written by DynVision's Lightning training. A difference is
measured relative to the largest magnitude of DynVision's tensor.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import dynvision
from dynvision.models import from_dynvision
from dynvision.models.interop import DynVisionDyRCNNx4
from dynvision.validation import InvalidValueError, UnknownNameError

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "dynvision"
_spec = importlib.util.spec_from_file_location("dynvision_fixture", ROOT / "scripts" / "dynvision_fixture.py")
recipes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(recipes)
META = json.loads((FIXTURE / "fixture.json").read_text())
CONFIGS = {c["name"]: c for c in META["configs"]}
RTOL = 1e-5


def relative(ours: torch.Tensor, theirs) -> float:
    theirs = torch.as_tensor(np.asarray(theirs))
    return float((ours - theirs).abs().max() / theirs.abs().max())


def state_dict(name: str) -> dict:
    return recipes.recipe_state_dict(CONFIGS[name])


def model_for(name: str):
    config = CONFIGS[name]
    if "checkpoint" in config:
        return from_dynvision(FIXTURE / config["checkpoint"])  # its saved arguments are used
    return from_dynvision(state_dict(name), **config["kwargs"])


def input_for(name: str) -> torch.Tensor:
    return torch.from_numpy(recipes.recipe_array(CONFIGS[name]["input"]).copy())


def test_fixture_comes_from_dynvision_0_1_0():
    assert META["meta"]["dynvision"] == "0.1.0"
    assert len(CONFIGS) >= 8 and any("checkpoint" in c for c in CONFIGS.values())
    size = sum(p.stat().st_size for p in FIXTURE.iterdir())
    assert size < 400_000  # small enough to commit


@pytest.mark.parametrize("name", list(CONFIGS))
def test_logits_and_area_responses_match_dynvision(name):
    config, reference = CONFIGS[name], np.load(FIXTURE / f"{name}.npz")
    model, x = model_for(name), input_for(name)
    with torch.no_grad():
        logits, responses = model.dynvision_outputs(x)
        plain = model(x)
    assert np.abs(reference["logits"]).max() > 0.1
    assert relative(logits, reference["logits"]) < RTOL
    torch.testing.assert_close(plain, logits, rtol=0, atol=0)  # model(x) is DynVision's output
    silent_logits = np.all(reference["logits"] == 0, axis=(0, 2))
    assert torch.all(logits[:, torch.from_numpy(silent_logits)] == 0)  # zero while IT is silent
    assert [model.dynvision_layers[a] for a in model.area_names] == config["layers"]
    for area, layer in model.dynvision_layers.items():
        present = torch.from_numpy(reference[f"present_{layer}"])
        assert torch.all(responses[area][:, ~present] == 0)  # DynVision recorded nothing there
        means = responses[area].mean(dim=(-2, -1))
        assert relative(means, reference[f"mean_{layer}"]) < RTOL, area
        if f"full_{layer}" in reference:
            assert relative(responses[area][0], reference[f"full_{layer}"]) < RTOL, area


def test_delays_fill_as_in_dynvision():
    """x4_delays: V2 waits tff = 2 steps, V4 is reached first by the skip from V1 (tsk = 1
    step), IT by the skip from V2; the logits stay exactly zero until IT's output arrives."""
    reference = np.load(FIXTURE / "x4_delays.npz")
    assert [int(np.argmax(reference[f"present_{a}"])) for a in ("V1", "V2", "V4", "IT")] == [0, 2, 1, 3]
    with torch.no_grad():
        logits, responses = model_for("x4_delays").dynvision_outputs(input_for("x4_delays"))
    first = [int(torch.nonzero(responses[a].abs().sum(dim=(0, 2, 3, 4)))[0]) for a in ("V1", "V2", "V4", "IT")]
    assert first == [0, 2, 1, 3]
    assert torch.all(logits[:, :5] == 0) and torch.all(logits[:, 5] != 0)  # IT from step 3, then tff


def test_run_keeps_dynvisions_own_time_axis():
    """``run`` index ``k + 1`` is DynVision's index ``k``; index 0 is the initial state."""
    model, x = model_for("x4_full"), input_for("x4_full")
    reference = torch.from_numpy(np.load(FIXTURE / "x4_full.npz")["logits"])
    with torch.no_grad():
        out = model.run(x, record=["V1"])
        shifted, responses = model.dynvision_outputs(x)
    assert torch.all(out.logits[:, 0] == 0) and torch.all(out.recordings["V1"][:, 0] == 0)
    assert relative(out.logits[:, 1:], reference[:, :-1]) < RTOL
    torch.testing.assert_close(out.recordings["V1"][:, 1:], responses["V1"][:, :-1], rtol=0, atol=0)
    tree = dynvision.Simulation(model, progress=False).run(x, record=["V1"], store_stimulus=False)
    assert relative(torch.from_numpy(tree["V1"]["activity"].values), out.recordings["V1"]) < RTOL
    assert float(tree["V1"]["activity"]["time"][1]) == model.dt


def test_mapped_configuration_states_the_dynvision_conventions():
    model = model_for("x4_uneven_delays")
    config = dynvision.models.base.config_dict(model)
    assert isinstance(model, DynVisionDyRCNNx4) and config["model"] == "DyRCNNx4"
    assert config["dynamics"] == "dynvision" and config["delay_fill"] == "silent"
    assert (config["normalize_input"], config["connection_bias"], config["connection_resample"]) == \
        (False, True, "nearest")
    assert config["tau_ms"] == {"V1": 4.0, "V2": 5.0, "V4": 6.0, "IT": 8.0}  # read off the state dict
    # dt=2: tff=3 -> int(1.5) = 1 step, trc=7 -> int(3.5) = 3, tfb=5 -> round(2.5) = 2; tsk=7 reads
    # round(3.5) + 1 = 5 outputs back, more than the int(9 / 2) = 4 that DynVision keeps
    # (history = tsk + dt = 9 ms): its skip never acts and is left out
    assert (config["tff_ms"], config["trc_ms"], config["tfb_ms"]) == (2.0, 6.0, 4.0)
    assert config["skip"] is False and config["feedback"] is True


def test_state_dict_file_and_training_only_options(tmp_path):
    path = tmp_path / "x2.pt"
    torch.save(state_dict("x2_feedback"), path)
    kwargs = dict(CONFIGS["x2_feedback"]["kwargs"], learning_rate=1e-3, pattern="1011", non_label_index=-1)
    model = from_dynvision(path, **kwargs)
    reference = np.load(FIXTURE / "x2_feedback.npz")["logits"]
    with torch.no_grad():
        assert relative(model(input_for("x2_feedback")), reference) < RTOL


def test_explicit_options_override_a_checkpoints_saved_ones():
    path = FIXTURE / CONFIGS["x2_checkpoint"]["checkpoint"]
    model = from_dynvision(path, t_feedback=4)
    assert dynvision.models.base.config_dict(model)["tfb_ms"] == 4.0
    assert dynvision.models.base.config_dict(from_dynvision(path))["tfb_ms"] == 2.0


BASE = CONFIGS["x4_full"]["kwargs"]


@pytest.mark.parametrize("change,named", [
    (dict(supralinearity=1.8), "supralinearity=1.8"),
    (dict(feedback="mul"), "feedback='mul'"),
    (dict(feedback=True, feedback_mode="multiplicative"), "feedback_mode='multiplicative'"),
    (dict(recurrence_type="local"), "recurrence_type='local'"),
    (dict(recurrence_target="input"), "recurrence_target='input'"),
    (dict(use_retina=True), "use_retina=True"),
    (dict(input_adaption_weight=0.5), "input_adaption_weight=0.5"),
    (dict(idle_timesteps=3), "idle_timesteps=3"),
    (dict(trc=1, skip=False), "t_recurrence=1"),  # no history at all: DynVision's unrectified fallback
])
def test_unsupported_dynvision_options_are_named_with_the_supported_ones(change, named):
    with pytest.raises(InvalidValueError) as info:
        from_dynvision(state_dict("x4_full"), **{**BASE, **change})
    message = str(info.value)
    assert message.startswith(named) and "supports the DynVision options n_classes, input_dims" in message


def test_unknown_and_repeated_options():
    with pytest.raises(UnknownNameError, match="unknown DynVision option 'tauu'.*did you mean 'tau'"):
        from_dynvision(state_dict("x4_full"), **BASE, tauu=3)
    with pytest.raises(TypeError, match="'tff' and 't_feedforward'"):
        from_dynvision(state_dict("x4_full"), tff=0, t_feedforward=0)


def test_dyrcnnx2_skip_and_dyrcnnx8_are_refused():
    with pytest.raises(InvalidValueError, match="skip=True is invalid: expected False for DyRCNNx2"):
        from_dynvision(state_dict("x2_feedback"), **{**CONFIGS["x2_feedback"]["kwargs"], "skip": True})
    x8 = {**state_dict("x4_full"), "V1.conv2.weight": torch.zeros(1)}
    with pytest.raises(InvalidValueError, match="model='DyRCNNx8'"):
        from_dynvision(x8, **BASE)


def test_state_dicts_that_do_not_fit_are_refused():
    sd = state_dict("x4_full")
    missing = {k: v for k, v in sd.items() if not k.startswith("addskip_V4.conv")}
    with pytest.raises(ValueError, match="lacks 'addskip_V4.conv.weight'.*first forward pass"):
        from_dynvision(missing, **BASE)
    with pytest.raises(ValueError, match="lacks 'V1.recurrence.weight'"):
        from_dynvision(sd, **{**BASE, "recurrence_type": "self"})
    with pytest.raises(ValueError, match="does not fit DyRCNNx4.*classifier.weight"):
        from_dynvision(sd, **{**BASE, "n_classes": 7})
    with pytest.raises(ValueError, match="has 'V1.recurrence.conv.weight', which these options do not use"):
        from_dynvision(sd, **{**BASE, "recurrence_type": "none"})
    tampered = dict(sd, **{"addskip_V4.source.conv.weight": sd["V1.conv.weight"] + 1})
    with pytest.raises(ValueError, match="different from 'V1.conv.weight'"):
        from_dynvision(tampered, **BASE)
    with pytest.raises(ValueError, match="neither 'V1.conv.weight'"):
        from_dynvision({"conv.weight": torch.zeros(1)})
    with pytest.raises(FileNotFoundError, match="no DynVision state dict or checkpoint"):
        from_dynvision(FIXTURE / "missing.ckpt")


class Opaque:  # an object a checkpoint should not hold
    pass


def test_checkpoints_with_arbitrary_objects_are_not_unpickled(tmp_path):
    path = tmp_path / "odd.ckpt"
    checkpoint = torch.load(FIXTURE / CONFIGS["x2_checkpoint"]["checkpoint"], weights_only=True)
    checkpoint["hyper_parameters"]["extra"] = Opaque()
    torch.save(checkpoint, path)
    with pytest.raises(ValueError, match="not read unchecked.*weights_only=False"):
        from_dynvision(path)
    model = from_dynvision(torch.load(path, weights_only=False))  # the caller trusts it
    reference = np.load(FIXTURE / "x2_checkpoint.npz")["logits"]
    with torch.no_grad():
        assert relative(model(input_for("x2_checkpoint")), reference) < RTOL


def test_dynvision_self_recurrence_is_one_weight_per_area():
    """DynVision's ``self`` type has one weight and one bias per layer: dynvision's ``scalar``,
    so a converted model trains with DynVision's parametrisation, not one weight per channel."""
    name = next(n for n, c in CONFIGS.items() if c["kwargs"].get("recurrence_type") == "self")
    model = model_for(name)
    assert dynvision.models.base.config_dict(model)["recurrence_type"] == "scalar"
    for area in model.areas.values():
        assert [p.numel() for p in area.recurrence.parameters()] == [1, 1]

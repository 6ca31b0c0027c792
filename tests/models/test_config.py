"""Model configurations: one default each, validated once, JSON round trips, the mapping view."""

import json

import pytest
import torch

import dynvision
from dynvision.layers.config import AreaConfig
from dynvision.models import MODELS


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_config_round_trips_through_json_and_rebuilds_the_model(name):
    cls = MODELS.get(name)
    config = cls.config_class(n_classes=3, input_dims=(2, 3, 64, 64))
    data = json.loads(json.dumps(config.to_dict()))
    assert data["model"] == name
    again = cls.config_class.from_dict(data)
    assert again == config and hash(again) == hash(config)
    torch.manual_seed(0)
    a = cls(config)
    torch.manual_seed(0)
    b = dynvision.create_model(name, **{k: v for k, v in data.items() if k != "model"})
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
    assert a.config == b.config


def test_bare_time_spellings_and_the_mapping_view():
    model = dynvision.create_model("DyRCNNx2", input_dims=(3, 1, 16, 16), dt=1, tau={"V1": 4, "V2": 8}, tff=2)
    c = model.config
    assert (c.dt_ms, c.tff_ms, dict(c.tau_ms)) == (1.0, 2.0, {"V1": 4.0, "V2": 8.0})
    assert c["dt"] == c["dt_ms"] == 1.0 and c["model"] == "DyRCNNx2"
    assert list(c)[:3] == ["model", "n_classes", "input_dims"] and "tau" in c
    with pytest.raises(TypeError, match="frozen"):
        c.tau_ms["V1"] = 3.0
    changed = c.replace(tau=6, trc=4)
    assert (changed.tau_ms, changed.trc_ms, c.trc_ms) == (6.0, 4.0, 6.0)
    rebuilt = dynvision.models.DyRCNNx2(c, tau=9)  # a configuration plus changes
    assert float(rebuilt.areas["V1"].tau) == 9.0


def test_legacy_checkpoint_names_are_read():
    legacy = {"model": "DyRCNNx4", "n_classes": 3, "input_dims": [4, 1, 16, 16], "dt": 2.0, "tau": 5.0,
              "tau_gain": 50.0, "tau_adaptation": 80.0, "width": 0.25}
    config = MODELS.get("DyRCNNx4").config_class.from_dict(legacy)
    assert (config.tau_gain_ms, config.tau_adaptation_ms) == (50.0, 80.0)
    with pytest.raises(ValueError, match="for model 'DyRCNNx4', not 'DyRCNNx2'"):
        MODELS.get("DyRCNNx2").config_class.from_dict(legacy)


def test_defaults_live_once_in_the_configuration():
    """The signature users see is the configuration's; areas get their dynamics from it."""
    import inspect

    sig = inspect.signature(dynvision.models.DyRCNNx4)
    fields = {n: d for n, d, _ in MODELS.get("DyRCNNx4").config_class.describe()}
    assert {n: p.default for n, p in sig.parameters.items()} == fields
    model = dynvision.create_model("DyRCNNx4", input_dims=(3, 1, 16, 16), trc=4.0, integrator="euler", tau=8)
    area = model.areas["IT"]
    assert isinstance(area.config, AreaConfig)
    assert (area.config.trc_ms, area.config.integrator, area.trc_steps) == (4.0, "euler", 2)


def test_presets_set_dynamics_and_your_keywords_win():
    from dynvision.models import list_presets

    assert "primate" in list_presets()
    model = dynvision.create_model("DyRCNNx4", preset="primate", input_dims=(3, 1, 16, 16), tff=4.0)
    c = model.config
    assert (c.tin_ms, c.tff_ms, c.tau_ms["IT"]) == (40.0, 4.0, 20.0)
    assert model.input_stage.delay_steps == 20
    with pytest.raises(dynvision.registry.UnknownNameError, match="unknown preset 'monkey'.*'primate'"):
        dynvision.create_model("DyRCNNx4", preset="monkey")
    with pytest.raises(ValueError, match="no settings for AlexNet"):
        dynvision.create_model("AlexNet", preset="primate")

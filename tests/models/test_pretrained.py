"""Pretrained models: save/load round trip via DYNVISION_DATA, config checks, the shipped default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import dynvision
from dynvision.models.pretrained import (
    data_root,
    list_pretrained,
    load_pretrained,
    pretrained_info,
    save_pretrained,
)
from dynvision.registry import UnknownNameError

KWARGS = {"n_classes": 3, "input_dims": (4, 1, 8, 8), "width": 0.125}
DEFAULT = "dyrcnnx4-digits"
REPO_DEFAULT = Path(dynvision.__file__).resolve().parent / "pretrained" / DEFAULT  # package data


@pytest.fixture
def saved(tmp_path, monkeypatch):
    """A tiny trained-looking model saved as ``tiny`` under a DYNVISION_DATA root."""
    model = dynvision.create_model("DyRCNNx2", **KWARGS)
    torch.nn.init.normal_(model.classifier.weight)
    folder = save_pretrained(model, "tiny", {"acc_valid": 0.75}, root=tmp_path, training={"epochs": 3})
    monkeypatch.setenv("DYNVISION_DATA", str(tmp_path))
    return model, folder


def test_round_trip_gives_the_same_logits(saved):
    model, folder = saved
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "metrics.json", "model.pt"]
    loaded = load_pretrained("tiny")
    assert not loaded.training and loaded.pretrained_name == "tiny"
    x = torch.rand(2, 4, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(loaded(x), model.eval()(x))
    via_registry = dynvision.create_model("DyRCNNx2", pretrained="tiny", width=0.125, n_classes=3)
    assert torch.equal(via_registry.classifier.weight, model.classifier.weight)


def test_files_describe_the_model(saved, tmp_path):
    _, folder = saved
    config = json.loads((folder / "config.json").read_text())
    assert config["model"] == "DyRCNNx2" and config["kwargs"]["width"] == 0.125
    assert config["kwargs"]["input_dims"] == [4, 1, 8, 8] and config["training"] == {"epochs": 3}
    assert config["dynvision_version"] == dynvision.__version__
    info = pretrained_info("tiny")
    assert info["metrics"] == {"acc_valid": 0.75} and info["config"] == config
    shipped = sorted(p.parent.name for p in (Path(dynvision.__file__).parent / "pretrained").glob("*/model.pt"))
    assert {DEFAULT, "dyrcnnx4-digits-self"} <= set(shipped)
    assert list_pretrained() == sorted(["tiny", *shipped])  # the user's, then the shipped
    assert list_pretrained(tmp_path) == ["tiny"]
    assert (folder / "model.pt").stat().st_size < 100_000


def test_data_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DYNVISION_DATA", str(tmp_path))
    assert data_root() == tmp_path
    monkeypatch.delenv("DYNVISION_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_root() == tmp_path / "xdg" / "dynvision"  # the user data folder, not the package
    monkeypatch.setenv("DYNVISION_DATA", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="DYNVISION_DATA=.*missing is not a folder"):
        data_root()


def test_errors_name_the_problem(saved, tmp_path):
    model, _ = saved
    with pytest.raises(UnknownNameError, match="unknown pretrained model 'tinny'.*'tiny'.*did you mean"):
        load_pretrained("tinny")
    with pytest.raises(ValueError, match=r"width=0.5 \(checkpoint: 0.125\): these settings change the architecture"):
        load_pretrained("tiny", width=0.5)
    with pytest.raises(ValueError, match="is a DyRCNNx2, not a DyRCNNx4"):
        dynvision.create_model("DyRCNNx4", pretrained="tiny")
    with pytest.raises(UnknownNameError, match="unknown keyword argument 'widht'"):
        load_pretrained("tiny", widht=0.125)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_pretrained(model, "tiny", root=tmp_path)
    assert save_pretrained(model, "tiny", root=tmp_path, overwrite=True).is_dir()
    with pytest.raises(ValueError, match="letters, digits"):
        save_pretrained(model, "../evil", root=tmp_path)
    with pytest.raises(TypeError, match="not a registered dynvision model"):
        save_pretrained(torch.nn.Linear(2, 2), "lin", root=tmp_path)


def test_agreeing_keywords_are_accepted(saved):
    assert load_pretrained("tiny", input_dims=(4, 1, 8, 8), width=0.125).input_dims == (4, 1, 8, 8)


def test_shipped_default_model_reaches_its_accuracy(monkeypatch):
    monkeypatch.delenv("DYNVISION_DATA", raising=False)
    from dynvision.data import make_dataset
    from dynvision.training.evaluate import evaluate
    from dynvision.training.temporal import Presentation

    info = pretrained_info(DEFAULT)
    training = info["config"]["training"]
    model = dynvision.create_model(info["config"]["model"], pretrained=DEFAULT)
    test = make_dataset(training["data"], split="test", **training["data_kwargs"])
    presentation = Presentation(**training["presentation"])
    scores = evaluate(model, test, presentation)
    assert scores["acc_valid"] >= 0.9
    assert scores["acc_valid"] == pytest.approx(info["metrics"]["acc_valid"], abs=1e-4)
    assert (REPO_DEFAULT / "model.pt").stat().st_size < 5_000_000


def test_dynamics_of_a_trained_model_can_be_changed(saved):
    slow = load_pretrained("tiny", tau=20.0, trc=8.0)
    assert float(slow.areas["V1"].tau) == 20.0 and slow.areas["V1"].trc_steps == 4
    assert slow.pretrained_name == "tiny[tau=20.0,trc=8.0]"
    reference = load_pretrained("tiny")
    for (name, a), (_, b) in zip(slow.state_dict().items(), reference.state_dict().items()):
        assert torch.equal(a, b), name


def test_shipped_default_model_has_stable_dynamics(monkeypatch):
    monkeypatch.delenv("DYNVISION_DATA", raising=False)
    model = dynvision.create_model("DyRCNNx4", pretrained=DEFAULT)
    state = model.steady_state(1, tol=1e-6, max_ms=2000)  # raises if activity grows without bound
    blank = torch.full((1, 250, 1, 16, 16), 0.5)  # then 500 ms more of blank: nothing moves
    with torch.no_grad():
        out = model.run(blank, state, record=model.area_names)
    for name, rec in out.recordings.items():
        assert torch.allclose(rec[:, -1], rec[:, 0], atol=1e-4), name
    digit = torch.rand(1, 1, 1, 16, 16).expand(1, 500, 1, 16, 16)  # 1 s of a stimulus stays bounded
    with torch.no_grad():
        out = model.run(digit, model.steady_state(1), record=model.area_names)
    assert all(torch.isfinite(r).all() and r.max() < 100 for r in out.recordings.values())

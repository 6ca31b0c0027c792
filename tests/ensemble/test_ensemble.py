"""Ensemble: members from pretrained names, checkpoints, objects and grids; order, names, colours."""

import json

import numpy as np
import pytest
import torch
import xarray as xr
from matplotlib.colors import to_rgb

import dynvision
from dynvision.ensemble import Ensemble, task_error_colors, truncated_colormap
from dynvision.models.pretrained import save_pretrained
from dynvision.registry import UnknownNameError
from dynvision.validation import InvalidValueError

KW = {"n_classes": 3, "input_dims": (4, 1, 8, 8), "width": 0.125}


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    """Three tiny pretrained models with test accuracies 0.9, 0.7, 0.8 in a private data root."""
    for i, acc in enumerate([0.9, 0.7, 0.8]):
        torch.manual_seed(i)
        save_pretrained(dynvision.create_model("DyRCNNx2", **KW), f"tiny-{i}", {"acc_valid": acc}, root=tmp_path)
    monkeypatch.setenv("DYNVISION_DATA", str(tmp_path))
    return tmp_path


def test_pretrained_members_are_ordered_by_task_error(zoo):
    ens = Ensemble(["tiny-1", "tiny-0", "tiny-2"])
    assert ens.names == ["tiny-0", "tiny-2", "tiny-1"] and len(ens) == 3
    assert ens.task_error == pytest.approx({"tiny-0": 0.1, "tiny-2": 0.2, "tiny-1": 0.3})
    assert ens.best() == "tiny-0" and ens["tiny-2"] is ens.models[1] and ens[0] is ens.models[0]
    assert [n for n, _ in ens] == ens.names and all(m is ens[n] for n, m in ens)
    assert Ensemble("tiny-*").names == ens.names  # a wildcard over pretrained names
    ref = dynvision.create_model("DyRCNNx2", pretrained="tiny-0")
    for a, b in zip(ens["tiny-0"].state_dict().values(), ref.state_dict().values()):
        torch.testing.assert_close(a, b)  # loaded through the pretrained mechanism
    assert not torch.equal(ens["tiny-0"].classifier.weight, ens["tiny-1"].classifier.weight)


def test_slice_attrs_and_sources(zoo):
    ens = Ensemble("tiny-*")
    sub = ens[:2]
    assert isinstance(sub, Ensemble) and sub.names == ["tiny-0", "tiny-2"] and set(sub.task_error) == set(sub.names)
    attrs = ens.attrs()
    json.dumps(attrs)
    assert attrs["names"] == ens.names and attrs["metric"] == "acc_valid"
    assert attrs["models"]["tiny-1"]["source"] == {"kind": "pretrained", "name": "tiny-1"}
    assert attrs["models"]["tiny-1"]["config"]["width"] == 0.125 and "tiny-1" in ens and "x" not in ens


def test_models_by_object_mapping_and_given_errors():
    a, b, c = (dynvision.create_model("DyRCNNx2", **KW) for _ in range(3))
    ens = Ensemble({"a": a, "b": b, "c": c}, task_error={"b": 0.05, "c": 0.5})
    assert ens.names == ["b", "c", "a"] and ens.task_error["a"] is None  # unknown errors last
    assert Ensemble({"a": a, "b": b}, task_error=[0.4, 0.1]).names == ["b", "a"]
    assert Ensemble({"a": a, "b": b}, task_error=[0.4, 0.1], sort=False).names == ["a", "b"]
    assert Ensemble([a]).names == ["DyRCNNx2"]


def test_checkpoint_members_take_the_run_s_test_score(tmp_path):
    model = dynvision.create_model("DyRCNNx2", **KW)
    run = tmp_path / "run-a"
    (run / "checkpoints").mkdir(parents=True)
    torch.save({"hyper_parameters": {"model": "DyRCNNx2", "model_kwargs": KW},
                "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}}, run / "checkpoints" / "last.ckpt")
    (run / "run.json").write_text(json.dumps({"metrics": {"test/acc_valid": 0.75}}))
    ens = Ensemble([run / "checkpoints" / "last.ckpt"])
    assert ens.names == ["run-a"] and ens.task_error["run-a"] == pytest.approx(0.25)
    assert ens.sources["run-a"]["kind"] == "checkpoint"
    torch.testing.assert_close(ens["run-a"].classifier.weight, model.classifier.weight)


def test_grid_of_constructor_arguments():
    ens = Ensemble.from_grid("DyRCNNx2", {"recurrence_type": ["full", "self"], "seed": [0, 1]}, **KW)
    assert ens.names == ["recurrence_type=full,seed=0", "recurrence_type=full,seed=1",
                         "recurrence_type=self,seed=0", "recurrence_type=self,seed=1"]
    assert type(ens[0].areas["V1"].recurrence).__name__ == "FullRecurrence"
    assert type(ens[2].areas["V1"].recurrence).__name__ == "SelfRecurrence"
    w = lambda m: m.classifier.weight  # noqa: E731
    assert not torch.equal(w(ens[0]), w(ens[1]))  # seeds differ
    again = Ensemble.from_grid("DyRCNNx2", {"seed": [1]}, **KW)
    torch.testing.assert_close(w(again[0]), w(ens[1]))  # a seed gives the same weights
    assert ens.sources[ens.names[0]] == {"kind": "grid", "model": "DyRCNNx2",
                                         "grid": {"recurrence_type": "full", "seed": 0}}


def test_errors(zoo):
    model = dynvision.create_model("DyRCNNx2", **KW)
    with pytest.raises(InvalidValueError, match=r"unique names"):
        Ensemble([model, model])
    with pytest.raises(UnknownNameError, match=r"unknown pretrained model 'tiny-9'.*'tiny-0'"):
        Ensemble(["tiny-9"])
    with pytest.raises(InvalidValueError, match=r"a pattern matching pretrained models \(available: .*tiny-0"):
        Ensemble("huge-*")
    with pytest.raises(InvalidValueError, match=r"task_error=.*one value per model \(3\)"):
        Ensemble("tiny-*", task_error=[0.1])
    with pytest.raises(InvalidValueError, match=r"task_error='nope' is invalid: expected a member name"):
        Ensemble("tiny-*", task_error={"nope": 0.1})
    with pytest.raises(UnknownNameError, match=r"unknown ensemble member 'tiny'"):
        Ensemble("tiny-*")["tiny"]
    with pytest.raises(InvalidValueError, match=r"models=3 is invalid"):
        Ensemble([3])
    ens = Ensemble("tiny-*")
    with pytest.raises(InvalidValueError, match=r"responses of ensemble members"):
        ens.cluster(xr.DataArray(np.zeros((3, 2)), dims=("model", "time"), coords={"model": ["a", "b", "c"]}))


def _luminance(hex_colour: str) -> float:
    r, g, b = to_rgb(hex_colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_task_error_colours_run_from_strong_to_pale_but_never_white(zoo):
    errors = {"a": 0.30, "b": 0.01, "c": 0.10, "d": None, "e": 0.20}
    colours = task_error_colors(errors)
    order = sorted((e, n) for n, e in errors.items() if e is not None)
    lum = [_luminance(colours[n]) for _, n in order]
    assert lum == sorted(lum) and lum[0] < 0.2  # best darkest, then paler with the error
    assert lum[-1] < 0.9 and colours["a"] != "#ffffff"  # the worst is not white
    assert colours["d"] == "#999999"
    full = truncated_colormap("Blues_r", 0, 1)(1.0)
    assert _luminance("#%02x%02x%02x" % tuple(int(255 * c) for c in full[:3])) > 0.95  # untruncated: white
    ens = Ensemble("tiny-*")
    assert ens.colors() == task_error_colors(ens.task_error) and ens.colors()["tiny-0"] == "#08306b"
    assert task_error_colors({"a": 0.2, "b": 0.2})["a"] == task_error_colors({"a": 0.2, "b": 0.2})["b"]

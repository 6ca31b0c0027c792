"""Model arguments (tau, delays, recurrence) sweep by name on notebooks that take model_kwargs."""

from __future__ import annotations

import json

import pytest

from dynvision.notebooks import notebook_parameters, sweep
from dynvision.notebooks.model_args import constructor_arguments, merge_model_kwargs, model_arguments, \
    split_model_arguments
from dynvision.registry import UnknownNameError

from .conftest import FIXTURES

MODEL_NB = FIXTURES / "model.ipynb"
TINY = {"width": 0.125, "input_dims": [1, 1, 16, 16], "n_classes": 10}


def _tau(config: dict) -> float:
    return config.get("tau_ms", config.get("tau"))


def test_split_routes_model_arguments_of_the_runs_model():
    declared = notebook_parameters(MODEL_NB)
    assert split_model_arguments(declared, {"tau": 10.0, "model": "DyRCNNx2"}) == ({"model": "DyRCNNx2"},
                                                                                    {"tau": 10.0})
    # the notebook's default model is pretrained: its architecture's arguments count, both spellings of a time
    assert {"tau", "tau_ms", "trc", "recurrence_type"} <= model_arguments("dyrcnnx4-digits") or \
        {"tau", "trc", "recurrence_type"} <= model_arguments("dyrcnnx4-digits")
    assert split_model_arguments(declared, {"trc": 6.0}) == ({}, {"trc": 6.0})


def test_both_spellings_of_a_time_are_arguments():
    from dynvision.validation import ms_aliases

    class Model:
        @ms_aliases
        def __init__(self, n_classes=10, dt_ms=2.0, tau_ms=5.0, recurrence_type="full", **ignored):
            pass

    assert constructor_arguments(Model.__init__) == {"n_classes", "dt_ms", "dt", "tau_ms", "tau", "recurrence_type"}


def test_unknown_names_list_notebook_parameters_and_model_arguments():
    declared = notebook_parameters(MODEL_NB)
    with pytest.raises(UnknownNameError, match=r"unknown parameter 'tua' \(did you mean 'tau'\?\) for notebook "
                                               r"'model.ipynb'; valid notebook parameters: model, model_kwargs, "
                                               r"output_dir; valid arguments of model 'dyrcnnx4-digits': .*tau"):
        split_model_arguments(declared, {"tua": 5}, notebook="model.ipynb")
    add = notebook_parameters(FIXTURES / "add.ipynb")
    with pytest.raises(UnknownNameError, match="'tau' for notebook 'add.ipynb'.*only on notebooks that take "
                                               "'model_kwargs'"):
        split_model_arguments(add, {"tau": 5}, notebook="add.ipynb")


def test_merge_adds_to_model_kwargs_and_refuses_a_clash():
    assert merge_model_kwargs({"model_kwargs": {"width": 0.25}, "fast": True}, {"tau": 5}) == {
        "model_kwargs": {"width": 0.25, "tau": 5}, "fast": True}
    with pytest.raises(ValueError, match="'tau' given both"):
        merge_model_kwargs({"model_kwargs": {"tau": 5}}, {"tau": 10})


@pytest.mark.notebook
def test_sweep_tau_on_a_pretrained_and_a_registered_model(tmp_path):
    """The README's `--grid tau=5,10,20`: readable folders, and each run's model has that tau."""
    pretrained = sweep(MODEL_NB, {"tau": [10.0, 20.0]}, tmp_path / "pretrained", workers=2, progress=False)
    registered = sweep(MODEL_NB, {"trc": [4.0, 8.0]}, tmp_path / "registered", workers=2, progress=False,
                       fixed={"model": "DyRCNNx4", "model_kwargs": TINY, "tau": 10.0})
    assert list(pretrained.run_id) == ["tau=10.0", "tau=20.0"] and list(pretrained.status) == ["ok", "ok"]
    assert list(registered.run_id) == ["trc=4.0", "trc=8.0"] and list(registered.status) == ["ok", "ok"]
    for tau in (10.0, 20.0):  # the shipped model has tau 5
        info = json.loads((tmp_path / "pretrained" / f"tau={tau}" / "model.json").read_text())
        assert _tau(info["config"]) == tau
        assert info["label"].startswith("dyrcnnx4-digits[tau") and f"={tau}]" in info["label"]  # says it was changed
    for trc in (4.0, 8.0):
        config = json.loads((tmp_path / "registered" / f"trc={trc}" / "model.json").read_text())["config"]
        assert config.get("trc_ms", config.get("trc")) == trc and _tau(config) == 10.0 and config["width"] == 0.125
    meta = json.loads((tmp_path / "registered" / "sweep.json").read_text())
    assert meta["grid"] == {"trc": [4.0, 8.0]}  # combine_sweep stacks along trc


def test_sweep_refuses_an_unknown_model_argument_before_running(tmp_path):
    with pytest.raises(UnknownNameError, match="'tua'"):
        sweep(MODEL_NB, {"tua": [5.0]}, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()

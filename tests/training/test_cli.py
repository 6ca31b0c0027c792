"""The ``train`` command: parsing, help, and a tiny end-to-end run that saves a pretrained model."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from dynvision.models.pretrained import load_pretrained, pretrained_info
from dynvision.training.cli import add_train_command, parse_value


@pytest.fixture
def parser():
    p = argparse.ArgumentParser(prog="dynvision")
    add_train_command(p.add_subparsers(dest="command", required=True))
    return p


def test_help_documents_every_option(parser):
    sub = parser._subparsers._group_actions[0].choices["train"]
    text = sub.format_help()
    for option in ("--model", "--data", "--set", "--data-option", "--epochs", "--batch-size", "--lr", "--out",
                   "--strategy", "--devices", "--resume", "--precision", "--tbptt", "--activity-weight",
                   "--recurrence-lr-factor", "--feedback-lr-factor", "--t-pre", "--pattern", "--reaction-time",
                   "--save-pretrained", "examples:"):
        assert option in text, option


def test_parsing_types_values(parser):
    args = parser.parse_args(["train", "--model", "DyRCNNx2", "--set", "width=0.25", "--set", "input_dims=[6, 1, 8, 8]",
                              "--set", "skip=false", "--set", "recurrence_type=self", "--data-option", "size=8",
                              "--devices", "auto", "--strategy", "ddp", "--resume", "last"])
    assert args.model_kwargs == {"width": 0.25, "input_dims": [6, 1, 8, 8], "skip": False, "recurrence_type": "self"}
    assert args.data_kwargs == {"size": 8}
    assert (args.devices, args.strategy, args.resume, args.func.__name__) == ("auto", "ddp", "last", "run_train")
    defaults = parser.parse_args(["train"])
    assert (defaults.model, defaults.data, defaults.epochs, defaults.devices, defaults.precision) == \
           ("DyRCNNx4", "digits", 10, 1, "32-true")


@pytest.mark.parametrize("bad", [["--set", "width"], ["--set", "2x=1"], ["--optimizer", "lbfgs"],
                                 ["--devices", "two"]])
def test_bad_arguments_exit(parser, bad, capsys):
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["train", *bad])
    assert info.value.code == 2
    assert "dynvision train" in capsys.readouterr().err


def test_parse_value():
    assert [parse_value(v) for v in ("1", "-2.5", "1e-3", "TRUE", "null", "{'a': 1}", "[1, 2]", "V1")] == \
           [1, -2.5, 0.001, True, None, {"a": 1}, [1, 2], "V1"]


def test_end_to_end_run_saves_a_pretrained_model(parser, tmp_path, capsys):
    args = parser.parse_args([
        "train", "--model", "DyRCNNx2", "--set", "width=0.125", "--data", "digits", "--data-option", "size=8",
        "--steps", "4", "--epochs", "1", "--batch-size", "32", "--limit-batches", "2", "--t-pre", "2",
        "--reaction-time", "2", "--tbptt", "2", "--threads", "1", "--no-progress", "--out", str(tmp_path / "run"),
        "--save-pretrained", "cli-tiny", "--pretrained-root", str(tmp_path / "data")])
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert 0.0 <= printed["test/acc_valid"] <= 1.0
    info = pretrained_info("cli-tiny", root=tmp_path / "data")
    assert info["metrics"]["acc_valid"] == pytest.approx(printed["test/acc_valid"])
    assert info["config"]["training"]["presentation"]["t_pre"] == 2.0
    model = load_pretrained("cli-tiny", root=tmp_path / "data")
    assert model.input_dims == (4, 1, 8, 8) and model.n_classes == 10
    from dynvision.training.evaluate import model_from_checkpoint

    x = torch.rand(2, 4, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model(x), model_from_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")(x))

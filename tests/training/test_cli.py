"""The ``train`` command: help, typed options, checks before work, a run folder that is never
overwritten, a clean output that says where the model is and what to run next."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import dynvision
from dynvision.cli import main
from dynvision.models.pretrained import load_pretrained, pretrained_info

TINY = ["--model", "DyRCNNx2", "--set", "width=0.125", "--data", "digits", "--data-option", "size=8", "--steps", "4",
        "--batch-size", "32", "--limit-batches", "2", "--threads", "1", "--no-progress"]
ENV = {**os.environ, "PYTHONPATH": str(Path(dynvision.__file__).resolve().parents[1])}


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for option in ("--model", "--data", "--set", "--data-option", "--epochs", "--batch-size", "--lr", "--out",
                   "--strategy", "--devices", "--resume", "--overwrite", "--precision", "--tbptt",
                   "--activity-weight", "--recurrence-lr-factor", "--feedback-lr-factor", "--t-pre", "--pattern",
                   "--reaction-time", "--hold", "--save-pretrained", "examples:"):
        assert option in text, option


def test_end_to_end_run_prints_where_the_model_is_and_the_next_command_works(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", *TINY, "--epochs", "1", "--t-pre", "2", "--reaction-time", "2", "--tbptt", "2",
                 "--out", str(out), "--save-pretrained", "cli-tiny", "--pretrained-root", str(tmp_path / "data")])
    printed = capsys.readouterr().out
    assert code == 0
    assert re.search(r"trained DyRCNNx2 on digits: test accuracy \d\.\d{3}, validation accuracy", printed)
    assert f"model:    {out / 'checkpoints' / 'best.ckpt'}" in printed
    info = pretrained_info("cli-tiny", root=tmp_path / "data")
    assert info["config"]["training"]["presentation"]["t_pre"] == 2.0
    model = load_pretrained("cli-tiny", root=tmp_path / "data")
    assert model.input_dims == (4, 1, 8, 8) and model.n_classes == 10
    x = torch.rand(2, 4, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model(x), dynvision.create_model(str(out / "checkpoints" / "last.ckpt"))(x))
    command = next(line for line in printed.splitlines() if line.startswith("next:")).split(None, 1)[1]
    assert command.startswith("dynvision run contrast --model ")
    argv = shlex.split(command)[1:] + ["--set", "n_images=1", "--set", "contrasts=0.5,1", "--set", "t_post=10",
                                       "--out", str(tmp_path / "res"), "--no-figures", "--quiet"]
    assert main(argv) == 0  # the printed command runs an experiment on the trained model
    assert "run:" in printed and "cli-tiny" in printed


def test_the_output_has_no_lightning_tips_or_warnings(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "dynvision.cli", "train", *TINY, "--epochs", "1", "--out",
                           str(tmp_path / "run")], capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    assert "Tip" not in proc.stdout and "GPU available" not in proc.stdout and "next:" in proc.stdout


def test_a_run_folder_is_never_overwritten_without_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(out)]) == 0
    files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(["train", *TINY, "--epochs", "1", "--lr", "0.01", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds a finished training run of DyRCNNx2, 1 of 1 epochs" in err and "--resume last" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == files
    (out / "notes.txt").write_text("mine")
    assert main(["train", *TINY, "--epochs", "1", "--lr", "0.01", "--out", str(out), "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "mine"  # only what a run writes is replaced
    assert sorted(p.name for p in (out / "logs").iterdir()) == ["version_0"]
    capsys.readouterr()


def test_resume_needs_a_checkpoint_and_the_same_settings(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "1", "--resume", "last", "--out", str(out)]) == 2
    assert "no checkpoint to resume" in capsys.readouterr().err and not out.exists()
    assert main(["train", *TINY, "--epochs", "1", "--out", str(out)]) == 0
    assert main(["train", *TINY, "--epochs", "2", "--lr", "0.05", "--resume", "last", "--out", str(out)]) == 2
    assert "cannot resume the run" in capsys.readouterr().err
    assert main(["train", *TINY, "--epochs", "2", "--resume", "last", "--out", str(out)]) == 0
    assert torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 1
    capsys.readouterr()


def test_save_pretrained_is_checked_before_training(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(out), "--save-pretrained", "../../x"]) == 2
    assert "letters, digits" in capsys.readouterr().err and not out.exists()
    (tmp_path / "data" / "pretrained" / "taken").mkdir(parents=True)
    (tmp_path / "data" / "pretrained" / "taken" / "model.pt").write_bytes(b"x")
    assert main(["train", *TINY, "--out", str(out), "--save-pretrained", "taken", "--pretrained-root",
                 str(tmp_path / "data")]) == 2
    assert "already holds a model" in capsys.readouterr().err and not out.exists()


def test_a_bad_hold_names_the_option(tmp_path, capsys):
    assert main(["train", *TINY, "--epochs", "1", "--hold", "-1", "--out", str(tmp_path / "run")]) == 2
    assert "--hold=-1.0 is invalid: expected a finite number >= 0 (ms)" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # refused before anything was written

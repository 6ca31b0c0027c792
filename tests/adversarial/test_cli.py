"""Adversarial use of the dynvision command (issue 14): bad values, wrong files, corrupt inputs,
repeated and conflicting runs.

Every misuse must give one clear line on stderr (``dynvision COMMAND: error: ...`` naming the
bad value), exit status 2, no traceback and nothing written (:data:`CLEAR_ERRORS`); every
run that meets earlier work must keep it (the ``test_nothing_lost_*`` tests); and the cases
the issue reported as broken must work (:data:`HANDLED`). Add new cases to the tables.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from dynvision.cli import main

TINY = ["--set", "width=0.125", "--set", "input_dims=[1,1,16,16]", "--set", "n_images=1", "--set", "t_pre=10",
        "--set", "t_stim=20", "--set", "t_post=10", "--no-figures", "--quiet"]
RUN = ["run", "response", "--model", "DyRCNNx4", *TINY]
TRAIN = ["train", "--model", "DyRCNNx2", "--set", "width=0.125", "--data", "digits", "--data-option", "size=8",
         "--steps", "4", "--batch-size", "32", "--limit-batches", "2", "--threads", "1", "--no-progress"]
NB = "nb.ipynb"


def _notebook(path: Path, parameters: str | None) -> None:
    cells = [{"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]} if parameters is not None else {},
              "source": parameters or "x = 1", "outputs": [], "execution_count": None},
             {"cell_type": "code", "id": "b", "metadata": {}, "source": "y = n * 2", "outputs": [],
              "execution_count": None}]
    path.write_text(json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5,
                                "metadata": {"kernelspec": {"name": "python3", "language": "python"}}}))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A folder with the files the cases misuse."""
    root = tmp_path_factory.mktemp("adversarial")
    (root / "afile").write_text("not a folder")
    (root / "garbage.ckpt").write_bytes(os.urandom(2048))
    torch.save({"state_dict": {}, "something": 1}, root / "foreign.ckpt")
    (root / "emptydir").mkdir()
    (root / "bad.yaml").write_text("experiment: contrast\nparameters: {n_images: [1, 2\n")
    (root / "list.yaml").write_text("- contrast\n- response\n")
    (root / "typo.yaml").write_text("experimnt: contrast\n")
    (root / "params.yaml").write_text("experiment: contrast\nparameters: [n_images, 2]\n")
    (root / "models.yaml").write_text("experiment: contrast\nmodels: 3\n")
    (root / "figures.yaml").write_text("experiment: contrast\nfigures: true\n")
    (root / "abc.yaml").write_text("experiment: contrast\nparameters: {n_images: abc}\n")
    (root / "binary.yaml").write_bytes(b"\xff\xfe\x00\x01" * 64)
    (root / "unknown.yaml").write_text("experiment: contrast\nparameters: {n_image: 2}\n")
    _notebook(root / NB, "n = 4  # a count\nmodel = 'm'\nxs = [0.1, 1.0]\n")
    _notebook(root / "broken.ipynb", "n = 4\nm = (1,\n")
    _notebook(root / "untagged.ipynb", None)
    return root


CLEAR_ERRORS: list[tuple[str, list[str], str]] = [
    # ---- run: values
    ("n_images=abc", ["run", "contrast", "--set", "n_images=abc"], "n_images='abc' is invalid: expected a whole number"),
    ("seed=abc", ["run", "contrast", "--set", "seed=abc"], "seed='abc' is invalid: expected a whole number"),
    ("n_image (neither)", ["run", "contrast", "--set", "n_image=2"],
     "'n_image' is neither a parameter of experiment 'contrast' nor an argument of model dyrcnnx4-digits "
     "(did you mean 'n_images'"),
    ("widht (did you mean)", ["run", "contrast", "--set", "widht=0.5"], "did you mean 'width'"),
    ("contrasts=2", ["run", "contrast", "--set", "contrasts=2"], "contrast 2.0 is outside [0, 1]"),
    ("contrasts=x", ["run", "contrast", "--set", "contrasts=0.5,x"], "contrasts='0.5,x' is invalid"),
    ("intervals decreasing", ["run", "interval", "--set", "intervals=8,4"], "strictly increasing"),
    ("t_pre negative", ["run", "contrast", "--set", "t_pre=-10"], "t_pre_ms=-10 is negative"),
    ("reduce unknown", ["run", "contrast", "--set", "reduce=bogus"], "unknown reduce 'bogus'"),
    ("images unknown", ["run", "contrast", "--set", "images=bogus"], "unknown image source 'bogus'"),
    ("batch_size=0", ["run", "contrast", "--set", "batch_size=0"], "batch_size must be >= 1"),
    ("scalar given several", ["run", "contrast", "--set", "n_images=2,3"], "'n_images' takes one value"),
    ("set twice", ["run", "contrast", "--set", "n_images=2", "--set", "n_images=3"], "--set n_images given twice"),
    ("set without =", ["run", "contrast", "--set", "n_images"], "--set expects KEY=VALUE"),
    ("set bad key", ["run", "contrast", "--set", "2x=1"], "--set expects KEY=VALUE"),
    ("tau=abc", ["run", "contrast", "--set", "tau=abc"], "tau='abc' is invalid: expected a number or a mapping"),
    ("tau mapping bad", ["run", "contrast", "--set", "tau={V1: abc}"], "is invalid: expected a number or a mapping"),
    ("input_dims text", ["run", "contrast", "--model", "DyRCNNx4", "--set", "input_dims=6,1,x,16"],
     "input_dims=(6, 1, 'x', 16) is invalid"),
    ("recurrence_type unknown", [*RUN, "--set", "recurrence_type=full,bogus"], "unknown recurrence_type 'bogus'"),
    ("width negative", ["run", "contrast", "--model", "DyRCNNx4", "--set", "width=-1"], "width"),
    ("pretrained architecture", ["run", "contrast", "--set", "width=0.5"], "change the architecture"),
    ("compare with several models", ["run", "contrast", "--model", "DyRCNNx2,DyRCNNx4", "--set",
                                     "recurrence_type=full,self"], "needs one --model"),
    # ---- run: models
    ("model unknown", ["run", "contrast", "--model", "nope"], "unknown model 'nope'; valid models:"),
    ("model typo", ["run", "contrast", "--model", "dyrcnnx4-digit"], "did you mean 'dyrcnnx4-digits'"),
    ("model empty in list", ["run", "contrast", "--model", "DyRCNNx4,,DyRCNNx2"], "empty model name"),
    ("checkpoint missing", ["run", "contrast", "--model", "missing.ckpt"], "no model at missing.ckpt"),
    ("checkpoint garbage", ["run", "contrast", "--model", "garbage.ckpt"], "garbage.ckpt is not a readable checkpoint"),
    ("checkpoint foreign", ["run", "contrast", "--model", "foreign.ckpt"], "foreign.ckpt holds no dynvision model"),
    ("folder without model", ["run", "contrast", "--model", "emptydir"], "emptydir is a folder without a model"),
    # ---- run: folders, experiment, configuration
    ("out is a file", ["run", "contrast", "--out", "afile"], "--out 'afile' is a file, not a folder"),
    ("out inside a file", ["run", "contrast", "--out", "afile/sub"], "lies inside 'afile', which is a file"),
    ("figures is a file", ["run", "contrast", "--figures", "afile"], "--figures 'afile' is a file"),
    ("experiment unknown", ["run", "contrst"], "unknown experiment 'contrst'"),
    ("no experiment", ["run"], "give an EXPERIMENT"),
    ("config missing", ["run", "--config", "missing.yaml"], "run configuration 'missing.yaml' does not exist"),
    ("config folder", ["run", "--config", "emptydir"], "(it is a folder)"),
    ("config not yaml", ["run", "--config", "bad.yaml"], "bad.yaml is not valid YAML at line"),
    ("config binary", ["run", "--config", "binary.yaml"], "binary.yaml"),
    ("config a list", ["run", "--config", "list.yaml"], "must be a mapping of experiment, models"),
    ("config key typo", ["run", "--config", "typo.yaml"], "unknown key 'experimnt' (did you mean 'experiment'"),
    ("config parameters list", ["run", "--config", "params.yaml"], "parameters must be a mapping"),
    ("config models number", ["run", "--config", "models.yaml"], "models must be a model name or path"),
    ("config figures true", ["run", "--config", "figures.yaml"], "figures must be a folder or false"),
    ("config bad value", ["run", "--config", "abc.yaml"], "n_images='abc' is invalid"),
    ("config unknown parameter", ["run", "--config", "unknown.yaml"], "'n_image' is neither a parameter"),
    # ---- the command itself
    ("unknown option", ["run", "contrast", "--bogus"], "unrecognized arguments: --bogus"),
    ("unknown command", ["rnu"], "unknown command 'rnu'"),
    ("no command", [], "required: COMMAND"),
    ("list bogus", ["list", "bogus"], "invalid choice: 'bogus'"),
    ("list arguments of unknown", ["list", "arguments", "nope"], "unknown model 'nope'"),
    # ---- train: every argument before work
    ("epochs -1", [*TRAIN, "--epochs", "-1"], "--epochs=-1 is invalid: expected a whole number >= 1"),
    ("epochs 0", [*TRAIN, "--epochs", "0"], "--epochs=0 is invalid"),
    ("epochs abc", [*TRAIN, "--epochs", "abc"], "--epochs='abc' is invalid: expected a whole number"),
    ("batch-size 0", [*TRAIN, "--batch-size", "0"], "--batch-size=0 is invalid"),
    ("batch-size -3", [*TRAIN, "--batch-size", "-3"], "--batch-size=-3 is invalid"),
    ("lr -1", [*TRAIN, "--lr", "-1"], "lr=-1.0 is invalid: expected a finite number > 0"),
    ("lr nan", [*TRAIN, "--lr", "nan"], "--lr='nan' is invalid: expected a number"),
    ("weight-decay negative", [*TRAIN, "--weight-decay", "-0.1"], "--weight-decay=-0.1 is invalid: expected a finite number >= 0"),
    ("gradient-clip 0", [*TRAIN, "--gradient-clip", "0"], "--gradient-clip=0.0 is invalid"),
    ("tbptt -1", [*TRAIN, "--tbptt", "-1"], "--tbptt=-1 is invalid"),
    ("t-pre negative", [*TRAIN, "--t-pre", "-5"], "--t-pre=-5.0 is invalid"),
    ("reaction-time negative", [*TRAIN, "--reaction-time", "-1"], "--reaction-time=-1.0 is invalid"),
    ("pattern", [*TRAIN, "--pattern", "10x1"], "pattern must be a non-empty string of 0 and 1"),
    ("steps 0", [*TRAIN, "--steps", "0"], "--steps=0 is invalid"),
    ("devices 0", [*TRAIN, "--devices", "0"], "--devices=0 is invalid"),
    ("workers -1", [*TRAIN, "--workers", "-1"], "--workers=-1 is invalid"),
    ("threads 0", [*TRAIN, "--threads", "0"], "--threads=0 is invalid"),
    ("limit-batches 0", [*TRAIN, "--limit-batches", "0"], "--limit-batches=0 is invalid"),
    ("optimizer", [*TRAIN, "--optimizer", "lbfgs"], "unknown optimizer 'lbfgs'"),
    ("scheduler", [*TRAIN, "--scheduler", "linear"], "unknown scheduler 'linear'"),
    ("precision", [*TRAIN, "--precision", "8-bit"], "unknown precision '8-bit'"),
    ("accelerator", [*TRAIN, "--accelerator", "quantum"], "unknown accelerator 'quantum'"),
    ("loader", [*TRAIN, "--loader", "fast"], "unknown loader 'fast'"),
    ("data unknown", [*TRAIN, "--data", "bogus"], "unknown dataset 'bogus'"),
    ("model unknown (train)", [*TRAIN, "--model", "nope"], "unknown model 'nope'"),
    ("set typo (train)", [*TRAIN, "--set", "widht=1"], "did you mean 'width'"),
    ("data-option typo", [*TRAIN, "--data-option", "sise=8"], "did you mean 'size'"),
    ("save-pretrained path", [*TRAIN, "--save-pretrained", "../../x"], "a name is letters, digits"),
    ("save-pretrained empty", [*TRAIN, "--save-pretrained", ""], "a name is letters, digits"),
    ("resume last without checkpoint", [*TRAIN, "--resume", "last", "--out", "fresh"], "no checkpoint to resume"),
    ("resume missing file", [*TRAIN, "--resume", "missing.ckpt", "--out", "fresh"], "no such checkpoint file"),
    ("resume and overwrite", [*TRAIN, "--resume", "last", "--overwrite", "--out", "fresh"], "exclude each other"),
    ("train out is a file", [*TRAIN, "--out", "afile"], "is not a folder"),
    # ---- notebook and sweep
    ("notebook missing", ["notebook", "run", "missing.ipynb"], "notebook 'missing.ipynb' does not exist"),
    ("notebook value type", ["notebook", "run", NB, "-p", "n", "abc"], "n='abc' is invalid: expected a whole number"),
    ("notebook list value", ["notebook", "run", NB, "-p", "xs", "0.5,x"], "xs='0.5,x' is invalid"),
    ("notebook unknown parameter", ["notebook", "run", NB, "-p", "nn", "1"], "unknown parameter 'nn'"),
    ("notebook parameter twice", ["notebook", "run", NB, "-p", "n", "1", "-p", "n", "2"], "given twice"),
    ("notebook syntax error", ["notebook", "run", "broken.ipynb"], "is not valid Python"),
    ("notebook untagged", ["notebook", "run", "untagged.ipynb", "-p", "x", "2"], "no cell tagged 'parameters'"),
    ("notebook out is a file", ["notebook", "run", NB, "--out", "afile"], "--out 'afile' is a file"),
    ("notebook timeout", ["notebook", "run", NB, "--timeout", "-1"], "--timeout=-1.0 is invalid"),
    ("notebook parameter name", ["notebook", "run", NB, "-p", "2n", "1"], "parameter names are Python identifiers"),
    ("sweep no values", ["sweep", NB, "--grid", "n"], "expected NAME=V1,V2"),
    ("sweep bad value", ["sweep", NB, "--grid", "n=1,a"], "n='a' is invalid"),
    ("sweep empty value", ["sweep", NB, "--grid", "n=1,,2"], "one or more values"),
    ("sweep grid twice", ["sweep", NB, "--grid", "n=1", "--grid", "n=2"], "--grid n given twice"),
    ("sweep workers 0", ["sweep", NB, "--grid", "n=1,2", "--workers", "0"], "--workers=0 is invalid"),
    ("sweep missing notebook", ["sweep", "missing.ipynb", "--grid", "n=1"], "does not exist"),
    ("sweep without grid", ["sweep", NB], "required: -g/--grid"),
    ("sweep out is a file", ["sweep", NB, "--grid", "n=1", "--out", "afile"], "--out 'afile' is a file"),
    # ---- explore
    ("explore nothing", ["explore"], "nothing to explore"),
    ("explore port", ["explore", "x.zarr", "--port", "70000"], "--port=70000 is invalid"),
    ("explore port text", ["explore", "--port", "abc"], "invalid int value: 'abc'"),
]


@pytest.mark.parametrize("argv, message", [c[1:] for c in CLEAR_ERRORS], ids=[c[0] for c in CLEAR_ERRORS])
def test_misuse_gives_one_clear_line_and_writes_nothing(argv, message, files, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(files)
    monkeypatch.setenv("HOME", str(tmp_path))  # caches of other libraries go there, not into the checked folder
    before = sorted(p.relative_to(files) for p in files.rglob("*"))
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert message in err, err
    assert err.startswith("dynvision") and ": error: " in err and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert sorted(p.relative_to(files) for p in files.rglob("*")) == before  # nothing written


def test_explore_of_a_missing_store_is_a_clear_error(files, monkeypatch, capsys):
    monkeypatch.chdir(files)
    assert main(["explore", "missing.zarr", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.zarr" in err and "no activations" in err


def test_a_missing_data_folder_is_a_clear_error(files, monkeypatch, capsys):
    monkeypatch.setenv("DYNVISION_DATA", str(files / "nowhere"))
    assert main(["list", "pretrained"]) == 2
    assert "DYNVISION_DATA=" in capsys.readouterr().err


def test_debug_shows_the_traceback(files, monkeypatch):
    monkeypatch.chdir(files)
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        main(["run", "contrast", "--model", "nope", "--debug"])


# ----------------------------------------------------------------------- reported broken, now handled
HANDLED: list[tuple[str, list[str], str]] = [
    ("record=V1 is one area", [*RUN, "--set", "record=V1", "--out", "res"], "V1"),
    ("contrasts=0.5 is a list of one", ["run", "contrast", "--model", "DyRCNNx4", *TINY, "--set", "contrasts=0.5"],
     "0.5"),
    ("several models", ["run", "response", "--model", "DyRCNNx2,DyRCNNx4", *TINY], "DyRCNNx2"),
]


@pytest.mark.parametrize("argv, shown", [c[1:] for c in HANDLED], ids=[c[0] for c in HANDLED])
def test_cases_reported_broken_now_work(argv, shown, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(list(argv)) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert shown in out
    if "record=V1" in argv:  # one area recorded, not the areas 'V' and '1'
        import pandas as pd

        assert pd.read_csv(tmp_path / "res" / "response" / "summary.csv")["area"].unique().tolist() == ["V1"]


# -------------------------------------------------------------------------------- nothing lost
def _snapshot(folder: Path) -> dict:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_nothing_lost_run_into_a_folder_of_another_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([*RUN, "--out", "res"]) == 0
    before = _snapshot(tmp_path / "res")
    for change in (["--set", "contrast=0.5"], ["--model", "DyRCNNx2"], ["--set", "recurrence_type=self"]):
        assert main([*RUN, "--out", "res", *change]) == 2
        assert "holds the results of a different run" in capsys.readouterr().err
        assert _snapshot(tmp_path / "res") == before
    assert main([*RUN, "--out", "res"]) == 0  # the same run again: reused, nothing replaced by another run
    capsys.readouterr()


def test_nothing_lost_user_files_beside_results(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "res" / "response").mkdir(parents=True)
    (tmp_path / "res" / "response" / "notes.txt").write_text("mine")
    assert main([*RUN, "--out", "res"]) == 0
    assert (tmp_path / "res" / "response" / "notes.txt").read_text() == "mine"
    capsys.readouterr()


def test_nothing_lost_training_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([*TRAIN, "--epochs", "1", "--out", "run"]) == 0
    before = _snapshot(tmp_path / "run")
    attempts = [
        ([*TRAIN, "--epochs", "1", "--out", "run"], "holds a finished training run"),  # the same command again
        ([*TRAIN, "--epochs", "2", "--lr", "0.1", "--resume", "last", "--out", "run"], "cannot resume the run"),
        ([*TRAIN, "--epochs", "1", "--resume", str(tmp_path / "other.ckpt"), "--out", "run"], "no such checkpoint"),
    ]
    for argv, message in attempts:
        assert main(argv) == 2
        assert message in capsys.readouterr().err
        assert _snapshot(tmp_path / "run") == before
    assert main([*TRAIN, "--epochs", "1", "--out", "other"]) == 0
    assert main([*TRAIN, "--epochs", "2", "--resume", "other/checkpoints/last.ckpt", "--out", "run"]) == 2
    assert "would overwrite it" in capsys.readouterr().err and _snapshot(tmp_path / "run") == before
    (tmp_path / "data" / "pretrained" / "kept").mkdir(parents=True)
    (tmp_path / "data" / "pretrained" / "kept" / "model.pt").write_bytes(b"mine")
    assert main([*TRAIN, "--epochs", "1", "--out", "new", "--save-pretrained", "kept", "--pretrained-root", "data"]) == 2
    assert "already holds a model" in capsys.readouterr().err and not (tmp_path / "new").exists()
    assert (tmp_path / "data" / "pretrained" / "kept" / "model.pt").read_bytes() == b"mine"

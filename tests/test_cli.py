"""The dynvision command: the table of subcommands, help, run (results, comparisons, checkpoints,
run configurations, other runs kept), one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

import dynvision
from dynvision.cli import COMMANDS, main
from dynvision.cli.run import sort_settings

TINY = ["--set", "width=0.125", "--set", "input_dims=[1,1,16,16]", "--set", "n_images=1"]
MODEL = ["--model", "DyRCNNx4", *TINY]
SHORT = ["--set", "t_pre=10", "--set", "t_stim=20", "--set", "t_post=10"]
QUIET = ["--no-figures", "--quiet"]
ENV = {**os.environ, "PYTHONPATH": str(Path(dynvision.__file__).resolve().parents[1])}


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dynvision.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=ENV, timeout=300)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A training run folder of a tiny DyRCNNx4 (16 x 16 px, 4 steps), trained for one epoch."""
    from torch.utils.data import TensorDataset

    from dynvision.training import train

    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.rand(16, 1, 16, 16, generator=g), torch.arange(16) % 4)
    out = tmp_path_factory.mktemp("train") / "tiny-run"
    train("DyRCNNx4", {"width": 0.125, "n_classes": 4}, {"train": data, "val": data}, n_steps=4, max_epochs=1,
          batch_size=8, out_dir=out, progress=False, test=False, num_threads=1)
    return out


# ----------------------------------------------------------------------------------------- help
def test_help_lists_every_command_and_run_help_every_parameter_without_torch():
    code = ("import sys; from dynvision.cli import main\n"
            "for argv in (['--help'], ['run', '--help'], ['train', '--help'], ['sweep', '--help']):\n"
            "    try: main(argv)\n"
            "    except SystemExit: pass\n"
            "heavy = [m for m in ('torch', 'lightning', 'panel', 'papermill', 'holoviews') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV).stdout
    assert "HEAVY []" in out
    for name in COMMANDS:
        assert name in out
    for name in ("contrasts", "durations", "intervals", "t_stim", "t_pre", "n_images", "reduce", "initial_state",
                 "recurrence_type=full,self", "--config", "= (0.1, 0.2", "--resume", "--grid"):
        assert name in out, name


def test_a_subcommand_is_one_line_in_the_table_and_loads_only_when_chosen(monkeypatch, capsys):
    module = types.ModuleType("fake_check")

    def register(subparsers):
        p = subparsers.add_parser("check", help="verify a store")
        p.add_argument("store")
        p.set_defaults(func=run)

    def run(args):
        print(f"checked {args.store}")
        return 0

    module.register, module.run = register, run
    monkeypatch.setitem(sys.modules, "fake_check", module)
    monkeypatch.setitem(COMMANDS, "check", ("fake_check", "verify a store"))
    assert main(["check", "x.zarr"]) == 0 and capsys.readouterr().out == "checked x.zarr\n"
    monkeypatch.setitem(COMMANDS, "broken", ("no_such_module_here", "does not load"))
    assert main(["list", "experiments"]) == 0  # another command does not import it
    assert main(["broken"]) == 2 and "cannot load" in capsys.readouterr().err


def test_only_the_chosen_command_module_is_imported():
    code = ("import sys; from dynvision.cli import main; main(['list', 'experiments']); "
            "print(sorted(m for m in sys.modules if m.startswith('dynvision.cli.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV).stdout
    assert "dynvision.cli.listing" in out and "dynvision.cli.train" not in out and "dynvision.cli.run'" not in out


# ------------------------------------------------------------------------------------- settings
def test_settings_are_sorted_into_spec_model_and_comparison():
    params, model_kwargs, compare = sort_settings(
        "contrast", ["DyRCNNx4"], {"contrasts": "0.5,1", "record": "V1", "tau": "7", "recurrence_type": "full,self",
                                   "input_dims": "[1,1,8,8]", "n_images": "2"})
    assert params == {"contrasts": (0.5, 1.0), "record": ("V1",), "n_images": 2}
    assert model_kwargs == {"tau": 7.0, "input_dims": (1, 1, 8, 8)}
    assert compare == {"recurrence_type": ["full", "self"]}
    assert sort_settings("contrast", ["DyRCNNx4"], {"contrasts": "0.5"})[0] == {"contrasts": (0.5,)}


@pytest.mark.parametrize("setting, message", [
    ("n_image=2", "'n_image' is neither a parameter of experiment 'contrast' nor an argument of model DyRCNNx4 "
                  "(did you mean 'n_images'"),
    ("n_images=abc", "n_images='abc' is invalid: expected a whole number"),
    ("seed=abc", "seed='abc' is invalid: expected a whole number"),
    ("n_images=2,3", "'n_images' takes one value"),
    ("widht=0.5", "did you mean 'width'"),
    ("tau=fast", "tau='fast' is invalid: expected a number or a mapping"),
])
def test_bad_settings_are_one_line_errors(setting, message, tmp_path, capsys):
    code = main(["run", "contrast", "--model", "DyRCNNx4", "--set", setting, "--out", str(tmp_path), *QUIET])
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert err.count("\n") == 1 and err.startswith("dynvision run: error: ") and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing was written


def test_the_unknown_name_error_lists_both_kinds_of_names(capsys):
    assert main(["run", "contrast", "--set", "n_image=2"]) == 2
    err = capsys.readouterr().err
    assert "experiment parameters: images, n_images" in err and "model arguments: activation" in err and "tau" in err


# ------------------------------------------------------------------------------------------ run
def test_run_writes_results_a_run_configuration_and_prints_a_summary(tmp_path, capsys):
    code = main(["run", "contrast", *MODEL, *SHORT, "--set", "contrasts=0.5,1.0", "--out", str(tmp_path / "res"),
                 *QUIET])
    out = capsys.readouterr().out
    assert code == 0 and "onset_latency" in out and "V1" in out and "IT" in out
    folder = tmp_path / "res" / "contrast"
    for name in ("results.zarr", "summary.csv", "spec.json", "run.yaml", "activations/DyRCNNx4.zarr"):
        assert (folder / name).exists(), name
    config = yaml.safe_load((folder / "run.yaml").read_text())
    assert config["experiment"] == "contrast" and config["models"] == ["DyRCNNx4"]
    assert config["parameters"]["contrasts"] == [0.5, 1.0] and config["parameters"]["n_images"] == 1
    assert config["parameters"]["reduce"] == "mean"  # defaults filled in
    assert config["model_arguments"] == {"width": 0.125, "input_dims": [1, 1, 16, 16]}
    assert config["out"] == str((tmp_path / "res").resolve()) and config["figures"] is False
    assert f"repeat:   dynvision run --config {(folder / 'run.yaml').resolve()}" in out


def test_a_run_configuration_repeats_the_run_exactly(tmp_path, capsys):
    assert main(["run", "response", *MODEL, *SHORT, "--out", str(tmp_path / "a"), *QUIET]) == 0
    written = tmp_path / "a" / "response" / "run.yaml"
    config = yaml.safe_load(written.read_text())
    config["out"] = str(tmp_path / "b")
    (tmp_path / "again.yaml").write_text(yaml.safe_dump(config))
    assert main(["run", "--config", str(tmp_path / "again.yaml"), "--quiet"]) == 0
    a = pd.read_csv(tmp_path / "a" / "response" / "summary.csv")
    b = pd.read_csv(tmp_path / "b" / "response" / "summary.csv")
    pd.testing.assert_frame_equal(a, b)
    again = yaml.safe_load((tmp_path / "b" / "response" / "run.yaml").read_text())
    assert {k: v for k, v in again.items() if k != "out"} == {k: v for k, v in config.items() if k != "out"}
    assert main(["run", "--config", str(written), "--quiet"]) == 0  # the same run into the same folder: reused
    capsys.readouterr()


def test_command_line_options_win_over_the_configuration(tmp_path, capsys):
    (tmp_path / "run.yaml").write_text(
        "experiment: response\nmodels: DyRCNNx4\nparameters: {width: 0.125, input_dims: [1, 1, 16, 16], "
        "n_images: 1, t_pre: 10, t_stim: 20, t_post: 10}\nfigures: false\n"
        f"out: {tmp_path / 'from-file'}\n")
    assert main(["run", "--config", str(tmp_path / "run.yaml"), "--set", "t_stim=10", "--out", str(tmp_path / "cli"),
                 "--quiet"]) == 0
    config = yaml.safe_load((tmp_path / "cli" / "response" / "run.yaml").read_text())
    assert config["parameters"]["t_stim"] == 10.0 and config["parameters"]["t_pre"] == 10.0
    assert not (tmp_path / "from-file").exists()
    capsys.readouterr()


def test_run_compares_values_of_a_model_argument(tmp_path, capsys):
    code = main(["run", "response", *MODEL, *SHORT, "--set", "recurrence_type=full,self", "--out", str(tmp_path),
                 *QUIET])
    out = capsys.readouterr().out
    assert code == 0 and "recurrence_type=full" in out and "recurrence_type=self" in out


def test_run_compares_several_models_in_one_result(tmp_path, capsys):
    code = main(["run", "response", "--model", "dyrcnnx4-digits,dyrcnnx4-digits-self", "--set", "n_images=1", *SHORT,
                 "--out", str(tmp_path), *QUIET])
    assert code == 0
    summary = pd.read_csv(tmp_path / "response" / "summary.csv")
    assert sorted(summary["model"].unique()) == ["dyrcnnx4-digits", "dyrcnnx4-digits-self"]
    capsys.readouterr()


def test_run_takes_a_training_folder_or_a_checkpoint(checkpoint, tmp_path, capsys):
    ckpt = checkpoint / "checkpoints" / "best.ckpt"
    code = main(["run", "response", "--model", f"{checkpoint},{ckpt}", "--set", "n_images=1", *SHORT,
                 "--out", str(tmp_path), *QUIET])
    assert code == 0, capsys.readouterr().err
    summary = pd.read_csv(tmp_path / "response" / "summary.csv")
    assert sorted(summary["model"].unique()) == ["tiny-run", "tiny-run-1"]
    code = main(["run", "response", "--model", str(checkpoint), "--set", "tau=10", "--set", "n_images=1", *SHORT,
                 "--out", str(tmp_path / "slow"), *QUIET])
    assert code == 0 and "tiny-run[tau=10.0]" in capsys.readouterr().out
    assert dynvision.create_model(str(ckpt)).pretrained_name == "tiny-run"


def test_a_different_run_is_never_written_over(tmp_path, capsys):
    args = ["run", "response", *MODEL, *SHORT, "--out", str(tmp_path), *QUIET]
    assert main(args) == 0
    folder = tmp_path / "response"
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert main([*args, "--set", "contrast=0.5"]) == 2
    err = capsys.readouterr().err
    assert "holds the results of a different run (contrast" in err and "--overwrite" in err
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert main([*args, "--model", "DyRCNNx2"]) == 2  # another model is another run, too
    assert "models DyRCNNx4 -> DyRCNNx2" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert main([*args, "--set", "contrast=0.5", "--overwrite"]) == 0
    assert yaml.safe_load((folder / "run.yaml").read_text())["parameters"]["contrast"] == 0.5


def test_errors_are_one_line_and_debug_shows_the_traceback(tmp_path):
    plain = _cli("run", "contrast", "--model", "no-such-model", cwd=tmp_path)
    assert plain.returncode == 2 and plain.stdout == ""
    assert plain.stderr.startswith("dynvision run: error: unknown model 'no-such-model'") and plain.stderr.count("\n") == 1
    debug = _cli("run", "contrast", "--model", "no-such-model", "--debug", cwd=tmp_path)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "UnknownNameError" in debug.stderr
    usage = _cli("run", "contrast", "--bogus", cwd=tmp_path)
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1 and "unrecognized arguments: --bogus" in usage.stderr
    typo = _cli("rnu", cwd=tmp_path)
    assert typo.returncode == 2 and "did you mean 'run'" in typo.stderr and typo.stderr.count("\n") == 1


def test_list_and_the_module_entry_point(tmp_path):
    out = _cli("list", cwd=tmp_path).stdout
    assert "experiments: contrast" in out and "pretrained: dyrcnnx4-digits" in out and "models: AlexNet" in out
    args = _cli("list", "arguments", "dyrcnnx4-digits", cwd=tmp_path).stdout
    assert "arguments of dyrcnnx4-digits (DyRCNNx4)" in args and "width" in args and "0.25" in args
    assert not list(tmp_path.iterdir())

"""The dynvision command: help, run (results, summary, comparisons), list, errors."""

import subprocess
import sys

import pytest

from dynvision.cli import build_parser, main, split_settings

MODEL = ["--model", "DyRCNNx4", "--set", "width=0.125", "--set", "input_dims=[1,1,16,16]", "--set", "n_images=1"]


def test_run_help_documents_every_parameter(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    text = capsys.readouterr().out
    for name in ("contrasts", "durations", "intervals", "t_stim", "t_pre", "n_images", "reduce", "initial_state",
                 "recurrence_type=full,self"):
        assert name in text


def test_settings_are_sorted_into_spec_model_and_comparison():
    params, model_kwargs, compare = split_settings(
        "contrast", {"contrasts": [0.5, 1.0], "tau": 7.0, "recurrence_type": ["full", "self"], "input_dims": [1, 1, 8, 8]})
    assert params == {"contrasts": (0.5, 1.0)}
    assert model_kwargs == {"tau": 7.0, "input_dims": [1, 1, 8, 8]}
    assert compare == {"recurrence_type": ["full", "self"]}


def test_run_writes_results_and_prints_a_summary(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["run", "contrast", *MODEL, "--set", "contrasts=0.5,1.0", "--set", "t_post=20",
                 "--out", "res", "--no-figures", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "onset_latency" in out and "V1" in out and "IT" in out
    for name in ("results.zarr", "summary.csv", "spec.json", "activations/DyRCNNx4.zarr"):
        assert (tmp_path / "res" / "contrast" / name).exists(), name


def test_run_compares_models(tmp_path, capsys):
    code = main(["run", "response", *MODEL, "--set", "recurrence_type=full,self", "--set", "t_stim=20",
                 "--set", "t_post=20", "--out", str(tmp_path), "--no-figures", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "recurrence_type=full" in out and "recurrence_type=self" in out


def test_bad_settings_exit_with_a_message(tmp_path, capsys):
    code = main(["run", "interval", *MODEL, "--set", "intervals=8,4", "--out", str(tmp_path), "--no-figures"])
    assert code == 2 and "strictly increasing" in capsys.readouterr().err
    code = main(["run", "interval", *MODEL, "--set", "widht=0.5", "--out", str(tmp_path), "--no-figures"])
    assert code == 2 and "did you mean 'width'" in capsys.readouterr().err


def test_list_and_console_script():
    out = subprocess.run([sys.executable, "-m", "dynvision.cli", "list", "experiments"], capture_output=True,
                         text=True, check=True).stdout
    assert "contrast" in out and "interval" in out

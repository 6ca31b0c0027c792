"""``dynvision visualize``: models from any source, every figure written, an offline index, nothing lost."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

import dynvision
from dynvision.insilico import all_units, open_meis
from dynvision.insilico.loading import load_model
from dynvision.insilico.visualize import register, run, visualize_model
from dynvision.models.pretrained import save_pretrained
from dynvision.registry import UnknownNameError
from dynvision.training.readout import ReadoutModel
from dynvision.views.offline import cdn_urls

KW = {"n_classes": 2, "input_dims": (4, 1, 8, 8), "width": 0.1}
FAST = {"formats": ["png"], "mei_steps": 2, "progress": False, "dpi": 40}


@pytest.fixture
def small():
    torch.manual_seed(0)
    return dynvision.create_model("DyRCNNx2", **KW).eval()


def _same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_models_load_from_names_checkpoints_and_folders(small, tmp_path):
    folder = save_pretrained(small, "tiny", root=tmp_path)
    assert _same_weights(load_model(folder), small)
    ckpt = {"hyper_parameters": {"model": "DyRCNNx2", "model_kwargs": dict(KW)},
            "state_dict": {f"model.{k}": v for k, v in small.state_dict().items()}}  # as DynVisionModule saves
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    torch.save(ckpt, tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert _same_weights(load_model(tmp_path / "run" / "checkpoints" / "last.ckpt"), small)
    assert _same_weights(load_model(tmp_path / "run"), small)  # a training folder
    readout = ReadoutModel(small, {"s": 3}, area="V1")
    loaded = load_model(readout.save(tmp_path / "readout.pt"))
    assert isinstance(loaded, ReadoutModel) and loaded.sessions == {"s": 3}
    assert load_model("DyRCNNx2", **KW).n_classes == 2
    assert _same_weights(load_model("DyRCNNx2", seed=3, **KW), load_model("DyRCNNx2", seed=3, **KW))
    with pytest.raises(UnknownNameError, match="unknown model 'nonsense'.*checkpoint"):
        load_model("nonsense")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="is a folder without a model"):
        load_model(tmp_path / "empty")


def test_every_figure_is_written_and_the_index_shows_them_offline(small, tmp_path):
    index = visualize_model(small, tmp_path / "vis", **FAST)
    out = index.parent
    expected = {"weights/V1.png", "weights/V2.png", "weights/classifier.png", "impulse/V1.png", "impulse/V2.png",
                "impulse/output.png", "meis/V1.png", "meis/V2.png", "meis/output.png", "meis/traces.png"}
    written = {str(p.relative_to(out)) for p in out.rglob("*.png")}
    assert written == expected
    page = index.read_text()
    assert all(f'src="{p}"' in page for p in expected) and cdn_urls(page) == [] and "http" not in page
    ds = open_meis(out / "meis.zarr")
    assert list(ds["unit"].values) == [u.label for u in all_units(small)]  # every channel and output unit
    assert json.loads((out / "visualize.json").read_text())["settings"]["mei_steps"] == 2


def test_areas_and_units_choose_what_is_drawn(small, tmp_path):
    index = visualize_model(small, tmp_path / "vis", areas=["V1"], units=["V1:1", "V1:2@0,3"], impulse=False, **FAST)
    written = {str(p.relative_to(index.parent)) for p in index.parent.rglob("*.png")}
    assert written == {"weights/V1.png", "meis/V1.png", "meis/traces.png"}
    assert list(open_meis(index.parent / "meis.zarr")["unit"].values) == ["V1:1@4,4", "V1:2@0,3"]
    with pytest.raises(UnknownNameError, match="'V7'"):
        visualize_model(small, tmp_path / "other", areas=["V7"], **FAST)


def test_readout_models_get_readout_figures_and_neuron_meis(small, tmp_path):
    model = ReadoutModel(small, {"s": 2}, area="V2")
    index = visualize_model(model, tmp_path / "vis", areas=["readout"], impulse=False, **FAST)
    written = {str(p.relative_to(index.parent)) for p in index.parent.rglob("*.png")}
    assert {"readouts/s.png", "readouts/s_0.png", "readouts/s_1.png", "meis/readout_s.png"} <= written
    assert list(open_meis(index.parent / "meis.zarr")["unit"].values) == ["readout:s:0", "readout:s:1"]


def test_another_runs_folder_is_only_written_with_overwrite(small, tmp_path):
    out = tmp_path / "vis"
    visualize_model(small, out, meis=False, impulse=False, **FAST)
    visualize_model(small, out, meis=False, impulse=False, **FAST)  # the same run again: fine
    with pytest.raises(FileExistsError, match="another visualize run"):
        visualize_model(small, out, meis=False, impulse=False, **{**FAST, "dpi": 50})
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("my notes")
    with pytest.raises(FileExistsError, match="not written by dynvision visualize"):
        visualize_model(small, mine, meis=False, impulse=False, **FAST)
    visualize_model(small, mine, meis=False, impulse=False, overwrite=True, **FAST)
    assert (mine / "keep.txt").read_text() == "my notes" and (mine / "index.html").is_file()


def test_the_command_parses_and_runs(small, tmp_path, capsys):
    folder = save_pretrained(small, "tiny", root=tmp_path)
    parser = argparse.ArgumentParser(prog="dynvision")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["visualize", str(folder), "--out", str(tmp_path / "vis"), "--areas", "V2", "output",
                              "--formats", "png", "svg", "--mei-steps", "2", "--no-impulse", "--quiet", "--dpi", "40"])
    assert args.func is run and args.func(args) == 0
    assert "index.html" in capsys.readouterr().out
    files = {str(p.relative_to(tmp_path / "vis")) for p in (tmp_path / "vis").rglob("*.svg")}
    assert files == {"weights/V2.svg", "weights/classifier.svg", "meis/V2.svg", "meis/output.svg", "meis/traces.svg"}
    ds = open_meis(tmp_path / "vis" / "meis.zarr")
    assert np.all(ds["trace"].isel(step=-1) >= ds["trace"].isel(step=0) - 1e-6)

"""train(): outputs on disk, checkpoints that rebuild the model, resuming, data by name, DDP."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import torch

from dynvision.training.api import resolve_data, train
from dynvision.training.evaluate import evaluate, load_checkpoint, model_from_checkpoint

from .conftest import TINY

pytest.importorskip("lightning")
QUIET = {"progress": False, "num_threads": 1}


def _train(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(*args, **{**QUIET, **kwargs})


def _rows(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


def test_train_writes_logs_checkpoints_and_metrics(quadrants, tmp_path):
    result = _train("DyRCNNx2", {"width": 0.125}, quadrants, n_steps=5, max_epochs=2, batch_size=16,
                    out_dir=tmp_path, lr=0.02, t_pre=2.0)
    assert result.model.n_classes == 4 and result.model.input_dims == (5, 1, 8, 8)  # inferred from the data
    assert not result.model.training
    for key in ("train/loss", "val/loss", "val/acc_valid", "val/acc_last", "test/acc_valid", "test/acc_last"):
        assert key in result.metrics, key
    assert len(result.metrics["test/acc_per_step"]) == 5 and result.metrics["test/n"] == 32
    assert Path(result.best_checkpoint).is_file() and Path(result.last_checkpoint).name == "last.ckpt"
    rows = _rows(tmp_path / "logs" / "version_0" / "metrics.csv")
    assert {r["epoch"] for r in rows} == {"0", "1"} and "val/acc_valid" in rows[0]
    assert list((tmp_path / "tensorboard" / "version_0").glob("events.out.tfevents.*"))
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["model"] == "DyRCNNx2" and run["model_kwargs"]["width"] == 0.125 and run["world_size"] == 1
    assert run["module"]["t_pre"] == 2.0 and run["metrics"]["test/n"] == 32
    x = torch.rand(3, 5, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model_from_checkpoint(result.last_checkpoint)(x), result.model(x), atol=1e-6)
    again = evaluate(result.model, quadrants["test"], result.presentation)
    assert again["acc_valid"] == pytest.approx(result.metrics["test/acc_valid"])


def test_resume_continues_the_run(quadrants, tmp_path):
    data = {"train": quadrants["train"], "val": quadrants["val"]}
    first = _train("DyRCNNx2", TINY, data, max_epochs=1, batch_size=16, out_dir=tmp_path, test=False)
    assert load_checkpoint(first.last_checkpoint)["global_step"] == 4
    second = _train("DyRCNNx2", TINY, data, max_epochs=2, batch_size=16, out_dir=tmp_path, test=False,
                    resume="last")
    ckpt = load_checkpoint(second.last_checkpoint)
    assert (ckpt["epoch"], ckpt["global_step"]) == (1, 8)
    assert {r["epoch"] for r in _rows(tmp_path / "logs" / "version_1" / "metrics.csv")} == {"1"}


def test_without_validation_the_last_checkpoint_is_the_best(quadrants, tmp_path):
    result = _train("DyRCNNx2", TINY, {"train": quadrants["train"]}, max_epochs=2, batch_size=32,
                    out_dir=tmp_path)
    assert result.best_checkpoint == result.last_checkpoint
    assert load_checkpoint(result.last_checkpoint)["global_step"] == 4
    assert not any(k.startswith(("val/", "test/")) for k in result.metrics)


def test_train_on_a_named_dataset(tmp_path):
    result = _train("DyRCNNx2", {"width": 0.125}, "digits", data_kwargs={"size": 8}, n_steps=3, max_epochs=1,
                    batch_size=32, out_dir=tmp_path, trainer_kwargs={"limit_train_batches": 2,
                                                                     "limit_val_batches": 1})
    assert result.model.n_classes == 10 and result.model.input_dims == (3, 1, 8, 8)
    assert result.metrics["test/n"] > 200


def test_resolve_data_forms_and_errors(quadrants):
    a, b = quadrants["train"], quadrants["val"]
    assert resolve_data((a, b)) == {"train": a, "val": b, "test": None}
    assert resolve_data({"train": a}) == {"train": a, "val": None, "test": None}
    with pytest.raises(ValueError, match="needs a 'train' split"):
        resolve_data({"val": a})
    with pytest.raises(ValueError, match="needs a 'train' split"):
        resolve_data({"train": a, "valid": b})
    with pytest.raises(ValueError, match="1 to 3 datasets"):
        resolve_data([a, a, a, a])
    with pytest.raises(ValueError, match="only apply when the data is given by name"):
        resolve_data({"train": a}, {"size": 8})


DDP_SCRIPT = """
import json, sys, warnings
import torch
from torch.utils.data import TensorDataset
from dynvision.training import train

def images(n, seed):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 4
    x = 0.3 * torch.rand(n, 1, 8, 8, generator=g)
    for i, k in enumerate(labels.tolist()):
        y0, x0 = divmod(k, 2)
        x[i, 0, 4 * y0:4 * y0 + 4, 4 * x0:4 * x0 + 4] += 0.7
    return TensorDataset(x.clamp(0, 1), labels)

if __name__ == "__main__":
    warnings.simplefilter("ignore")
    out = sys.argv[1]
    result = train("DyRCNNx2", TINY, {"train": images(64, 0), "val": images(32, 1)}, max_epochs=3,
                   batch_size=8, out_dir=out, strategy="ddp", devices=2, accelerator="cpu", num_threads=1,
                   progress=False, test=False, lr=0.02, tbptt_steps=2)
    if result.rank == 0:
        x = torch.rand(4, *TINY["input_dims"], generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            torch.save({"x": x, "logits": result.model(x), "last": result.last_checkpoint}, out + "/inmemory.pt")
"""


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(f"TINY = {TINY!r}\n" + textwrap.dedent(DDP_SCRIPT))
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, str(script), str(out)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = torch.load(out / "inmemory.pt", weights_only=True)
    ckpt = load_checkpoint(saved["last"])
    assert (ckpt["epoch"], ckpt["global_step"]) == (2, 12)  # 8 batches per epoch shared by 2 ranks: 4 steps each
    with torch.no_grad():
        assert torch.allclose(model_from_checkpoint(saved["last"])(saved["x"]), saved["logits"], atol=1e-6)
    run = json.loads((out / "run.json").read_text())
    assert run["world_size"] == 2 and run["strategy"] == "ddp"
    losses = [float(r["train/loss_epoch"]) for r in _rows(out / "logs" / "version_0" / "metrics.csv")
              if r.get("train/loss_epoch")]
    assert len(losses) == 3 and losses[-1] < losses[0]

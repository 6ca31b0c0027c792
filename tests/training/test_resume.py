"""Exact resume: training killed at random points and resumed ends with the weights of an
uninterrupted run, bit for bit (CPU, one thread), through the command a user types."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import dynvision

EPOCHS = 4
ARGS = ["train", "--model", "DyRCNNx2", "--set", "width=0.125", "--data", "digits", "--data-option", "size=8",
        "--steps", "4", "--batch-size", "16", "--epochs", str(EPOCHS), "--lr", "0.01", "--pattern", "10", "--shuffle-pattern",
        "--threads", "1", "--no-progress"]
ENV = {**os.environ, "PYTHONPATH": str(Path(dynvision.__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}


def _start(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dynvision.cli", *ARGS, "--out", str(out), *extra], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _training_started(out: Path, since_ns: int, proc: subprocess.Popen) -> bool:
    """Wait until this process has checked everything and written run.json (training is about to start)."""
    run = out / "run.json"
    while proc.poll() is None:
        if run.exists() and run.stat().st_mtime_ns >= since_ns:
            return True
        time.sleep(0.01)
    return False


def _checkpoint(path: Path) -> dict:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    return {"weights": ckpt["state_dict"], "optimizer": ckpt["optimizer_states"][0]["state"],
            "epoch": ckpt["epoch"], "step": ckpt["global_step"]}


def _epochs_checkpointed(last: Path) -> int:
    """Epochs saved in ``last``: 0 without it, -1 while it cannot be read (being written)."""
    try:
        return _checkpoint(last)["epoch"] + 1 if last.exists() else 0
    except Exception:  # noqa: BLE001 - torch.load of a half-written file: not saved yet
        return -1


def _wait_for_epochs(last: Path, epochs: int, proc: subprocess.Popen) -> bool:
    """Wait until ``epochs`` epochs are checkpointed while ``proc`` runs; False if it ended first."""
    while proc.poll() is None:
        if _epochs_checkpointed(last) >= epochs:
            return True
        time.sleep(0.02)
    return False


def _assert_identical(a: dict, b: dict, what: str) -> None:
    assert (a["epoch"], a["step"]) == (b["epoch"], b["step"]), what
    assert a["weights"].keys() == b["weights"].keys()
    for key in a["weights"]:
        assert torch.equal(a["weights"][key], b["weights"][key]), f"{what}: {key} differs"
    for index, state in a["optimizer"].items():
        for name, value in state.items():
            assert torch.equal(value, b["optimizer"][index][name]), f"{what}: optimizer {index}.{name} differs"


@pytest.mark.slow
def test_training_killed_at_random_points_resumes_bit_for_bit(tmp_path):
    reference = tmp_path / "reference"
    since = time.time_ns()
    proc = _start(reference)
    assert _training_started(reference, since, proc)
    began = time.time()
    assert proc.wait(timeout=600) == 0, proc.stderr.read()
    duration = (reference / "checkpoints" / "last.ckpt").stat().st_mtime - began  # the training itself

    # Kill points are set in epochs, not seconds, so that a machine busier or idler than during
    # the reference run still kills inside the training: the k-th kill waits until k epochs are
    # checkpointed (0: before the first), then comes at a random time in the first part of the
    # next epoch.
    rng = random.Random(20240611)
    out, kills, finished = tmp_path / "killed", [], False
    for _ in range(12):
        last = out / "checkpoints" / "last.ckpt"
        done = _epochs_checkpointed(last)
        extra = ["--resume", "last"] if last.exists() else ["--overwrite"] if out.exists() else []
        since = time.time_ns()
        proc = _start(out, *extra)
        started = _training_started(out, since, proc)
        if len(kills) < 3 and started and done < EPOCHS - 1:
            if _wait_for_epochs(last, max(done, len(kills)), proc):  # at least one epoch left after it
                time.sleep(rng.uniform(0.0, 0.3 * duration / EPOCHS))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills.append(_epochs_checkpointed(last))
                continue
        assert proc.wait(timeout=600) == 0, proc.stderr.read()
        finished = True
        break
    print(f"killed with {kills} epochs checkpointed (of {EPOCHS}); reference training took {duration:.1f} s")
    assert finished and len(kills) >= 2 and all(0 <= k < EPOCHS for k in kills), kills
    for name in ("last.ckpt", "best.ckpt"):
        _assert_identical(_checkpoint(out / "checkpoints" / name), _checkpoint(reference / "checkpoints" / name), name)

"""The shipped ensemble (scripts/train_ensemble.py): loads by name, its scores are real, its dynamics settle."""

from pathlib import Path

import pytest
import torch

import dynvision
from dynvision.models.pretrained import pretrained_info

PATTERN = "dyrcnnx4-ens-*"
FOLDERS = sorted((Path(dynvision.__file__).resolve().parent / "pretrained").glob(PATTERN))


@pytest.fixture
def ensemble(monkeypatch):
    monkeypatch.delenv("DYNVISION_DATA", raising=False)
    return dynvision.Ensemble(PATTERN)


def test_members_and_order(ensemble):
    assert len(ensemble) == 6 and len(FOLDERS) == 6
    assert {n.rsplit("-", 2)[1] for n in ensemble.names} == {"full", "self"}  # both recurrence types
    errors = [ensemble.task_error[n] for n in ensemble.names]
    assert errors == sorted(errors) and all(0 < e < 0.35 for e in errors)
    assert sum(f.stat().st_size for folder in FOLDERS for f in folder.iterdir()) < 600_000  # small enough to ship


def test_a_member_reaches_its_stored_accuracy(monkeypatch):
    monkeypatch.delenv("DYNVISION_DATA", raising=False)
    from dynvision.data import make_dataset
    from dynvision.training.evaluate import evaluate
    from dynvision.training.temporal import Presentation

    name = FOLDERS[-1].name
    info = pretrained_info(name)
    training = info["config"]["training"]
    model = dynvision.create_model(info["config"]["model"], pretrained=name)
    test = make_dataset(training["data"], split="test", **training["data_kwargs"])
    scores = evaluate(model, test, Presentation(**training["presentation"]))
    assert scores["acc_valid"] == pytest.approx(info["metrics"]["acc_valid"], abs=1e-4) and scores["acc_valid"] > 0.65


def test_every_member_settles_under_a_blank_screen(ensemble):
    for name, model in ensemble:
        state = model.steady_state(1, tol=1e-6, max_ms=2000)  # raises if activity grows without bound
        blank = torch.full((1, 100, 1, 16, 16), 0.5)
        with torch.no_grad():
            out = model.run(blank, state, record=["IT"])
        assert torch.allclose(out.recordings["IT"][:, -1], out.recordings["IT"][:, 0], atol=1e-4), name

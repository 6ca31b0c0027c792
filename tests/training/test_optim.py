"""Parameter groups with lr factors, optimisers and schedules by name."""

from __future__ import annotations

import pytest
import torch

import dynvision
from dynvision.registry import UnknownNameError
from dynvision.training.optim import make_optimizer, make_scheduler, parameter_groups


@pytest.fixture
def with_feedback():
    return dynvision.create_model("DyRCNNx4", n_classes=3, input_dims=(4, 1, 16, 16), width=0.125,
                                  feedback=True, tfb=4.0)


def test_groups_partition_the_parameters(with_feedback):
    groups = {g["name"]: g for g in parameter_groups(with_feedback, lr=0.01, recurrence_lr_factor=0.1,
                                                     feedback_lr_factor=0.5, weight_decay=0.2)}
    assert list(groups) == ["default", "recurrence", "feedback"]
    assert {k: g["lr"] for k, g in groups.items()} == pytest.approx({"default": 0.01, "recurrence": 0.001,
                                                                     "feedback": 0.005})
    assert all(g["weight_decay"] == 0.2 for g in groups.values())
    ids = [id(p) for g in groups.values() for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(with_feedback.parameters()))
    names = {id(p): n for n, p in with_feedback.named_parameters()}
    assert all(".recurrence." in names[id(p)] for p in groups["recurrence"]["params"])
    feedback = {id(p) for c in with_feedback.connections if c.kind == "feedback" for p in c.parameters()}
    assert {id(p) for p in groups["feedback"]["params"]} == feedback
    skip = {id(p) for c in with_feedback.connections if c.kind == "skip" for p in c.parameters()}
    assert skip and skip <= {id(p) for p in groups["default"]["params"]}


def test_empty_groups_are_left_out(tiny):
    assert [g["name"] for g in parameter_groups(tiny, lr=1.0)] == ["default", "recurrence"]
    none = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 8, 8), width=0.1,
                                  recurrence_type="none")
    assert [g["name"] for g in parameter_groups(none, lr=1.0)] == ["default"]


def test_frozen_parameters_are_left_out(tiny):
    tiny.classifier.weight.requires_grad_(False)
    ids = {id(p) for g in parameter_groups(tiny, lr=1.0) for p in g["params"]}
    assert id(tiny.classifier.weight) not in ids


@pytest.mark.parametrize("name, cls", [("adamw", torch.optim.AdamW), ("adam", torch.optim.Adam),
                                       ("sgd", torch.optim.SGD)])
def test_make_optimizer(with_feedback, name, cls):
    opt = make_optimizer(name, with_feedback, lr=0.1, recurrence_lr_factor=0.0, feedback_lr_factor=2.0)
    assert isinstance(opt, cls)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.1, 0.0, 0.2])


def test_bad_names_and_values_raise(tiny):
    with pytest.raises(UnknownNameError, match="valid optimizers: 'adam', 'adamw', 'sgd'"):
        make_optimizer("adagrad", tiny, lr=0.1)
    with pytest.raises(ValueError, match="lr must be > 0"):
        make_optimizer("sgd", tiny, lr=0.0)
    with pytest.raises(ValueError, match="recurrence_lr_factor must be >= 0"):
        parameter_groups(tiny, lr=0.1, recurrence_lr_factor=-1)
    opt = make_optimizer("sgd", tiny, lr=0.1)
    with pytest.raises(UnknownNameError, match="valid schedulers: 'cosine', 'none', 'step'"):
        make_scheduler("linear", opt)


def _lrs(opt, sched, epochs):
    out = []
    for _ in range(epochs):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return out


def test_cosine_decays_every_group_keeping_ratios(tiny):
    opt = make_optimizer("sgd", tiny, lr=1.0, recurrence_lr_factor=0.1)
    lrs = _lrs(opt, make_scheduler("cosine", opt, max_epochs=4, min_lr_factor=0.1), 5)
    assert lrs[0] == pytest.approx([1.0, 0.1])
    assert lrs[2] == pytest.approx([0.55, 0.055])
    assert lrs[4] == pytest.approx([0.1, 0.01])
    assert all(a[0] > b[0] for a, b in zip(lrs, lrs[1:]))


def test_step_and_none_schedules(tiny):
    opt = make_optimizer("sgd", tiny, lr=1.0)
    lrs = _lrs(opt, make_scheduler("step", opt, step_size=2, gamma=0.5), 5)
    assert [round(lr[0], 6) for lr in lrs] == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert make_scheduler("none", opt) is None

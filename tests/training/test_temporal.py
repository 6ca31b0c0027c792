"""Presentation: sequences on the dt grid, patterns, the loss mask and the response latency."""

from __future__ import annotations

import pytest
import torch

import dynvision
from dynvision.training.temporal import Presentation, parse_pattern, response_latency_steps


def test_sequence_is_grey_then_image():
    images = torch.rand(3, 2, 4, 4)
    p = Presentation(dt=2.0, t_pre=6.0, t_stim=10.0)
    seq, mask = p.present(images)
    assert seq.shape == (3, 8, 2, 4, 4) and p.n_pre == 3 and p.n_steps == 8
    assert torch.all(seq[:, :3] == 0.5)
    assert torch.equal(seq[:, 3:], images.unsqueeze(1).expand(-1, 5, -1, -1, -1))
    assert mask.tolist() == [False] * 3 + [True] * 5


@pytest.mark.parametrize("pattern, expected", [
    ("1", [1] * 8),
    ("1011", [1, 1, 0, 0, 1, 1, 1, 1]),
    ([0, 1], [0, 0, 0, 0, 1, 1, 1, 1]),
    ("110", [1, 1, 1, 1, 1, 1, 0, 0]),  # blocks of whole steps: index * 3 // 8
])
def test_pattern_blocks(pattern, expected):
    p = Presentation(dt=1.0, t_pre=2.0, t_stim=8.0, pattern=pattern)
    assert p.on_steps().tolist() == [False, False] + [bool(v) for v in expected]
    seq, _ = p.present(torch.ones(1, 1, 2, 2))
    assert seq[0, :, 0, 0, 0].tolist() == [0.5, 0.5] + [1.0 if v else 0.5 for v in expected]


def test_shuffled_pattern_keeps_its_blocks_and_evaluation_does_not_shuffle():
    p = Presentation(dt=1.0, t_stim=8.0, pattern="1000", shuffle_pattern=True)
    seen = set()
    for seed in range(20):
        on = p.on_steps(torch.Generator().manual_seed(seed))
        assert int(on.sum()) == 2
        seen.add(tuple(on.tolist()))
    assert len(seen) > 1
    assert p.on_steps(shuffle=False).tolist() == [True, True] + [False] * 6


def test_reaction_time_and_latency_mask_steps_after_each_onset():
    p = Presentation(dt=2.0, t_pre=2.0, t_stim=12.0, pattern="101", reaction_time=3.0)
    on = p.on_steps()
    assert on.tolist() == [False, True, True, False, False, True, True]
    assert p.wait_steps == 2  # ceil(3 / 2)
    assert p.loss_mask(on).tolist() == [False] * 7  # every on-block is only 2 steps long
    with pytest.raises(ValueError, match="no step counts"):
        p.valid_steps()
    q = Presentation(dt=1.0, t_stim=6.0, pattern="11", reaction_time=1.0, latency_steps=2)
    assert q.wait_steps == 2
    assert q.loss_mask(q.on_steps()).tolist() == [False, False, True, True, True, True]
    assert q.valid_steps() == 4


def test_hold_counts_a_memory_period_after_each_offset_of_a_counted_block():
    # pattern 1101 over 8 steps after 1 grey step; the loss waits 1 step after each onset
    p = Presentation(dt=2.0, t_pre=2.0, t_stim=16.0, pattern="1101", reaction_time=2.0, hold=3.0)
    on = p.on_steps()
    assert on.tolist() == [False, True, True, True, True, False, False, True, True]
    assert p.hold_steps == 2  # ceil(3 / 2)
    assert p.loss_mask(on).tolist() == [False, False, True, True, True, True, True, False, True]
    # an on block too short to count is not held: nothing was learnt to remember
    q = Presentation(dt=1.0, t_stim=8.0, pattern="1000", reaction_time=2.0, hold=4.0)
    assert q.loss_mask(q.on_steps()).tolist() == [False] * 8
    # without hold, the off steps never count
    assert Presentation(dt=2.0, t_pre=2.0, t_stim=16.0, pattern="1101", reaction_time=2.0).loss_mask(on).tolist() \
        == [False, False, True, True, True, False, False, False, True]
    with pytest.raises(ValueError, match="hold must be >= 0 ms"):
        Presentation(dt=1.0, t_stim=4.0, hold=-1.0)


def test_training_with_a_memory_period_counts_the_held_steps(tiny):
    from dynvision.training.module import DynVisionModule
    from dynvision.validation import InvalidValueError

    assert tiny.dt == 2.0 and tiny.input_dims[0] == 5  # 1 grey step, the image 2 steps, grey 2 steps
    module = DynVisionModule(tiny, t_pre=2.0, t_stim=8.0, pattern="10", hold=2.0)
    on = module.presentation.on_steps()
    assert on.tolist() == [False, True, True, False, False]
    # the latency (1 step) leaves the second on step; hold adds the first grey step after it
    assert module.presentation.loss_mask(on).tolist() == [False, False, True, True, False]
    with pytest.raises(InvalidValueError, match="hold=-2"):
        DynVisionModule(tiny, t_pre=2.0, t_stim=8.0, pattern="10", hold=-2.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"t_pre": 3.0}, "not a multiple of dt"),
    ({"t_stim": 0.0}, "no stimulus step"),
    ({"pattern": "10101", "t_stim": 8.0}, "5 blocks"),
    ({"pattern": "000"}, "never shows"),
    ({"pattern": "12"}, "0 and 1"),
    ({"pattern": 1011}, "as a string"),
    ({"reaction_time": -1.0}, "reaction_time"),
    ({"background": 2.0}, "background"),
])
def test_bad_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Presentation(**{"dt": 2.0, "t_stim": 8.0, **kwargs})


def test_parse_pattern():
    assert parse_pattern((True, False, 1)) == "101"


def test_for_model_fills_the_model_steps(tiny):
    p = Presentation.for_model(tiny, t_pre=4.0, reaction_time=2.0)
    assert (p.dt, p.n_pre, p.n_steps, p.latency_steps) == (tiny.dt, 2, tiny.input_dims[0], 1)  # one step to act
    with pytest.raises(ValueError, match="leaves no stimulus step"):
        Presentation.for_model(tiny, t_pre=10.0)


@pytest.mark.parametrize("kwargs", [
    {"tff": 2.0, "skip": False},
    {"tff": 2.0},
    {"tff": 4.0, "tsk": 2.0},
    {"tff": 0.0},
])
def test_latency_is_where_the_logits_first_leave_rest(kwargs):
    """Until the stimulus has crossed the delays, the logits are those of the resting network."""
    model = dynvision.create_model("DyRCNNx4", n_classes=3, input_dims=(12, 1, 16, 16), width=0.125, **kwargs)
    torch.nn.init.normal_(model.classifier.weight)
    p = Presentation.for_model(model, t_pre=4.0)
    seq, _ = p.present(torch.rand(2, 1, 16, 16))
    with torch.no_grad():
        moved = (model(seq) - model(torch.full_like(seq, 0.5))).abs().amax(dim=(0, 2))
    first = int((moved > 1e-6).nonzero()[0])
    assert first - p.n_pre == response_latency_steps(model) == p.latency_steps

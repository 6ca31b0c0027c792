"""Per-step objectives: known answers and shape checks."""

from __future__ import annotations

import math

import pytest
import torch

from dynvision.training.objectives import (
    accuracy_per_step,
    activity_per_step,
    cross_entropy_per_step,
    mean_square,
)


def test_cross_entropy_of_uniform_logits_is_log_classes():
    ce = cross_entropy_per_step(torch.zeros(3, 4, 5), torch.tensor([0, 1, 4]))
    assert ce.shape == (4,)
    assert torch.allclose(ce, torch.full((4,), math.log(5)))


def test_cross_entropy_is_float32_under_bfloat16_logits():
    ce = cross_entropy_per_step(torch.zeros(2, 3, 4, dtype=torch.bfloat16), torch.tensor([0, 1]))
    assert ce.dtype == torch.float32


def test_accuracy_per_step_known_answer():
    logits = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 0.0]]])
    assert accuracy_per_step(logits, torch.tensor([1, 0])).tolist() == [0.5, 1.0]


def test_mean_square_and_activity():
    x = torch.stack([torch.full((2, 3, 3), 1.0), torch.full((2, 3, 3), 3.0)])
    assert mean_square(x).tolist() == [1.0, 9.0]
    act = activity_per_step({"V1": torch.tensor([[1.0, 2.0], [3.0, 4.0]]), "V2": torch.zeros(2, 2)})
    assert act.tolist() == [1.0, 1.5]
    with pytest.raises(ValueError, match="record at least one area"):
        activity_per_step({})


@pytest.mark.parametrize("fn", [cross_entropy_per_step, accuracy_per_step])
def test_shape_errors(fn):
    with pytest.raises(ValueError, match="batch, time, classes"):
        fn(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="one label per sample"):
        fn(torch.zeros(2, 3, 4), torch.zeros(3, dtype=torch.long))

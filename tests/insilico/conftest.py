"""Models for the in-silico tests: a linear toy whose optimal stimuli are known, and tiny DyRCNNs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

import dynvision
from dynvision.models.base import RunOutput


class LinearToy(nn.Module):
    """A model with one area ``A`` whose channel ``k`` reads ``w_k . (frame - 0.5)``, instantaneous.

    Every position of channel ``k`` holds the same value, so the response of any unit of channel
    ``k`` to a static contrast ``d`` is ``w_k . d`` at every step: maximised over ``||d|| <= r``
    by ``r w_k / ||w_k||``. The output ``k`` is ``-w_k . d`` (its MEI is the opposite pattern).
    """

    def __init__(self, weights: torch.Tensor, dt: float = 2.0, steps: int = 3):
        super().__init__()
        self.w = nn.Parameter(weights.clone())  # (K, C, H, W)
        k, c, h, w = weights.shape
        self.input_dims, self.dt, self.n_classes = (steps, c, h, w), dt, k
        self.areas = {"A": SimpleNamespace(out_channels=k, size=(2, 3), shape_at=lambda op: (k, (2, 3)))}

    @property
    def area_names(self):
        return ["A"]

    def run(self, x, state=None, record=None):
        drive = torch.einsum("btchw,kchw->btk", x - 0.5, self.w)
        recordings = {}
        for name, reduce in (record or {}).items():
            maps = drive[..., None, None].expand(*drive.shape, 2, 3)
            fn = (lambda a: a) if reduce == "none" else reduce
            recordings[name] = torch.stack([fn(maps[:, t]) for t in range(maps.shape[1])], 1)
        return RunOutput(-drive, recordings, None)


@pytest.fixture
def linear_toy():
    g = torch.Generator().manual_seed(1)
    return LinearToy(torch.randn(3, 2, 4, 5, generator=g))


@pytest.fixture
def tiny_dyrcnn():
    """A two-area DyRCNN on 1 x 8 x 8 inputs, 6 steps of 2 ms, with nonzero biases."""
    torch.manual_seed(3)
    model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(6, 1, 8, 8), width=0.15)
    with torch.no_grad():
        for area in model.areas.values():
            area.conv.bias.fill_(0.2)  # units respond at rest: no dead starts
    return model

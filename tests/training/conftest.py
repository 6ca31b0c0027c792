"""Tiny fixtures for the training tests: a learnable 4-class image set and narrow models."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

import dynvision

TINY = {"n_classes": 4, "input_dims": (5, 1, 8, 8), "width": 0.125}
"""A DyRCNNx2 of ~1k parameters on 5 steps of 8 x 8 px."""


def quadrant_images(n: int, size: int = 8, seed: int = 0) -> TensorDataset:
    """``n`` noisy images whose class (0-3) is the bright quadrant: learnable in a few steps."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 4
    images = 0.3 * torch.rand(n, 1, size, size, generator=g)
    h = size // 2
    for i, k in enumerate(labels.tolist()):
        y, x = divmod(k, 2)
        images[i, 0, y * h:(y + 1) * h, x * h:(x + 1) * h] += 0.7
    return TensorDataset(images.clamp(0, 1), labels)


@pytest.fixture(scope="session")
def quadrants():
    """Train (64), val (32) and test (32) splits of :func:`quadrant_images`."""
    return {"train": quadrant_images(64, seed=0), "val": quadrant_images(32, seed=1),
            "test": quadrant_images(32, seed=2)}


@pytest.fixture
def tiny():
    """A fresh tiny DyRCNNx2 (seeded by the autouse seed fixture)."""
    return dynvision.create_model("DyRCNNx2", **TINY)

"""Shared fixtures: tiny models and stimuli that build in well under a second on a CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

import dynvision


torch.set_num_threads(1)  # tiny tensors: threads cost more than they give (and xdist workers share 2 cores)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def tiny_model():
    """A two-area DyRCNN on 1 x 16 x 16 inputs, 6 steps of 2 ms."""
    return dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(6, 1, 16, 16), width=0.25)


@pytest.fixture
def tiny_x4():
    """A narrow four-area DyRCNN on 1 x 16 x 16 inputs."""
    return dynvision.create_model("DyRCNNx4", n_classes=4, input_dims=(8, 1, 16, 16), width=0.125)


def make_stimulus(n=5, steps=6, channels=1, size=16, dt=2.0, seed=0):
    rng = np.random.default_rng(seed)
    return xr.DataArray(
        rng.random((n, steps, channels, size, size), dtype=np.float32),
        dims=("sample", "time", "channel", "y", "x"),
        coords={"time": ("time", np.arange(steps) * dt, {"units": "ms"}),
                "contrast": ("sample", np.linspace(0.1, 1.0, n)),
                "label": ("sample", np.arange(n) % 3)},
        attrs={"background": 0.5, "dt": dt, "stimulus": "noise"},
        name="stimulus",
    )


def tiny_model_kwargs(name: str, steps: int = 3, channels: int = 3) -> dict:
    """Constructor arguments for a tiny version of any registered model (AlexNet needs 64 px)."""
    import inspect

    from dynvision.models import MODELS

    size = 64 if name == "AlexNet" else 32
    kwargs = {"n_classes": 3, "input_dims": (steps, channels, size, size)}
    if "width" in inspect.signature(MODELS.get(name).__init__).parameters:
        kwargs["width"] = 0.0625
    return kwargs


@pytest.fixture
def stimulus():
    return make_stimulus()

"""Tiny experiment results and models for the view tests (each runs in well under a second)."""

from __future__ import annotations

import pytest

import dynvision

MODEL = "DyRCNNx4"
KW = {"n_classes": 10, "input_dims": (1, 1, 16, 16), "width": 0.25, "tff": 4.0, "input_gain": 2.0,
      "tau_gain": 60.0}
"""A narrow four-area DyRCNN (V1, V2, V4, IT) on 16 x 16 px."""

SHORT = {"n_images": 2, "t_pre": 10.0, "t_post": 30.0, "progress": False, "initial_state": "zeros"}
COMPARE = {"recurrence_type": ["full", "self"]}


def run(name: str, compare: bool = False, **params):
    """Run an experiment on a tiny model (tests/conftest.py keeps torch on one thread)."""
    return dynvision.run_experiment(name, model=MODEL, model_kwargs=KW,
                                    compare=COMPARE if compare else None, **SHORT, **params)


@pytest.fixture(scope="session")
def contrast_result():
    """One model, four contrasts (the fewest a Naka-Rushton fit takes)."""
    return run("contrast", contrasts=[0.25, 0.5, 0.75, 1.0], t_stim=20.0)


@pytest.fixture(scope="session")
def interval_pair():
    """Two models (full and self recurrence), three intervals."""
    return run("interval", compare=True, intervals=[4.0, 10.0, 20.0], t_stim=10.0)


@pytest.fixture(scope="session")
def duration_result():
    return run("duration", durations=[4.0, 10.0, 20.0])


@pytest.fixture(scope="session")
def response_pair():
    """Two models on the sustained-response experiment."""
    return run("response", compare=True, t_stim=40.0)


@pytest.fixture(scope="session")
def x4():
    """A fresh model with full recurrence and skip connections."""
    return dynvision.create_model(MODEL, **KW)

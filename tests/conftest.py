"""Shared fixtures (tiny models and stimuli that build in well under a second on a CPU) and how the suite runs.

The whole suite (``pytest`` or ``make test`` from the repository root, no paths given) runs on
pytest-xdist workers: one per core, at most 4, or ``DYNVISION_TEST_WORKERS`` (``0``: in this
process). Given paths (``pytest tests/views``) it runs in this process unless that variable is
set. The slow tests (notebooks, browsers) are scheduled first so no worker is left with a long
one at the end; browser tests share one worker (one Chromium at a time), and a module can keep
its tests (and its module-scoped fixtures) on one worker with ``pytest.mark.xdist_group``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import xarray as xr

import dynvision
from shared_helpers import make_stimulus, tiny_model_kwargs  # noqa: F401  (re-exported for old imports)


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


@pytest.fixture
def stimulus():
    return make_stimulus()


# --------------------------------------------------------------------------- how the suite runs

#: markers of the slow tests, slowest first: they start first on the xdist workers
SLOW_FIRST = ("browser", "notebook", "slow")
MAX_WORKERS = 4


def pytest_xdist_auto_num_workers(config) -> int:
    """Workers for ``-n auto``: one per core (at most 4) for the whole suite, none for given paths."""
    forced = os.environ.get("DYNVISION_TEST_WORKERS")
    if forced is not None:
        return int(forced)
    if config.args_source is config.ArgsSource.ARGS or config.getoption("usepdb", False):
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def pytest_collection_modifyitems(config, items) -> None:
    """Slow tests first (stable within each kind); browser tests in one xdist group."""
    def rank(item) -> int:
        return next((i for i, name in enumerate(SLOW_FIRST) if item.get_closest_marker(name)), len(SLOW_FIRST))

    for item in items:
        if item.get_closest_marker("browser") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group("browser"))
    items.sort(key=rank)

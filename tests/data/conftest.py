"""Tiny shared fixtures for the data tests: small datasets and a generated image folder."""

from __future__ import annotations

import pytest

from dynvision.data import make_dataset

from .helpers import write_image_folder


@pytest.fixture(scope="session")
def image_root(tmp_path_factory):
    """A small ImageNet-style folder: classes cat (black), dog (white), zebra (grey), 6 each."""
    root = tmp_path_factory.mktemp("images")
    write_image_folder(root)
    return root


@pytest.fixture(scope="session")
def digits_val():
    """The digits validation split at 16 px, grey (270 images)."""
    return make_dataset("digits", split="val", size=16, channels=1, seed=0)


@pytest.fixture(scope="session")
def patches_rgb():
    """Natural patches at 12 px RGB, 12 crops of 32 px per photo, all splits (120 images)."""
    return make_dataset(
        "natural_patches", split="all", size=12, channels=3, n_per_image=12, crop=32
    )


@pytest.fixture(scope="session")
def options(image_root):
    """``options(name)``: small keyword options per registered dataset.

    A newly registered dataset that needs options must be added here; the registry-wide
    tests then cover it.
    """
    table = {
        "digits": {},
        "natural_patches": {"n_per_image": 10, "crop": 32},
        "image_folder": {"root": image_root},
    }
    return lambda name: table.get(name, {})

"""Helpers shared by the data tests (imported relatively: ``from .helpers import ...``)."""

from __future__ import annotations

import torch
from PIL import Image

# Class folders are created out of alphabetical order; each class has one constant grey level.
FOLDER_CLASSES = {"zebra": 128, "cat": 0, "dog": 255}


def write_image_folder(root, n_per_class: int = 6) -> None:
    """``root/<class>/<i>.png`` with constant-grey images of varied sizes and modes."""
    modes = ["L", "RGB", "RGBA"]
    for name, grey in FOLDER_CLASSES.items():
        (root / name).mkdir(parents=True)
        for i in range(n_per_class):
            size = (12 + 4 * i, 10 + 2 * i)  # (width, height), never square
            mode = modes[i % 3]
            colour = {"L": grey, "RGB": (grey,) * 3, "RGBA": (grey, grey, grey, 255)}[mode]
            Image.new(mode, size, colour).save(root / name / f"{i:02d}.png")
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "cat" / ".hidden.png").write_bytes(b"skipped: hidden")


def collect(loader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """All batches of one epoch of ``loader``."""
    return [(images, labels) for images, labels in loader]


def equal_batches(a, b) -> bool:
    """True if two lists of (images, labels) batches are identical, batch by batch."""
    return len(a) == len(b) and all(
        torch.equal(xi, yi) and torch.equal(xl, yl) for (xi, xl), (yi, yl) in zip(a, b)
    )

"""``natural_patches``: random crops of scikit-image's bundled photographs, one class per photo.

Only images that ship inside the scikit-image wheel are used (no download). Each sample is a
square crop at a seeded random position (optionally mirrored left-right) from one source image,
resized to the requested size; its label says which source image it came from. Crops of the
same photo may overlap across splits, so the task measures recognising a photo's content and
texture, not generalisation to unseen photos.

Example:
    >>> from dynvision.data import make_dataset
    >>> ds = make_dataset("natural_patches", split="all", size=16, n_per_image=3)
    >>> len(ds), ds.classes[:2]
    (30, ['astronaut', 'brick'])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dynvision.data.base import ArrayDataset
from dynvision.data.datasets import DATASETS
from dynvision.data.splits import DEFAULT_FRACTIONS, check_fractions, split_indices
from dynvision.data.transforms import as_size, check_channels, prepare_image
from dynvision.registry import check_choice

BUNDLED_IMAGES = (
    "astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "moon", "page", "text", "clock",
    "brick", "grass", "gravel", "cell", "hubble_deep_field", "immunohistochemistry", "colorwheel",
    "microaneurysms", "logo", "retina",
)  # fmt: skip
"""``skimage.data`` images that load offline (they ship inside the scikit-image wheel): the one
list, shared by the ``natural_patches`` dataset and the ``natural`` image source of
:mod:`dynvision.stimuli` (which shows them in this order: photographs first)."""

DEFAULT_IMAGES = (
    "astronaut", "brick", "camera", "chelsea", "coffee", "coins", "grass", "gravel", "moon",
    "rocket",
)  # fmt: skip
"""The ten source images (= classes) used by default: photos, textures and objects."""


def load_source(name: str) -> np.ndarray:
    """A bundled ``skimage.data`` image as float32 in [0, 1], (H, W) or (H, W, 3|4).

    The one loader of the bundled photographs (datasets and stimuli both use it).

    Example:
        >>> load_source("camera").shape
        (512, 512)
    """
    import skimage.data
    from skimage.util import img_as_float32

    check_choice("bundled image", name, BUNDLED_IMAGES)
    return img_as_float32(getattr(skimage.data, name)())


@DATASETS.register("natural_patches")
def natural_patches(
    split: str = "train",
    size: int | tuple[int, int] = 32,
    channels: int = 1,
    seed: int = 0,
    images: Sequence[str] = DEFAULT_IMAGES,
    n_per_image: int = 100,
    crop: int = 96,
    flip: bool = True,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> ArrayDataset:
    """Seeded random crops of bundled photos; the label is the source photo.

    Args:
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        size: Output side in pixels, or ``(height, width)``.
        channels: 1 (colour photos become grey) or 3 (grey photos are repeated).
        seed: Seed of the crop positions, the flips and the split.
        images: Source images (classes), from :data:`BUNDLED_IMAGES`; classes keep this order.
        n_per_image: Crops per source image (over all splits).
        crop: Side of the square crop in source pixels (before resizing).
        flip: Mirror each crop left-right with probability 1/2.
        fractions: (train, val, test) fractions, stratified by source image.

    Returns:
        ``len(images) * n_per_image`` crops in split ``"all"``, a stratified share otherwise.

    Example:
        >>> ds = natural_patches(size=(8, 8), images=["camera", "moon"], n_per_image=10)
        >>> ds.classes, len(ds)
        (['camera', 'moon'], 14)
    """
    images = list(images)
    for name in images:
        check_choice("bundled image", name, BUNDLED_IMAGES)
    if len(set(images)) != len(images) or not images:
        raise ValueError(f"images must be distinct bundled image names, got {images!r}")
    if n_per_image < 1 or crop < 1:
        raise ValueError(f"n_per_image and crop must be positive, got {n_per_image}, {crop}")
    fractions = check_fractions(fractions)
    size, channels = as_size(size), check_channels(channels)

    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(images)), n_per_image)
    keep = split_indices(labels, split, seed=seed, fractions=fractions)
    sources = {name: load_source(name) for name in images}
    # Draw every crop (all splits) so that a sample's crop does not depend on the split.
    boxes = []
    for name in images:
        h, w = sources[name].shape[:2]
        if crop > min(h, w):
            raise ValueError(f"crop={crop} px exceeds image {name!r} of shape {(h, w)}")
        top = rng.integers(0, h - crop + 1, n_per_image)
        left = rng.integers(0, w - crop + 1, n_per_image)
        mirror = rng.random(n_per_image) < 0.5 if flip else np.zeros(n_per_image, bool)
        boxes.extend(zip(top, left, mirror))

    out = np.empty((len(keep), channels, *size), dtype=np.float32)
    for j, i in enumerate(keep):
        top, left, mirror = boxes[i]
        patch = sources[images[labels[i]]][top : top + crop, left : left + crop]
        out[j] = prepare_image(patch[:, ::-1] if mirror else patch, size, channels)
    config = {
        "name": "natural_patches",
        "split": split,
        "size": list(size),
        "channels": channels,
        "seed": seed,
        "images": images,
        "n_per_image": n_per_image,
        "crop": crop,
        "flip": flip,
        "fractions": list(fractions),
    }
    return ArrayDataset(out, labels[keep], images, config=config, source_indices=keep)

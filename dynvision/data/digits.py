"""``digits``: scikit-learn's 1,797 handwritten 8x8 digits, resized, ten classes.

The images ship with scikit-learn (no download). Pixel values 0..16 are scaled to [0, 1] and
resized with bilinear interpolation (anti-aliased when shrinking) to the requested size.

Example:
    >>> from dynvision.data import make_dataset
    >>> train = make_dataset("digits", split="train", size=32, channels=3)
    >>> len(train), train.image_shape
    (1259, (3, 32, 32))
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from dynvision.data.base import ArrayDataset
from dynvision.data.datasets import DATASETS
from dynvision.data.splits import DEFAULT_FRACTIONS, check_fractions, split_indices
from dynvision.data.transforms import as_size, check_channels, prepare_image


@functools.lru_cache(maxsize=1)
def load_digit_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 digits as read-only arrays: images (N, 8, 8) float32 in [0, 1], labels (N,).

    The one loader of the digits: the ``digits`` dataset and the stimuli
    (:func:`dynvision.stimuli.digit_images`, :func:`dynvision.stimuli.moving_digits`) read them
    here, so both see the same pixels (0..16 scaled by 1/16, exact in float32).

    Example:
        >>> images, labels = load_digit_arrays()
        >>> images.shape, float(images.max()), labels[:3].tolist()
        ((1797, 8, 8), 1.0, [0, 1, 2])
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    labels = bunch.target.astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


@DATASETS.register("digits")
def digits(
    split: str = "train",
    size: int | tuple[int, int] = 32,
    channels: int = 1,
    seed: int = 0,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> ArrayDataset:
    """Handwritten digits 0-9 (scikit-learn ``load_digits``), stratified split.

    Args:
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        size: Output side in pixels, or ``(height, width)``.
        channels: 1 (grey) or 3 (grey repeated).
        seed: Seed of the stratified split.
        fractions: (train, val, test) fractions.

    Returns:
        White digits on black, labels 0-9, classes ``"0"``..``"9"``.

    Example:
        >>> ds = digits(split="test", size=(16, 16))
        >>> ds.classes[ds[0][1]] in "0123456789"
        True
    """
    fractions = check_fractions(fractions)
    size, channels = as_size(size), check_channels(channels)
    source, targets = load_digit_arrays()
    keep = split_indices(targets, split, seed=seed, fractions=fractions)
    images = np.empty((len(keep), channels, *size), dtype=np.float32)
    for j, i in enumerate(keep):
        images[j] = prepare_image(source[i], size, channels)
    config = {
        "name": "digits",
        "split": split,
        "size": list(size),
        "channels": channels,
        "seed": seed,
        "fractions": list(fractions),
    }
    return ArrayDataset(
        images,
        targets[keep],
        classes=[str(d) for d in range(10)],
        config=config,
        source_indices=keep,
    )

"""The dataset registry: build any offline dataset by name.

A dataset builder is a function ``(split, size, channels, seed, **options) -> ArrayDataset``
registered in :data:`DATASETS`. :func:`make_dataset` checks the name, split, channel count and
options before building, and every error lists the valid choices.

Example:
    >>> from dynvision.data import make_dataset
    >>> ds = make_dataset("digits", split="val", size=16, channels=1, seed=0)
    >>> ds.image_shape, ds.num_classes
    ((1, 16, 16), 10)
"""

from __future__ import annotations

from typing import Any

from dynvision.data.base import ArrayDataset
from dynvision.data.splits import SPLITS
from dynvision.data.transforms import as_size, check_channels
from dynvision.registry import Registry, check_choice, check_kwargs

DATASETS = Registry("dataset")
"""Dataset builders by name; the built-ins (``digits``, ``natural_patches``, ``image_folder``)
register themselves when :mod:`dynvision.data` is imported."""


def list_datasets() -> list[str]:
    """Names of the registered datasets, sorted.

    Example:
        >>> "digits" in list_datasets()
        True
    """
    return DATASETS.list()


def make_dataset(
    name: str,
    split: str = "train",
    size: int | tuple[int, int] = 32,
    channels: int = 1,
    seed: int = 0,
    **options: Any,
) -> ArrayDataset:
    """Build the registered dataset ``name``.

    Args:
        name: A name from :func:`list_datasets`.
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        size: Image side in pixels, or ``(height, width)``.
        channels: 1 (grey) or 3 (RGB).
        seed: Seed of the split (and of any random cropping); same seed, same data.
        **options: Dataset-specific keywords (e.g. ``fractions``, ``root``, ``n_per_image``).

    Returns:
        The split as an :class:`~dynvision.data.base.ArrayDataset`.

    Raises:
        UnknownNameError: For an unknown name, split, channel count or option.

    Example:
        >>> ds = make_dataset("natural_patches", size=16, channels=3, n_per_image=4)
        >>> image, label = ds[0]
        >>> tuple(image.shape), image.dtype
        ((3, 16, 16), torch.float32)
    """
    builder = DATASETS.get(name)
    check_choice("split", split, SPLITS)
    check_channels(channels)
    check_kwargs(f"dataset {name!r}", options, builder)
    return builder(split=split, size=as_size(size), channels=channels, seed=seed, **options)

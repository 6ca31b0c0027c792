"""Offline datasets and fast, reproducible batch loading.

This package supplies labelled images for training and testing, without any download:

* datasets: :func:`make_dataset` builds ``digits`` (scikit-learn's 8x8 digits, resized),
  ``natural_patches`` (seeded crops of scikit-image's bundled photos, one class per photo) or
  ``image_folder`` (your ``root/<class>/<image>`` folder) as an :class:`ArrayDataset` of
  float32 ``(C, H, W)`` images in [0, 1] and int labels, with deterministic stratified
  train/val/test splits;
* loaders: :func:`make_loader` yields ``(images, labels)`` batches in a seeded per-epoch
  order, identical for the in-process ``plain`` loader and the optional ``ffcv`` loader
  (FFCV is imported only when that loader is asked for).

Example:
    >>> from dynvision.data import make_dataset, make_loader
    >>> train = make_dataset("digits", split="train", size=16, channels=1, seed=0)
    >>> for images, labels in make_loader(train, batch_size=64, seed=0):
    ...     break
    >>> tuple(images.shape), tuple(labels.shape)
    ((64, 1, 16, 16), (64,))
"""

from dynvision.data.base import ArrayDataset, as_arrays
from dynvision.data.datasets import DATASETS, list_datasets, make_dataset

# The built-in datasets register themselves in DATASETS (light modules: heavy imports are lazy).
from dynvision.data import digits, folder, natural  # noqa: E402, F401  isort: skip
from dynvision.data.loaders import (
    LOADERS,
    BatchLoader,
    PlainLoader,
    epoch_order,
    list_loaders,
    make_loader,
)
from dynvision.data.splits import SPLITS, split_indices

__all__ = [
    "DATASETS",
    "LOADERS",
    "SPLITS",
    "ArrayDataset",
    "BatchLoader",
    "PlainLoader",
    "as_arrays",
    "epoch_order",
    "list_datasets",
    "list_loaders",
    "make_dataset",
    "make_loader",
    "split_indices",
]

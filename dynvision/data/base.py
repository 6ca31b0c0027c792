"""The dataset contract: precomputed images in memory, one ``(image, label)`` pair per index.

Every offline dataset is an :class:`ArrayDataset`: the resized images are computed once into a
float32 tensor ``(N, C, H, W)`` in [0, 1], so ``__getitem__`` is a cheap view and the loaders
can gather whole batches by fancy indexing. ``config`` records how the dataset was made (name,
split, size, channels, seed and keywords) as JSON-able values.

Example:
    >>> import torch
    >>> ds = ArrayDataset(torch.zeros(4, 1, 8, 8), [0, 1, 0, 1], classes=["a", "b"])
    >>> image, label = ds[1]
    >>> tuple(image.shape), label, ds.num_classes
    ((1, 8, 8), 1, 2)
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset


class ArrayDataset(Dataset):
    """A classification dataset held in memory as tensors.

    Args:
        images: ``(N, C, H, W)`` float images in [0, 1].
        labels: ``N`` integer labels in ``range(len(classes))``.
        classes: Class names; label ``k`` means ``classes[k]``.
        config: JSON-able description of how the data were made.
        source_indices: For each sample, its index in the unsplit source (shows that
            splits are disjoint); defaults to ``arange(N)``.

    Attributes:
        images: float32 tensor ``(N, C, H, W)``.
        labels: int64 tensor ``(N,)``.
    """

    def __init__(
        self,
        images: np.ndarray | torch.Tensor,
        labels: Sequence[int] | np.ndarray | torch.Tensor,
        classes: Sequence[str],
        config: dict[str, Any] | None = None,
        source_indices: Sequence[int] | np.ndarray | None = None,
    ):
        self.images = torch.as_tensor(np.asarray(images, dtype=np.float32)).contiguous()
        self.labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
        self.classes = [str(c) for c in classes]
        self.config = dict(config or {})
        n = len(self.images)
        self.source_indices = (
            np.arange(n, dtype=np.int64)
            if source_indices is None
            else np.asarray(source_indices, dtype=np.int64)
        )
        if self.images.ndim != 4:
            raise ValueError(f"images must be (N, C, H, W), got shape {tuple(self.images.shape)}")
        if self.labels.shape != (n,) or len(self.source_indices) != n:
            raise ValueError(
                f"need one label and source index per image: {n} images, "
                f"{len(self.labels)} labels, {len(self.source_indices)} source indices"
            )
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.classes)):
            raise ValueError(f"labels must lie in [0, {len(self.classes)}) for the classes")
        json.dumps(self.config)  # fail early on values that cannot be recorded

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])

    @property
    def num_classes(self) -> int:
        """Number of classes (including any without samples in this split)."""
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of every image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def __repr__(self) -> str:
        name = self.config.get("name", type(self).__name__)
        split = self.config.get("split", "?")
        return (
            f"{type(self).__name__}({name!r}, split={split!r}, n={len(self)}, "
            f"image_shape={self.image_shape}, classes={self.num_classes})"
        )


def as_arrays(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, C, H, W)`` float32 and labels ``(N,)`` int64 of any map-style dataset.

    An :class:`ArrayDataset` is returned without copying; any other dataset is read item by
    item (each item an ``(image, label)`` pair of equal image shapes).

    Example:
        >>> ds = ArrayDataset(np.zeros((2, 1, 4, 4)), [0, 1], ["a", "b"])
        >>> [a.shape for a in as_arrays(ds)]
        [(2, 1, 4, 4), (2,)]
    """
    if isinstance(dataset, ArrayDataset):
        return dataset.images.numpy(), dataset.labels.numpy()
    items = [dataset[i] for i in range(len(dataset))]  # type: ignore[arg-type]
    if not items:
        raise ValueError(f"dataset {dataset!r} is empty")
    shapes = {tuple(np.shape(img)) for img, _ in items}
    if len(shapes) != 1:
        raise ValueError(f"all images must have one shape, found {sorted(shapes)}")
    images = np.stack([np.asarray(img, dtype=np.float32) for img, _ in items])
    labels = np.asarray([int(lab) for _, lab in items], dtype=np.int64)
    return images, labels

"""Batch loaders with one interface and one sample order: ``plain`` (always) and ``ffcv`` (extra).

Every loader yields ``(images, labels)`` with images float32 ``(B, C, H, W)`` and labels int64
``(B,)``, and visits the samples of epoch ``e`` in the order :func:`epoch_order` gives for
``(seed, e)``. So two loaders of the same dataset, seed and epoch yield identical batches, and
switching to the fast loader never changes an experiment's result.

Iterating a loader serves its current ``epoch`` and then advances it by one, so
``for epoch in range(n): for images, labels in loader: ...`` reshuffles every epoch;
:meth:`BatchLoader.set_epoch` jumps to any epoch (e.g. when resuming).

Example:
    >>> from dynvision.data import make_dataset, make_loader
    >>> ds = make_dataset("digits", split="val", size=8)
    >>> images, labels = next(iter(make_loader(ds, batch_size=16, seed=0)))
    >>> tuple(images.shape), labels.dtype
    ((16, 1, 8, 8), torch.int64)
"""

from __future__ import annotations

import os
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from dynvision.data.base import ArrayDataset
from dynvision.registry import Registry

LOADERS = Registry("loader")
"""Loader classes by name: ``plain`` (in-process) and ``ffcv`` (needs ``dynvision[ffcv]``)."""

Batch = tuple[torch.Tensor, torch.Tensor]


def epoch_order(n: int, seed: int = 0, epoch: int = 0, shuffle: bool = True) -> np.ndarray:
    """The order in which every loader visits ``n`` samples in ``epoch``.

    A permutation from ``numpy.random.default_rng((seed, epoch))`` (so seed 1, epoch 0 and
    seed 0, epoch 1 differ), or ``arange(n)`` when ``shuffle`` is false.

    Example:
        >>> epoch_order(5, shuffle=False).tolist()
        [0, 1, 2, 3, 4]
        >>> sorted(epoch_order(5, seed=3, epoch=2).tolist())
        [0, 1, 2, 3, 4]
    """
    if not shuffle:
        return np.arange(n, dtype=np.int64)
    return np.random.default_rng((int(seed), int(epoch))).permutation(n).astype(np.int64)


class BatchLoader:
    """Base class: batches of ``dataset`` in :func:`epoch_order`; subclasses fetch the data.

    Args:
        dataset: A map-style dataset of ``(image, label)`` pairs.
        batch_size: Samples per batch.
        shuffle: Permute the samples every epoch (else dataset order).
        seed: Seed of the permutations.
        epoch: The epoch served by the next iteration.
        drop_last: Drop the last batch if it is smaller than ``batch_size``.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
        epoch: int = 0,
        drop_last: bool = False,
    ):
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.epoch = int(epoch)
        self.drop_last = bool(drop_last)

    def order(self, epoch: int | None = None) -> np.ndarray:
        """Sample indices visited in ``epoch`` (default: the next epoch), batches in sequence."""
        epoch = self.epoch if epoch is None else epoch
        order = epoch_order(len(self.dataset), self.seed, epoch, self.shuffle)  # type: ignore[arg-type]
        return order[: len(self) * self.batch_size] if self.drop_last else order

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration serve ``epoch``."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n = len(self.dataset)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        order = self.order()
        self.epoch += 1
        return self._iterate(order)

    def _iterate(self, order: np.ndarray) -> Iterator[Batch]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n={len(self.dataset)}, batch_size={self.batch_size}, "  # type: ignore[arg-type]
            f"shuffle={self.shuffle}, seed={self.seed}, epoch={self.epoch}, "
            f"drop_last={self.drop_last})"
        )


@LOADERS.register("plain")
class PlainLoader(BatchLoader):
    """The default loader: gathers batches in the calling process.

    An :class:`~dynvision.data.base.ArrayDataset` is batched by indexing its image tensor;
    any other dataset goes through a :class:`torch.utils.data.DataLoader` with
    ``num_workers`` worker processes and the same batch order.

    Args:
        num_workers: Worker processes for datasets that are not an ``ArrayDataset``.
        cache_dir: Unused (nothing is cached); accepted so all loaders share one signature.
        **kwargs: See :class:`BatchLoader`.

    Example:
        >>> from dynvision.data import ArrayDataset
        >>> ds = ArrayDataset(torch.zeros(5, 1, 4, 4), [0, 1, 0, 1, 0], ["a", "b"])
        >>> [len(labels) for _, labels in PlainLoader(ds, batch_size=2)]
        [2, 2, 1]
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
        epoch: int = 0,
        drop_last: bool = False,
        num_workers: int = 0,
        cache_dir: str | os.PathLike | None = None,
    ):
        super().__init__(dataset, batch_size, shuffle, seed, epoch, drop_last)
        self.num_workers = int(num_workers)

    def _iterate(self, order: np.ndarray) -> Iterator[Batch]:
        chunks = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if isinstance(self.dataset, ArrayDataset):
            images, labels = self.dataset.images, self.dataset.labels
            for idx in chunks:
                index = torch.from_numpy(idx)
                yield images[index], labels[index]
            return
        loader = DataLoader(
            self.dataset, batch_sampler=[c.tolist() for c in chunks], num_workers=self.num_workers
        )
        for images, labels in loader:
            yield (
                torch.as_tensor(images, dtype=torch.float32),
                torch.as_tensor(labels, dtype=torch.int64),
            )


@LOADERS.register("ffcv")
def _ffcv_loader(dataset: Dataset, **kwargs) -> BatchLoader:
    """Build an :class:`~dynvision.data.ffcv_loader.FFCVLoader` (imports ffcv only now)."""
    from dynvision.data.ffcv_loader import FFCVLoader

    return FFCVLoader(dataset, **kwargs)


def list_loaders() -> list[str]:
    """Names of the registered loaders.

    Example:
        >>> list_loaders()
        ['ffcv', 'plain']
    """
    return LOADERS.list()


def make_loader(
    dataset: Dataset,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int = 0,
    epoch: int = 0,
    loader: str = "plain",
    drop_last: bool = False,
    num_workers: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> BatchLoader:
    """A loader of ``dataset`` by name; every loader yields the same batches for the same seed.

    Args:
        dataset: A map-style dataset of ``(image, label)`` pairs, e.g. from ``make_dataset``.
        batch_size: Samples per batch.
        shuffle: Permute the samples every epoch (else dataset order).
        seed: Seed of the per-epoch permutations (see :func:`epoch_order`).
        epoch: The epoch served by the first iteration; each iteration advances it by one.
        loader: ``"plain"`` (default) or ``"ffcv"`` (needs ``pip install dynvision[ffcv]``).
        drop_last: Drop the last batch if it is smaller than ``batch_size``.
        num_workers: ``plain``: worker processes for non-array datasets; ``ffcv``: decoding
            threads (0 means 1).
        cache_dir: ``ffcv`` only: folder of the ``.beton`` files (default
            ``$DYNVISION_CACHE_DIR`` or ``~/.cache/dynvision``, then ``/ffcv``).

    Returns:
        An iterable of ``(images float32 (B, C, H, W), labels int64 (B,))`` with ``len()``.

    Raises:
        UnknownNameError: For an unknown loader name (the message lists the valid ones).
        ImportError: For ``loader="ffcv"`` without ffcv installed (says how to install it).

    Example:
        >>> from dynvision.data import make_dataset
        >>> ds = make_dataset("digits", split="test", size=8)
        >>> a = [y for _, y in make_loader(ds, batch_size=64, seed=1)]
        >>> b = [y for _, y in make_loader(ds, batch_size=64, seed=1)]
        >>> all(torch.equal(x, y) for x, y in zip(a, b))
        True
    """
    factory = LOADERS.get(loader)
    return factory(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        epoch=epoch,
        drop_last=drop_last,
        num_workers=num_workers,
        cache_dir=cache_dir,
    )

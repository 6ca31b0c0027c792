"""Image datasets as a LightningDataModule, with the batches shared out among processes.

:class:`ImageDataModule` serves train/val/test splits through :func:`dynvision.data.make_loader`
(``plain`` or ``ffcv``), which gives every epoch a seeded order. The training loader is set
to the trainer's current epoch each time an epoch starts (:class:`EpochLoader`), so the order
of epoch ``e`` depends on ``(seed, e)`` alone: a run resumed from a checkpoint sees exactly
the batches the uninterrupted run saw (rather than replaying the previous epoch's order).

dynvision's loaders are not ``torch.utils.data.DataLoader`` s, so Lightning cannot insert a
distributed sampler; :class:`ShardedLoader` does the sharing instead: with ``world_size``
processes, rank ``r`` takes batches ``r, r + world_size, ...`` of the common order, and every
rank gets the same number of batches (the few left over are dropped), so no process waits
for another at the end of an epoch.

Example:
    >>> batches = [(i, i) for i in range(5)]
    >>> list(ShardedLoader(batches, rank=1, world_size=2))
    [(1, 1), (3, 3)]
"""

from __future__ import annotations

from typing import Iterable, Iterator

import lightning as L
from torch.utils.data import Dataset


class ShardedLoader:
    """Rank ``rank``'s share of the batches of ``loader`` (see the module docstring).

    Args:
        loader: Any iterable of batches with ``len()``.
        rank: This process's rank.
        world_size: Number of processes.
    """

    def __init__(self, loader: Iterable, rank: int = 0, world_size: int = 1):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must lie in [0, world_size={world_size}), got {rank}")
        self.loader, self.rank, self.world_size = loader, int(rank), int(world_size)

    def __len__(self) -> int:
        return len(self.loader) // self.world_size  # type: ignore[arg-type]

    def __iter__(self) -> Iterator:
        if self.world_size == 1:
            yield from self.loader
            return
        stop = len(self) * self.world_size
        for i, batch in enumerate(self.loader):
            if i >= stop:
                break
            if i % self.world_size == self.rank:
                yield batch


class EpochLoader:
    """A loader whose every iteration serves the epoch ``epoch()`` says (the trainer's).

    Args:
        loader: A :class:`~dynvision.data.loaders.BatchLoader` (with ``set_epoch``).
        epoch: Returns the epoch about to be served.

    Example:
        >>> import torch
        >>> from torch.utils.data import TensorDataset
        >>> from dynvision.data import make_loader
        >>> inner = make_loader(TensorDataset(torch.arange(6.0), torch.arange(6)), batch_size=6, seed=0)
        >>> first = [y.tolist() for _, y in EpochLoader(inner, lambda: 1)]
        >>> first == [y.tolist() for _, y in EpochLoader(inner, lambda: 1)]  # epoch 1 again, same order
        True
    """

    def __init__(self, loader, epoch):
        self.loader, self.epoch = loader, epoch

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator:
        self.loader.set_epoch(int(self.epoch()))
        return iter(self.loader)


class ImageDataModule(L.LightningDataModule):
    """Train, validation and test datasets of ``(image, label)`` pairs as loaders.

    Args:
        train: Training dataset (images ``(C, H, W)`` float in [0, 1], int labels).
        val: Validation dataset, or ``None`` for no validation.
        test: Test dataset, or ``None``.
        batch_size: Samples per batch (per process).
        seed: Seed of the per-epoch shuffling.
        loader: ``plain`` or ``ffcv`` (see :func:`dynvision.data.make_loader`).
        num_workers: Loader workers.
        drop_last: Drop the last, smaller training batch.

    Example:
        >>> import torch
        >>> from torch.utils.data import TensorDataset
        >>> ds = TensorDataset(torch.rand(10, 1, 8, 8), torch.arange(10) % 2)
        >>> dm = ImageDataModule(ds, batch_size=4)
        >>> [len(y) for _, y in dm.train_dataloader()]
        [4, 4, 2]
    """

    def __init__(self, train: Dataset, val: Dataset | None = None, test: Dataset | None = None, *,
                 batch_size: int = 64, seed: int = 0, loader: str = "plain", num_workers: int = 0,
                 drop_last: bool = False):
        super().__init__()
        self.train, self.val, self.test = train, val, test
        self.batch_size, self.seed, self.loader = int(batch_size), int(seed), loader
        self.num_workers, self.drop_last = int(num_workers), bool(drop_last)

    def _make(self, dataset: Dataset, shuffle: bool, drop_last: bool = False, follow_epoch: bool = False):
        from dynvision.data import make_loader

        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        inner = make_loader(dataset, batch_size=self.batch_size, shuffle=shuffle, seed=self.seed,
                            loader=self.loader, drop_last=drop_last, num_workers=self.num_workers)
        if follow_epoch:
            inner = EpochLoader(inner, self._current_epoch)
        return ShardedLoader(inner, rank, world)

    def _current_epoch(self) -> int:
        return self.trainer.current_epoch if self.trainer is not None else 0

    def train_dataloader(self):
        return self._make(self.train, shuffle=True, drop_last=self.drop_last, follow_epoch=True)

    def val_dataloader(self):
        return [] if self.val is None else self._make(self.val, shuffle=False)

    def test_dataloader(self):
        return [] if self.test is None else self._make(self.test, shuffle=False)

"""ShardedLoader and ImageDataModule: each process its share, same order for the same seed."""

from __future__ import annotations

import pytest
import torch

from dynvision.training.datamodule import ImageDataModule, ShardedLoader

from .conftest import quadrant_images


@pytest.mark.parametrize("n, world", [(10, 2), (7, 3), (4, 4), (5, 1)])
def test_shards_are_disjoint_equal_and_cover_all_but_the_remainder(n, world):
    batches = list(range(n))
    shards = [list(ShardedLoader(batches, rank, world)) for rank in range(world)]
    assert all(len(s) == len(ShardedLoader(batches, r, world)) == n // world for r, s in enumerate(shards))
    flat = sorted(b for s in shards for b in s)
    assert flat == batches[: (n // world) * world]


def test_bad_rank_raises():
    with pytest.raises(ValueError, match="rank must lie in"):
        ShardedLoader([], rank=2, world_size=2)


def test_datamodule_batches_and_reproducible_order():
    ds = quadrant_images(20)
    dm = ImageDataModule(ds, batch_size=8, seed=3)
    first = [y for _, y in dm.train_dataloader()]
    again = [y for _, y in ImageDataModule(ds, batch_size=8, seed=3).train_dataloader()]
    assert [len(y) for y in first] == [8, 8, 4]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (8, 1, 8, 8) and images.dtype == torch.float32 and labels.dtype == torch.int64


def test_validation_is_in_order_and_missing_splits_are_empty():
    ds = quadrant_images(12)
    dm = ImageDataModule(ds, ds, batch_size=5)
    labels = torch.cat([y for _, y in dm.val_dataloader()])
    assert torch.equal(labels, ds.tensors[1])
    assert ImageDataModule(ds).val_dataloader() == [] and ImageDataModule(ds).test_dataloader() == []

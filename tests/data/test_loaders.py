import subprocess
import sys

import numpy as np
import pytest
import torch

from dynvision.data import ArrayDataset, epoch_order, list_loaders, make_loader
from dynvision.registry import UnknownNameError

from .helpers import collect, equal_batches


def test_epoch_order_is_a_seeded_permutation():
    a = epoch_order(50, seed=0, epoch=0)
    assert sorted(a.tolist()) == list(range(50)) and a.dtype == np.int64
    assert np.array_equal(a, epoch_order(50, seed=0, epoch=0))
    others = [epoch_order(50, seed=1, epoch=0), epoch_order(50, seed=0, epoch=1)]
    assert not np.array_equal(a, others[0]) and not np.array_equal(a, others[1])
    assert not np.array_equal(*others)  # seed and epoch are not simply added
    assert epoch_order(4, shuffle=False).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("drop_last", [False, True])
def test_plain_batches_cover_the_epoch(digits_val, drop_last):
    loader = make_loader(digits_val, batch_size=64, seed=2, drop_last=drop_last)
    batches = collect(loader)
    assert len(batches) == len(loader) == (4 if drop_last else 5)
    for images, labels in batches:
        assert images.dtype == torch.float32 and images.shape[1:] == (1, 16, 16)
        assert labels.dtype == torch.int64 and labels.shape == (len(images),)
    order = epoch_order(len(digits_val), seed=2, epoch=0)[: 256 if drop_last else None]
    images = torch.cat([b[0] for b in batches])
    assert torch.equal(images, digits_val.images[order])
    assert torch.equal(torch.cat([b[1] for b in batches]), digits_val.labels[order])


def test_iterating_advances_the_epoch(digits_val):
    loader = make_loader(digits_val, batch_size=100, seed=5)
    first, second = collect(loader), collect(loader)
    assert loader.epoch == 2 and not equal_batches(first, second)
    assert equal_batches(collect(make_loader(digits_val, batch_size=100, seed=5, epoch=1)), second)
    loader.set_epoch(0)
    assert equal_batches(collect(loader), first)


def test_no_shuffle_keeps_dataset_order(digits_val):
    batches = collect(make_loader(digits_val, batch_size=100, shuffle=False))
    assert torch.equal(torch.cat([b[0] for b in batches]), digits_val.images)


def test_any_map_style_dataset_gives_the_same_batches(digits_val):
    as_list = [digits_val[i] for i in range(len(digits_val))]
    generic = collect(make_loader(as_list, batch_size=50, seed=7))
    assert equal_batches(generic, collect(make_loader(digits_val, batch_size=50, seed=7)))


def test_unknown_loader_lists_valid_ones(digits_val):
    assert list_loaders() == ["ffcv", "plain"]
    with pytest.raises(UnknownNameError) as err:
        make_loader(digits_val, loader="fast")
    assert "'fast'" in str(err.value) and "'ffcv', 'plain'" in str(err.value)


def test_bad_batch_size():
    ds = ArrayDataset(np.zeros((2, 1, 2, 2)), [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="batch_size"):
        make_loader(ds, batch_size=0)


def test_import_has_no_side_effects():
    code = (
        "import sys, dynvision.data; "
        "heavy = [m for m in ('ffcv', 'sklearn', 'skimage', 'PIL') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

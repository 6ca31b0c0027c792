"""Registry-wide tests: every registered dataset obeys the dataset contract."""

import numpy as np
import pytest
import torch

from dynvision.data import DATASETS, ArrayDataset, list_datasets, make_dataset
from dynvision.registry import UnknownNameError


def test_builtins_are_registered():
    assert {"digits", "natural_patches", "image_folder"} <= set(list_datasets())
    assert list_datasets() == DATASETS.list()


@pytest.mark.parametrize("name", list_datasets())
@pytest.mark.parametrize("channels, size", [(1, 8), (3, (10, 6))])
def test_contract(name, channels, size, options):
    ds = make_dataset(name, split="train", size=size, channels=channels, seed=0, **options(name))
    assert isinstance(ds, ArrayDataset) and len(ds) > 0
    h, w = (size, size) if isinstance(size, int) else size
    image, label = ds[len(ds) - 1]
    assert image.dtype == torch.float32 and tuple(image.shape) == (channels, h, w)
    assert type(label) is int and 0 <= label < ds.num_classes
    assert ds.images.shape == (len(ds), channels, h, w)
    assert 0 <= ds.images.min() and ds.images.max() <= 1
    assert ds.labels.dtype == torch.int64
    assert set(ds.labels.tolist()) == set(range(ds.num_classes))  # every class in train
    assert ds.config["name"] == name and ds.config["split"] == "train"


@pytest.mark.parametrize("name", list_datasets())
def test_splits_are_disjoint_complete_and_deterministic(name, options):
    def make(split, seed=0):
        return make_dataset(name, split=split, size=8, seed=seed, **options(name))

    splits = {s: make(s) for s in ("train", "val", "test")}
    full = make("all")
    used = np.concatenate([d.source_indices for d in splits.values()])
    assert len(used) == len(np.unique(used)) == len(full)
    for ds in splits.values():  # a sample is the same whichever split it is served in
        assert torch.equal(ds.images, full.images[ds.source_indices])
        assert torch.equal(ds.labels, full.labels[ds.source_indices])
    again = make("train")
    assert torch.equal(again.images, splits["train"].images)
    assert np.array_equal(again.source_indices, splits["train"].source_indices)
    other = make("train", seed=1)
    assert not np.array_equal(other.source_indices, splits["train"].source_indices)


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(UnknownNameError) as err:
        make_dataset("digitz")
    msg = str(err.value)
    assert "'digitz'" in msg and all(repr(n) in msg for n in list_datasets())
    assert "did you mean 'digits'" in msg


def test_unknown_option_lists_valid_keywords():
    with pytest.raises(UnknownNameError) as err:
        make_dataset("natural_patches", n_per_img=3)
    msg = str(err.value)
    assert "'n_per_img'" in msg and "n_per_image" in msg and "crop" in msg


@pytest.mark.parametrize(
    "kwargs, bad",
    [({"split": "training"}, "'training'"), ({"channels": 2}, "channel count 2")],
)
def test_bad_split_or_channels_name_the_value(kwargs, bad):
    with pytest.raises(UnknownNameError, match=bad) as err:
        make_dataset("digits", **kwargs)
    assert "valid" in str(err.value)

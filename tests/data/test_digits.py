import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from dynvision.data import make_dataset


def test_native_size_reproduces_sklearn_pixels():
    ds = make_dataset("digits", split="test", size=8, channels=1)
    bunch = load_digits()
    expected = bunch.images[ds.source_indices].astype(np.float32) / 16
    np.testing.assert_array_equal(ds.images[:, 0].numpy(), expected)
    np.testing.assert_array_equal(ds.labels.numpy(), bunch.target[ds.source_indices])
    assert ds.classes == [str(d) for d in range(10)]


def test_split_sizes_are_70_15_15():
    sizes = {s: len(make_dataset("digits", split=s, size=8)) for s in ("train", "val", "test")}
    assert sum(sizes.values()) == 1797
    for split, share in [("train", 0.7), ("val", 0.15), ("test", 0.15)]:
        assert abs(sizes[split] - share * 1797) <= 10  # rounding per class


def test_rgb_repeats_grey(digits_val):
    rgb = make_dataset("digits", split="val", size=16, channels=3)
    assert torch.equal(rgb.images, digits_val.images.expand(-1, 3, -1, -1))


@pytest.mark.parametrize("size", [4, 32])
def test_resizing_keeps_ink_where_it_was(size):
    small = make_dataset("digits", split="val", size=8)
    other = make_dataset("digits", split="val", size=size)
    assert other.image_shape == (1, size, size)
    back = torch.nn.functional.adaptive_avg_pool2d(other.images, 4)
    ref = torch.nn.functional.adaptive_avg_pool2d(small.images, 4)
    assert torch.corrcoef(torch.stack([back.flatten(), ref.flatten()]))[0, 1] > 0.9


def test_custom_fractions():
    ds = make_dataset("digits", split="val", size=8, fractions=(0.5, 0.5, 0.0))
    assert abs(len(ds) - 1797 / 2) <= 10
    assert len(make_dataset("digits", split="test", size=8, fractions=(0.5, 0.5, 0.0))) == 0

import numpy as np
import pytest
import torch

from dynvision.data import ArrayDataset, as_arrays


def test_item_is_float_tensor_and_int_label():
    ds = ArrayDataset(np.zeros((3, 2, 4, 5)), [2, 0, 1], ["a", "b", "c"], config={"name": "x"})
    image, label = ds[0]
    assert image.dtype == torch.float32 and image.shape == (2, 4, 5)
    assert type(label) is int and label == 2
    assert len(ds) == 3 and ds.num_classes == 3 and ds.image_shape == (2, 4, 5)
    assert ds.labels.dtype == torch.int64
    assert np.array_equal(ds.source_indices, [0, 1, 2])
    assert "'x'" in repr(ds)


@pytest.mark.parametrize(
    "images, labels, match",
    [
        (np.zeros((3, 4, 5)), [0, 0, 0], "N, C, H, W"),
        (np.zeros((3, 1, 4, 5)), [0, 0], "one label"),
        (np.zeros((2, 1, 4, 5)), [0, 5], r"\[0, 2\)"),
    ],
)
def test_invalid_arrays_raise(images, labels, match):
    with pytest.raises(ValueError, match=match):
        ArrayDataset(images, labels, ["a", "b"])


def test_config_must_be_json():
    with pytest.raises(TypeError):
        ArrayDataset(np.zeros((1, 1, 2, 2)), [0], ["a"], config={"bad": object()})


def test_as_arrays_of_array_dataset_shares_memory():
    ds = ArrayDataset(np.zeros((2, 1, 3, 3)), [0, 1], ["a", "b"])
    images, labels = as_arrays(ds)
    assert np.shares_memory(images, ds.images.numpy())
    assert labels.dtype == np.int64


def test_as_arrays_of_any_dataset():
    items = [(torch.full((1, 2, 2), float(i)), i % 2) for i in range(3)]
    images, labels = as_arrays(items)
    assert images.shape == (3, 1, 2, 2) and images.dtype == np.float32
    assert labels.tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match="one shape"):
        as_arrays([(torch.zeros(1, 2, 2), 0), (torch.zeros(1, 3, 3), 1)])

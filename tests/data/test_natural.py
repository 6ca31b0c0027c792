import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

from dynvision.data import make_dataset
from dynvision.data.natural import BUNDLED_IMAGES, DEFAULT_IMAGES, load_source
from dynvision.registry import UnknownNameError

SMALL = ["microaneurysms", "text"]  # small grey photos: brute-force search stays cheap


def found_in(patch: np.ndarray, source: np.ndarray) -> bool:
    windows = sliding_window_view(source, patch.shape)
    return bool(np.any(np.all(windows == patch, axis=(-2, -1))))


@pytest.mark.parametrize("flip", [False, True])
def test_each_patch_is_a_crop_of_its_labelled_source(flip):
    ds = make_dataset(
        "natural_patches", split="all", size=16, images=SMALL, n_per_image=6, crop=16, flip=flip
    )
    sources = [load_source(name) for name in SMALL]
    mirrored = 0
    for image, label in ds:
        patch = image[0].numpy()
        if found_in(patch, sources[label]):
            continue
        assert flip and found_in(patch[:, ::-1], sources[label])
        mirrored += 1
    assert (mirrored > 0) == flip


def test_classes_sizes_and_default_images(patches_rgb):
    assert patches_rgb.classes == list(DEFAULT_IMAGES)
    assert len(patches_rgb) == 12 * len(DEFAULT_IMAGES)
    assert np.bincount(patches_rgb.labels.numpy()).tolist() == [12] * len(DEFAULT_IMAGES)
    assert set(DEFAULT_IMAGES) <= set(BUNDLED_IMAGES)


def test_colour_photos_keep_colour_and_grey_photos_repeat(patches_rgb):
    by_name = {
        name: patches_rgb.images[patches_rgb.labels == k]
        for k, name in enumerate(patches_rgb.classes)
    }
    camera, coffee = by_name["camera"], by_name["coffee"]
    assert torch.equal(camera[:, 0], camera[:, 1]) and torch.equal(camera[:, 0], camera[:, 2])
    assert not torch.equal(coffee[:, 0], coffee[:, 1])


def test_all_bundled_images_load_offline():
    for name in BUNDLED_IMAGES:
        img = load_source(name)
        assert img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1


def test_unknown_image_lists_bundled_ones():
    with pytest.raises(UnknownNameError) as err:
        make_dataset("natural_patches", images=["camera", "lena"])
    assert "'lena'" in str(err.value) and "'astronaut'" in str(err.value)


def test_crop_larger_than_image_names_it():
    with pytest.raises(ValueError, match="microaneurysms"):
        make_dataset("natural_patches", images=["microaneurysms"], crop=200, n_per_image=2)


def test_seed_changes_the_crops():
    a, b = (
        make_dataset("natural_patches", "all", 8, images=SMALL, n_per_image=4, crop=16, seed=s)
        for s in (0, 1)
    )
    assert not torch.equal(a.images, b.images)

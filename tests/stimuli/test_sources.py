"""Offline image sources: natural photos, digits, user arrays and the registry."""

import numpy as np
import pytest

from dynvision.registry import UnknownNameError
from dynvision.stimuli import NATURAL_IMAGES, SOURCES, from_array, list_sources, make_images
from dynvision.stimuli.sources import IMAGE_DIMS, digit_images, image_size, natural_images

SOURCE_KWARGS = {
    "natural": {"n": 2},
    "digits": {"n": 3},
    "grating": {"n": 2},
    "flash": {"n": 2},
    "noise": {"n": 2},
}


def test_every_source_has_a_case():
    assert set(SOURCE_KWARGS) == set(list_sources())


@pytest.mark.parametrize("name", sorted(SOURCE_KWARGS))
@pytest.mark.parametrize("channels", [1, 3])
def test_source_schema(name, channels):
    imgs = make_images(name, size=(8, 12), channels=channels, **SOURCE_KWARGS[name])
    assert imgs.dims == IMAGE_DIMS and imgs.dtype == np.float32
    assert imgs.shape[1:] == (channels, 8, 12)
    assert float(imgs.min()) >= 0.0 and float(imgs.max()) <= 1.0
    assert len(set(imgs.image.values.tolist())) == imgs.sizes["image"]
    assert imgs.attrs["source"] == name and imgs.attrs["config"].startswith("{")
    if channels == 3 and name != "natural":  # grey sources repeat their channel
        np.testing.assert_array_equal(imgs.values[:, 0], imgs.values[:, 2])


def test_make_images_unknown_name_lists_sources():
    with pytest.raises(
        UnknownNameError, match=r"unknown image source 'digit'.*'digits'.*'natural'"
    ):
        make_images("digit")


def test_make_images_unknown_keyword_lists_valid():
    with pytest.raises(UnknownNameError, match=r"'colour'.*valid keywords: .*classes"):
        make_images("digits", colour=1)


def test_bad_channels_lists_valid_counts():
    with pytest.raises(
        UnknownNameError, match=r"unknown channel count 2; valid channel counts: '1', '3'"
    ):
        make_images("noise", channels=2)


def test_natural_images_are_bundled_and_distinct():
    imgs = natural_images(size=8)
    assert imgs.image.values.tolist() == list(NATURAL_IMAGES)
    flat = imgs.values.reshape(len(NATURAL_IMAGES), -1)
    assert np.unique(flat.round(4), axis=0).shape[0] == len(NATURAL_IMAGES)


def test_natural_images_colour_and_names():
    rgb = natural_images(names=["astronaut"], size=8, channels=3)
    assert not np.allclose(rgb.values[0, 0], rgb.values[0, 2])  # a colour photo stays colour
    with pytest.raises(UnknownNameError, match=r"unknown natural image 'lena'.*'astronaut'"):
        natural_images(names=["lena"])
    with pytest.raises(ValueError, match=r"n=99 natural images requested"):
        natural_images(99)


def test_digits_labels_range_and_seed():
    a = digit_images(5, size=8, seed=1)
    b = digit_images(5, size=8, seed=1)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.label.dims == ("image",) and a.label.dtype.kind == "i"
    assert all(s.startswith(f"digit{lab}") for s, lab in zip(a.image.values, a.label.values))
    assert float(a.max()) > 0.9 and float(a.min()) == 0.0  # 16 -> 1, 0 -> 0
    assert set(digit_images(4, classes=[2, 5], size=8).label.values) <= {2, 5}
    with pytest.raises(UnknownNameError, match=r"unknown digit class 10"):
        digit_images(2, classes=[10])


def test_image_size_errors():
    assert image_size([4, 6]) == (4, 6)
    with pytest.raises(
        ValueError, match=r"size=0 is invalid: expected a positive int or \(height, width\)"
    ):
        image_size(0)


def test_from_array_layouts_and_conversion():
    assert from_array(np.zeros((4, 4))).shape == (1, 1, 4, 4)
    assert from_array(np.zeros((2, 4, 4)), channels=3).shape == (2, 3, 4, 4)
    u8 = from_array(np.full((1, 1, 2, 2), 255, dtype=np.uint8))
    assert float(u8.max()) == 1.0
    mixed = from_array([np.zeros((4, 4)), np.ones((3, 8, 8))], size=4, channels=1)
    assert mixed.shape == (2, 1, 4, 4)
    labelled = from_array(np.zeros((2, 2, 2)), labels=[3, 4], names=["a", "b"])
    assert labelled.label.values.tolist() == [3, 4] and labelled.image.values.tolist() == ["a", "b"]


def test_from_array_resize_centre_crops():
    wide = np.zeros((10, 30))
    wide[:, 10:20] = 1.0  # bright centre square
    out = from_array(wide, size=5)
    assert float(out.min()) > 0.9  # only the centre survives the crop


@pytest.mark.parametrize(
    "array, kwargs, match",
    [
        (np.full((2, 2), 1.5), {}, r"values in \[1.5, 1.5\].*\[0, 1\]"),
        (np.full((2, 2), np.nan), {}, r"NaN or infinite"),
        (np.zeros((1, 2, 4, 4)), {}, r"1 or 3 channels, got shape \(2, 4, 4\)"),
        (np.zeros((1, 1, 1, 2, 2)), {}, r"\(y, x\), \(n, y, x\) or \(n, channel, y, x\)"),
        ([], {}, r"no images given"),
        ([np.zeros((2, 2)), np.zeros((3, 3))], {}, r"differ in size.*pass size="),
        (np.zeros((2, 2, 2)), {"labels": [1]}, r"one label per image \(2\)"),
        (np.zeros((2, 2, 2)), {"names": ["a"]}, r"names has 1 entries for 2 images"),
        (np.array([["a"]]), {}, r"non-numeric dtype"),
    ],
)
def test_from_array_errors(array, kwargs, match):
    with pytest.raises(ValueError, match=match):
        from_array(array, **kwargs)


def test_registry_holds_functions():
    assert callable(SOURCES.get("natural"))

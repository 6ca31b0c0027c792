import numpy as np
import pytest

from dynvision.data.transforms import as_size, prepare_image, resize, to_channels
from dynvision.registry import UnknownNameError


def test_as_size():
    assert as_size(8) == (8, 8)
    assert as_size((8, 12)) == (8, 12)
    for bad in (0, (8,), (8, -1), 8.5):
        with pytest.raises(ValueError, match="size"):
            as_size(bad)


def test_grey_to_rgb_repeats_and_rgb_to_grey_uses_luminance():
    grey = np.random.default_rng(0).random((5, 6)).astype(np.float32)
    rgb = to_channels(grey, 3)
    assert rgb.shape == (3, 5, 6) and all(np.array_equal(c, grey) for c in rgb)
    colours = np.zeros((1, 4, 3), np.float32)
    colours[0, 0] = 1  # white
    colours[0, 1, 0] = 1  # red
    colours[0, 2, 1] = 1  # green
    colours[0, 3, 2] = 1  # blue
    np.testing.assert_allclose(to_channels(colours, 1)[0, 0], [1, 0.2125, 0.7154, 0.0721], 1e-6)


def test_alpha_is_dropped_and_bad_channels_raise():
    rgba = np.ones((2, 2, 4), np.float32)
    assert to_channels(rgba, 3).shape == (3, 2, 2)
    with pytest.raises(UnknownNameError, match="channel count 2"):
        to_channels(rgba, 2)


@pytest.mark.parametrize("size", [(4, 4), (8, 8), (20, 12)])
def test_resize_keeps_constant_images_and_range(size):
    flat = np.full((2, 8, 8), 0.25, np.float32)
    out = resize(flat, size)
    assert out.shape == (2, *size) and out.dtype == np.float32
    np.testing.assert_allclose(out, 0.25, atol=1e-6)
    noise = np.random.default_rng(1).random((3, 16, 16)).astype(np.float32)
    small = resize(noise, size)
    assert 0 <= small.min() and small.max() <= 1
    assert abs(small.mean() - noise.mean()) < 0.05


def test_resize_does_not_mix_channels():
    img = np.stack([np.zeros((8, 8)), np.ones((8, 8))]).astype(np.float32)
    out = resize(img, (3, 5))
    assert np.all(out[0] == 0) and np.allclose(out[1], 1)


def test_prepare_image_shape():
    assert prepare_image(np.zeros((9, 7, 3)), (4, 5), 1).shape == (1, 4, 5)

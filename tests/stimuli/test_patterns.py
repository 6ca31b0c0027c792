"""Gratings, flashes and noise: known pixel values and statistics."""

import numpy as np
import pytest

from dynvision.registry import UnknownNameError
from dynvision.stimuli import flashes, gratings, noise_images


def test_grating_orientation_and_frequency():
    g = gratings(size=16, orientation=[0, 90], frequency=2)
    vertical, horizontal = g.values[0, 0], g.values[1, 0]
    assert np.allclose(vertical, vertical[0:1, :])  # constant down columns: vertical bars
    assert np.allclose(horizontal, horizontal[:, 0:1])
    # two cycles over 16 px: period 8 px
    np.testing.assert_allclose(vertical[0, :8], vertical[0, 8:], atol=1e-6)
    assert abs(float(g.mean()) - 0.5) < 1e-6
    assert float(g.min()) >= 0 and float(g.max()) <= 1


def test_grating_product_coords_and_phase():
    g = gratings(size=8, orientation=[0, 45], frequency=[1, 2], phase=[0, 180])
    assert g.sizes["image"] == 8
    assert g.orientation.values.tolist() == [0, 0, 0, 0, 45, 45, 45, 45]
    assert g.phase.values.tolist()[:2] == [0, 180]
    # a 180 deg phase shift mirrors the grating about 0.5
    np.testing.assert_allclose(g.values[0] - 0.5, -(g.values[1] - 0.5), atol=1e-6)


def test_square_grating_is_binary():
    g = gratings(size=16, frequency=2, phase=45, wave="square")
    assert set(np.unique(g.values).tolist()) <= {0.0, 0.5, 1.0}
    assert set(np.unique(g.values).tolist()) >= {0.0, 1.0}


def test_evenly_spaced_orientations():
    assert gratings(3, size=4).orientation.values.tolist() == [0.0, 60.0, 120.0]


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"n": 2, "orientation": 0}, ValueError, r"give n=2 .* or orientation=, not both"),
        ({"frequency": 0}, ValueError, r"frequency must be > 0 cycles/image"),
        ({"wave": "saw"}, UnknownNameError, r"unknown grating wave 'saw'.*'sine', 'square'"),
        ({"n": 0}, ValueError, r"positive number of orientations, got n=0"),
    ],
)
def test_grating_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        gratings(size=4, **kwargs)


def test_flashes_are_uniform():
    f = flashes(size=4, luminance=[0.0, 0.75])
    assert f.luminance.values.tolist() == [0.0, 0.75]
    assert np.all(f.values[1] == 0.75)
    assert flashes(3, size=2).sizes["image"] == 3
    with pytest.raises(ValueError, match=r"luminance must lie in \[0, 1\]"):
        flashes(luminance=1.2)
    with pytest.raises(ValueError, match=r"n=3 does not match the 2 luminance"):
        flashes(3, luminance=[0.2, 0.4])


@pytest.mark.parametrize("kind", ["white", "pink"])
def test_noise_statistics_and_seed(kind):
    a = noise_images(2, size=32, kind=kind, rms=0.1, seed=3)
    np.testing.assert_array_equal(
        a.values, noise_images(2, size=32, kind=kind, rms=0.1, seed=3).values
    )
    assert not np.array_equal(a.values, noise_images(2, size=32, kind=kind, rms=0.1, seed=4).values)
    assert abs(float(a.mean()) - 0.5) < 0.01
    assert abs(float(a.std(("channel", "y", "x")).mean()) - 0.1) < 0.01


def test_pink_noise_has_more_low_frequency_power():
    def low_high(img):
        p = np.abs(np.fft.fft2(img - img.mean())) ** 2
        f = np.hypot(*np.meshgrid(np.fft.fftfreq(32), np.fft.fftfreq(32), indexing="ij"))
        return p[(f > 0) & (f < 0.1)].mean() / p[f > 0.3].mean()

    white = noise_images(1, size=32, kind="white").values[0, 0]
    pink = noise_images(1, size=32, kind="pink").values[0, 0]
    assert low_high(pink) > 10 * low_high(white)


def test_noise_errors():
    with pytest.raises(UnknownNameError, match=r"unknown noise kind 'brown'.*'pink', 'white'"):
        noise_images(kind="brown")
    with pytest.raises(ValueError, match=r"rms must lie in \(0, 0.5\], got rms=0.7"):
        noise_images(rms=0.7)

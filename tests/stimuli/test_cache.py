"""Caching generated stimuli on disk, keyed by their configuration."""

import numpy as np
import pytest
import xarray as xr

from dynvision.stimuli import cache_key, cached, make_images, moving_digits
from dynvision.stimuli.cache import cache_path


def test_second_call_loads_from_disk(tmp_path):
    calls = []

    def generate(**config):
        calls.append(config)
        return moving_digits(**config)

    first = cached(generate, tmp_path, n=1, n_frames=2, size=8)
    second = cached(generate, tmp_path, n=1, n_frames=2, size=8)
    assert len(calls) == 1
    xr.testing.assert_identical(first, second)
    assert len(list(tmp_path.glob("generate-*.zarr"))) == 1
    cached(generate, tmp_path, n=1, n_frames=3, size=8)  # another config: generated again
    assert len(calls) == 2 and len(list(tmp_path.glob("*.zarr"))) == 2


def test_registered_stimulus_round_trips_identically(tmp_path):
    imgs = make_images("digits", n=2, size=4)
    args = dict(images=imgs, dt=1.0, t_pre=2.0, t_stim=[1.0, 2.0], t_interval=1.0, t_post=1.0)
    first = cached("repetition", tmp_path, **args)
    path = cache_path("repetition", tmp_path, args).with_suffix(".zarr")
    assert path.exists()
    second = cached("repetition", tmp_path, **args)
    xr.testing.assert_identical(first, second)
    assert second.dtype == np.float32 and second.image.dtype.kind == "U"


def test_numpy_results_are_cached(tmp_path):
    calls = []

    def frames(seed):
        calls.append(seed)
        return np.random.default_rng(seed).random((2, 3))

    np.testing.assert_array_equal(
        cached(frames, tmp_path, seed=1), cached(frames, tmp_path, seed=1)
    )
    assert calls == [1] and len(list(tmp_path.glob("*.npy"))) == 1


def test_key_depends_on_config_and_array_content():
    a = np.zeros((1, 2, 2))
    assert cache_key("presentation", {"images": a}) == cache_key(
        "presentation", {"images": a.copy()}
    )
    assert cache_key("presentation", {"images": a}) != cache_key(
        "presentation", {"images": a + 0.1}
    )
    assert cache_key("grey", {"dt": 1.0, "n": 1}) == cache_key("grey", {"n": 1, "dt": 1.0})
    assert cache_key("grey", {"dt": 1.0}) != cache_key("presentation", {"dt": 1.0})


def test_errors(tmp_path):
    with pytest.raises(TypeError, match=r"cannot build a cache key from object"):
        cached("grey", tmp_path, duration=object())
    with pytest.raises(TypeError, match=r"can only cache DataArrays and numpy arrays, got list"):
        cached(lambda: [1, 2], tmp_path)
    with pytest.raises(TypeError, match=r"generator must be a stimulus name or a callable"):
        cached(3, tmp_path)

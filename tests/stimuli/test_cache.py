"""The stimulus cache: hits, misses on any change, collision-free keys, and never touching foreign files."""

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from dynvision.stimuli import HexRenderer, StimulusCache, cache_key, cached, make_images, moving_digits
from dynvision.stimuli.cache import cache_path
from dynvision.stimuli.fingerprint import digest

CALLS: list = []  # module level: a counter inside a closure would itself be part of the key


def generate(**config):
    CALLS.append(config)
    return moving_digits(**config)


def noise(seed):
    CALLS.append(seed)
    return np.random.default_rng(seed).random((2, 3))


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()


def test_second_call_loads_from_disk_and_a_change_recomputes(tmp_path):
    first = cached(generate, tmp_path, n=1, n_frames=2, size=8)
    second = cached(generate, tmp_path, size=8, n_frames=2, n=1)  # keyword order does not matter
    assert len(CALLS) == 1
    xr.testing.assert_identical(first, second)
    (entry,) = [p for p in tmp_path.iterdir()]
    assert entry.name.startswith("generate-") and {p.name for p in entry.iterdir()} == {"manifest.json", "data.zarr"}
    manifest = json.loads((entry / "manifest.json").read_text())
    assert manifest["config"] == {"n": 1, "n_frames": 2, "size": 8} and len(manifest["key"]) == 64
    cached(generate, tmp_path, n=1, n_frames=3, size=8)  # another config: generated again
    assert len(CALLS) == 2 and len(StimulusCache(tmp_path).entries()) == 2


def test_registered_stimulus_round_trips_identically(tmp_path):
    imgs = make_images("digits", n=2, size=4)
    args = dict(images=imgs, dt=1.0, t_pre=2.0, t_stim=[1.0, 2.0], t_interval=1.0, t_post=1.0)
    first = cached("repetition", tmp_path, **args)
    assert (cache_path("repetition", tmp_path, args) / "data.zarr").exists()
    second = cached("repetition", tmp_path, **args)
    xr.testing.assert_identical(first, second)
    assert second.dtype == np.float32 and second.image.dtype.kind == "U"


def test_numpy_results_are_cached(tmp_path):
    np.testing.assert_array_equal(cached(noise, tmp_path, seed=1), cached(noise, tmp_path, seed=1))
    assert CALLS == [1] and len(list(tmp_path.glob("*/data.npy"))) == 1


@pytest.mark.parametrize("a, b", [
    ([1, 2], [2, 1]),                    # flyvis sorts lists: these collide there
    ((1, 2), [1, 2, 0]),
    (1, 1.0), (1, True), (1, "1"), (0, None), (0.1, 0.1 + 1e-12),
    ({1: "a"}, {"1": "a"}),
    ({"a": [1, 2]}, {"a": [2, 1]}),
    ({"a": 1, "b": 2}, {"a": 2, "b": 1}),
    (np.arange(3), np.arange(3.0)),      # dtype
    (np.zeros((2, 3)), np.zeros((3, 2))),  # shape
    ("ab", ["a", "b"]),
])
def test_different_configurations_never_share_a_key(a, b):
    assert cache_key("grey", {"x": a}) != cache_key("grey", {"x": b})


def test_equal_configurations_share_a_key():
    assert cache_key("grey", {"dt": 1.0, "n": 1}) == cache_key("grey", {"n": 1, "dt": 1.0})
    assert cache_key("grey", {"x": np.zeros((2, 2))}) == cache_key("grey", {"x": np.zeros((2, 2))})
    assert cache_key("grey", {"x": {1, 2}}) == cache_key("grey", {"x": {2, 1}})  # a set has no order
    assert cache_key("grey", {"dt": 1.0}) != cache_key("presentation", {"dt": 1.0})


def test_array_content_is_hashed_whole_not_truncated():
    big = np.zeros(1_000_000)
    changed = big.copy()
    changed[-1] = 1e-9  # flyvis's keys keep only the start of an array
    assert digest(big) != digest(changed)
    da = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"), coords={"y": [0, 1]})
    assert digest(da) != digest(da.assign_coords(y=[0, 2]))
    assert digest(da) != digest(da.assign_attrs(dt=1))
    assert digest(da) != digest(da.rename("other"))


def test_renderer_is_part_of_the_key(tmp_path):
    config = {"n": 1, "n_frames": 2, "size": 16}
    hex2 = cached(generate, tmp_path, HexRenderer(extent=2, kernel_size=4), **config)
    again = cached(generate, tmp_path, HexRenderer(extent=2, kernel_size=4), **config)
    assert len(CALLS) == 1 and hex2.sizes["receptor"] == 19
    xr.testing.assert_identical(hex2, again)
    xr.testing.assert_identical(hex2, HexRenderer(extent=2, kernel_size=4).render(moving_digits(**config)))
    hex3 = cached(generate, tmp_path, HexRenderer(extent=3, kernel_size=4), **config)
    gauss = cached(generate, tmp_path, HexRenderer(extent=2, kernel_size=4, kernel="gaussian"), **config)
    assert len(CALLS) == 3 and hex3.sizes["receptor"] == 37 and not np.allclose(gauss.values, hex2.values)
    plain = cached(generate, tmp_path, **config)
    assert len(CALLS) == 4 and "receptor" not in plain.dims


def test_editing_a_generator_changes_its_key():
    scope: dict = {}
    exec("def make(n):\n    return n + 1\n", scope)
    first = cache_key(scope["make"], {"n": 1})
    exec("def make(n):\n    return n + 2\n", scope)  # same name, another body
    assert cache_key(scope["make"], {"n": 1}) != first
    size = 3
    assert cache_key(lambda: size, {}) != cache_key(lambda: size + 0, {})
    make_a = (lambda s: (lambda: s))(1)
    make_b = (lambda s: (lambda: s))(2)  # same code, another captured value
    assert cache_key(make_a, {}) != cache_key(make_b, {})


def test_a_file_enters_by_its_content(tmp_path):
    path = tmp_path / "frames.npy"
    np.save(path, np.zeros((2, 1, 4, 4), np.uint8))
    key = cache_key("grey", {"path": path})
    assert key == cache_key("grey", {"path": Path(str(path))})
    np.save(path, np.ones((2, 1, 4, 4), np.uint8))
    assert cache_key("grey", {"path": path}) != key
    assert cache_key("grey", {"path": str(path)}) != key  # a string is a string, not a file


def test_never_touches_what_it_did_not_write(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "run.json").write_text("{}")
    cache = StimulusCache(tmp_path)
    config = {"n": 1, "n_frames": 2, "size": 8}
    blocker = cache.path(generate, config)
    blocker.mkdir()
    (blocker / "data.npy").write_bytes(b"someone else's")
    with pytest.raises(FileExistsError, match="not written by the stimulus cache.*left alone"):
        cache.get(generate, config)
    assert (blocker / "data.npy").read_bytes() == b"someone else's" and not CALLS
    other = cache.get(generate, {**config, "seed": 1})
    assert cache.clear() == 1 and not cache.entries()
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "results" / "run.json").exists()
    assert (blocker / "data.npy").exists() and other.shape == (1, 2, 1, 8, 8)


def test_an_interrupted_write_leaves_no_entry(tmp_path, monkeypatch):
    import dynvision.stimuli.cache as cache_module

    class Crash(Exception):
        pass

    def crash(tmp, slot):
        raise Crash  # the process dies after writing the data, before the entry is renamed into place

    monkeypatch.setattr(cache_module, "_commit", crash)
    with pytest.raises(Crash):
        cached(generate, tmp_path, n=1, n_frames=2, size=8)
    monkeypatch.undo()
    assert StimulusCache(tmp_path).entries() == []  # the half-written folder is not an entry
    cached(generate, tmp_path, n=1, n_frames=2, size=8)
    assert len(CALLS) == 2 and len(StimulusCache(tmp_path).entries()) == 1


def test_errors(tmp_path):
    with pytest.raises(TypeError, match=r"cannot build a cache key from object"):
        cached("grey", tmp_path, duration=object())
    with pytest.raises(TypeError, match=r"can only cache DataArrays and numpy arrays, got list"):
        cached(lambda: [1, 2], tmp_path)
    with pytest.raises(TypeError, match=r"generator must be a stimulus name or a callable"):
        cached(3, tmp_path)
    with pytest.raises(KeyError, match=r"unknown stimulus 'gery'.*did you mean 'grey'"):
        cached("gery", tmp_path)

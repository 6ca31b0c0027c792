"""The ffcv loader yields exactly the plain loader's batches (skipped if ffcv is missing)."""

import sys

import pytest
import torch

from dynvision.data import make_dataset, make_loader
from dynvision.data.ffcv_loader import require_ffcv, write_beton

from .helpers import collect, equal_batches


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    pytest.importorskip("ffcv")
    return tmp_path_factory.mktemp("ffcv")


@pytest.mark.parametrize("drop_last", [False, True])
def test_ffcv_equals_plain_for_every_batch(digits_val, cache, drop_last):
    kw = dict(batch_size=64, seed=11, drop_last=drop_last)
    fast = make_loader(digits_val, loader="ffcv", cache_dir=cache, **kw)
    plain = make_loader(digits_val, loader="plain", **kw)
    assert len(fast) == len(plain) == (4 if drop_last else 5)
    epochs = [collect(fast) for _ in range(3)]
    for batches in epochs:
        assert equal_batches(batches, collect(plain))
    assert not equal_batches(epochs[0], epochs[1])  # a new order every epoch
    other_seed = make_loader(digits_val, loader="plain", **{**kw, "seed": 12})
    assert not equal_batches(epochs[0], collect(other_seed))


def test_ffcv_rgb_patches_without_shuffle(patches_rgb, cache):
    fast = make_loader(patches_rgb, batch_size=32, shuffle=False, loader="ffcv", cache_dir=cache)
    fast.set_epoch(4)
    batches = collect(fast)
    assert equal_batches(batches, collect(make_loader(patches_rgb, batch_size=32, shuffle=False)))
    assert torch.equal(torch.cat([b[0] for b in batches]), patches_rgb.images)


def test_beton_is_written_once_per_dataset(digits_val, cache):
    path = write_beton(digits_val, cache)
    stamp = path.stat().st_mtime_ns
    assert write_beton(digits_val, cache) == path and path.stat().st_mtime_ns == stamp
    assert path.with_suffix(".json").exists()
    other = make_dataset("digits", split="val", size=16, seed=1)
    assert write_beton(other, cache) != path
    assert not list(cache.glob(".*.tmp"))


def test_missing_ffcv_says_how_to_install(digits_val, monkeypatch):
    monkeypatch.setitem(sys.modules, "ffcv", None)
    for call in (require_ffcv, lambda: make_loader(digits_val, loader="ffcv")):
        with pytest.raises(ImportError) as err:
            call()
        msg = str(err.value)
        assert "pip install" in msg and "dynvision[ffcv]" in msg
        assert "libturbojpeg0-dev" in msg and "loader='plain'" in msg


def test_torch_thread_count_survives_ffcv(digits_val, cache):
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        loader = make_loader(digits_val, batch_size=128, loader="ffcv", cache_dir=cache)
        assert torch.get_num_threads() == 3  # FFCV would set it to num_workers (1)
        collect(loader)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)

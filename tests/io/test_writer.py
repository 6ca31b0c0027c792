"""The writer alone: chunk layout, unit records written after their regions, locks and leases."""

import json
import threading
import time

import numpy as np
import pytest
import xarray as xr
import zarr

from dynvision.io import StoreLockedError, locate, store_lock
from dynvision.io.record import ranges_to_set, set_to_ranges, unit_chunks
from dynvision.io.writer import StoreSession, chunk_shape, time_chunk, write_unit


@pytest.mark.parametrize("n_time, step, limit, expected", [(20, 10, 1000, 20), (20, 100, 1000, 10), (20, 300, 1000, 2),
                                                           (7, 300, 1000, 1), (20, 2000, 1000, 1)])
def test_time_chunks_tile_the_time_axis(n_time, step, limit, expected):
    c = time_chunk(n_time, step, limit)
    assert c == expected and n_time % c == 0


def test_chunks_are_one_unit_along_model_and_sample():
    assert chunk_shape(("model", "sample", "time", "class"), (3, 10, 20, 4), 4, batch=8) == (1, 8, 20, 4)
    dims, shape = ("sample", "time", "channel", "y", "x"), (16, 20, 36, 64, 64)
    chunks = chunk_shape(dims, shape, 4, batch=8, max_chunk_bytes=64 * 2**20)
    assert chunks == (8, 10, 36, 64, 64)  # 94 MB per unit: time split in two even halves


def test_ranges_round_trip():
    for units in ({0, 1, 2, 5, 7, 8}, set(), {3}):
        assert ranges_to_set(set_to_ranges(units)) == units
    assert set_to_ranges([4, 0, 1, 2, 6]) == [[0, 3], [4, 5], [6, 7]]


def _layout(n=5):
    data = xr.DataArray(np.zeros((n, 4, 3), "float32"), dims=("sample", "time", "class"), name="logits")
    return xr.DataTree(xr.Dataset({"logits": data}, coords={"sample": np.arange(n)}, attrs={"model": "x"}))


def test_session_writes_regions_then_records_units(tmp_path):
    loc = locate(tmp_path / "s.zarr")
    units = [[0, 0, 2], [0, 2, 4], [0, 4, 5]]
    session = StoreSession(loc, "f" * 32)
    session.create(_layout(), units, batch_size=2)
    record = json.loads((tmp_path / "s.zarr" / "zarr.json").read_text())["attributes"]["dynvision_run"]
    assert record["layout"] is True and record["done"] == [] and record["arrays"]["logits"]["chunks"] == [2, 4, 3]
    assert unit_chunks(record, 2) == {"logits": ["c/2/0/0"]}
    for u in (2, 0):  # out of order, as workers finish
        start, stop = units[u][1:]
        write_unit(loc.url, "f" * 32, {"logits": ((slice(start, stop),), np.full((stop - start, 4, 3), u, "float32"))})
        session.mark_done(u)
    again = StoreSession(loc, "f" * 32)  # a later run sees exactly what was recorded
    assert again.done == {0, 2} and not again.complete
    with pytest.raises(RuntimeError, match=r"units \[1\] were never written"):
        again.finish()
    write_unit(loc.url, "f" * 32, {"logits": ((slice(2, 4),), np.ones((2, 4, 3), "float32"))})
    again.mark_done(1)
    again.finish()
    values = zarr.open_group(loc.url)["logits"][:]
    assert values[:, 0, 0].tolist() == [0, 0, 1, 1, 2]


def test_compressed_stores_record_each_chunk_size(tmp_path):
    loc = locate(tmp_path / "z.zarr")
    session = StoreSession(loc, "e" * 32)
    session.create(_layout(), [[0, 0, 2], [0, 2, 4], [0, 4, 5]], batch_size=2, codec="zstd")
    sizes = write_unit(loc.url, "e" * 32, {"logits": ((slice(0, 2),), np.zeros((2, 4, 3), "float32"))}, sizes=True)
    assert list(sizes) == ["logits/c/0/0/0"] and sizes["logits/c/0/0/0"] == (tmp_path / "z.zarr/logits/c/0/0/0").stat().st_size
    session.mark_done(0, sizes)
    assert StoreSession(loc, "e" * 32).record["sizes"]["0"] == sizes


def test_local_lock_makes_a_second_writer_wait(tmp_path):
    loc = locate(tmp_path / "l.zarr")
    order = []

    def writer(name, hold):
        with store_lock(loc):
            order.append(f"{name} in")
            time.sleep(hold)
            order.append(f"{name} out")

    first = threading.Thread(target=writer, args=("a", 0.3))
    first.start()
    time.sleep(0.1)
    writer("b", 0)
    first.join()
    assert order == ["a in", "a out", "b in", "b out"]


def test_an_expired_lease_is_taken_over(tmp_path):
    loc = locate("memory://dv-writer/lease.zarr")
    loc.write_json(loc.sibling(".lease"), {"owner": "dead", "host": "x", "pid": 1, "expires": time.time() - 1})
    with store_lock(loc, timeout_s=2):
        assert loc.read_json(loc.sibling(".lease"))["owner"] != "dead"
    assert loc.read_json(loc.sibling(".lease")) is None  # released
    loc.write_json(loc.sibling(".lease"), {"owner": "alive", "host": "x", "pid": 1, "expires": time.time() + 60})
    with pytest.raises(StoreLockedError, match="held by x pid 1"):
        with store_lock(loc, timeout_s=0.3):
            pass
    loc.fs.rm_file(loc.sibling(".lease"))


@pytest.mark.parametrize("n, start", [(5, 2), (5, 4)])  # a full unit and the last, padded one
def test_raw_chunks_are_the_bytes_zarr_writes(tmp_path, n, start):
    from dynvision.io.writer import _write_raw

    values = np.random.default_rng(0).random((n, 4, 3, 2, 2)).astype("float16")
    stop = min(n, start + 2)
    dims = ("sample", "time", "channel", "y", "x")
    info = {"dims": list(dims), "shape": list(values.shape), "chunks": [2, 2, 3, 2, 2], "dtype": "float16",
            "chunk_nbytes": 2 * 2 * 3 * 2 * 2 * 2 + 4}
    from dynvision.io.writer import compressors

    via_zarr = zarr.create_array(tmp_path / "z.zarr", shape=values.shape, chunks=tuple(info["chunks"]),
                                 dtype="float16", compressors=compressors("none"), fill_value=np.nan,
                                 dimension_names=dims)
    via_zarr.with_config({"write_empty_chunks": True})[start:stop] = values[start:stop]
    _write_raw(locate(tmp_path / "r"), "", info, (slice(start, stop),), values[start:stop])
    zarr_chunks = {p.relative_to(tmp_path / "z.zarr"): p.read_bytes() for p in (tmp_path / "z.zarr").rglob("c/*/*/*/*/*")}
    raw_chunks = {p.relative_to(tmp_path / "r"): p.read_bytes() for p in (tmp_path / "r").rglob("c/*/*/*/*/*")}
    assert len(raw_chunks) == 2 and raw_chunks == zarr_chunks
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "z.zarr")[start:stop], values[start:stop])

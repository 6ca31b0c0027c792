"""Adversarial store cases (issue 14 and more): nothing lost, nothing mixed up, clear errors.

Each test (and each parameter) is one case a user can run into.
"""

import json
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
import zarr

import dynvision
from dynvision import Simulation, open_activations
from dynvision.io import (
    ForeignStoreError, StoreCorruptError, StoreLockedError, StoreMismatchError, check_store, locate, store_lock,
    store_status,
)
from dynvision.registry import UnknownNameError
from dynvision.simulation import StoreRepairWarning
from dynvision.validation import InvalidValueError

from shared_helpers import make_stimulus

CHILD = Path(__file__).with_name("writer_child.py")


def _sim(model, **kw):
    return Simulation(model, progress=False, batch_size=kw.pop("batch_size", 2), **kw)


def _child(*args, **popen):
    return subprocess.Popen([sys.executable, str(CHILD), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def _result(proc) -> dict:
    out, err = proc.communicate(timeout=300)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert lines, err[-3000:]
    return json.loads(lines[-1])


# --- data that must never be lost -------------------------------------------------------------
def test_foreign_folder_is_refused_and_left_untouched(tiny_model, stimulus, tmp_path):
    folder = tmp_path / "mydata"
    folder.mkdir()
    (folder / "thesis.txt").write_text("years of work")
    for overwrite in (False, True):
        with pytest.raises(ForeignStoreError, match=r"mydata.*not a dynvision store.*never writes"):
            _sim(tiny_model).run(stimulus, store=folder, overwrite=overwrite)
    assert (folder / "thesis.txt").read_text() == "years of work" and os.listdir(folder) == ["thesis.txt"]


def test_foreign_zarr_store_is_refused(tiny_model, stimulus, tmp_path):
    xr.Dataset({"a": ("x", np.arange(3))}).to_zarr(tmp_path / "other.zarr", consolidated=False)
    with pytest.raises(ForeignStoreError, match="other.zarr"):
        _sim(tiny_model).run(stimulus, store=tmp_path / "other.zarr", overwrite=True)
    assert xr.open_zarr(tmp_path / "other.zarr", consolidated=False)["a"].values.tolist() == [0, 1, 2]


def test_a_file_at_the_store_path_is_refused(tiny_model, stimulus, tmp_path):
    (tmp_path / "acts.zarr").write_text("not a folder")
    with pytest.raises(ForeignStoreError, match="is a file"):
        _sim(tiny_model).run(stimulus, store=tmp_path / "acts.zarr", overwrite=True)
    assert (tmp_path / "acts.zarr").read_text() == "not a folder"


def test_an_empty_folder_is_used(tiny_model, stimulus, tmp_path):
    (tmp_path / "empty.zarr").mkdir()
    tree = _sim(tiny_model).run(stimulus, store=tmp_path / "empty.zarr")
    assert tree["logits"].shape[0] == 5


def test_overwrite_replaces_only_a_dynvision_store(tiny_model, stimulus, tmp_path):
    store = tmp_path / "acts.zarr"
    _sim(tiny_model).run(stimulus, store=store)
    other = make_stimulus(seed=3)
    with pytest.raises(StoreMismatchError, match=r"already holds a different run.*overwrite=True"):
        _sim(tiny_model).run(other, store=store)
    tree = _sim(tiny_model).run(other, store=store, overwrite=True)
    np.testing.assert_array_equal(tree["stimulus"]["luminance"].values, other.values)


def test_a_reduced_rerun_never_returns_the_full_map_store(tiny_model, stimulus, tmp_path):
    store = tmp_path / "acts.zarr"
    _sim(tiny_model).run(stimulus, store=store)
    with pytest.raises(StoreMismatchError):
        _sim(tiny_model).run(stimulus, store=store, reduce="mean")
    with pytest.raises(StoreMismatchError):
        _sim(tiny_model).run(stimulus, store=store, store_dtype="float16")


def test_a_changed_initial_state_or_background_is_a_different_run(tiny_model, stimulus, tmp_path):
    store = tmp_path / "acts.zarr"
    state = tiny_model.steady_state(1)
    _sim(tiny_model).run(stimulus, store=store, initial_state=state)
    with pytest.raises(StoreMismatchError):
        _sim(tiny_model).run(stimulus, store=store, initial_state=state.map(lambda t: t + 0.01))
    with pytest.raises(StoreMismatchError):
        _sim(tiny_model).run(stimulus.assign_attrs(background=0.3), store=store, initial_state=state)


def test_two_writers_with_different_stimuli_never_mix(tmp_path):
    store = tmp_path / "acts.zarr"
    first = _child(store, 1, "--n", 8, "--batch", 1)
    second = _child(store, 2, "--n", 8, "--batch", 1)
    results = [_result(first), _result(second)]
    assert sorted(r["ok"] for r in results) == [False, True], results
    winner, loser = (results if results[0]["ok"] else results[::-1])
    assert loser["error"] == "StoreMismatchError"
    sys.path.insert(0, str(CHILD.parent))
    from writer_child import stimulus

    stored = open_activations(store)["stimulus"]["luminance"].values
    seeds = [s for s in (1, 2) if np.array_equal(stored, stimulus(s, 8).values)]
    assert len(seeds) == 1 and float(stored[0, 0, 0, 0, 0]) == pytest.approx(winner["stim0"])


def test_two_writers_of_the_same_run_both_succeed_with_one_result(tmp_path):
    store = tmp_path / "acts.zarr"
    procs = [_child(store, 1, "--n", 6, "--batch", 1) for _ in range(2)]
    results = [_result(p) for p in procs]
    assert all(r["ok"] for r in results), results
    assert store_status(store)["complete"] is True


def test_a_second_writer_waits_for_the_lock_or_fails_clearly(tiny_model, stimulus, tmp_path):
    store = tmp_path / "acts.zarr"
    held, release = threading.Event(), threading.Event()

    def holder():
        with store_lock(locate(store)):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    try:
        with pytest.raises(StoreLockedError, match=r"acts.zarr.*being written by another run.*lock_timeout_s"):
            _sim(tiny_model).run(stimulus, store=store, lock_timeout_s=0.2)
        assert not store.exists()  # nothing was written while another writer held the lock
    finally:
        release.set()
        thread.join()
    assert _sim(tiny_model).run(stimulus, store=store, lock_timeout_s=5)["logits"].shape[0] == 5


def test_object_store_lease_refuses_a_second_writer(tiny_model, stimulus):
    url = "memory://dv-adversarial/lease.zarr"
    with store_lock(locate(url), timeout_s=1):
        with pytest.raises(StoreLockedError, match=r"lease.*lock_timeout_s"):
            _sim(tiny_model).run(stimulus, store=url, lock_timeout_s=0.3)
    assert _sim(tiny_model).run(stimulus, store=url)["logits"].shape[0] == 5


# --- damaged stores ----------------------------------------------------------------------------
def _chunk(store: Path, array: str = "V1/activity") -> Path:
    return sorted((store / array / "c").rglob("*"))[-1]


def test_a_deleted_chunk_is_found_on_open_and_recomputed_on_rerun(tiny_model, stimulus, tmp_path):
    store = tmp_path / "acts.zarr"
    reference = _sim(tiny_model).run(stimulus)
    _sim(tiny_model).run(stimulus, store=store)
    victim = _chunk(store)
    victim.unlink()
    with pytest.raises(StoreCorruptError, match=r"acts.zarr.*damaged.*V1/activity/c/.*missing"):
        open_activations(store)
    report = check_store(store)
    assert not report.ok and "chunk is missing" in str(report)
    with pytest.warns(StoreRepairWarning, match="recomputing"):
        repaired = _sim(tiny_model).run(stimulus, store=store)
    xr.testing.assert_identical(repaired, reference)
    assert check_store(store).ok


def test_a_truncated_chunk_is_an_error_naming_it(tiny_model, stimulus, tmp_path):
    store = tmp_path / "acts.zarr"
    _sim(tiny_model).run(stimulus, store=store)
    victim = _chunk(store, "logits")
    victim.write_bytes(victim.read_bytes()[:-7])
    with pytest.raises(StoreCorruptError, match=r"logits/c/.*bytes.*truncated"):
        open_activations(store)


def test_a_chunk_garbled_in_place_is_found_by_the_full_check_and_repaired(tiny_model, stimulus, tmp_path):
    store = tmp_path / "acts.zarr"
    reference = _sim(tiny_model).run(stimulus)
    _sim(tiny_model).run(stimulus, store=store)
    victim = _chunk(store)
    data = bytearray(victim.read_bytes())
    data[100] ^= 0xFF  # same size: only the checksum can tell
    victim.write_bytes(bytes(data))
    assert check_store(store, full=False).ok
    report = check_store(store, forget_damaged=True)
    assert [p.key for p in report.problems] == ["V1/activity"] and "cannot be read" in str(report)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xr.testing.assert_identical(_sim(tiny_model).run(stimulus, store=store), reference)
    assert check_store(store).ok


@pytest.mark.parametrize("which", ["zarr.json", "V1/activity/zarr.json"])
def test_garbled_metadata_is_an_error_naming_the_store_and_file(tiny_model, stimulus, tmp_path, which):
    store = tmp_path / "acts.zarr"
    _sim(tiny_model).run(stimulus, store=store)
    (store / which).write_text('{"zarr_format": 3, "node_ty')
    with pytest.raises(StoreCorruptError, match=rf"acts.zarr.*{which.split('/')[0]}.*garbled"):
        open_activations(store)
    if which == "zarr.json":
        with pytest.raises(StoreCorruptError, match="garbled"):
            _sim(tiny_model).run(stimulus, store=store, overwrite=True)  # cannot tell whose it is: refuse


def test_an_older_store_format_is_not_returned_for_a_new_run(tiny_model, stimulus, tmp_path):
    store = tmp_path / "acts.zarr"
    group = zarr.open_group(store, mode="w")
    group.attrs["dynvision_run"] = {"fingerprint": "0" * 32, "complete": True, "samples_written": 5}
    with pytest.raises(StoreMismatchError):
        _sim(tiny_model).run(stimulus, store=store)
    assert _sim(tiny_model).run(stimulus, store=store, overwrite=True)["logits"].shape[0] == 5


def test_a_layout_cut_short_is_recreated(tiny_model, stimulus, tmp_path):
    store = tmp_path / "acts.zarr"
    plan = _sim(tiny_model).plan(stimulus)
    group = zarr.open_group(store, mode="w")
    group.attrs["dynvision_run"] = {"format": 2, "fingerprint": plan.fingerprint, "layout": False, "units": []}
    (store / "zarr.json.123.tmp").write_text("{")  # a metadata write killed half-way
    reference = _sim(tiny_model).run(stimulus)
    xr.testing.assert_identical(_sim(tiny_model).run(stimulus, store=store), reference)


def test_a_resumed_run_keeps_the_stored_batch_size(tiny_model, stimulus, tmp_path, monkeypatch):
    from dynvision.simulation.executor import Executor

    store = tmp_path / "acts.zarr"
    reference = _sim(tiny_model).run(stimulus)
    original, calls = Executor.run, []

    def crash_second(self, unit, frames):
        calls.append(unit)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, unit, frames)

    monkeypatch.setattr(Executor, "run", crash_second)
    with pytest.raises(KeyboardInterrupt):
        _sim(tiny_model, batch_size=2).run(stimulus, store=store)
    monkeypatch.setattr(Executor, "run", original)
    xr.testing.assert_identical(_sim(tiny_model, batch_size=3).run(stimulus, store=store), reference)
    assert json.loads((store / "zarr.json").read_text())["attributes"]["dynvision_run"]["batch_size"] == 2


# --- non-finite values: nothing of the batch is written, the location is named -----------------
def test_nan_in_sample_5_of_8_names_it_and_keeps_earlier_batches(tiny_model, tmp_path):
    stim = make_stimulus(n=8)
    stim[5, 3, 0, 2, 2] = np.nan
    store = tmp_path / "acts.zarr"
    with pytest.raises(ValueError, match=r"non-finite.*sample 5, time 6 ms; nothing of that batch"):
        _sim(tiny_model, batch_size=4).run(stim, store=store)
    status = store_status(store)
    assert status["samples_written"] == 4 and status["complete"] is False


def test_diverging_unit_is_not_written(tiny_model, tmp_path):
    with torch.no_grad():
        for area in tiny_model.areas.values():
            area.recurrence.conv.weight.fill_(1.0)
            area.conv.bias.fill_(0.1)
    store = tmp_path / "acts.zarr"
    with pytest.raises(FloatingPointError, match=r"diverged.*first at sample 0, time \d+ ms"):
        _sim(tiny_model).run(make_stimulus(n=2, steps=400), store=store)
    assert store_status(store)["samples_written"] == 0


def test_large_finite_values_are_not_called_non_finite(tiny_model):
    from dynvision.simulation.executor import Executor

    plan = _sim(tiny_model).plan(make_stimulus(n=2))
    ex = Executor(tiny_model, plan)
    ex.check_finite({"logits": torch.full((2, 6, 3), 3e38)}, 0)  # the float32 sum overflows: still fine
    with pytest.raises(FloatingPointError, match="the logits: first at sample 1, time 4 ms"):
        bad = torch.zeros(2, 6, 3)
        bad[1, 2, 0] = float("inf")
        ex.check_finite({"logits": bad}, 0)
    with pytest.raises(FloatingPointError, match="area V1: first at sample 0, time 6 ms"):
        bad = torch.zeros(2, 6, 4, 2, 2)
        bad[0, 3:, 1] = float("nan")  # diverged from 6 ms on: persists to the last step
        ex.check_finite({"V1": bad}, 0)


# --- clear errors ------------------------------------------------------------------------------
def test_initial_state_of_another_model_or_wrong_batch_is_refused(tiny_model, tiny_x4, stimulus):
    with pytest.raises(InvalidValueError, match=r"initial_state=.*4 areas.*2 areas"):
        _sim(tiny_model).run(stimulus, initial_state=tiny_x4.initial_state(1))
    with pytest.raises(InvalidValueError, match=r"initial_state='<ModelState of batch size 3>'.*batch size 1.*or 5"):
        _sim(tiny_model).run(stimulus, initial_state=tiny_model.initial_state(3))
    per_sample = tiny_model.steady_state(5)
    assert _sim(tiny_model).run(stimulus, initial_state=per_sample)["logits"].shape == (5, 6, 3)


def test_record_mapping_with_reduce_is_refused(tiny_model, stimulus):
    with pytest.raises(InvalidValueError, match=r"reduce='mean' is invalid.*record is a mapping"):
        _sim(tiny_model).run(stimulus, record={"V1": "none"}, reduce="mean")
    tree = _sim(tiny_model).run(stimulus, record=["V1"], reduce="mean")
    assert tree["V1"]["activity"].dims == ("sample", "time", "channel")


def test_tilde_store_path_is_expanded(tiny_model, stimulus, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    _sim(tiny_model).run(stimulus, store="~/acts.zarr")
    assert store_status(tmp_path / "acts.zarr")["complete"] and not Path("~").exists()
    assert open_activations("~/acts.zarr")["logits"].shape[0] == 5


@pytest.mark.parametrize("values, match", [
    (np.zeros((2, 6, 1, 16, 16), np.uint8), r"dtype uint8.*floating-point.*divide by 255"),
    (np.zeros((2, 6, 1, 16, 16), np.complex64), r"dtype complex64.*floating-point"),
    (torch.zeros(2, 6, 1, 16, 16, dtype=torch.int64), r"dtype int64.*divide by 255"),
    (np.zeros((2, 6, 1, 16, 16), bool), r"dtype bool.*floating-point"),
])
def test_stimulus_of_the_wrong_dtype_is_refused(tiny_model, values, match):
    with pytest.raises(InvalidValueError, match=match):
        _sim(tiny_model).run(values)


def test_float64_stimulus_is_accepted(tiny_model, stimulus):
    a = _sim(tiny_model).run(stimulus.astype(np.float64))
    b = _sim(tiny_model).run(stimulus)
    np.testing.assert_array_equal(a["logits"].values, b["logits"].values)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"lock_timeout_s": -1}, InvalidValueError, r"lock_timeout_s=-1.*>= 0"),
    ({"codec": "gzip"}, UnknownNameError, r"unknown codec 'gzip'.*'lz4', 'none', 'zstd'"),
    ({"batch_size": 0}, InvalidValueError, r"batch_size=0.*>= 1"),
    ({"idle_ms": -2}, InvalidValueError, r"idle_ms=-2.*>= 0"),
    ({"store_dtype": "int8"}, UnknownNameError, r"unknown store_dtype 'int8'"),
    ({"overwrite": "yes"}, InvalidValueError, r"overwrite='yes'.*True or False"),
    ({"record": []}, InvalidValueError, r"record=\[\].*non-empty"),
    ({"store": 42}, InvalidValueError, r"store=42.*folder path or an fsspec URL"),
    ({"client": object()}, ValueError, r"client= needs store="),
])
def test_bad_run_options_name_the_value(tiny_model, stimulus, kwargs, error, match):
    with pytest.raises(error, match=match):
        _sim(tiny_model).run(stimulus, **kwargs)


def test_cuda_without_cuda_is_a_clear_error(tiny_model):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(InvalidValueError, match=r"device='cuda'.*CUDA is not available"):
        Simulation(tiny_model, device="cuda")


def test_checking_what_is_not_a_store(tmp_path):
    with pytest.raises(FileNotFoundError, match="no activation store"):
        check_store(tmp_path / "nothing.zarr")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "x").write_text("x")
    with pytest.raises(ValueError, match="not a dynvision activation store"):
        check_store(tmp_path / "foreign")
    with pytest.raises(ValueError, match="not a dynvision activation store"):
        open_activations(tmp_path / "foreign")


def test_an_incomplete_store_is_not_opened_as_finished(tiny_model, stimulus, tmp_path, monkeypatch):
    from dynvision.simulation.executor import Executor

    original = Executor.run

    def stop_after_first(self, unit, frames):
        if unit.index == 1:
            raise RuntimeError("stop")
        return original(self, unit, frames)

    monkeypatch.setattr(Executor, "run", stop_after_first)
    with pytest.raises(RuntimeError):
        _sim(tiny_model).run(stimulus, store=tmp_path / "a.zarr")
    with pytest.raises(ValueError, match=r"incomplete \(2 of 5 samples written\)"):
        open_activations(tmp_path / "a.zarr")
    part = open_activations(tmp_path / "a.zarr", allow_incomplete=True)
    assert np.isnan(part["logits"].values[2:]).all() and np.isfinite(part["logits"].values[:2]).all()


def test_one_store_under_three_spellings_is_computed_once(tiny_model, stimulus, tmp_path, monkeypatch):
    from dynvision.simulation.executor import Executor

    original, calls = Executor.run, []
    monkeypatch.setattr(Executor, "run", lambda self, u, f: (calls.append(u.index), original(self, u, f))[1])
    path = tmp_path / "acts.zarr"
    for spelling in (path, f"{path}/", f"file://{path}"):
        assert _sim(tiny_model).run(stimulus, store=spelling)["logits"].shape[0] == 5
    assert calls == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".acts.zarr.lock", "acts.zarr"]

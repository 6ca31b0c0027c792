"""Simulations on a Dask client: the store is the serial run's, bit for bit, and resumes either way."""

import json
from pathlib import Path

import pytest
import torch

import dynvision
from dynvision import Simulation
from dynvision.io import check_store, store_status

from shared_helpers import make_stimulus

distributed = pytest.importorskip("distributed")
import dynvision.simulation.distributed as dist  # noqa: E402


def _files(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        yield c


def _model():
    torch.manual_seed(0)
    return dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(6, 1, 16, 16), width=0.25)


def test_client_store_is_identical_to_a_serial_store(client, tmp_path):
    stim = make_stimulus(n=9)
    Simulation(_model(), progress=False, batch_size=2).run(stim, store=tmp_path / "serial.zarr")
    Simulation(_model(), progress=False, batch_size=2).run(stim, store=tmp_path / "dask.zarr", client=client)
    assert _files(tmp_path / "dask.zarr") == _files(tmp_path / "serial.zarr")
    assert check_store(tmp_path / "dask.zarr").ok
    assert torch.get_num_threads() == 1  # the workers' thread setting


_ORIGINAL = dist._unit_task


def _fail_unit_2(model, plan, unit, *args):
    if unit.index == 2:
        raise RuntimeError("worker lost")
    return _ORIGINAL(model, plan, unit, *args)


def test_units_recorded_one_by_one_resume_on_client_or_locally(client, tmp_path, monkeypatch):
    stim = make_stimulus(n=10)
    Simulation(_model(), progress=False, batch_size=2).run(stim, store=tmp_path / "serial.zarr")
    monkeypatch.setattr(dist, "_unit_task", _fail_unit_2)
    with pytest.raises(RuntimeError, match="worker lost"):
        Simulation(_model(), progress=False, batch_size=2).run(stim, store=tmp_path / "dask.zarr", client=client)
    monkeypatch.setattr(dist, "_unit_task", _ORIGINAL)
    record = json.loads((tmp_path / "dask.zarr" / "zarr.json").read_text())["attributes"]["dynvision_run"]
    done = {i for a, b in record["done"] for i in range(a, b)}
    assert 2 not in done and not record["complete"]  # the other units that finished are recorded
    assert store_status(tmp_path / "dask.zarr")["units_done"] == len(done)
    Simulation(_model(), progress=False, batch_size=2).run(stim, store=tmp_path / "dask.zarr", client=client)
    assert _files(tmp_path / "dask.zarr") == _files(tmp_path / "serial.zarr")


def test_memory_store_needs_workers_in_this_process(tmp_path):
    stim = make_stimulus(n=4)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cl, \
            distributed.Client(cl) as c:
        tree = Simulation(_model(), progress=False, batch_size=2).run(stim, store="memory://dv-dist/a.zarr", client=c)
    assert tree["logits"].shape == (4, 6, 3)


@pytest.mark.slow
def test_worker_processes_get_a_working_copy_of_the_model(tmp_path):
    """Models reach worker processes pickled: their fused operation tables must be rebuilt."""
    stim = make_stimulus(n=4)
    Simulation(_model(), progress=False, batch_size=2).run(stim, store=tmp_path / "serial.zarr")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
            distributed.Client(cl) as c:
        Simulation(_model(), progress=False, batch_size=2).run(stim, store=tmp_path / "procs.zarr", client=c)
    assert _files(tmp_path / "procs.zarr") == _files(tmp_path / "serial.zarr")


_FAULTS = """
import os, resource, sys
import numpy as np
from dynvision.simulation.distributed import tune_allocator

def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(100):
        a = np.ones(2**20, dtype=np.float32)  # 4 MiB, allocated and freed
        del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

untuned = faults()
tuned = tune_allocator()
print(untuned, faults(), tuned, tune_allocator())
"""


def test_workers_started_by_a_nanny_allocate_without_page_faults():
    """A nanny's MALLOC_TRIM_THRESHOLD_ makes every large tensor a fresh mmap (page faults on
    every touch); tune_allocator, run by the first unit on a worker, restores heap reuse."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    out = subprocess.run([sys.executable, "-c", _FAULTS], env=env, capture_output=True, text=True, check=True)
    untuned, tuned, changed, again = out.stdout.split()
    assert int(untuned) > 50_000  # 100 x 1,024 pages of 4 KiB
    assert int(tuned) < int(untuned) / 20
    assert (changed, again) == ("True", "False")  # once per process
    env.pop("MALLOC_TRIM_THRESHOLD_")
    plain = subprocess.run([sys.executable, "-c", _FAULTS], env=env, capture_output=True, text=True, check=True)
    assert plain.stdout.split()[2] == "False"  # a plain process is left alone


def test_a_worker_with_two_threads_writes_the_serial_store(tmp_path):
    """Two units of one worker run at once on its one model copy: each fills its own buffer set."""
    stim = make_stimulus(n=12)
    Simulation(_model(), progress=False, batch_size=2).run(stim, store=tmp_path / "serial.zarr")
    threads = torch.get_num_threads()
    try:
        with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                      dashboard_address=":0") as cl, distributed.Client(cl, set_as_default=False) as c:
            Simulation(_model(), progress=False, batch_size=2).run(stim, store=tmp_path / "dask.zarr", client=c)
    finally:
        torch.set_num_threads(threads)  # (in-process workers set this process's torch threads)
    assert _files(tmp_path / "dask.zarr") == _files(tmp_path / "serial.zarr")

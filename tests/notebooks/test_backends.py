"""Every backend runs sweeps; an unreachable scheduler fails at once with a clear message."""

from __future__ import annotations

import json

import pytest

from dynvision.notebooks import sweep
from dynvision.notebooks.backends import SchedulerUnreachableError, check_scheduler_address
from dynvision.notebooks.kernel import available_cores, nanny_environ

from .conftest import FIXTURES

CHECKS = FIXTURES / "checks.ipynb"


@pytest.mark.parametrize("address, message", [
    ("tcp://127.0.0.1:1", r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:1': connection refused \(nothing "
                          r"listens on port 1\); start one with `dask scheduler`"),
    ("tcp://127.0.0.1", r"scheduler='tcp://127.0.0.1' has no port"),
    ("", r"scheduler='' is not a Dask scheduler address"),
    ("tcp://no-such-host.invalid:8786", r"unknown host 'no-such-host.invalid'|cannot reach"),
])
def test_unreachable_or_malformed_scheduler_fails_before_anything_is_written(tmp_path, address, message):
    with pytest.raises(SchedulerUnreachableError, match=message):
        sweep(CHECKS, {"case": ["ok"]}, tmp_path / "out", scheduler=address, progress=False)
    assert not (tmp_path / "out").exists()
    assert issubclass(SchedulerUnreachableError, ValueError)  # the CLI prints it as one line and exits 2


def test_local_cluster_listens_on_localhost_only():
    import psutil

    from dynvision.notebooks.backends import connect

    before = {c.laddr for c in psutil.Process().net_connections() if c.status == psutil.CONN_LISTEN}
    client, owned, threads = connect(workers=2, scheduler=None, cluster=None, n_runs=5)
    try:
        listening = {c.laddr for c in psutil.Process().net_connections() if c.status == psutil.CONN_LISTEN} - before
        assert sum(client.nthreads().values()) == 2 and threads == max(1, available_cores() // 2)
        assert listening and {addr.ip for addr in listening} == {"127.0.0.1"}
        assert all(addr.port != 8787 for addr in listening)
    finally:
        for obj in owned:
            obj.close()


@pytest.fixture(scope="module")
def process_cluster():
    """A LocalCluster of one worker *process* (with a nanny): what a remote or jobqueue worker looks like."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster:
        yield cluster


def _env(out, rid="case=ok"):
    return json.loads((out / rid / "env.json").read_text())


@pytest.mark.notebook
def test_dask_jobqueue_cluster_object(tmp_path):
    """dask-jobqueue's own local job runner: the same machinery as SLURM/PBS, with local jobs."""
    jobqueue = pytest.importorskip("dask_jobqueue.local")

    with jobqueue.LocalCluster(cores=1, processes=1, memory="2GB", walltime="00:10:00",
                               scheduler_options={"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"},
                               log_directory=str(tmp_path / "logs")) as cluster:
        index = sweep(CHECKS, {"case": ["ok"]}, tmp_path / "out", cluster=cluster, workers=1, progress=False,
                      export_html=False)
        assert cluster.status.name == "running"  # the caller's cluster stays open
    assert list(index.status) == ["ok"], list(index.error)
    threads = str(available_cores())  # one worker thread: the kernel gets the machine's cores
    assert _env(tmp_path / "out") == {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
                                      "MALLOC_TRIM_THRESHOLD_": None, "DV_PLANTED": None}


@pytest.mark.notebook
def test_scheduler_address_client_and_cluster_object(process_cluster, tmp_path):
    from distributed import Client

    address = process_cluster.scheduler_address
    assert check_scheduler_address(address) == address
    by_address = sweep(CHECKS, {"case": ["ok"]}, tmp_path / "address", scheduler=address, progress=False,
                       export_html=False)
    with Client(address) as client:
        by_client = sweep(CHECKS, {"case": ["ok"]}, tmp_path / "client", scheduler=client, progress=False,
                          export_html=False)
        assert client.status == "running"  # a Client the caller passed stays open
        worker_nanny = client.submit(nanny_environ, pure=False).result()
    by_cluster = sweep(CHECKS, {"case": ["ok"]}, tmp_path / "cluster", cluster=process_cluster, progress=False,
                       export_html=False)
    assert [list(i.status) for i in (by_address, by_client, by_cluster)] == [["ok"]] * 3
    # the worker process has the nanny's settings; its kernels do not, and get the worker's share of the cores
    assert "MALLOC_TRIM_THRESHOLD_" in worker_nanny
    threads = str(max(1, available_cores() // 1))
    for out in ("address", "client", "cluster"):
        assert _env(tmp_path / out) == {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
                                        "MALLOC_TRIM_THRESHOLD_": None, "DV_PLANTED": None}

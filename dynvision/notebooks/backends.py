"""Where a sweep runs: a local cluster of threads, a Dask scheduler, or a cluster object.

Each run is a Jupyter kernel, a process of its own; the Dask task only starts it and waits. So
the local backend is a ``distributed.LocalCluster`` of *threads* in this process (one worker,
``workers`` threads): no worker processes to start, no nanny environment inherited by the
kernels, and each kernel gets ``cores // workers`` intra-op threads. Remote backends (a
scheduler address, a ``Client``, a dask-jobqueue cluster) run the same task on their workers,
where the kernel's threads default to the worker machine's cores divided by the worker's
threads (see :func:`~dynvision.notebooks.runs.execute_run`).

The local cluster's HTTP endpoints listen on 127.0.0.1 only, on free ports, so sweeps started
side by side neither clash nor expose anything to the network.

A scheduler address is checked before anything else happens: an unreachable one fails within
seconds with :class:`SchedulerUnreachableError` instead of Dask's 30 s wait and raw ``OSError``.

Example:
    >>> client, owned, threads = connect(workers=2, scheduler=None, cluster=None, n_runs=4)  # doctest: +SKIP
    >>> threads  # on 2 cores  # doctest: +SKIP
    1
"""

from __future__ import annotations

import socket
from typing import Any

from dynvision.notebooks.kernel import available_cores

CONNECT_TIMEOUT_S = 10.0


class SchedulerUnreachableError(ValueError):
    """A Dask scheduler address that cannot be reached (or is not an address)."""


def check_scheduler_address(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> str:
    """Return ``address`` if a TCP connection to it opens within ``timeout_s``, else raise.

    Addresses without a scheme are taken as ``tcp://``; schemes other than ``tcp``/``tls``
    (``inproc``, ``ucx``...) are left to Dask.

    Raises:
        SchedulerUnreachableError: Malformed address, unknown host, refused or timed out.

    Example:
        >>> check_scheduler_address("tcp://127.0.0.1:1")  # doctest: +SKIP
        SchedulerUnreachableError: cannot reach the Dask scheduler at 'tcp://127.0.0.1:1': connection refused; ...
    """
    from distributed.comm.addressing import parse_address, parse_host_port

    hint = ("; start one with `dask scheduler` (it prints its address), check the host and port, "
            "or leave out --scheduler to run on a local cluster")
    if not isinstance(address, str) or not address.strip():
        raise SchedulerUnreachableError(f"scheduler={address!r} is not a Dask scheduler address "
                                        f"such as 'tcp://10.0.0.5:8786'")
    try:
        scheme, location = parse_address(address.strip())
    except ValueError as exc:
        raise SchedulerUnreachableError(f"scheduler={address!r} is not a Dask scheduler address: {exc}") from None
    if scheme not in ("tcp", "tls"):
        return address
    try:
        host, port = parse_host_port(location)
    except ValueError:
        raise SchedulerUnreachableError(f"scheduler={address!r} has no port; expected e.g. "
                                        f"'tcp://10.0.0.5:8786'") from None
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except socket.gaierror:
        raise SchedulerUnreachableError(f"cannot reach the Dask scheduler at {address!r}: unknown host "
                                        f"{host!r}{hint}") from None
    except ConnectionRefusedError:
        raise SchedulerUnreachableError(f"cannot reach the Dask scheduler at {address!r}: connection refused "
                                        f"(nothing listens on port {port}){hint}") from None
    except (TimeoutError, OSError) as exc:
        reason = "no answer within %g s" % timeout_s if isinstance(exc, TimeoutError) else str(exc)
        raise SchedulerUnreachableError(f"cannot reach the Dask scheduler at {address!r}: {reason}{hint}") from None
    return address


def connect(workers: int | None, scheduler: Any, cluster: Any, n_runs: int) -> tuple[Any, list, int | None]:
    """A ``Client`` for the requested backend, the objects to close afterwards, and kernel threads.

    Args:
        workers: Parallel runs of the local cluster, or the size to scale ``cluster`` to.
        scheduler: ``None``, an address, or a ``distributed.Client``.
        cluster: ``None`` or a Dask cluster object.
        n_runs: Runs to execute (the local cluster has no more threads than that).

    Returns:
        ``(client, owned, threads)``: ``threads`` is set for the local cluster (cores divided
        among its parallel runs) and ``None`` elsewhere (decided on each worker).
    """
    from distributed import Client, LocalCluster

    if cluster is not None:
        if workers:
            cluster.scale(workers)
        client = Client(cluster)
        return client, [client], None
    if isinstance(scheduler, Client):
        return scheduler, [], None
    if scheduler is not None:
        address = check_scheduler_address(scheduler)
        try:
            client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as exc:
            raise SchedulerUnreachableError(f"cannot connect to the Dask scheduler at {address!r}: {exc}") from None
        return client, [client], None
    cores = available_cores()
    n = max(1, min(n_runs, workers or cores))
    # threads, not processes: each run's kernel is a process already (see the module docstring). The
    # scheduler's and worker's HTTP servers would listen on every interface at :8787 by default (and
    # warn when a second sweep finds it taken): keep them on 127.0.0.1, on free ports.
    local = LocalCluster(n_workers=1, threads_per_worker=n, processes=False, dashboard_address=None,
                         scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                         worker_dashboard_address="127.0.0.1:0")
    client = Client(local)
    return client, [client, local], max(1, cores // n)

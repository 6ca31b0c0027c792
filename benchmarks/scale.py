#!/usr/bin/env python
"""Scale-out of Simulation over a Dask client: 2 workers x 1 thread against 1 process x 1 thread.

The same stimuli, model and store options run (a) in this process with torch on one thread and
(b) through ``Simulation.run(..., client=...)`` on a LocalCluster of 2 workers with one thread
each; the legs alternate over rounds and the medians are compared. The cluster is started once
(its start-up is printed, not counted: a cluster serves many runs). Every distributed store is
compared with the serial store file by file (they must be identical).

Goal (issue 15): distributed / serial <= 0.6 with identical stores. On a machine with 2 cores
shared with other work the ratio is bounded by what the other work leaves free: say so.

Usage: .venv/bin/python benchmarks/scale.py [--n 32] [--rounds 3] [--processes] [--size 64]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def build(size: int):
    from dynvision.models import DyRCNNx4

    torch.manual_seed(0)
    return DyRCNNx4(n_classes=10, input_dims=(20, 3, size, size), recurrence_type="full", dt=2, tau=5, tff=0, trc=4,
                    skip=False).eval()


def files(store: str) -> dict[str, bytes]:
    root = Path(store)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--processes", action="store_true", help="worker processes (default: threads of this one)")
    parser.add_argument("--reduce", default="none", choices=["none", "mean"],
                        help="what each area records: full maps (83 MB per unit in float16: bounded by the "
                             "disk's sustained write rate) or the spatial mean (the machinery alone)")
    args = parser.parse_args()
    import xarray as xr
    from distributed import Client, LocalCluster

    from dynvision import Simulation

    torch.set_num_threads(1)
    model = build(args.size)
    stim = xr.DataArray(np.random.default_rng(0).random((args.n, 20, 3, args.size, args.size), dtype=np.float32),
                        dims=("sample", "time", "channel", "y", "x"))
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {args.n} stimuli of 3x{args.size}x"
          f"{args.size}, 20 steps, batch 8, {'full maps' if args.reduce == 'none' else 'spatial means'} to float16")
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=args.processes, dashboard_address=":0")
    client = Client(cluster)
    print(f"cluster start-up ({'processes' if args.processes else 'threads'}): {time.perf_counter() - t0:.1f} s")
    tmp = tempfile.mkdtemp(prefix="dv-scale-")
    serial, dist = [], []
    try:
        for r in range(args.rounds + 1):  # round 0 warms both legs up
            a, b = os.path.join(tmp, f"serial{r}.zarr"), os.path.join(tmp, f"dask{r}.zarr")
            t0 = time.perf_counter()
            Simulation(model, progress=False, batch_size=8).run(stim, store=a, store_dtype="float16", reduce=args.reduce)
            t1 = time.perf_counter()
            Simulation(model, progress=False, batch_size=8).run(stim, store=b, store_dtype="float16", reduce=args.reduce,
                                                               client=client)
            t2 = time.perf_counter()
            same = files(a) == files(b)
            if r:
                serial.append(t1 - t0)
                dist.append(t2 - t1)
            print(f"  round {r}{' (warm-up)' if not r else ''}: serial {t1 - t0:6.2f} s, 2 workers {t2 - t1:6.2f} s, "
                  f"stores identical: {same}")
            if not same:
                raise SystemExit("the distributed store differs from the serial store")
            shutil.rmtree(a)
            shutil.rmtree(b)
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)
    s, d = statistics.median(serial), statistics.median(dist)
    print(f"median: serial {s:.2f} s, 2 workers x 1 thread {d:.2f} s: ratio {d / s:.2f}x (goal <= 0.6x)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Recording cost: Simulation to zarr against the bare forward pass, as ratios (no assertions).

Reference configuration (issue 15): DyRCNNx4, full recurrence, dt=2 ms, tau=5 ms, tff=0,
trc=4 ms, no skip, 10 classes, 20 steps, 3x64x64 inputs, batch 8, torch.set_num_threads(2).

Every leg runs the same samples on the same weights; the legs alternate in each round (so a
busy machine slows them alike) and the median over rounds of each leg's time is divided by
the median forward time, both in wall-clock time and in CPU time of this process (all its
threads, user and system: the work a leg does, which stays meaningful on a shared machine):

- ``forward``: ``model(x)`` per batch on a channels-last copy (no recording);
- ``full fp16 / full fp32``: every area's full maps, stored as float16 / float32;
- ``mean fp32``: every area's spatial mean;
- each with a codec (``none``, ``lz4`` + bitshuffle, ``zstd`` level 1) for the codec choice.

Also prints the cost of the model copy a Simulation makes (it never converts the caller's
model) and of the fingerprint, and (``--rss``) the peak RSS of streaming 16, 160 and 1,000
lazy stimuli to a store, each in a fresh process.

Goals (issue 15): full fp16 <= 1.35x, full fp32 <= 1.7x, mean <= 1.25x.

Stores go to ``$TMPDIR``: on a disk, full maps (83 MB per batch of 8 in float16) soon exceed
the kernel's dirty-page budget and every write then waits for the disk's sustained rate;
``TMPDIR=/dev/shm`` measures dynvision's own cost without the disk.

Usage: .venv/bin/python benchmarks/record.py [--n 16] [--rounds 5] [--codecs none,lz4,zstd] [--rss]
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
CONFIG = dict(n_classes=10, input_dims=(20, 3, 64, 64), recurrence_type="full", dt=2, tau=5, tff=0, trc=4,
              skip=False)


def build():
    from dynvision.models import DyRCNNx4

    torch.manual_seed(0)
    return DyRCNNx4(**CONFIG).eval()


def legs(codecs: list[str]):
    """(name, keyword arguments of Simulation.run) for each recording leg."""
    out = []
    for codec in codecs:
        out += [(f"full fp16, {codec}", dict(store_dtype="float16", codec=codec)),
                (f"full fp32, {codec}", dict(store_dtype="float32", codec=codec))]
    out.append(("mean fp32, none", dict(reduce="mean", codec="none")))
    return out


def measure(n: int, rounds: int, codecs: list[str], clock=time.perf_counter) -> dict[str, float]:
    import xarray as xr

    from dynvision import Simulation
    from dynvision.simulation.executor import prepare_model

    model = build()
    stim = xr.DataArray(np.random.default_rng(0).random((n, 20, 3, 64, 64), dtype=np.float32),
                        dims=("sample", "time", "channel", "y", "x"))
    x = torch.from_numpy(stim.values)
    fast = prepare_model(model, "float32", True, "cpu")
    sims = {name: Simulation(model, progress=False, batch_size=8) for name, _ in legs(codecs)}
    times: dict[str, list[tuple[float, float]]] = {"forward": []}
    clocks = lambda: (time.perf_counter(), time.process_time())  # noqa: E731
    tmp = tempfile.mkdtemp(prefix="dv-record-")
    try:
        for r in range(rounds + 1):  # round 0 warms up (threads, allocator, first-touch)
            t0 = clocks()
            with torch.no_grad():
                for i in range(0, n, 8):
                    fast(x[i:i + 8])
            if r:
                times["forward"].append(tuple(b - a for a, b in zip(t0, clocks())))
            for name, kwargs in legs(codecs):
                path = os.path.join(tmp, f"{r}-{name.replace(' ', '').replace(',', '-')}.zarr")
                t0 = clocks()
                sims[name].run(stim, store=path, **kwargs)
                if r:
                    times.setdefault(name, []).append(tuple(b - a for a, b in zip(t0, clocks())))
                shutil.rmtree(path)
            print(f"  round {r} done", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}


def overheads() -> dict[str, float]:
    """Seconds for the model copy and the fingerprint of 16 reference stimuli."""
    import xarray as xr

    from dynvision.simulation.executor import prepare_model
    from dynvision.simulation.fingerprint import model_digest, stimulus_digest

    model = build()
    stim = xr.DataArray(np.random.default_rng(0).random((16, 20, 3, 64, 64), dtype=np.float32),
                        dims=("sample", "time", "channel", "y", "x"))
    out = {}
    for name, fn in (("model copy + channels-last (s)", lambda: prepare_model(model, "float32", True, "cpu")),
                     ("model digest (s)", lambda: model_digest(model)),
                     ("stimulus digest, 16 stimuli (s)", lambda: stimulus_digest(stim, 8))):
        fn()
        reps = []
        for _ in range(5):
            t0 = time.perf_counter()
            fn()
            reps.append(time.perf_counter() - t0)
        out[name] = statistics.median(reps)
    return out


RSS_CHILD = """
import resource, sys, tempfile, os, time, torch, xarray as xr, dask, dask.array as da
sys.path.insert(0, {root!r})
from dynvision import Simulation
from dynvision.models import DyRCNNx4
torch.set_num_threads(2)
n = int(sys.argv[1])
torch.manual_seed(0)
model = DyRCNNx4(n_classes=10, input_dims=(20, 1, 32, 32), width=0.5, skip=False).eval()
stim = xr.DataArray(da.random.RandomState(0).random_sample((n, 20, 1, 32, 32), chunks=(8, 20, 1, 32, 32))
                    .astype("float32"), dims=("sample", "time", "channel", "y", "x"))
with dask.config.set(scheduler="synchronous"), tempfile.TemporaryDirectory() as d:
    t0 = time.perf_counter()
    Simulation(model, progress=False, batch_size=8).run(stim, store=os.path.join(d, "a.zarr"), store_dtype="float16")
    print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def streaming_rss(counts=(16, 160, 1000)) -> dict[int, tuple[float, float]]:
    out = {}
    for count in counts:
        res = subprocess.run([sys.executable, "-c", RSS_CHILD.format(root=str(HERE.parent)), str(count)],
                             capture_output=True, text=True, check=True)
        seconds, rss = res.stdout.split()[-2:]
        out[count] = (float(seconds), float(rss))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=16, help="samples per leg (batches of 8)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--codecs", default="none,lz4,zstd")
    parser.add_argument("--rss", action="store_true", help="also measure peak RSS for 16, 160, 1000 stimuli")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"stores in {tempfile.gettempdir()}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f} (a shared machine slows every leg alike: ratios, not seconds)")
    times = measure(args.n, args.rounds, args.codecs.split(","))
    fw, fc = times["forward"]
    print(f"\n{args.n} samples, batch 8, median of {args.rounds} alternating rounds; wall-clock time, and CPU time "
          f"of this process (all its threads, user + system: the work done, robust to other load)")
    print(f"  {'leg':24s} {'wall s':>8s} {'ratio':>7s} {'CPU s':>8s} {'ratio':>7s}")
    for name, (w, c) in times.items():
        print(f"  {name:24s} {w:8.3f} {w / fw:7.2f}x {c:8.3f} {c / fc:7.2f}x")
    print()
    for name, t in overheads().items():
        print(f"  {name:36s} {t * 1000:8.1f} ms")
    if args.rss:
        print("\nstreaming lazy stimuli to a float16 store (DyRCNNx4 width 0.5, 1x32x32, 20 steps), fresh processes:")
        for count, (seconds, rss) in streaming_rss().items():
            print(f"  {count:5d} stimuli: {seconds:7.1f} s, peak RSS {rss:7.0f} MiB")


if __name__ == "__main__":
    main()

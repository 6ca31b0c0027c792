#!/usr/bin/env python
"""Simulation speed and memory of dynvision, printed as figures (no assertions).

Configuration (the same as ../shared/bench/peer_dynvision.py): DyRCNNx4, full recurrence,
dt=2 ms, tau=5 ms, tff=0, trc=4 ms, no skip, 10 classes, 20 steps, 3x64x64, eval mode, no
gradients, torch.set_num_threads(2).

Prints:
  - the machine's matmul GFLOP/s (fp32, bf16), measured here;
  - sample-steps/s and GFLOP/s (FLOPs counted by torch.utils.flop_counter) at batch 1 and 8 for
    the naive reference loop (dynvision.testing.reference_forward, same weights) and for each
    lever of dynvision's loop: fused ff+recurrent convolution, channels-last, bf16 autocast;
  - the deviation of the bf16 path from fp32;
  - the slowdown of recording all areas to zarr vs forward only, and the peak RSS of streaming
    16 and 160 stimuli (both from benchmarks/record.py, which has the details);
  - with --peer: the published DynVision 0.1.0 timed alternately with dynvision in one run.

Usage: .venv/bin/python benchmarks/simulate.py [--reps 5] [--peer] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

HERE = Path(__file__).resolve().parent
CONFIG = dict(n_classes=10, input_dims=(20, 3, 64, 64), recurrence_type="full", dt=2, tau=5, tff=0, trc=4,
              skip=False)


def build():
    from dynvision.models import DyRCNNx4

    torch.manual_seed(0)
    return DyRCNNx4(**CONFIG).eval()


def matmul_gflops(dtype, n=2048, reps=10) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(2):
        a @ b
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / min(times) / 1e9


def conv_gflops(dtype, reps=10) -> float:
    """A large 3x3 convolution, channels-last (batch 8, 128 -> 128 channels, 64x64): what oneDNN
    reaches on this CPU in ``dtype``, the ceiling for a network made of convolutions."""
    x = torch.randn(8, 128, 64, 64).to(dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(128, 128, 3, 3).to(dtype).contiguous(memory_format=torch.channels_last)
    for _ in range(2):
        torch.conv2d(x, w, padding=1)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.conv2d(x, w, padding=1)
        times.append(time.perf_counter() - t0)
    return 2 * 8 * 128 * 128 * 9 * 64 * 64 / min(times) / 1e9


def count_flops(fn, x) -> float:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn(x)
    return counter.get_total_flops()


def timeit(fn, x, reps, grad: bool = False) -> list[float]:
    with torch.set_grad_enabled(grad):
        fn(x)
        out = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn(x)
            out.append(time.perf_counter() - t0)
    return out


def variants():
    """(name, callable on x) for the levers, each on its own copy of the same weights."""
    from dynvision.layers.pool import MaxPool2d
    from dynvision.testing import reference_forward

    def with_model(fuse=True, channels_last=False, precision="float32", torch_pool=False):
        model = build()
        for area in model.areas.values():
            area.fuse = fuse
            area.compile()
            if torch_pool and isinstance(area.pool, MaxPool2d):
                area.pool.forward = lambda x, p=area.pool: torch.nn.functional.max_pool2d(x, p.kernel_size, p.stride, p.padding)
        if precision == "bfloat16":
            model.to(torch.bfloat16)
        if channels_last:
            model.to(memory_format=torch.channels_last)
        ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if precision == "autocast" else contextlib.nullcontext
        dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32

        def run(x):
            with ctx():
                return model(x.to(dtype))

        return run

    ref_model = build()
    return [
        ("naive reference loop (fp32)", lambda x: reference_forward(ref_model, x)),
        ("fp32, unfused, torch max-pool", with_model(fuse=False, torch_pool=True)),
        ("fp32, fused, torch max-pool", with_model(fuse=True, torch_pool=True)),
        ("fp32, fused", with_model(fuse=True)),
        ("fp32, fused, channels-last", with_model(fuse=True, channels_last=True)),
        ("bf16 autocast, fused", with_model(precision="autocast")),
        ("bf16 autocast, fused, channels-last", with_model(precision="autocast", channels_last=True)),
        ("bf16, fused", with_model(precision="bfloat16")),
        ("bf16, fused, channels-last", with_model(precision="bfloat16", channels_last=True)),
    ]


def bf16_deviation(x) -> dict:
    from dynvision import Simulation

    out = {}
    for precision in ("bfloat16", "autocast"):
        model = build()
        ref = Simulation(model, progress=False).run_tensors(x, record={"IT": "none"})
        low = Simulation(model, progress=False, precision=precision).run_tensors(x, record={"IT": "none"})
        out[precision] = _deviation(ref, low)
    return out


def _deviation(ref, low) -> dict:
    it_ref, it_low = ref.recordings["IT"], low.recordings["IT"].float()
    return {
        "IT max |bf16 - fp32| / max |fp32|": float((it_low - it_ref).abs().max() / it_ref.abs().max()),
        "logits max |bf16 - fp32| / max |fp32|": float((low.logits.float() - ref.logits).abs().max() / ref.logits.abs().max()),
        "top-1 agreement over steps": float((low.logits.argmax(-1) == ref.logits.argmax(-1)).float().mean()),
    }


def peer_times(batch: int, reps: int) -> float | None:
    script = HERE.parent.parent / "shared" / "bench" / "peer_dynvision.sh"
    if not script.exists():
        return None
    env = {**os.environ, "REPS": str(reps), "BATCHES": str(batch)}
    res = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env)
    if res.returncode != 0:
        print("peer failed:", res.stderr[-2000:])
        return None
    line = [json.loads(l) for l in res.stdout.splitlines() if l.startswith("{")][-1]
    return line["median_s"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--peer", action="store_true", help="also time DynVision 0.1.0 alternately (needs ../shared)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds with --peer")
    parser.add_argument("--quick", action="store_true", help="skip the zarr and RSS measurements")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    peak32, peak16 = matmul_gflops(torch.float32), matmul_gflops(torch.bfloat16)
    conv32, conv16 = conv_gflops(torch.float32), conv_gflops(torch.bfloat16)
    print(f"matmul peak: fp32 {peak32:.0f} GFLOP/s, bf16 {peak16:.0f} GFLOP/s; large 3x3 convolution: "
          f"fp32 {conv32:.0f} GFLOP/s, bf16 {conv16:.0f} GFLOP/s")
    results = {}
    for batch in (1, 8):
        x = torch.randn(batch, 20, 3, 64, 64)
        flops = count_flops(build(), x)
        print(f"\nbatch {batch}: {flops / 1e9:.1f} GFLOP per forward")
        for name, fn in variants():
            med = statistics.median(timeit(fn, x, args.reps))
            results[(batch, name)] = med
            print(f"  {name:40s} {med:7.3f} s  {batch * 20 / med:8.1f} sample-steps/s  "
                  f"{flops / med / 1e9:6.1f} GFLOP/s ({100 * flops / med / 1e9 / peak32:4.0f}% of fp32 peak)")
    print("\nbf16 deviation from fp32 (batch 8):", json.dumps(bf16_deviation(torch.randn(8, 20, 3, 64, 64)), indent=1))
    if args.peer:
        print("\npeer: DynVision 0.1.0 vs dynvision, alternating, batch 8")
        best = min((k for k in results if k[0] == 8 and "bf16" in k[1]), key=results.get)[1]
        fns = dict(variants())
        from dynvision import Simulation

        sims = {precision: Simulation(build(), progress=False, precision=precision)
                for precision in ("float32", "bfloat16")}
        paths = {"model(x) fp32": fns["fp32, fused"],
                 "model(x) bf16 autocast": fns["bf16 autocast, fused"],
                 f"model(x) {best}": fns[best],
                 "Simulation fp32": lambda x: sims["float32"].run_tensors(x, record={}),
                 "Simulation bf16": lambda x: sims["bfloat16"].run_tensors(x, record={})}
        paths["training forward fp32"] = build().train()  # a training step's forward: train mode, with grad
        times = {k: [] for k in paths}
        peer = []
        x = torch.randn(8, 20, 3, 64, 64)
        flops = count_flops(build(), x)
        for _ in range(args.rounds):
            p = peer_times(8, args.reps)
            if p is None:
                break
            peer.append(p)
            for k, fn in paths.items():
                times[k].append(statistics.median(timeit(fn, x, args.reps, grad=k.startswith("training"))))
        if peer:
            p = statistics.median(peer)
            print(f"  DynVision 0.1.0: {p:.3f} s")
            for k, v in times.items():
                t = statistics.median(v)
                print(f"  {k:32s} {t:.3f} s  {p / t:5.2f}x DynVision  "
                      f"{100 * flops / t / 1e9 / peak32:4.0f}% of fp32 peak")
            floor = flops / (conv16 * 1e9)
            print(f"  bf16 ceiling on this CPU: {flops / 1e9:.1f} GFLOP at the large convolution's {conv16:.0f} "
                  f"GFLOP/s = {floor:.3f} s, i.e. at most {p / floor:.1f}x DynVision without skipping work")
    if not args.quick:  # recording and streaming: benchmarks/record.py (alternating legs, ratios, RSS)
        sys.path.insert(0, str(HERE))
        import record

        times = record.measure(16, max(1, args.reps // 2), ["none"])
        print("\nrecording to zarr / forward only (16 samples, batch 8):",
              {k: round(v[0] / times["forward"][0], 2) for k, v in times.items()})
        print("streaming lazy stimuli to zarr (seconds, peak RSS MiB):", record.streaming_rss((16, 160)))


if __name__ == "__main__":
    main()

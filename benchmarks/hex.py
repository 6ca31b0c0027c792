"""Rendering Moving-MNIST frames onto the 721-receptor lattice: dynvision's sparse product vs a BoxEye-style pipeline.

Both render 64 x 64 frames onto extent 15 with 13-pixel boxes. ``sparse`` is
:func:`dynvision.stimuli.render_hex` (one sparse matrix product per chunk, exact box overlaps, ``fit="stretch"`` as BoxEye);
``boxeye`` is what flyvis's BoxEye does: stretch every frame to the 351 x 403 canvas, average
13 x 13 boxes by convolution, then read the receptor centres. The two are timed alternately in
one run and the median frames/s and their ratio are printed, with the largest difference of
their outputs (they differ in geometry: BoxEye rounds centres to pixels). Nothing is asserted.

Example:
    python benchmarks/hex.py --frames 2000 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from dynvision.stimuli import HexLattice, moving_digits, render_hex


def boxeye(frames: torch.Tensor, extent: int = 15, kernel_size: int = 13) -> torch.Tensor:
    """Resize to the canvas, box-average by convolution, read the (rounded) receptor centres."""
    lattice = HexLattice(extent)
    h, w = lattice.canvas(kernel_size)
    x = F.interpolate(frames[:, None], size=(h, w), mode="bilinear", align_corners=False)
    x = F.avg_pool2d(x, kernel_size, stride=1, padding=kernel_size // 2, count_include_pad=False)
    centres = np.floor(lattice.to_pixels(kernel_size)).astype(int)
    return x[:, 0, centres[:, 1], centres[:, 0]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=2000, help="frames per timing (default 2000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    n_seq = max(1, args.frames // 20)
    frames = moving_digits(n_seq, n_frames=20, size=64, n_digits=2, digit_size=28, seed=0).values[:, :, 0]
    flat = frames.reshape(-1, 64, 64)[: args.frames]
    tensor = torch.from_numpy(np.ascontiguousarray(flat))
    times = {"sparse": [], "boxeye": []}
    for _ in range(args.rounds):
        t = time.perf_counter()
        sparse = render_hex(flat, extent=15, kernel_size=13, fit="stretch", progress=False).values
        times["sparse"].append(time.perf_counter() - t)
        t = time.perf_counter()
        with torch.no_grad():
            ref = boxeye(tensor).numpy()
        times["boxeye"].append(time.perf_counter() - t)
    rate = {k: len(flat) / statistics.median(v) for k, v in times.items()}
    print(f"{len(flat)} frames of 64 x 64 -> 721 receptors, {args.threads} thread(s), median of {args.rounds}")
    for k, r in rate.items():
        print(f"  {k:7s} {r:10.0f} frames/s")
    print(f"  sparse / boxeye: {rate['sparse'] / rate['boxeye']:.1f}x;  max |difference| {np.abs(sparse - ref).max():.3f}")


if __name__ == "__main__":
    main()

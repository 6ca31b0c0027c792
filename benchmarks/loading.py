"""Throughput of the batch loaders (images/s), plain versus ffcv, measured in one run.

For each dataset the script builds every loader (the ffcv build writes the ``.beton`` file and
is timed apart), serves one warm-up epoch (FFCV compiles its pipeline then), and then times
full epochs in alternating rounds, reporting the median images/s per loader. Batches are only
iterated (and moved to ``--device``), so the figures are the loaders' own cost. Besides
``plain`` and ``ffcv`` it times ``itemwise``: the plain loader over a generic ``Dataset``, i.e.
a standard torch ``DataLoader`` reading item by item. It prints figures; nothing is asserted.

Example:
    python benchmarks/loading.py --seconds 2 --rounds 5 --batch-size 256
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch
from torch.utils.data import Dataset

from dynvision.data import make_dataset, make_loader

CASES = {
    "digits-64px-grey": dict(name="digits", split="all", size=64, channels=1),
    "patches-64px-rgb": dict(
        name="natural_patches", split="all", size=64, channels=3, n_per_image=200
    ),
}


class ItemWise(Dataset):
    """Hides the in-memory arrays, so the plain loader reads item by item (torch DataLoader)."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        return self.dataset[i]


def epoch_rate(loader, min_seconds: float, device: torch.device) -> float:
    """Images per second over as many full epochs as fit in ``min_seconds`` (at least one)."""
    n, start = 0, time.perf_counter()
    while True:
        for images, labels in loader:
            images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            n += len(labels)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="timed seconds per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per loader")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--num-workers", type=int, default=1,
                        help="ffcv decoding threads / itemwise worker processes")  # fmt: skip
    parser.add_argument("--device", default="cpu", help="where batches are moved, e.g. cuda")
    parser.add_argument("--cache-dir", default=None, help="where .beton files go (default: temp)")
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    args = parser.parse_args()
    device = torch.device(args.device)

    kinds = ["plain", "itemwise", "ffcv"]
    try:
        from dynvision.data.ffcv_loader import require_ffcv

        require_ffcv()
    except ImportError as err:
        print(f"ffcv unavailable, skipping it: {err}")
        kinds.remove("ffcv")

    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, device {device}, "
          f"batch {args.batch_size}, median of {args.rounds} rounds of >= {args.seconds} s, "
          f"num_workers {args.num_workers}")  # fmt: skip
    print("itemwise = plain loader over a generic Dataset (torch DataLoader, item by item)")
    header = (
        f"{'dataset':<18} {'images':>6} {'shape':<8} {'loader':<8} {'build s':>7} {'images/s':>10}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            spec = dict(CASES[case])
            dataset = make_dataset(spec.pop("name"), **spec)
            loaders, builds = {}, {}
            for kind in kinds:
                start = time.perf_counter()
                loaders[kind] = make_loader(
                    ItemWise(dataset) if kind == "itemwise" else dataset,
                    batch_size=args.batch_size,
                    seed=0,
                    loader="ffcv" if kind == "ffcv" else "plain",
                    num_workers=args.num_workers,
                    cache_dir=args.cache_dir or tmp,
                )
                builds[kind] = time.perf_counter() - start
                epoch_rate(loaders[kind], 0.0, device)  # warm-up epoch (ffcv compiles here)
            rates: dict[str, list[float]] = {k: [] for k in kinds}
            for _ in range(args.rounds):  # alternate, so drifting machine load hits all alike
                for kind in kinds:
                    rates[kind].append(epoch_rate(loaders[kind], args.seconds, device))
            shape = "x".join(map(str, dataset.image_shape))
            median = {k: statistics.median(v) for k, v in rates.items()}
            for kind in kinds:
                print(f"{case:<18} {len(dataset):>6} {shape:<8} {kind:<8} {builds[kind]:>7.2f} "
                      f"{median[kind]:>10,.0f}")  # fmt: skip
            if "ffcv" in median:
                print(f"{case:<18} ffcv / plain = {median['ffcv'] / median['plain']:.2f}x, "
                      f"ffcv / itemwise = {median['ffcv'] / median['itemwise']:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()

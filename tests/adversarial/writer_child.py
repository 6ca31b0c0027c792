"""A writer process for the adversarial tests: one Simulation.run into a store.

Usage: python writer_child.py STORE SEED [--n N] [--batch B] [--hold-lock-s S] [--kill-at N]

``--kill-at N`` kills this process (SIGKILL, no cleanup) inside the N-th zarr chunk write,
after half of that write's chunks reached the disk: the moment a wrongly ordered writer
would have already recorded the unit as done.
"""

import argparse
import json
import os
import signal
import sys

import numpy as np
import torch
import xarray as xr

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)  # this checkout's dynvision, whatever is installed


def stimulus(seed: int, n: int) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    return xr.DataArray(rng.random((n, 6, 1, 16, 16), dtype=np.float32), dims=("sample", "time", "channel", "y", "x"),
                        coords={"time": ("time", np.arange(6) * 2.0, {"units": "ms"}),
                                "contrast": ("sample", np.linspace(0.1, 1.0, n))},
                        attrs={"background": 0.5})


def model():
    import dynvision

    torch.manual_seed(0)
    return dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(6, 1, 16, 16), width=0.25)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("store")
    parser.add_argument("seed", type=int)
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--kill-at", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from dynvision import Simulation

    if args.kill_at:
        import zarr

        calls = {"n": 0}
        original = zarr.Array.__setitem__

        def setitem(self, index, value):
            is_region = (self.path.rsplit("/", 1)[-1] in ("logits", "activity", "luminance") and isinstance(index, tuple)
                         and any(isinstance(i, slice) and i.stop is not None for i in index))
            calls["n"] += is_region
            if is_region and calls["n"] == args.kill_at:
                sample = index[0] if isinstance(index[0], slice) else index[1]
                half = (sample.start + sample.stop) // 2 if sample.stop - sample.start > 1 else sample.stop
                head = list(index)
                head[index.index(sample)] = slice(sample.start, half)
                original(self, tuple(head), value[: half - sample.start] if index[0] is sample else value)
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, index, value)

        zarr.Array.__setitem__ = setitem
    try:
        tree = Simulation(model(), progress=False, batch_size=args.batch).run(
            stimulus(args.seed, args.n), store=args.store, lock_timeout_s=args.timeout)
        print(json.dumps({"ok": True, "stim0": float(tree["stimulus"]["luminance"][0, 0, 0, 0, 0])}))
    except Exception as err:  # noqa: BLE001 - report the error class to the test
        print(json.dumps({"ok": False, "error": type(err).__name__, "message": str(err)}))


if __name__ == "__main__":
    main()

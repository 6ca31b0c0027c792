"""A writer process for the adversarial tests: one Simulation.run into a store.

Usage: python writer_child.py STORE SEED [--n N] [--batch B] [--hold-lock-s S] [--kill-at N]

``--kill-at N`` kills this process (SIGKILL, no cleanup) inside the N-th region write (one
array of one unit), after half of that region reached the disk: the moment a wrongly ordered
writer would have already recorded the unit as done.
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
        from dynvision.io import writer

        calls = {"n": 0}
        original = writer._write_raw

        def write_raw(loc, path, array, index, values):
            calls["n"] += 1
            if calls["n"] == args.kill_at:  # half of this region reaches the disk, then the process dies
                sample = index[-1]
                half = max(1, (sample.stop - sample.start) // 2)
                original(loc, path, array, (*index[:-1], slice(sample.start, sample.start + half)), values[:half])
                os.kill(os.getpid(), signal.SIGKILL)
            return original(loc, path, array, index, values)

        writer._write_raw = write_raw
    try:
        tree = Simulation(model(), progress=False, batch_size=args.batch).run(
            stimulus(args.seed, args.n), store=args.store, lock_timeout_s=args.timeout)
        print(json.dumps({"ok": True, "stim0": float(tree["stimulus"]["luminance"][0, 0, 0, 0, 0])}))
    except Exception as err:  # noqa: BLE001 - report the error class to the test
        print(json.dumps({"ok": False, "error": type(err).__name__, "message": str(err)}))


if __name__ == "__main__":
    main()

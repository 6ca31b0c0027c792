"""In-silico analysis speed: MEI steps/s for 1 vs 32 units at once, and the 21 x 21 gradient grid.

Two models of about openretina's size (its Hoefling-2024 low-resolution core + readout:
14,452 parameters, 2 colour channels, 50 frames of 18 x 16 pixels):

- ``core+readout``: a :class:`~dynvision.layers.spatiotemporal.SpatioTemporalCore` (2 -> 16 -> 16
  channels, 11 x 11 then 5 x 5 spatial kernels, the first unpadded, 42 and 22 ms temporal
  kernels at 2 ms) with a Gaussian readout of 100 neurons, the architecture of openretina's;
- ``recurrent``: a DyRCNNx2 with continuous-time dynamics on the same input (50 steps of 2 ms).

For each it prints, measured in this run:

- MEI optimisation steps per second with 1 unit and with 32 units in one batch, and the ratio
  of unit-steps per second (how much batching over units gains);
- the time of the 21 x 21 gradient grid (``start=-1, stop=1, step=0.1``: 441 points) batched
  (the default 32 points per forward/backward pass: 14 passes; the core+readout model also
  reuses its affine first stage, and is timed without that too) and the same grid one point per
  pass (the serial loop openretina runs), and their ratio;
- with ``--openretina PYTHON`` (an interpreter with openretina installed, e.g. a separate venv),
  openretina's own ``get_gradient_grid`` on its model, timed in a subprocess, and the ratio to
  dynvision's batched grid on the core+readout model.

Nothing is asserted; the machine may be shared (say so when reporting numbers).

Example:
    python benchmarks/insilico.py --threads 1
    python benchmarks/insilico.py --threads 1 --openretina /tmp/orvenv/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time

import torch

import dynvision
from dynvision.insilico import gradient_grid, mei
from dynvision.layers import SpatioTemporalCore
from dynvision.training.readout import ReadoutModel

OPENRETINA = textwrap.dedent("""
    import json, logging, time, warnings
    import torch
    torch.set_num_threads({threads})
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    from openretina.models.core_readout import ExampleCoreReadout
    from openretina.insilico.stimulus_optimization.objective import IncreaseObjective, MeanReducer
    from openretina.insilico.tuning_analyses.response_gradient import get_gradient_grid
    torch.manual_seed(0)
    model = ExampleCoreReadout(in_shape=(2, 50, 18, 16), hidden_channels=(16, 16), temporal_kernel_sizes=(21, 11),
                               spatial_kernel_sizes=(11, 5), n_neurons_dict={{"s": 100}}).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    objective = IncreaseObjective(model, neuron_indices=3, data_key="s", response_reducer=MeanReducer(axis=0))
    t = time.perf_counter()
    _, resp, _, _, _ = get_gradient_grid(torch.randn(1, 2, 50, 18, 16), objective, start=-1, stop=1, step_size=0.1)
    print(json.dumps({{"params": sum(p.numel() for p in model.parameters()), "points": int(resp.size),
                      "seconds": time.perf_counter() - t}}))
""")


def models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    core = SpatioTemporalCore((2, 16, 16), kernel_size=(11, 5), kernel_ms=(42, 22), padding=(0, None), dt_ms=2)
    readout = ReadoutModel(core, {"s": 100}, input_dims=(50, 2, 18, 16), dt_ms=2).eval()
    recurrent = dynvision.create_model("DyRCNNx2", n_classes=10, input_dims=(50, 2, 18, 16), width=0.5,
                                       recurrence_type="full").eval()
    return {"core+readout": readout, "recurrent": recurrent}


def unit_of(name: str, k: int = 3) -> str:
    return f"readout:s:{k}" if name == "core+readout" else f"V2:{k % 16}"


def mei_rate(model, units, steps: int) -> float:
    mei(model, units, steps=2, n_candidates=1, progress=False)  # warm-up
    t = time.perf_counter()
    mei(model, units, steps=steps, n_candidates=1, progress=False, batch_size=len(units))
    return steps / (time.perf_counter() - t)


def grid_time(model, unit: str, batch_size: int | None = None, affine_front: bool = True) -> float:
    stim = torch.rand(2, 18, 16, generator=torch.Generator().manual_seed(0))
    t = time.perf_counter()
    kw = {} if batch_size is None else {"batch_size": batch_size}
    ds = gradient_grid(model, stim, unit, start=-1, stop=1, step=0.1, progress=False, affine_front=affine_front, **kw)
    elapsed = time.perf_counter() - t
    assert ds["response"].shape == (21, 21)
    return elapsed


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--steps", type=int, default=20, help="MEI steps timed (default 20)")
    parser.add_argument("--no-serial", action="store_true", help="skip the one-point-per-pass grid")
    parser.add_argument("--openretina", default=None, metavar="PYTHON",
                        help="an interpreter with openretina installed, to time its gradient grid")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s); timings on this machine (it may be shared)")
    batched_readout = None
    for name, model in models().items():
        n_params = sum(p.numel() for p in model.parameters())
        one = mei_rate(model, [unit_of(name)], args.steps)
        many = mei_rate(model, [unit_of(name, k) for k in range(32)], args.steps)
        print(f"\n{name} ({n_params:,} parameters, input 50 x 2 x 18 x 16)")
        print(f"  MEI, 1 unit:    {one:7.2f} steps/s ({one:7.1f} unit-steps/s)")
        print(f"  MEI, 32 units:  {many:7.2f} steps/s ({32 * many:7.1f} unit-steps/s): "
              f"{32 * many / one:.1f}x the unit-steps/s of one unit at a time")
        batched = grid_time(model, unit_of(name))
        print(f"  gradient grid 21 x 21, batched (14 passes):    {batched:7.2f} s")
        if getattr(model, "has_affine_front", False):
            generic = grid_time(model, unit_of(name), affine_front=False)
            print(f"  ... without reusing the affine first stage:    {generic:7.2f} s "
                  f"(reusing it is {generic / batched:.1f}x faster)")
        if name == "core+readout":
            batched_readout = batched
        if not args.no_serial:
            serial = grid_time(model, unit_of(name), batch_size=1, affine_front=False)
            print(f"  gradient grid 21 x 21, one point per pass:     {serial:7.2f} s "
                  f"(batched is {serial / batched:.1f}x faster)")
    if args.openretina:
        out = subprocess.run([args.openretina, "-c", OPENRETINA.format(threads=args.threads)], capture_output=True,
                             text=True, check=False)
        if out.returncode != 0:
            print(f"\nopenretina could not run: {out.stderr.strip().splitlines()[-1:]}")
            return
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"\nopenretina get_gradient_grid ({result['params']:,} parameters, {result['points']} points): "
              f"{result['seconds']:.2f} s; dynvision's batched grid on core+readout is "
              f"{result['seconds'] / batched_readout:.1f}x faster")
    else:
        print("\n(openretina's serial loop took 30-92 s for 441 points on a 14k-parameter model on this machine; "
              "pass --openretina PYTHON to time it here)")


if __name__ == "__main__":
    sys.exit(main())

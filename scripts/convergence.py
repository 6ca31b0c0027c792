#!/usr/bin/env python
"""Print the dt-convergence table of the README: error vs dt per integrator.

A recurrent four-area cascade (DyRCNNx4, full recurrence, trc = 2 ms, tff = 0, tau = 5 ms,
skip connections, width 0.125, 16 px) sees a step stimulus at 10 ms; every area's spatially
averaged response at dt = 2, 1, 0.5 ms is compared with a dt = 0.125 ms run of the same network
(same weights). Columns: the largest error over areas and time as a percentage of the area's
peak, the observed order of convergence (log2 of the error ratio per halving of dt, smallest
over areas), and the largest half-max latency difference from the reference.

Usage: python scripts/convergence.py [--pretrained NAME]
"""

from __future__ import annotations

import argparse

import torch

import dynvision
from dynvision.testing import dt_convergence

DTS = (2.0, 1.0, 0.5)


def builder(integrator: str, pretrained: str | None):
    torch.manual_seed(0)
    if pretrained:
        base = dynvision.create_model("DyRCNNx4", pretrained=pretrained)
        kw = {k: v for k, v in base.config.items() if k not in ("model", "dt", "integrator")}
        weights = base.state_dict()
    else:
        kw = dict(n_classes=4, input_dims=(10, 1, 16, 16), width=0.125, tau=5.0, tff=0.0, trc=2.0,
                  recurrence_type="full", skip=True)
        weights = dynvision.create_model("DyRCNNx4", dt=0.125, integrator=integrator, **kw).state_dict()

    def build(dt):
        model = dynvision.create_model("DyRCNNx4", dt=dt, integrator=integrator, **kw).double()
        model.load_state_dict(weights)
        return model.eval()

    return build, kw


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrained", default=None, help="use a shipped pretrained model's weights")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print("| integrator | dt (ms) | max error (% of peak) | order | max latency shift (ms) |")
    print("|---|---|---|---|---|")
    for name in ("etd2", "exponential", "euler"):
        build, kw = builder(name, args.pretrained)
        c = kw.get("input_dims", (1, 1, 16, 16))[1]
        size = kw.get("input_dims", (1, 1, 16, 16))[2:]
        image = torch.rand(c, *size, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        r = dt_convergence(build, image, DTS)
        for i, dt in enumerate(DTS):
            err = 100 * max(r["error"][dt].values())
            order = min(o[i] for o in r["order"].values()) if i < len(DTS) - 1 else None
            shift = max(abs(r["latency"][dt][a] - r["latency"][0.125][a]) for a in r["latency"][dt])
            print(f"| {name} | {dt:g} | {err:.2f} | {'' if order is None else f'{order:.2f}'} | {shift:.2f} |")


if __name__ == "__main__":
    main()

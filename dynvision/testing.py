"""Public testing helpers: an independent, naive implementation to check models against.

:func:`reference_forward` recomputes a DyRCNN forward pass with plain ``torch.nn.functional``
calls on the model's own weights, written as directly as the equations read: one explicit
loop over time and areas, explicit history lists, no fused convolutions, no compiled
operation lists. Tests compare it with the library's time loop, and ``benchmarks/`` times it
as the naive baseline.

Supported: the default ``rate`` and ``dynvision`` orders, any recurrence type at the output,
additive skip/feedback connections, max-pooling, no retina/gain/adaptation/norm.

Example:
    >>> import torch, dynvision
    >>> model = dynvision.create_model("DyRCNNx2", input_dims=(4, 1, 16, 16), width=0.25)
    >>> x = torch.rand(2, 4, 1, 16, 16)
    >>> torch.allclose(reference_forward(model, x), model(x), atol=1e-5)
    True
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from dynvision.layers.connections import resample


def reference_forward(model, x: torch.Tensor) -> torch.Tensor:
    """Logits (batch, time, classes) of ``model`` on ``x``, computed naively."""
    areas = list(model.areas.values())
    names = model.area_names
    for a in areas:
        if a.form not in ("rate", "dynvision") or a.recurrence_target != "output" or a.norm is not None \
                or a.adapt is not None or a.conv2 is not None:
            raise NotImplementedError("reference_forward covers single-stage areas with the default orders")
    if model.input_stage.retina is not None or model.input_stage.gain is not None:
        raise NotImplementedError("reference_forward has no retina or input gain")
    batch, steps = x.shape[:2]
    frames = (x - 0.5) / 0.25
    states = [torch.zeros(batch, a.out_channels, *a.size) for a in areas]
    history: list[list[torch.Tensor]] = [[] for _ in areas]  # emitted outputs, step by step

    def emitted(i: int, t: int) -> torch.Tensor:
        return history[i][t] if t >= 0 else torch.zeros_like(states[i])

    features = []
    for t in range(steps):
        y = frames[:, t]
        for i, a in enumerate(areas):
            conv = a.conv
            drive = F.conv2d(y, conv.weight, conv.bias, conv.stride, conv.padding)
            if a.has_recurrence:
                drive = drive + a.recurrence(emitted(i, t - a.trc_steps))
            for conn in model.connections:
                if conn.target == names[i]:
                    src = names.index(conn.source)
                    h = emitted(src, t - conn.delay)
                    drive = drive + F.conv2d(resample(h, conn.out_size), conn.conv.weight)
            alpha = 1 - math.exp(-a.dt / float(a.tau)) if a.integrator_name == "exponential" else a.dt / float(a.tau)
            if a.form == "rate":
                states[i] = states[i] + alpha * (torch.relu(drive) - states[i])
            else:
                states[i] = torch.relu(states[i] + alpha * (drive - states[i]))
            history[i].append(states[i])
            y = emitted(i, t - a.tff_steps)
            if a.pool is not None:
                y = F.max_pool2d(y, a.pool.kernel_size, a.pool.stride, a.pool.padding)
        features.append(y.mean(dim=(-2, -1)))
    return model.classifier(torch.stack(features, dim=1))

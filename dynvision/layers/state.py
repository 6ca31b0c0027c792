"""The run-time state of one area (:class:`AreaState`): what changes during a simulation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from dynvision.layers.delay import History


@dataclass
class AreaState:
    """Everything about one area that changes during a run, at the current state time ``t``.

    Attributes:
        v: The integrator state (batch, C, H, W) at ``t``.
        history: The emitted outputs of past steps (for delays).
        traces: The traces of the gain operations at ``t`` (``adapt``: per-unit adaptation,
            ``normalize``: the divisive-normalisation pool), by operation name.
        recorded: The tensor at the ``record`` tap at ``t`` (what a recording stores under ``t``).
        target: The target ``g`` the state relaxes to, at ``t`` (the start of the next step; kept
            for second-order integrators, ``None`` until the first step).
        inputs: The signal entering each gain operation at ``t`` (for its trace's next step).
        memo: Per-step caches (feedforward convolution of an unchanged input, recurrent and
            skip/feedback terms read at the same step); never copied by :meth:`map`.
    """

    v: torch.Tensor
    history: History
    traces: dict[str, torch.Tensor] = field(default_factory=dict)
    recorded: torch.Tensor | None = None
    target: torch.Tensor | None = None
    inputs: dict[str, torch.Tensor] = field(default_factory=dict)
    memo: dict = field(default_factory=dict, repr=False)

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> "AreaState":
        """Apply ``fn`` to every tensor (detach, to(device), expand...)."""
        def opt(x):
            return None if x is None else fn(x)

        return AreaState(fn(self.v), self.history.map(fn), {k: fn(v) for k, v in self.traces.items()},
                         opt(self.recorded), opt(self.target), {k: fn(v) for k, v in self.inputs.items()})


__all__ = ["AreaState"]

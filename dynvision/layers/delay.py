"""History of an area's output: a ring buffer indexed by absolute step.

Every delayed read in a model (feedforward, recurrent, skip, feedback) goes through
:class:`History`. It stores references to the tensors an area emitted (no copies) in
``length`` slots; slot ``t % length`` holds the output of step ``t``. All slots start filled
with the area's initial output (zeros, or the steady state), so a read from before the first
step returns the resting activity rather than failing: this is what a downstream area sees
while delays are still filling. With ``delay_fill="silent"`` (DynVision's convention) the slots
start as ``None`` instead: nothing has been emitted yet, and the reader leaves the term out.

Example:
    >>> import torch
    >>> h = History(torch.zeros(1), length=3)
    >>> h.write(0, torch.ones(1)); h.write(1, 2 * torch.ones(1))
    >>> h.read(1, delay=1), h.read(1, delay=2)
    (tensor([1.]), tensor([0.]))
"""

from __future__ import annotations

import torch


class History:
    """Ring buffer of one area's emitted output.

    Args:
        initial: The output assumed for every step before the first one (``None``: nothing
            was emitted).
        length: Number of slots; must exceed the longest delay read from it.
    """

    __slots__ = ("slots", "length")

    def __init__(self, initial: torch.Tensor | None, length: int):
        if length < 1:
            raise ValueError(f"history length must be >= 1, got {length}")
        self.length = int(length)
        self.slots = [initial] * self.length

    def write(self, t: int, value: torch.Tensor | None) -> None:
        """Store the output of step ``t`` (``None``: the area emitted nothing)."""
        self.slots[t % self.length] = value

    def read(self, t: int, delay: int) -> torch.Tensor | None:
        """Return the output of step ``t - delay`` (``delay < length``)."""
        return self.slots[(t - delay) % self.length]

    def map(self, fn) -> "History":
        """Return a history whose slots are ``fn(slot)`` (e.g. detach, move device); empty
        (``None``) slots stay empty."""
        new = History.__new__(History)
        new.length = self.length
        cache: dict[int, torch.Tensor | None] = {}
        for s in self.slots:
            if id(s) not in cache:
                cache[id(s)] = None if s is None else fn(s)
        new.slots = [cache[id(s)] for s in self.slots]
        return new

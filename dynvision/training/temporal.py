"""Static images as sequences on the model's time grid, and which steps the loss counts.

A :class:`Presentation` turns a batch of images ``(B, C, H, W)`` into a sequence
``(B, T, C, H, W)`` of ``dt``-ms steps: ``t_pre`` ms of grey (0.5, the blank screen) while the
network idles, then ``t_stim`` ms in which the image is shown according to a presentation
*pattern* (``"1"``: always on; ``"1011"``: the stimulus period split into four equal blocks,
shown, blank, shown, shown; optionally with the blocks shuffled per batch).

It also says which steps the classification loss counts (the *loss mask*): a step counts when
the image is on and at least ``max(reaction_time, latency)`` has passed since the latest
onset, and, with ``hold`` > 0, in the first ``hold`` ms of grey after the image goes off (a
memory period: the network must still name the digit it no longer sees). ``reaction_time``
(ms) is the "reaction-time mask" of DynVision: the network is not asked to know the answer
right away. ``latency`` is how many steps the stimulus needs to reach the classifier
(:func:`response_latency_steps`, the sum of the feedforward delays along the fastest path):
while delays are still filling, an area reads its sources' resting output, so the logits of
the first ``latency`` steps after an onset reflect the resting network (with a zero state: the
classifier bias alone) and say nothing about the image.

Example:
    >>> import torch
    >>> p = Presentation(dt=2.0, t_pre=4.0, t_stim=8.0, reaction_time=4.0)
    >>> seq, mask = p.present(torch.ones(3, 1, 8, 8))
    >>> seq.shape, seq[0, :, 0, 0, 0].tolist()
    (torch.Size([3, 6, 1, 8, 8]), [0.5, 0.5, 1.0, 1.0, 1.0, 1.0])
    >>> mask.tolist()
    [False, False, False, False, True, True]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from dynvision.dynamics import delay_steps
from dynvision.models.base import BACKGROUND, RecurrentModel


def parse_pattern(pattern: str | Sequence[int] | int) -> str:
    """Normalise a presentation pattern to a string of ``0``/``1`` with at least one ``1``.

    Args:
        pattern: ``"1011"``, ``[1, 0, 1, 1]`` or ``(True, False)``. An int is refused
            (``1011`` and ``0011`` would be indistinguishable).

    Raises:
        ValueError: Empty, not made of 0/1, or never on.

    Example:
        >>> parse_pattern([1, 0, 1]), parse_pattern("10")
        ('101', '10')
    """
    if isinstance(pattern, (int, float)) and not isinstance(pattern, bool):
        raise ValueError(f"give the presentation pattern as a string such as '1011', not the number "
                         f"{pattern!r} (leading zeros would be lost)")
    text = pattern if isinstance(pattern, str) else "".join(str(int(v)) for v in pattern)
    if not text or set(text) - {"0", "1"}:
        raise ValueError(f"presentation pattern must be a non-empty string of 0 and 1 (e.g. '1', '1011'), "
                         f"got {pattern!r}")
    if "1" not in text:
        raise ValueError(f"presentation pattern {pattern!r} never shows the stimulus; it needs at least one '1'")
    return text


def response_latency_steps(model: RecurrentModel) -> int:
    """Steps from a change at the input to the first change in the logits.

    A frame shown over ``[t, t + dt)`` first changes V1 at ``t + tin + dt`` (the input delay, then
    one step; see the time convention in :mod:`dynvision.dynamics`); then the fastest path through the feedforward
    delays (``tff`` of each area) and the skip connections (their own ``tsk``) adds its delays.
    Feedback and recurrence only add slower paths.

    Example:
        >>> from dynvision.models import create_model
        >>> m = create_model("DyRCNNx4", input_dims=(4, 1, 16, 16), tff=2.0, dt=2.0, width=0.1,
        ...                  skip=False)
        >>> response_latency_steps(m)  # one step to act, then four areas one step each
        5
        >>> skip = create_model("DyRCNNx4", input_dims=(4, 1, 16, 16), tff=2.0, dt=2.0, width=0.1)
        >>> response_latency_steps(skip)  # V1 -> V4 and V2 -> IT skips (tsk=0) cut two steps
        3
    """
    names = list(model.areas.keys())
    out_delay = {n: (a.tff_steps if "delay" in getattr(a, "operations", ()) else 0)
                 for n, a in model.areas.items()}
    reach = {names[0]: 1 + getattr(getattr(model, "input_stage", None), "delay_steps", 0)}
    for i, name in enumerate(names[1:], start=1):
        best = reach[names[i - 1]] + out_delay[names[i - 1]]
        for conn in model.connections:
            if conn.kind == "skip" and conn.target == name and conn.source in reach:
                best = min(best, reach[conn.source] + conn.delay)
        reach[name] = best
    return reach[names[-1]] + out_delay[names[-1]]


@dataclass(frozen=True)
class Presentation:
    """How a static image is shown over time, and which steps the loss counts.

    Args:
        dt: Step of the model's time grid (ms).
        t_pre: Grey before the stimulus (ms, a multiple of ``dt``): idle steps in which the
            network settles; they never count in the loss.
        t_stim: Stimulus period (ms, a multiple of ``dt``, at least one step).
        pattern: On/off blocks over the stimulus period (see :func:`parse_pattern`); the
            period is split into ``len(pattern)`` equal blocks of whole steps.
        shuffle_pattern: Permute the pattern's blocks anew for every batch.
        reaction_time: Time after each onset (ms) before the loss counts a step.
        latency_steps: Steps the stimulus needs to reach the logits (see
            :func:`response_latency_steps`); the loss also ignores these after each onset.
        hold: Time after each offset (ms) in which the loss still counts (a memory period;
            needs a pattern with an off block after an on block, e.g. ``"110"``). Only steps
            after an on block that counted are held.
        background: Luminance of the grey screen.

    Example:
        >>> p = Presentation(dt=2.0, t_stim=8.0, pattern="10")
        >>> p.on_steps().tolist()
        [True, True, False, False]
    """

    dt: float = 2.0
    t_pre: float = 0.0
    t_stim: float = 20.0
    pattern: str = "1"
    shuffle_pattern: bool = False
    reaction_time: float = 0.0
    latency_steps: int = 0
    hold: float = 0.0
    background: float = BACKGROUND

    def __post_init__(self):
        object.__setattr__(self, "pattern", parse_pattern(self.pattern))
        delay_steps(self.t_pre, self.dt, "t_pre")  # raises unless t_pre is whole steps
        if self.n_stim < 1:
            raise ValueError(f"t_stim={self.t_stim:g} ms gives no stimulus step at dt={self.dt:g} ms")
        if len(self.pattern) > self.n_stim:
            raise ValueError(f"pattern {self.pattern!r} has {len(self.pattern)} blocks but t_stim={self.t_stim:g} "
                             f"ms is only {self.n_stim} steps of dt={self.dt:g} ms; lengthen t_stim or shorten "
                             f"the pattern")
        if not (self.reaction_time >= 0 and math.isfinite(self.reaction_time)):
            raise ValueError(f"reaction_time must be >= 0 ms, got {self.reaction_time!r}")
        if not (self.hold >= 0 and math.isfinite(self.hold)):
            raise ValueError(f"hold must be >= 0 ms, got {self.hold!r}")
        if int(self.latency_steps) < 0:
            raise ValueError(f"latency_steps must be >= 0, got {self.latency_steps!r}")
        if not 0.0 <= self.background <= 1.0:
            raise ValueError(f"background must be a luminance in [0, 1], got {self.background!r}")

    @classmethod
    def for_model(cls, model: RecurrentModel, t_pre: float = 0.0, t_stim: float | None = None,
                  **kwargs) -> "Presentation":
        """A presentation on ``model``'s grid with its response latency.

        Args:
            model: Gives ``dt`` and the latency.
            t_pre: Grey before the stimulus (ms).
            t_stim: Stimulus period (ms); default: the rest of the model's ``input_dims``
                steps, so the sequence has ``input_dims[0]`` steps in all.
            **kwargs: Other fields (``pattern``, ``reaction_time``...).

        Example:
            >>> from dynvision.models import create_model
            >>> m = create_model("DyRCNNx2", input_dims=(10, 1, 8, 8), dt=2.0)
            >>> Presentation.for_model(m, t_pre=6.0).n_steps
            10
        """
        dt = float(model.dt)
        if t_stim is None:
            t_stim = model.input_dims[0] * dt - float(t_pre)
            if t_stim < dt:
                raise ValueError(f"t_pre={t_pre:g} ms leaves no stimulus step of the model's "
                                 f"{model.input_dims[0]} steps of {dt:g} ms; give t_stim or a smaller t_pre")
        return cls(dt=dt, t_pre=float(t_pre), t_stim=float(t_stim),
                   latency_steps=response_latency_steps(model), **kwargs)

    # ------------------------------------------------------------------------------------------
    @property
    def n_pre(self) -> int:
        """Idle (grey) steps before the stimulus period."""
        return delay_steps(self.t_pre, self.dt, "t_pre")

    @property
    def n_stim(self) -> int:
        """Steps of the stimulus period."""
        return delay_steps(self.t_stim, self.dt, "t_stim")

    @property
    def n_steps(self) -> int:
        """Steps of the whole sequence."""
        return self.n_pre + self.n_stim

    @property
    def hold_steps(self) -> int:
        """Steps after an offset that the loss still counts (``hold`` rounded to whole steps)."""
        return math.ceil(self.hold / self.dt - 1e-9)

    @property
    def wait_steps(self) -> int:
        """Steps after an onset that the loss ignores: ``max(reaction time, latency)``."""
        reaction = math.ceil(self.reaction_time / self.dt - 1e-9)
        return max(reaction, int(self.latency_steps))

    def on_steps(self, generator: torch.Generator | None = None, shuffle: bool | None = None) -> torch.Tensor:
        """Boolean ``(n_steps,)``: whether the image is on at each step.

        Args:
            generator: Random source of the shuffled pattern.
            shuffle: Override ``shuffle_pattern`` (e.g. ``False`` for evaluation).
        """
        blocks = torch.tensor([c == "1" for c in self.pattern])
        if (self.shuffle_pattern if shuffle is None else shuffle) and len(blocks) > 1:
            blocks = blocks[torch.randperm(len(blocks), generator=generator)]
        index = torch.arange(self.n_stim) * len(blocks) // self.n_stim
        return torch.cat([torch.zeros(self.n_pre, dtype=torch.bool), blocks[index]])

    def loss_mask(self, on: torch.Tensor) -> torch.Tensor:
        """Boolean ``(T,)``: steps the loss counts, given the on/off steps ``on``.

        A step counts if the image is on and at least :attr:`wait_steps` steps have passed
        since the latest onset, or if it lies within :attr:`hold_steps` after an offset that
        ended an on block in which some step counted.

        Example:
            >>> p = Presentation(dt=1.0, t_stim=6.0, pattern="101", reaction_time=1.0)
            >>> p.loss_mask(p.on_steps()).tolist()
            [False, True, False, False, False, True]
            >>> q = Presentation(dt=1.0, t_stim=6.0, pattern="110", hold=1.0)  # a 1 ms memory period
            >>> q.loss_mask(q.on_steps()).tolist()
            [True, True, True, True, True, False]
        """
        on = on.bool()
        steps = torch.arange(len(on))
        none = torch.full_like(steps, -1)
        onset = on & ~torch.cat([torch.zeros(1, dtype=torch.bool), on[:-1]])
        last_onset = torch.cummax(torch.where(onset, steps, none), dim=0).values
        counted = on & (last_onset >= 0) & (steps - last_onset >= self.wait_steps)
        if self.hold_steps == 0:
            return counted
        # the latest step that counted, carried forward: the off steps within hold_steps of an
        # offset whose on block counted (its last on step counted) are held
        last_counted = torch.cummax(torch.where(counted, steps, none), dim=0).values
        offset_at = torch.cummax(torch.where(~on & torch.cat([torch.zeros(1, dtype=torch.bool), on[:-1]]),
                                             steps, none), dim=0).values
        held = ~on & (offset_at >= 0) & (last_counted == offset_at - 1) & (steps - offset_at < self.hold_steps)
        return counted | held

    def sequence(self, images: torch.Tensor, on: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` images -> ``(B, T, C, H, W)``: the image where ``on``, grey elsewhere."""
        if images.ndim != 4:
            raise ValueError(f"expected images (batch, channels, height, width), got shape {tuple(images.shape)}")
        gate = on.to(images.device).view(1, -1, 1, 1, 1)
        grey = torch.full((), self.background, dtype=images.dtype, device=images.device)
        return torch.where(gate, images.unsqueeze(1), grey)

    def present(self, images: torch.Tensor, generator: torch.Generator | None = None,
                shuffle: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The sequence ``(B, T, C, H, W)`` and its loss mask ``(T,)`` for a batch of images."""
        on = self.on_steps(generator, shuffle)
        return self.sequence(images, on), self.loss_mask(on)

    def valid_steps(self) -> int:
        """Steps the loss counts with the unshuffled pattern (raises if none do)."""
        n = int(self.loss_mask(self.on_steps(shuffle=False)).sum())
        if n == 0:
            raise ValueError(
                f"no step counts in the loss: every stimulus block of pattern {self.pattern!r} "
                f"({self.n_stim} steps) is shorter than the wait of {self.wait_steps} steps "
                f"(reaction_time={self.reaction_time:g} ms, latency={self.latency_steps} steps); "
                f"lengthen t_stim or shorten reaction_time / the delays"
            )
        return n

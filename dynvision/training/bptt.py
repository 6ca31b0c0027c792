"""One pass over a sequence: loss over the masked steps, truncated backpropagation through time.

:func:`run_sequence` runs a model over ``(B, T, C, H, W)`` in pieces:

1. the idle steps (``n_pre``, grey before the stimulus) run without gradient: the network
   settles, and its state is where the stimulus period starts;
2. the stimulus steps run in chunks of ``chunk_steps`` (all at once with ``0``). Between
   chunks the :class:`~dynvision.models.base.ModelState` is detached, so **no gradient
   crosses a chunk border**: a loss term at step ``t`` reaches back at most to the start of
   its chunk (truncated BPTT). Chunks with nothing to learn (no counted step and no activity
   penalty) run without a graph.

The objective is ``mean cross-entropy over the counted steps + activity_weight * mean
activity over the stimulus steps``; each chunk contributes its share (its steps' sum divided
by the totals), so the chunk terms add up to the objective exactly. With ``rest_weight > 0``
the objective also counts ``rest_weight * mean activity over the last rest_steps idle steps``:
the resting (blank-screen, spontaneous) activity. Those steps run with gradient, as a chunk of
their own, so the penalty reaches the biases and weights that set the resting level; the idle
steps before them still run without gradient.

With ``backward_per_chunk=True`` each chunk's share is back-propagated as soon as the chunk
ends and its graph is freed (memory grows with ``chunk_steps``, not with ``T``); with
``False`` the shares are summed and back-propagated once at the end. Because chunk graphs
do not overlap, both give the same gradients; the single backward is what data-parallel
training (DDP, which synchronises gradients once per forward) needs.

Example:
    >>> import torch
    >>> from dynvision.models import create_model
    >>> model = create_model("DyRCNNx2", n_classes=3, input_dims=(6, 1, 8, 8), width=0.1)
    >>> x, y = torch.rand(2, 6, 1, 8, 8), torch.tensor([0, 2])
    >>> mask = torch.tensor([False, False, True, True, True, True])
    >>> result = run_sequence(model, x, y, mask, chunk_steps=2, backward=torch.Tensor.backward)
    >>> result.n_chunks, result.logits.shape, model.classifier.weight.grad is not None
    (3, torch.Size([2, 6, 3]), True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from dynvision.models.base import ModelState, RecurrentModel
from dynvision.training.objectives import (
    accuracy_per_step,
    activity_per_step,
    cross_entropy_per_step,
    mean_square,
)


@dataclass
class SequenceResult:
    """What :func:`run_sequence` returns (all tensors detached).

    Attributes:
        logits: ``(B, T, K)`` logits of every step.
        mask: ``(T,)`` the steps the loss counted.
        loss: The objective (cross-entropy + weighted activity + weighted resting activity).
        cross_entropy: Mean cross-entropy over the counted steps.
        activity: Mean activity (mean square of the recorded areas) over the stimulus
            steps, or ``None`` when not measured.
        rest: Mean activity over the penalised idle steps, or ``None`` without a rest penalty.
        accuracy_last: Accuracy at the last step.
        accuracy_valid: Accuracy averaged over the counted steps.
        state: The state after the last step.
        n_chunks: Pieces the sequence ran in (idle part included).
    """

    logits: torch.Tensor
    mask: torch.Tensor
    loss: torch.Tensor
    cross_entropy: torch.Tensor
    activity: torch.Tensor | None
    accuracy_last: torch.Tensor
    accuracy_valid: torch.Tensor
    state: ModelState
    n_chunks: int
    rest: torch.Tensor | None = None

    def metrics(self) -> dict[str, float]:
        """The scalars as floats (``activity`` only when measured)."""
        out = {"loss": self.loss, "cross_entropy": self.cross_entropy, "acc_last": self.accuracy_last,
               "acc_valid": self.accuracy_valid}
        if self.activity is not None:
            out["activity"] = self.activity
        if self.rest is not None:
            out["rest_activity"] = self.rest
        return {k: float(v) for k, v in out.items()}


def chunk_bounds(n_pre: int, n_steps: int, chunk_steps: int) -> list[tuple[int, int, bool]]:
    """``(start, stop, idle)`` of each piece: the idle part, then chunks of the rest.

    Example:
        >>> chunk_bounds(2, 7, 2)
        [(0, 2, True), (2, 4, False), (4, 6, False), (6, 7, False)]
    """
    if chunk_steps < 0:
        raise ValueError(f"chunk_steps must be >= 0 (0: no truncation), got {chunk_steps}")
    if not 0 <= n_pre < n_steps:
        raise ValueError(f"n_pre={n_pre} idle steps leave no stimulus step in a sequence of {n_steps}")
    bounds = [(0, n_pre, True)] if n_pre else []
    size = chunk_steps or n_steps - n_pre
    bounds += [(a, min(a + size, n_steps), False) for a in range(n_pre, n_steps, size)]
    return bounds


def run_sequence(model: RecurrentModel, sequence: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor, *,
                 n_pre: int = 0, chunk_steps: int = 0, activity_weight: float = 0.0,
                 rest_weight: float = 0.0, rest_steps: int = 5, activity_areas: Sequence[str] | None = None,
                 measure_activity: bool = False,
                 backward: Callable[[torch.Tensor], None] | None = None, backward_per_chunk: bool = True,
                 state: ModelState | None = None) -> SequenceResult:
    """Run ``model`` over ``sequence``, computing (and optionally back-propagating) the objective.

    Args:
        model: Any dynvision model.
        sequence: ``(B, T, C, H, W)`` stimulus.
        labels: ``(B,)`` class indices.
        mask: ``(T,)`` boolean, the steps the cross-entropy counts.
        n_pre: Leading idle steps, run without gradient (but for the last ``rest_steps`` of
            them under a resting-activity penalty).
        chunk_steps: Truncated-BPTT window in steps (``0``: the whole stimulus period).
        activity_weight: Weight of the activity penalty (``0``: off).
        rest_weight: Weight of the resting-activity penalty (``0``: off); needs ``n_pre > 0``.
        rest_steps: The last idle steps the resting penalty counts and back-propagates through
            (at most ``n_pre``).
        activity_areas: Areas whose activity is penalised (default: all).
        measure_activity: Measure the activity even when its weight is 0 (for logging).
        backward: Called with each loss to back-propagate (e.g. ``torch.Tensor.backward``
            or Lightning's ``manual_backward``); ``None`` evaluates only.
        backward_per_chunk: Back-propagate every chunk as it ends (else once at the end).
        state: Starting state (default: zeros).

    Raises:
        ValueError: Shapes disagree, or there is nothing to learn from (no counted step and
            no activity penalty) while ``backward`` is given.
    """
    batch, steps = sequence.shape[:2]
    mask = torch.as_tensor(mask, dtype=torch.bool, device=sequence.device)
    if mask.shape != (steps,):
        raise ValueError(f"mask must have one entry per step ({steps}), got shape {tuple(mask.shape)}")
    if activity_weight < 0:
        raise ValueError(f"activity_weight must be >= 0, got {activity_weight}")
    if rest_weight < 0:
        raise ValueError(f"rest_weight must be >= 0, got {rest_weight}")
    if rest_weight > 0 and (n_pre == 0 or rest_steps < 1):
        raise ValueError(f"rest_weight={rest_weight} penalises the resting activity of the idle steps, but there "
                         f"are none to penalise (n_pre={n_pre}, rest_steps={rest_steps}); give t_pre > 0")
    n_valid = int(mask.sum())
    penalise = activity_weight > 0
    rest_steps = min(rest_steps, n_pre) if rest_weight > 0 else 0
    if backward is not None and n_valid == 0 and not penalise and not rest_steps:
        raise ValueError("no step counts in the loss (the mask is all False) and there is no activity "
                         "penalty: nothing to learn from this sequence")
    record = None
    areas = model.area_names if activity_areas is None else list(activity_areas)
    if penalise or measure_activity:
        record = {name: mean_square for name in areas}
    bounds = chunk_bounds(n_pre, steps, chunk_steps)
    if rest_steps:  # the idle part's last steps become a chunk that learns the resting level
        bounds = ([(0, n_pre - rest_steps, True)] if n_pre > rest_steps else []) + \
            [(n_pre - rest_steps, n_pre, True)] + bounds[1:]
    n_active = steps - n_pre
    ce_total, act_total, rest_total, pending = 0.0, 0.0, None, None
    logits, n_chunks = [], 0
    for start, stop, idle in bounds:
        part = mask[start:stop]
        rest = idle and stop == n_pre and bool(rest_steps)
        learn = backward is not None and ((not idle and (bool(part.any()) or penalise)) or rest)
        with torch.set_grad_enabled(learn):
            rec = {name: mean_square for name in areas} if rest else (None if idle else record)
            out = model.run(sequence[:, start:stop], state, record=rec)
            ce = cross_entropy_per_step(out.logits, labels)[part].sum() / max(n_valid, 1)
            objective = ce
            if rest:
                resting = activity_per_step(out.recordings).mean()
                rest_total = resting.detach()
                objective = objective + rest_weight * resting
            elif record is not None and not idle:
                act = activity_per_step(out.recordings).sum() / n_active
                act_total += act.detach()
                if penalise:
                    objective = objective + activity_weight * act
        ce_total += ce.detach()
        if learn:
            if backward_per_chunk:
                backward(objective)
            else:
                pending = objective if pending is None else pending + objective
        state = out.state.detach()
        logits.append(out.logits.detach())
        n_chunks += 1
    if pending is not None:
        backward(pending)
    logits = torch.cat(logits, dim=1)
    acc = accuracy_per_step(logits, labels)
    ce_total = torch.as_tensor(ce_total) if n_valid else torch.tensor(float("nan"))
    activity = torch.as_tensor(act_total) if record is not None else None
    loss = (ce_total if n_valid else torch.tensor(0.0)) + (activity_weight * activity if penalise else 0.0)
    if rest_total is not None:
        loss = loss + rest_weight * rest_total
    return SequenceResult(
        logits=logits, mask=mask, loss=torch.as_tensor(loss), cross_entropy=ce_total, activity=activity,
        accuracy_last=acc[-1], accuracy_valid=acc[mask].mean() if n_valid else torch.tensor(float("nan")),
        state=state, n_chunks=n_chunks, rest=rest_total,
    )

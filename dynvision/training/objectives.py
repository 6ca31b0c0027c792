"""Per-step training objectives and metrics on logits ``(B, T, K)``.

Everything here returns one value per time step, so that a loss mask (which steps count) and
truncated BPTT (which steps are in the current chunk) can be applied by indexing:

- :func:`cross_entropy_per_step`: batch-mean cross-entropy at every step;
- :func:`accuracy_per_step`: fraction of correct top-1 guesses at every step;
- :func:`mean_square`: the recording reducer of the activity penalty, ``(B, C, H, W) -> (B,)``,
  passed to ``model.run(..., record={area: mean_square})`` so only one number per sample and
  step is kept;
- :func:`activity_per_step`: the activity penalty per step from such recordings.

Example:
    >>> import torch
    >>> logits = torch.tensor([[[2.0, 0.0], [0.0, 2.0]]])  # one sample, two steps
    >>> accuracy_per_step(logits, torch.tensor([1])).tolist()
    [0.0, 1.0]
"""

from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F


def _check(logits: torch.Tensor, labels: torch.Tensor) -> None:
    if logits.ndim != 3:
        raise ValueError(f"expected logits (batch, time, classes), got shape {tuple(logits.shape)}")
    if labels.shape != logits.shape[:1]:
        raise ValueError(f"expected one label per sample ({logits.shape[0]}), got labels of shape "
                         f"{tuple(labels.shape)}")


def cross_entropy_per_step(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Batch-mean cross-entropy at each step: ``(B, T, K), (B,) -> (T,)`` (computed in float32).

    Example:
        >>> cross_entropy_per_step(torch.zeros(4, 3, 2), torch.zeros(4, dtype=torch.long)).shape
        torch.Size([3])
    """
    _check(logits, labels)
    b, t, k = logits.shape
    per_sample = F.cross_entropy(logits.float().reshape(b * t, k), labels.repeat_interleave(t), reduction="none")
    return per_sample.view(b, t).mean(dim=0)


def accuracy_per_step(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Fraction of samples whose top logit is the label, at each step: ``(T,)``."""
    _check(logits, labels)
    return (logits.argmax(dim=-1) == labels.unsqueeze(1)).float().mean(dim=0)


def mean_square(x: torch.Tensor) -> torch.Tensor:
    """Mean squared activity of each sample: ``(B, ...) -> (B,)`` (a recording reducer).

    Example:
        >>> mean_square(torch.full((2, 3, 4, 4), 2.0)).tolist()
        [4.0, 4.0]
    """
    return x.float().flatten(1).pow(2).mean(dim=1)


def activity_per_step(recordings: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Mean over areas and samples of recordings ``{area: (B, T)}`` made with :func:`mean_square`.

    Example:
        >>> activity_per_step({"V1": torch.ones(2, 3), "V2": 3 * torch.ones(2, 3)}).tolist()
        [2.0, 2.0, 2.0]
    """
    if not recordings:
        raise ValueError("no recordings: record at least one area to compute the activity penalty")
    return torch.stack([r.mean(dim=0) for r in recordings.values()]).mean(dim=0)

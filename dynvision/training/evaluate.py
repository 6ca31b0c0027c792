"""Evaluate a model on a labelled dataset, and rebuild models from training checkpoints.

Both work without Lightning: :func:`evaluate` runs plain batches through
:func:`~dynvision.training.bptt.run_sequence`, and :func:`model_from_checkpoint` reads the
model name and keywords that :class:`~dynvision.training.module.DynVisionModule` saved as
hyperparameters.

Example:
    >>> import torch
    >>> from torch.utils.data import TensorDataset
    >>> from dynvision.models import create_model
    >>> model = create_model("DyRCNNx2", n_classes=2, input_dims=(4, 1, 8, 8), width=0.1)
    >>> ds = TensorDataset(torch.rand(6, 1, 8, 8), torch.tensor([0, 1] * 3))
    >>> metrics = evaluate(model, ds, batch_size=4)
    >>> metrics["n"], len(metrics["acc_per_step"])
    (6, 4)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import torch
from torch.utils.data import DataLoader, Dataset

from dynvision.models import RecurrentModel
from dynvision.training.bptt import run_sequence
from dynvision.training.objectives import accuracy_per_step, cross_entropy_per_step
from dynvision.training.temporal import Presentation


@torch.no_grad()
def evaluate(model: RecurrentModel, data: Dataset | Iterable, presentation: Presentation | None = None, *,
             batch_size: int = 256, device: torch.device | str | None = None) -> dict[str, Any]:
    """Accuracy and cross-entropy of ``model`` on ``data`` shown by ``presentation``.

    Args:
        model: The model (put in eval mode for the call).
        data: A dataset of ``(image, label)`` pairs, or an iterable of ``(images, labels)``
            batches.
        presentation: How images are shown (default: on for the model's
            ``input_dims[0]`` steps, every step counted). The pattern is not shuffled.
        batch_size: Batch size when ``data`` is a dataset.
        device: Where to run (default: the model's device).

    Returns:
        ``n`` (samples), ``acc_last``, ``acc_valid`` (over the counted steps),
        ``cross_entropy`` (over the counted steps) and ``acc_per_step`` (a list, one per step).
    """
    presentation = presentation or Presentation.for_model(model)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    batches = DataLoader(data, batch_size=batch_size, shuffle=False) if isinstance(data, Dataset) else data
    was_training = model.training
    model.eval()
    n, ce_sum, acc_sum = 0, 0.0, None
    mask = None
    try:
        for images, labels in batches:
            images = torch.as_tensor(images, dtype=torch.float32).to(device)
            labels = torch.as_tensor(labels, dtype=torch.long).to(device)
            sequence, mask = presentation.present(images, shuffle=False)
            result = run_sequence(model, sequence, labels, mask, n_pre=presentation.n_pre)
            b = len(labels)
            n += b
            ce_sum += float(cross_entropy_per_step(result.logits, labels)[result.mask].mean()) * b
            acc = accuracy_per_step(result.logits, labels).cpu() * b
            acc_sum = acc if acc_sum is None else acc_sum + acc
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError("no samples to evaluate: the data is empty")
    acc_steps = acc_sum / n
    return {"n": n, "acc_last": float(acc_steps[-1]), "acc_valid": float(acc_steps[mask.cpu()].mean()),
            "cross_entropy": ce_sum / n, "acc_per_step": [round(float(a), 6) for a in acc_steps]}


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a training checkpoint (tensors and plain values only: ``weights_only=True``)."""
    return torch.load(os.fspath(path), map_location="cpu", weights_only=True)


def model_from_checkpoint(path: str | os.PathLike) -> RecurrentModel:
    """The model saved in a :class:`~dynvision.training.module.DynVisionModule` checkpoint.

    Args:
        path: A ``.ckpt`` file written by Lightning's ``ModelCheckpoint``.

    Returns:
        The rebuilt model with the checkpoint's weights, in eval mode.

    Raises:
        FileNotFoundError: No such file.
        ValueError: The file is not a readable checkpoint, or was not written by ``DynVisionModule``.

    Example:
        >>> model = model_from_checkpoint("results/train/checkpoints/last.ckpt")  # doctest: +SKIP
    """
    from dynvision.models.sources import load_model

    return load_model(Path(path))  # the one resolver of models (see dynvision.models.sources)

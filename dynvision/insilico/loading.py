"""One name for a model to analyse: a pretrained name, a registered name, a checkpoint or a folder.

:func:`load_model` resolves, in this order:

- an existing file: a :class:`~dynvision.training.readout.ReadoutModel` file (``save()``), or a
  Lightning checkpoint written by ``dynvision train``
  (:func:`~dynvision.training.evaluate.model_from_checkpoint`);
- an existing folder: a training run (``checkpoints/best.ckpt``, else ``last.ckpt``) or a
  pretrained-model folder (``model.pt`` + ``config.json``);
- a shipped pretrained name (``dynvision.create_model(model, pretrained=name)``);
- a registered model name (an untrained model, initialised from ``seed``).

Example:
    >>> load_model("dyrcnnx4-digits").pretrained_name  # doctest: +SKIP
    'dyrcnnx4-digits'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch



def load_model(spec: Any, seed: int = 0, **kwargs: Any):
    """The model named by ``spec`` (see the module docstring), in evaluation mode.

    Everything but a readout-model file goes through the one resolver of the package,
    :func:`dynvision.models.load_model`.

    Args:
        spec: A model, a path, a pretrained name or a registered name.
        seed: Seed of an untrained model's weights.
        **kwargs: Constructor keywords (registered names) or dynamics overrides (pretrained).

    Raises:
        UnknownNameError: Neither a path, a pretrained name nor a registered model.
        ValueError: A file or folder that holds no dynvision model.
    """
    from dynvision.models import load_model as resolve

    if isinstance(spec, torch.nn.Module):
        return spec
    path = Path(os.fspath(spec)).expanduser()
    if path.is_file() and path.suffix not in (".ckpt",):
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(ckpt, dict) and ckpt.get("dynvision") == "readout_model":
            from dynvision.training.readout import ReadoutModel

            return ReadoutModel.load(path)
    return resolve(spec, seed=seed, **kwargs).eval()


def model_label(model) -> str:
    """A short name for a model: its pretrained name, else its registered name."""
    return getattr(model, "pretrained_name", None) or getattr(type(model), "registry_name", type(model).__name__)


__all__ = ["load_model", "model_label"]

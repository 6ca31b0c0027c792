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

import json
import os
from pathlib import Path
from typing import Any

import torch

from dynvision.registry import UnknownNameError, unknown_name_message


def load_model(spec: Any, seed: int = 0, **kwargs: Any):
    """The model named by ``spec`` (see the module docstring), in evaluation mode.

    Args:
        spec: A model, a path, a pretrained name or a registered name.
        seed: Seed of an untrained model's weights.
        **kwargs: Constructor keywords (registered names) or dynamics overrides (pretrained).

    Raises:
        UnknownNameError: Neither a path, a pretrained name nor a registered model.
        ValueError: A file or folder that holds no dynvision model.
    """
    from dynvision.models import create_model, list_models
    from dynvision.models.pretrained import list_pretrained, pretrained_info

    if isinstance(spec, torch.nn.Module):
        return spec
    path = Path(os.fspath(spec)).expanduser()
    if path.is_file():
        return _from_file(path)
    if path.is_dir():
        for name in ("checkpoints/best.ckpt", "checkpoints/last.ckpt", "best.ckpt", "last.ckpt"):
            if (path / name).is_file():
                return _from_file(path / name)
        if (path / "model.pt").is_file() and (path / "config.json").is_file():
            config = json.loads((path / "config.json").read_text())
            model = create_model(config["model"], **{**config["kwargs"], **kwargs})
            model.load_state_dict(torch.load(path / "model.pt", map_location="cpu", weights_only=True))
            model.pretrained_name = path.name
            return model.eval()
        raise ValueError(f"{path} holds no model: expected a training run (checkpoints/best.ckpt or last.ckpt) "
                         f"or a pretrained folder (model.pt and config.json)")
    name = str(spec)
    if name in list_pretrained():
        return create_model(pretrained_info(name)["config"]["model"], pretrained=name, **kwargs)
    if name in list_models():
        with torch.random.fork_rng():
            torch.manual_seed(int(seed))
            return create_model(name, **kwargs).eval()
    raise UnknownNameError(unknown_name_message("model", name, list_models() + list_pretrained())
                           + "; or give a checkpoint file or a training folder")


def _from_file(path: Path):
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(ckpt, dict) and ckpt.get("dynvision") == "readout_model":
        from dynvision.training.readout import ReadoutModel

        return ReadoutModel.load(path)
    if isinstance(ckpt, dict) and "hyper_parameters" in ckpt:
        from dynvision.training.evaluate import model_from_checkpoint

        return model_from_checkpoint(path)
    raise ValueError(f"{path} holds no dynvision model (neither a training checkpoint nor a readout model)")


def model_label(model) -> str:
    """A short name for a model: its pretrained name, else its registered name."""
    return getattr(model, "pretrained_name", None) or getattr(type(model), "registry_name", type(model).__name__)


__all__ = ["load_model", "model_label"]

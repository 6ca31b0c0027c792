"""One way to name a model everywhere: a registered name, a pretrained name, a checkpoint or a folder.

:func:`load_model` is what ``create_model``, ``run_experiment``, the notebooks and every
``dynvision`` command use to turn what a user typed into a model:

- a registered name (``DyRCNNx4``): an untrained model (seeded when ``seed`` is given);
- a pretrained name (``dyrcnnx4-digits``): shipped with the package, or saved by
  ``dynvision train --save-pretrained`` (see :mod:`dynvision.models.pretrained`);
- a training checkpoint (``results/train/checkpoints/best.ckpt``), written by ``dynvision
  train`` / :func:`dynvision.training.train`;
- a training run folder (``results/train``: its ``best.ckpt``, else ``last.ckpt``);
- a pretrained folder (holding ``model.pt`` and ``config.json``).

:func:`describe_model` says what a source is (registry name, label, stored arguments)
without loading weights. Keyword arguments change the stored configuration of a trained
model where the weights still fit (the dynamics: ``dt``, ``tau``, delays...); the label
then says so (``dyrcnnx4-digits[tau=10]``).

Example:
    >>> describe_model("DyRCNNx2").kind
    'registered'
    >>> load_model("results/train", tau=10.0)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from dynvision.models.registry import MODELS
from dynvision.registry import UnknownNameError, unknown_name_message

__all__ = ["ModelSource", "describe_model", "load_model", "read_checkpoint"]

CHECKPOINTS = ("best.ckpt", "last.ckpt")
"""Checkpoints of a training folder, in order of preference."""


@dataclass(frozen=True)
class ModelSource:
    """What a model source names.

    Attributes:
        kind: ``registered``, ``pretrained``, ``checkpoint``, ``training`` or ``folder``.
        model: The registry name of the model class.
        label: How results name the model (the pretrained name, the run folder's name...).
        path: The file or folder the weights come from (``None`` for a registered name).
        kwargs: The stored constructor arguments (empty for a registered name).
    """

    kind: str
    model: str
    label: str
    path: Path | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def _not_found(source: str, root: Any = None) -> UnknownNameError:
    from dynvision.models.pretrained import list_pretrained

    msg = unknown_name_message("model", source, MODELS.list() + list_pretrained(root))
    return UnknownNameError(msg + "; or give a training checkpoint (.ckpt), a training run folder or a "
                                  "pretrained folder")


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or text.endswith((".ckpt", ".pt")) or text.startswith(("~", "."))


def _checkpoint_label(path: Path) -> str:
    """``<run>`` for ``<run>/checkpoints/best.ckpt``, ``<run>-last`` for last.ckpt, else the stem."""
    if path.parent.name == "checkpoints":
        run = path.parent.parent.resolve().name
        return run if path.name == "best.ckpt" else f"{run}-{path.stem}"
    return path.stem


def training_checkpoint(folder: Path) -> Path | None:
    """The checkpoint a training run folder stands for (``best.ckpt``, else ``last.ckpt``)."""
    for name in CHECKPOINTS:
        if (folder / "checkpoints" / name).is_file():
            return folder / "checkpoints" / name
    return None


def describe_model(source: str | os.PathLike, root: str | os.PathLike | None = None) -> ModelSource:
    """Say what ``source`` names, without loading weights (see the module docstring).

    Args:
        source: A registered or pretrained name, or a path.
        root: Pretrained data root (default: see :mod:`dynvision.models.pretrained`).

    Raises:
        UnknownNameError: Not a registered or pretrained name, and not a path.
        FileNotFoundError: A path that does not exist.
        ValueError: A file or folder that holds no dynvision model.
    """
    from dynvision.models.pretrained import list_pretrained, pretrained_info

    text = os.fspath(source)
    if not isinstance(source, os.PathLike):
        if text in MODELS:
            return ModelSource("registered", text, text)
        if text in list_pretrained(root):
            info = pretrained_info(text, root)
            return ModelSource("pretrained", info["config"]["model"], text, Path(info["path"]),
                               info["config"]["kwargs"])
    path = Path(text).expanduser()
    if path.is_file():
        if path.name == "model.pt" and (path.parent / "config.json").is_file():
            return _folder_source(path.parent)
        name, kwargs, _ = read_checkpoint(path, weights=False)
        return ModelSource("checkpoint", name, _checkpoint_label(path), path, kwargs)
    if path.is_dir():
        if (path / "model.pt").is_file() and (path / "config.json").is_file():
            return _folder_source(path)
        ckpt = training_checkpoint(path)
        if ckpt is not None:
            name, kwargs, _ = read_checkpoint(ckpt, weights=False)
            return ModelSource("training", name, path.resolve().name, ckpt, kwargs)
        raise ValueError(f"{text} is a folder without a model: expected a training run folder "
                         f"(checkpoints/best.ckpt or last.ckpt) or a pretrained folder (model.pt, config.json)")
    if isinstance(source, os.PathLike) or _looks_like_path(text):
        raise FileNotFoundError(f"no model at {text}: the file or folder does not exist")
    raise _not_found(text, root)


def _folder_source(folder: Path) -> ModelSource:
    config = _read_json(folder / "config.json")
    if "model" not in config or "kwargs" not in config:
        raise ValueError(f"{folder / 'config.json'} does not describe a dynvision model (no 'model' and 'kwargs')")
    return ModelSource("folder", config["model"], folder.resolve().name, folder, config["kwargs"])


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not readable JSON ({err})") from None


def read_checkpoint(path: str | os.PathLike, weights: bool = True) -> tuple[str, dict[str, Any], dict | None]:
    """The registry name, constructor arguments and weights in a training checkpoint.

    Args:
        path: A ``.ckpt`` written by :class:`~dynvision.training.module.DynVisionModule`
            (read with ``weights_only=True``: tensors and plain values only).
        weights: Also return the model's ``state_dict`` (else ``None``).

    Raises:
        ValueError: The file is not a readable checkpoint, or holds no dynvision model.
    """
    import torch

    path = Path(path)
    try:
        ckpt = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - truncated, garbled or foreign files all mean: unreadable
        raise ValueError(f"{path} is not a readable checkpoint ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else 'no detail'})") from None
    hp = ckpt.get("hyper_parameters", {}) if isinstance(ckpt, dict) else {}
    if "model" not in hp or "model_kwargs" not in hp or "state_dict" not in ckpt:
        raise ValueError(f"{path} holds no dynvision model (no 'model' and 'model_kwargs' hyperparameters); "
                         f"was it written by dynvision train?")
    state = {k[len("model."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")} \
        if weights else None
    return str(hp["model"]), dict(hp["model_kwargs"]), state


def _canonical(model: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Keywords under their canonical names (``tau`` -> ``tau_ms``), unknown ones refused."""
    return MODELS.get(model).config_class._resolve(kwargs, f"model {model!r}")


def _same(a: Any, b: Any) -> bool:
    """Equal after a JSON round trip (tuples and lists compare equal, 2 and 2.0 too)."""
    return json.loads(json.dumps(a, default=repr)) == json.loads(json.dumps(b, default=repr))


def build_trained(source: ModelSource, state: Mapping[str, Any], overrides: Mapping[str, Any]):
    """Build ``source``'s model with its stored arguments changed by ``overrides``, load ``state``.

    Raises:
        UnknownNameError: An override the model does not take.
        ValueError: An override changes the architecture (the weights no longer fit).
    """
    from dynvision.models.registry import create_model

    stored, given = _canonical(source.model, source.kwargs), _canonical(source.model, overrides)
    changed = {k: v for k, v in given.items() if k not in stored or not _same(v, stored[k])}
    model = create_model(source.model, **{**stored, **given})
    try:
        model.load_state_dict(dict(state))
    except RuntimeError:
        clashes = [f"{k}={v!r} (checkpoint: {stored.get(k)!r})" for k, v in changed.items()]
        raise ValueError(
            f"the weights of {source.label!r} do not fit a {source.model} with {', '.join(clashes) or 'its settings'}: "
            f"these settings change the architecture. Settings of the dynamics (dt, tau, delays, integrator, "
            f"dynamics form) can be changed; for other architectures build an untrained model with create_model"
        ) from None
    shown = {(k[:-3] if k.endswith("_ms") else k): v for k, v in changed.items()}  # tau=10, as typed
    model.pretrained_name = source.label if not changed else \
        f"{source.label}[{','.join(f'{k}={v}' for k, v in shown.items())}]"
    return model.eval()


def load_model(source: Any, *, expected_model: str | None = None, seed: int | None = None,
               root: str | os.PathLike | None = None, **overrides: Any):
    """A model from anything that names one (see the module docstring).

    Args:
        source: A built model (returned as is), a registered or pretrained name, a training
            checkpoint, a training run folder or a pretrained folder.
        expected_model: The registry name the source must hold (``create_model(name,
            pretrained=...)`` passes ``name``).
        seed: Seed of an untrained model's initial weights (the global random state is
            left untouched); ``None`` draws from the global state.
        root: Pretrained data root (default: see :mod:`dynvision.models.pretrained`).
        **overrides: Constructor arguments (for a trained model: changes that keep the
            weights' shapes).

    Raises:
        UnknownNameError: Unknown name or keyword (the valid ones are listed).
        FileNotFoundError: A path that does not exist.
        ValueError: A file that holds no model, another model than ``expected_model``, or
            an override that changes a trained model's architecture.

    Example:
        >>> load_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 8, 8), seed=0).n_classes
        3
    """
    import torch

    from dynvision.models.base import RecurrentModel
    from dynvision.models.registry import create_model

    if isinstance(source, RecurrentModel):
        if overrides:
            raise ValueError(f"model arguments {sorted(overrides)} need a model name, not a built model")
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"model must be a name, a path or a model, got {type(source).__name__}")
    info = describe_model(source, root)
    if expected_model is not None and expected_model != info.model:
        raise ValueError(f"{info.kind} model {info.label!r} is a {info.model}, not a {expected_model}; "
                         f"use create_model({info.model!r}, pretrained={os.fspath(source)!r})")
    if info.kind == "registered":
        if seed is None:
            return create_model(info.model, **overrides)
        with torch.random.fork_rng():
            torch.manual_seed(int(seed))
            return create_model(info.model, **overrides)
    if info.kind in ("checkpoint", "training"):
        _, _, state = read_checkpoint(info.path)
    else:
        state = torch.load(Path(info.path) / "model.pt", map_location="cpu", weights_only=True)
    return build_trained(info, state, overrides)

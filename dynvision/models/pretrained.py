"""Shipped and saved trained models: ``load_pretrained(name)``, ``list_pretrained()``, ``save_pretrained``.

A pretrained model is a folder ``<root>/pretrained/<name>/`` holding

- ``model.pt``: the ``state_dict`` (float32 tensors, read with ``weights_only=True``);
- ``config.json``: ``{"model": registry name, "kwargs": {...all constructor arguments...},
  "dynvision_version": ..., "training": {...how it was trained...}}``;
- ``metrics.json``: its test scores (e.g. ``acc_valid``, ``acc_last``).

Names are looked up in two places, the first match winning:

1. the user data folder :func:`data_root`: ``$DYNVISION_DATA`` when set (an error if that
   folder does not exist), else ``$XDG_DATA_HOME/dynvision`` (``~/.local/share/dynvision``);
   ``dynvision train --save-pretrained NAME`` saves there;
2. the models shipped inside the package (``dynvision/pretrained/``, package data, so an
   installed wheel has them).

Every function takes ``root=`` to use one data folder instead. Loading checks the
configuration: asking for a different model or for keyword values that change the
architecture raises, naming both values. Checkpoints and training folders are loaded by
:func:`dynvision.models.sources.load_model`, which also accepts pretrained names.

Example:
    >>> import tempfile, os
    >>> from dynvision.models import create_model
    >>> root = tempfile.mkdtemp()
    >>> model = create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 8, 8), width=0.1)
    >>> _ = save_pretrained(model, "tiny", {"acc_valid": 0.5}, root=root)
    >>> list_pretrained(root), load_pretrained("tiny", root=root, n_classes=3).n_classes
    (['tiny'], 3)
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Mapping

import torch

from dynvision.models.base import RecurrentModel, config_dict
from dynvision.models.registry import MODELS
from dynvision.registry import UnknownNameError, unknown_name_message

FILES = ("model.pt", "config.json", "metrics.json")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
SHIPPED_ROOT = Path(__file__).resolve().parents[1]
"""The data root of the models shipped with the package (``dynvision/pretrained/``)."""


def data_root() -> Path:
    """The user data folder: ``$DYNVISION_DATA``, else ``$XDG_DATA_HOME/dynvision``.

    Raises:
        FileNotFoundError: ``$DYNVISION_DATA`` names a folder that does not exist.

    Example:
        >>> data_root().name  # doctest: +SKIP
        'dynvision'
    """
    env = os.environ.get("DYNVISION_DATA")
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"DYNVISION_DATA={env} is not a folder: create it, or unset DYNVISION_DATA "
                                    f"to use the default ({_default_data_root()})")
        return path
    return _default_data_root()


def _default_data_root() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base).expanduser() / "dynvision"


def pretrained_root(root: str | os.PathLike | None = None) -> Path:
    """Where :func:`save_pretrained` writes: ``<root or data_root()>/pretrained``."""
    return Path(root).expanduser() / "pretrained" if root is not None else data_root() / "pretrained"


def pretrained_dirs(root: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for pretrained models, first match first.

    Example:
        >>> pretrained_dirs("/x")
        [PosixPath('/x/pretrained')]
    """
    if root is not None:
        return [Path(root).expanduser() / "pretrained"]
    return [data_root() / "pretrained", SHIPPED_ROOT / "pretrained"]


def _found(root: str | os.PathLike | None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for base in pretrained_dirs(root):
        if base.is_dir():
            for p in sorted(base.iterdir()):
                if p.name not in found and (p / "model.pt").is_file() and (p / "config.json").is_file():
                    found[p.name] = p
    return found


def list_pretrained(root: str | os.PathLike | None = None) -> list[str]:
    """Names of the pretrained models available (folders with ``model.pt`` and ``config.json``).

    Example:
        >>> list_pretrained("/nonexistent")
        []
    """
    return sorted(_found(root))


def _folder(name: str, root: str | os.PathLike | None) -> Path:
    found = _found(root)
    if name not in found:
        where = " and ".join(str(p) for p in pretrained_dirs(root))
        raise UnknownNameError(unknown_name_message("pretrained model", name, found)
                               + f" (looked in {where}; set DYNVISION_DATA to use another data folder)")
    return found[name]


def pretrained_info(name: str, root: str | os.PathLike | None = None) -> dict[str, Any]:
    """The stored ``config`` and ``metrics`` of a pretrained model, without loading weights.

    Example:
        >>> pretrained_info("dyrcnnx4-digits")["config"]["model"]
        'DyRCNNx4'
    """
    folder = _folder(name, root)
    metrics_file = folder / "metrics.json"
    return {"name": name, "path": str(folder), "config": json.loads((folder / "config.json").read_text()),
            "metrics": json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}}


def load_pretrained(name: str, expected_model: str | None = None, root: str | os.PathLike | None = None,
                    **overrides: Any) -> RecurrentModel:
    """Build a shipped model and load its trained weights (in eval mode).

    Args:
        name: A name from :func:`list_pretrained`.
        expected_model: Registry name the checkpoint must hold (``create_model(name,
            pretrained=...)`` passes it).
        root: Data root (default: :func:`data_root`).
        **overrides: Constructor keywords to change. Settings that keep the weights' shapes
            (the dynamics: ``dt``, ``tau``, delays, integrator, form...) are applied, so a
            trained model can be studied under other dynamics; settings that change the
            architecture raise, since the trained weights no longer fit.

    Raises:
        UnknownNameError: Unknown pretrained name (the available ones are listed), or an
            unknown keyword of the model.
        ValueError: The checkpoint holds another model, or a keyword changes its architecture.

    Example:
        >>> load_pretrained("dyrcnnx4-digits", tau=10.0).pretrained_name
        'dyrcnnx4-digits[tau=10.0]'
    """
    from dynvision.models.sources import ModelSource, build_trained

    folder = _folder(name, root)
    config = json.loads((folder / "config.json").read_text())
    if expected_model is not None and expected_model != config["model"]:
        raise ValueError(f"pretrained model {name!r} is a {config['model']}, not a {expected_model}; "
                         f"use create_model({config['model']!r}, pretrained={name!r})")
    state = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
    return build_trained(ModelSource("pretrained", config["model"], name, folder, config["kwargs"]), state,
                         overrides)


def save_pretrained(model: RecurrentModel, name: str, metrics: Mapping[str, Any] | None = None,
                    root: str | os.PathLike | None = None, training: Mapping[str, Any] | None = None,
                    overwrite: bool = False) -> Path:
    """Write ``model`` as a pretrained model ``name`` (see the module docstring for the files).

    Args:
        model: A registered model (its configuration is stored).
        name: Folder name (letters, digits, ``_``, ``.``, ``-``).
        metrics: Test scores to store in ``metrics.json``.
        root: Data root (default: :func:`data_root`, the user data folder).
        training: How the model was trained (dataset, presentation, epochs...), stored in
            ``config.json``.
        overwrite: Replace an existing folder's files.

    Returns:
        The folder written.

    Raises:
        FileExistsError: The folder holds a model and ``overwrite`` is false.
    """
    if not _NAME.fullmatch(name or ""):
        raise ValueError(f"pretrained name {name!r} must be letters, digits, '_', '.' or '-'")
    registry_name = getattr(type(model), "registry_name", None)
    if registry_name not in MODELS or getattr(model, "config", None) is None:
        raise TypeError(f"{type(model).__name__} is not a registered dynvision model with a config")
    folder = pretrained_root(root) / name
    if (folder / "model.pt").exists() and not overwrite:
        raise FileExistsError(f"{folder} already holds a model; pass overwrite=True to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    from dynvision import __version__

    config = {"model": registry_name, "kwargs": {k: v for k, v in config_dict(model).items() if k != "model"},
              "dynvision_version": __version__, "torch_version": torch.__version__,
              "training": dict(training or {})}
    state = {k: v.detach().to("cpu", torch.float32) if v.is_floating_point() else v.detach().cpu()
             for k, v in model.state_dict().items()}
    torch.save(state, folder / "model.pt")
    (folder / "config.json").write_text(json.dumps(config, indent=2, default=repr) + "\n")
    (folder / "metrics.json").write_text(json.dumps(dict(metrics or {}), indent=2, default=repr) + "\n")
    return folder


from dynvision.models.sources import describe_model, load_model  # noqa: E402  (one resolver, re-exported here)

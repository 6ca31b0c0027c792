"""Shipped, trained models: ``load_pretrained(name)``, ``list_pretrained()``, ``save_pretrained``.

A pretrained model is a folder ``<data root>/pretrained/<name>/`` holding

- ``model.pt``: the ``state_dict`` (float32 tensors, read with ``weights_only=True``);
- ``config.json``: ``{"model": registry name, "kwargs": {...all constructor arguments...},
  "dynvision_version": ..., "training": {...how it was trained...}}``;
- ``metrics.json``: its test scores (e.g. ``acc_valid``, ``acc_last``).

The data root is ``$DYNVISION_DATA`` when set, else the repository's ``data/`` folder (next
to the ``dynvision`` package). Loading checks the configuration: asking for a different model
or for keyword values that contradict the stored ones raises, naming both values.

Example:
    >>> import tempfile, os
    >>> from dynvision.models import create_model
    >>> root = tempfile.mkdtemp()
    >>> model = create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 8, 8), width=0.1)
    >>> _ = save_pretrained(model, "tiny", {"acc_valid": 0.5}, root=root)
    >>> os.environ["DYNVISION_DATA"] = root
    >>> list_pretrained(), load_pretrained("tiny", n_classes=3).n_classes
    (['tiny'], 3)
    >>> del os.environ["DYNVISION_DATA"]
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Mapping

import torch

from dynvision.models.base import RecurrentModel
from dynvision.models.registry import MODELS, create_model
from dynvision.registry import UnknownNameError, check_kwargs, unknown_name_message

FILES = ("model.pt", "config.json", "metrics.json")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def data_root() -> Path:
    """``$DYNVISION_DATA``, or the ``data/`` folder beside the ``dynvision`` package."""
    env = os.environ.get("DYNVISION_DATA")
    if env:
        return Path(env).expanduser()
    import dynvision

    return Path(dynvision.__file__).resolve().parents[1] / "data"


def pretrained_root(root: str | os.PathLike | None = None) -> Path:
    """The folder holding the pretrained models (``<root or data_root()>/pretrained``)."""
    return Path(root).expanduser() / "pretrained" if root is not None else data_root() / "pretrained"


def list_pretrained(root: str | os.PathLike | None = None) -> list[str]:
    """Names of the pretrained models available (folders with ``model.pt`` and ``config.json``).

    Example:
        >>> list_pretrained("/nonexistent")
        []
    """
    base = pretrained_root(root)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "model.pt").is_file() and (p / "config.json").is_file())


def _folder(name: str, root: str | os.PathLike | None) -> Path:
    available = list_pretrained(root)
    if name not in available:
        where = pretrained_root(root)
        raise UnknownNameError(unknown_name_message("pretrained model", name, available)
                               + f" (looked in {where}; set DYNVISION_DATA to use another data folder)")
    return pretrained_root(root) / name


def pretrained_info(name: str, root: str | os.PathLike | None = None) -> dict[str, Any]:
    """The stored ``config`` and ``metrics`` of a pretrained model, without loading weights.

    Example:
        >>> pretrained_info("default")["config"]["model"]  # doctest: +SKIP
        'DyRCNNx4'
    """
    folder = _folder(name, root)
    metrics_file = folder / "metrics.json"
    return {"name": name, "path": str(folder), "config": json.loads((folder / "config.json").read_text()),
            "metrics": json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}}


def _same(a: Any, b: Any) -> bool:
    """Equal after a JSON round trip (tuples and lists compare equal, 2 and 2.0 too)."""
    return json.loads(json.dumps(a, default=repr)) == json.loads(json.dumps(b, default=repr))


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
        >>> model = load_pretrained("default")  # doctest: +SKIP
    """
    folder = _folder(name, root)
    config = json.loads((folder / "config.json").read_text())
    model_name, kwargs = config["model"], dict(config["kwargs"])
    if expected_model is not None and expected_model != model_name:
        raise ValueError(f"pretrained model {name!r} is a {model_name}, not a {expected_model}; "
                         f"use create_model({model_name!r}, pretrained={name!r})")
    cls = MODELS.get(model_name)
    stored = cls.config_class.from_dict(kwargs)  # older checkpoints spell times without _ms
    overrides = cls.config_class._resolve(overrides, f"model {model_name!r}")
    changed = {k: v for k, v in overrides.items() if not _same(v, getattr(stored, k))}
    model = cls(stored.replace(**overrides))
    state = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state)
    except RuntimeError:
        clashes = [f"{k}={v!r} (checkpoint: {getattr(stored, k)!r})" for k, v in changed.items()]
        raise ValueError(
            f"the weights of pretrained model {name!r} do not fit a {model_name} with {', '.join(clashes)}: "
            f"these settings change the architecture. Settings of the dynamics (dt, tau, delays, integrator, "
            f"dynamics form) can be changed; for other architectures build an untrained model with create_model"
        ) from None
    model.pretrained_name = name if not changed else \
        f"{name}[{','.join(f'{k}={v}' for k, v in changed.items())}]"
    return model.eval()


def save_pretrained(model: RecurrentModel, name: str, metrics: Mapping[str, Any] | None = None,
                    root: str | os.PathLike | None = None, training: Mapping[str, Any] | None = None,
                    overwrite: bool = False) -> Path:
    """Write ``model`` as a pretrained model ``name`` (see the module docstring for the files).

    Args:
        model: A registered model (its ``config`` is stored).
        name: Folder name (letters, digits, ``_``, ``.``, ``-``).
        metrics: Test scores to store in ``metrics.json``.
        root: Data root (default: :func:`data_root`).
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
    if registry_name not in MODELS or not isinstance(getattr(model, "config", None), Mapping):
        raise TypeError(f"{type(model).__name__} is not a registered dynvision model with a config")
    folder = pretrained_root(root) / name
    if (folder / "model.pt").exists() and not overwrite:
        raise FileExistsError(f"{folder} already holds a model; pass overwrite=True to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    from dynvision import __version__

    config = {"model": registry_name, "kwargs": {k: v for k, v in model.config.items() if k != "model"},
              "dynvision_version": __version__, "torch_version": torch.__version__,
              "training": dict(training or {})}
    state = {k: v.detach().to("cpu", torch.float32) if v.is_floating_point() else v.detach().cpu()
             for k, v in model.state_dict().items()}
    torch.save(state, folder / "model.pt")
    (folder / "config.json").write_text(json.dumps(config, indent=2, default=repr) + "\n")
    (folder / "metrics.json").write_text(json.dumps(dict(metrics or {}), indent=2, default=repr) + "\n")
    return folder

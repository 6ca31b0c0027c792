"""Run configurations in YAML: ``dynvision run --config run.yaml``, written back beside the results.

A run configuration holds what ``dynvision run`` takes on the command line::

    experiment: contrast               # a registered experiment
    models: dyrcnnx4-digits            # one model, or a list compared in one result; names,
                                       # checkpoints (.ckpt) or training folders
    parameters:                        # experiment parameters and model arguments, as with --set
      contrasts: [0.2, 0.5, 1.0]
      n_images: 2
      tau: 10
    compare:                           # optional: one model per value of a model argument
      recurrence_type: [full, self]
    out: results                       # results folder (the experiment's subfolder is added)
    figures: reports/figures           # figures folder, or false for none

Values are typed like ``--set`` values, by the parameter they are for (a single value for a
list parameter is a list of one). Options given on the command line win over the file.
Every run writes the configuration it actually ran, with all defaults filled in and paths
made absolute, to ``<out>/<experiment>/run.yaml``: ``dynvision run --config
<out>/<experiment>/run.yaml`` repeats it exactly.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.yaml"
    >>> _ = path.write_text("experiment: contrast\\nparameters: {n_images: 2}\\n")
    >>> read_run_config(path).parameters
    {'n_images': 2}
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from dynvision.cli.params import closest

__all__ = ["KEYS", "RunConfig", "read_run_config", "write_run_config"]

KEYS = ("experiment", "models", "parameters", "model_arguments", "compare", "out", "figures")
"""The keys a run configuration may hold (``model_arguments`` is written back; ``parameters``
may hold model arguments too)."""


@dataclass
class RunConfig:
    """A run configuration (see the module docstring); ``None`` means: not given."""

    experiment: str | None = None
    models: list[str] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    model_arguments: dict[str, Any] = field(default_factory=dict)
    compare: dict[str, list[Any]] = field(default_factory=dict)
    out: str | None = None
    figures: str | bool | None = None
    source: Path | None = None


def read_run_config(path: str | os.PathLike) -> RunConfig:
    """Read and check a run configuration file.

    Raises:
        FileNotFoundError: No such file.
        ValueError: Not YAML, not a mapping, an unknown key (with a did-you-mean) or a value
            of the wrong kind; the message names the file.
    """
    import yaml

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"run configuration {str(path)!r} does not exist" +
                                (" (it is a folder)" if path.is_dir() else ""))
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"run configuration {path} is not valid YAML{where}: "
                         f"{getattr(err, 'problem', None) or err}") from None
    except UnicodeDecodeError:
        raise ValueError(f"run configuration {path} is not a text file") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"run configuration {path} must be a mapping of {', '.join(KEYS)}; "
                         f"got a {type(data).__name__}")
    for key in data:
        if key not in KEYS:
            raise ValueError(f"run configuration {path}: unknown key {key!r}{closest(str(key), KEYS)}; "
                             f"valid keys: {', '.join(KEYS)}")
    models = data.get("models")
    if models is not None:
        models = [models] if isinstance(models, str) else models
        if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
            raise ValueError(f"run configuration {path}: models must be a model name or path, or a list of "
                             f"them; got {data['models']!r}")
    for key in ("parameters", "model_arguments", "compare"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise ValueError(f"run configuration {path}: {key} must be a mapping (name: value); "
                             f"got {data[key]!r}")
    for key in ("experiment", "out"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ValueError(f"run configuration {path}: {key} must be text; got {data[key]!r}")
    figures = data.get("figures")
    if figures is not None and not isinstance(figures, (str, bool)):
        raise ValueError(f"run configuration {path}: figures must be a folder or false; got {figures!r}")
    if figures is True:
        raise ValueError(f"run configuration {path}: figures must be a folder or false; got true")
    compare = data.get("compare") or {}
    for name, values in compare.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"run configuration {path}: compare.{name} must be a list of values; got {values!r}")
    return RunConfig(data.get("experiment"), models, dict(data.get("parameters") or {}),
                     dict(data.get("model_arguments") or {}), dict(compare), data.get("out"), figures, path)


def write_run_config(path: str | os.PathLike, config: Mapping[str, Any], command: str | None = None) -> Path:
    """Write a run configuration (plain values) with a header saying how to repeat the run.

    Example:
        >>> import tempfile, pathlib
        >>> path = write_run_config(pathlib.Path(tempfile.mkdtemp()) / "run.yaml", {"experiment": "contrast"})
        >>> read_run_config(path).experiment
        'contrast'
    """
    import yaml

    from dynvision import __version__
    from dynvision.conventions import jsonable

    path = Path(path)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = [f"# dynvision run configuration, written by dynvision {__version__} on {stamp}",
              f"# repeat this run exactly: dynvision run --config {path.resolve()}"]
    if command:
        header.append(f"# command: {command}")
    body = yaml.safe_dump(jsonable(dict(config)), sort_keys=False, default_flow_style=None, width=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(header) + "\n" + body)
    tmp.replace(path)
    return path

"""Where command-line parameters come from, and their types.

The commands type their values by the parameter they are for (see
:mod:`dynvision.cli.values`): an experiment spec's fields (:func:`experiment_parameters`),
a model's constructor arguments (:func:`model_arguments`) or a notebook's parameters cell
(:func:`notebook_parameter_types`). Each returns ``{name: Param}``; nothing here imports
torch unless a model's arguments are asked for.

Example:
    >>> params = experiment_parameters("contrast")
    >>> params["contrasts"].annotation, params["n_images"].default
    (tuple[float, ...], 4)
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from dynvision.cli.values import type_of_value

__all__ = ["Param", "closest", "experiment_parameters", "function_parameters", "lookup", "model_arguments",
           "notebook_parameter_types"]


@dataclass(frozen=True)
class Param:
    """One parameter: its name, type annotation (``None``: untyped), default, description and the
    default's source text (for notebook parameters)."""

    name: str
    annotation: Any = None
    default: Any = None
    doc: str = ""
    source: str = ""


def function_parameters(fn: Callable) -> dict[str, Param]:
    """The keyword parameters of ``fn`` with their resolved annotations and defaults.

    Parameters written ``X_ms`` are also listed under their bare name ``X`` when ``fn`` is
    decorated with :func:`dynvision.validation.ms_aliases` (the same parameter, in ms).

    Example:
        >>> def f(n: int = 2, *, dt_ms: float = 1.0): ...
        >>> sorted(function_parameters(f))
        ['dt_ms', 'n']
    """
    sig = inspect.signature(fn)
    hints = _hints(fn)
    out: dict[str, Param] = {}
    for name, p in sig.parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = None if p.default is inspect.Parameter.empty else p.default
        annotation = hints.get(name, None if p.annotation is inspect.Parameter.empty else p.annotation)
        out[name] = Param(name, annotation if not isinstance(annotation, str) else None, default)
    for bare, canonical in getattr(fn, "ms_aliases", {}).items():
        if canonical in out and bare not in out:
            out[bare] = dataclasses.replace(out[canonical], name=bare)
    return out


def experiment_parameters(experiment: str) -> dict[str, Param]:
    """The parameters of a registered experiment: spec fields, typed, with defaults and docs.

    Raises:
        UnknownNameError: Unknown experiment (the valid ones are listed).
    """
    from dynvision.experiments.library import EXPERIMENTS

    spec = EXPERIMENTS.get(experiment)
    hints = _hints(spec)
    docs = attribute_docs(spec)
    out = {}
    for f in dataclasses.fields(spec):
        default = f.default if f.default is not dataclasses.MISSING else None
        out[f.name] = Param(f.name, hints.get(f.name), default, docs.get(f.name, ""))
    return out


def model_arguments(model: str) -> dict[str, Param]:
    """The constructor arguments of a registered model (aliases without ``_ms`` included).

    Uses the model's configuration dataclass when the class declares one (``Config``,
    ``config_class``), else the signature of its ``__init__``.

    Raises:
        UnknownNameError: Unknown model name (the valid ones are listed).
    """
    from dynvision.models import MODELS

    cls = MODELS.get(model)
    for attr in ("Config", "config_class", "config_cls"):
        config = getattr(cls, attr, None)
        if isinstance(config, type) and dataclasses.is_dataclass(config):
            hints = _hints(config)
            params = {f.name: Param(f.name, hints.get(f.name),
                                    f.default if f.default is not dataclasses.MISSING else None)
                      for f in dataclasses.fields(config)}
            for bare in [n[:-3] for n in params if n.endswith("_ms") and n[:-3] not in params]:
                params[bare] = dataclasses.replace(params[bare + "_ms"], name=bare)
            return params
    return function_parameters(cls.__init__)


def notebook_parameter_types(notebook: str | Path) -> dict[str, Param]:
    """The parameters a notebook's ``parameters`` cell assigns, typed by their default values.

    A default's type is the parameter's type (see :func:`~dynvision.cli.values.type_of_value`),
    except that a whole-number default takes any number; names assigned an expression are
    untyped.

    Raises:
        FileNotFoundError: The notebook does not exist.
        ValueError: It has no cell tagged ``parameters``, or that cell has a syntax error
            (named with its line).

    Example:
        >>> notebook_parameter_types("notebooks/contrast.ipynb")["n_images"]  # doctest: +SKIP
        Param(name='n_images', annotation=<class 'int'>, default=4, doc='images shown at every contrast')
    """
    from dynvision.notebooks.parameters import notebook_parameters

    out: dict[str, Param] = {}
    for name, info in notebook_parameters(notebook).items():  # the one parser of parameters cells
        source = info.get("default", "")
        try:
            default = ast.literal_eval(source)
        except (ValueError, SyntaxError, TypeError):
            default = None  # an expression: untyped
        annotation = type_of_value(default)
        if annotation is int:  # a whole-number default does not forbid other numbers
            annotation = int | float
        out[name] = Param(name, annotation, default, info.get("help", "") or "", source)
    return out


def lookup(name: str, params: dict[str, Param]) -> Param | None:
    """``params[name]``, or the ``name_ms`` entry for a bare time name (``dt`` -> ``dt_ms``)."""
    return params.get(name) or params.get(f"{name}_ms")


def closest(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choices, or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=2)
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def attribute_docs(cls: type) -> dict[str, str]:
    """Attribute descriptions from the ``Attributes:`` sections of a class and its bases."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        text = klass.__doc__ or ""
        if "Attributes:" not in text:
            continue
        current = None
        for line in text.split("Attributes:", 1)[1].splitlines()[1:]:
            stripped = line.strip()
            if not stripped:
                continue
            if ":" in stripped and line.startswith(" " * 8) and not line.startswith(" " * 12):
                current, _, desc = stripped.partition(":")
                docs[current] = desc.strip()
            elif current:
                docs[current] += " " + stripped
    return docs


def _hints(obj: Any) -> dict[str, Any]:
    """Resolved type hints (``from __future__ import annotations`` strings evaluated)."""
    target = inspect.unwrap(obj) if callable(obj) and not isinstance(obj, type) else obj
    try:
        return typing.get_type_hints(target)
    except Exception:  # noqa: BLE001 - an unresolvable annotation: leave those untyped
        return {}

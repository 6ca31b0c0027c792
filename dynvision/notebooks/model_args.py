"""Sweep a model's constructor arguments (tau, delays, recurrence...) by name, on any notebook.

The experiment notebooks take ``model`` (a registered or pretrained name) and ``model_kwargs``
(constructor arguments, passed to ``create_model`` / ``build_model``). A sweep or run
parameter that is not in a notebook's parameters cell but is an argument of the notebook's
model goes into ``model_kwargs``, so ``sweep(nb, {"tau": [5, 10, 20]}, out)`` (or
``dynvision sweep nb.ipynb --grid tau=5,10,20``) works on every such notebook, with run
folders named ``tau=5``, ``tau=10``... Pretrained models accept the arguments that keep their
weights' shapes (the dynamics: ``dt``, ``tau``, delays, integrator...) and refuse the others
when the notebook builds them.

The model is the run's ``model`` value (swept, fixed, or the notebook's default). Both
spellings of a time work: ``tau`` and ``tau_ms``.

Example:
    >>> split_model_arguments({"model": {}, "model_kwargs": {}}, {"tau": 5, "model": "DyRCNNx2"})
    ({'model': 'DyRCNNx2'}, {'tau': 5})
"""

from __future__ import annotations

import ast
import inspect
from functools import lru_cache
from typing import Any, Mapping

from dynvision.registry import UnknownNameError

MODEL, MODEL_KWARGS = "model", "model_kwargs"


def split_model_arguments(declared: Mapping[str, Any], values: Mapping[str, Any], model: Any = None,
                          notebook: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``values`` into notebook parameters and arguments of the notebook's model.

    Args:
        declared: The notebook's parameters (:func:`~dynvision.notebooks.notebook_parameters`).
        values: Names and values of one run.
        model: The model the run builds (default: ``values["model"]``, else the notebook's
            default ``model``).
        notebook: The notebook's name, for error messages.

    Returns:
        ``(notebook parameters, model arguments)``.

    Raises:
        UnknownNameError: A name is neither a notebook parameter nor (when the notebook takes
            ``model_kwargs``) an argument of the model; the message lists both kinds.

    Example:
        >>> split_model_arguments({"seed": {}}, {"seed": 1})
        ({'seed': 1}, {})
    """
    params = {k: v for k, v in values.items() if k in declared}
    extra = {k: v for k, v in values.items() if k not in declared}
    if not extra:
        return params, {}
    notebook_names = ", ".join(declared) or "(none)"
    of = f" for notebook {notebook!r}" if notebook else ""
    if MODEL_KWARGS not in declared:
        raise UnknownNameError(_unknown(extra, declared) + of + f"; valid parameters (from its 'parameters' cell): "
                               f"{notebook_names}. Model arguments such as tau can be swept only on notebooks "
                               f"that take 'model_kwargs'")
    if model is None:
        model = values.get(MODEL, default_value(declared, MODEL))
    arguments = model_arguments(model)
    bad = [k for k in extra if k not in arguments]
    if bad:
        raise UnknownNameError(_unknown({k: extra[k] for k in bad}, declared, arguments) + of
                               + f"; valid notebook parameters: {notebook_names}; valid arguments of model "
                               f"{model!r}: {', '.join(sorted(arguments))}")
    return params, extra


def merge_model_kwargs(params: Mapping[str, Any], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with ``arguments`` added to its ``model_kwargs`` (a clash raises).

    Example:
        >>> merge_model_kwargs({"model_kwargs": {"width": 0.25}}, {"tau": 5})
        {'model_kwargs': {'width': 0.25, 'tau': 5}}
    """
    if not arguments:
        return dict(params)
    base = dict(params.get(MODEL_KWARGS) or {})
    clash = sorted(set(base) & set(arguments))
    if clash:
        raise ValueError(f"{', '.join(map(repr, clash))} given both as a sweep/run parameter and inside "
                         f"model_kwargs ({base}); give each model argument once")
    return {**params, MODEL_KWARGS: {**base, **arguments}}


def default_value(declared: Mapping[str, Any], name: str) -> Any:
    """The default of parameter ``name`` as a Python value (``None`` if absent or not a literal)."""
    info = declared.get(name)
    if not isinstance(info, Mapping):
        return None
    try:
        return ast.literal_eval(info.get("default", ""))
    except (ValueError, SyntaxError):
        return None


def model_arguments(model: Any) -> frozenset[str]:
    """Constructor arguments of ``model`` (a registered or pretrained name), bare spellings included.

    For a name that is neither (a checkpoint path, ``None``), the arguments of every registered
    model: the notebook's model builder checks the rest.

    Example:
        >>> "tau" in model_arguments("DyRCNNx2") and "recurrence_type" in model_arguments("DyRCNNx2")
        True
    """
    return _arguments(model if isinstance(model, str) else None)


@lru_cache(maxsize=32)
def _arguments(model: str | None) -> frozenset[str]:
    from dynvision.models import MODELS, list_models
    from dynvision.models.pretrained import list_pretrained, pretrained_info

    if model in list_pretrained():
        names = [pretrained_info(model)["config"]["model"]]
    elif model in list_models():
        names = [model]
    else:
        names = list_models()
    return frozenset().union(*(constructor_arguments(MODELS.get(name).__init__) for name in names))


def constructor_arguments(init: Any) -> frozenset[str]:
    """Keyword names ``init`` takes: its parameters, plus the bare spelling of each ``X_ms``.

    Example:
        >>> sorted(constructor_arguments(lambda self, dt_ms=2.0, width=1.0: None))
        ['dt', 'dt_ms', 'width']
    """
    params = [n for n, p in inspect.signature(init).parameters.items()
              if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return frozenset([*params, *(n[:-3] for n in params if n.endswith("_ms")), *getattr(init, "ms_aliases", {})])


def _unknown(extra: Mapping[str, Any], declared: Mapping[str, Any], arguments=()) -> str:
    import difflib

    hints = []
    for name in extra:
        close = difflib.get_close_matches(str(name), [*declared, *arguments], n=1)
        hints.append(repr(name) + (f" (did you mean {close[0]!r}?)" if close else ""))
    return f"unknown parameter{'s' if len(hints) > 1 else ''} {', '.join(hints)}"

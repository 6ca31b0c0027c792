"""What a notebook accepts: its ``parameters`` cell, and values papermill can inject.

papermill injects values in a new cell after the first cell tagged ``parameters`` and only
warns about names that cell does not assign. Here the names are read up front (with
:mod:`ast` for Python notebooks, so ``a = 1; b = 2`` and tuple assignments count, plus
papermill's inspection for defaults and help comments) and unknown names raise, listing the
valid ones.

Example:
    >>> from dynvision.notebooks import notebook_parameters
    >>> notebook_parameters("tests/fixtures/notebooks/add.ipynb")["a"]  # doctest: +SKIP
    {'default': '1', 'type': 'None', 'help': 'first summand'}
"""

from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path
from typing import Any, Mapping

from dynvision.registry import UnknownNameError

_HOW_TO_TAG = (
    "add one: in JupyterLab select the cell that assigns the default values, open the property "
    "inspector (gear icon in the right sidebar) and add the cell tag 'parameters' - or put "
    "'\"tags\": [\"parameters\"]' into that cell's metadata"
)


class MissingParametersCellError(ValueError):
    """A notebook has no cell tagged ``parameters``, so values cannot be injected."""


def notebook_parameters(notebook: str | Path) -> dict[str, dict[str, str]]:
    """The parameters a notebook declares in its cell tagged ``parameters``.

    Python notebooks are parsed with :mod:`ast` (so ``a = 1; b = 2`` on one line and tuple
    assignments count); defaults, types and help comments come from papermill's inspection.

    Args:
        notebook: Path to an ``.ipynb`` file.

    Returns:
        ``{name: {"default": source text, "type": inferred type, "help": comment}}`` in the
        order of the cell.

    Raises:
        FileNotFoundError: The notebook does not exist.
        MissingParametersCellError: No cell is tagged ``parameters``.

    Example:
        >>> list(notebook_parameters("tests/fixtures/notebooks/add.ipynb"))  # doctest: +SKIP
        ['a', 'b', 'fail', 'output_dir']
    """
    import nbformat
    from papermill.translators import papermill_translators

    path = resolve_notebook(notebook)
    nb = nbformat.read(path, as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        raise MissingParametersCellError(f"notebook {str(path)!r} has no cell tagged 'parameters'; "
                                         f"{_HOW_TO_TAG}")
    kernelspec = nb.metadata.get("kernelspec", {})
    language = kernelspec.get("language") or nb.metadata.get("language_info", {}).get("name") or "python"
    try:
        translator = papermill_translators.find_translator(kernelspec.get("name", ""), language)
        inspected = {p.name: p for p in translator.inspect(cell)}
    except Exception:  # noqa: BLE001 - unknown language or unparsable cell: fall back to names only
        inspected = {}
    names = _assigned_names(cell.source) if language == "python" else []
    names += [n for n in inspected if n not in names]
    out = {}
    for name in names:
        p = inspected.get(name)
        out[name] = {"default": p.default if p else "", "type": p.inferred_type_name if p else "None",
                     "help": p.help if p else ""}
    return out


def check_parameters(notebook: str | Path, parameters: Mapping[str, Any]) -> dict[str, dict]:
    """Raise if ``parameters`` holds names the notebook's parameters cell does not assign.

    Args:
        notebook: Path to an ``.ipynb`` file.
        parameters: Names (and values) to inject.

    Returns:
        The declared parameters, as :func:`notebook_parameters` gives them.

    Raises:
        UnknownNameError: Names the unknown parameters and lists the valid ones.

    Example:
        >>> check_parameters("add.ipynb", {"c": 1})  # doctest: +SKIP
        UnknownNameError: unknown parameter 'c' for notebook 'add.ipynb'; valid parameters ...
    """
    declared = notebook_parameters(notebook)
    unknown = [k for k in parameters if k not in declared]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(str(name), list(declared), n=1)
            hints.append(repr(name) + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise UnknownNameError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(hints)} for notebook "
            f"{Path(notebook).name!r}; valid parameters (from its 'parameters' cell): "
            f"{', '.join(declared) or '(none)'}")
    return declared


def resolve_notebook(notebook: str | Path) -> Path:
    """The absolute path of ``notebook``, or ``FileNotFoundError`` naming it."""
    path = Path(notebook).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"notebook {str(notebook)!r} does not exist (resolved to {str(path)!r})")
    return path


def _assigned_names(source: str) -> list[str]:
    """Top-level names assigned in a Python cell (IPython magics and shell lines ignored)."""
    code = "\n".join("" if re.match(r"\s*[%!]", line) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names: list[str] = []

    def add(target: ast.AST) -> None:
        if isinstance(target, ast.Name) and target.id not in names:
            names.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                add(elt)

    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                add(target)
        elif isinstance(stmt, ast.AnnAssign):
            add(stmt.target)
    return names


def to_parameter_value(name: Any, value: Any) -> Any:
    """Convert ``value`` to a type papermill writes as a literal (it would quote others)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [to_parameter_value(name, v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_parameter_value(name, v) for k, v in value.items()}
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy / torch scalars
        return value.item()
    raise TypeError(f"parameter {name!r} has type {type(value).__name__}; notebook parameters can be "
                    f"None, bool, int, float, str, list or dict")

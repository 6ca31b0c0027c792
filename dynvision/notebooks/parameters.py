"""What a notebook accepts: its ``parameters`` cell, and values papermill can inject.

papermill injects values in a new cell after the first cell tagged ``parameters`` and only
warns about names that cell does not assign. Here the names are read up front (with
:mod:`ast` for Python notebooks, so ``a = 1; b = 2`` and tuple assignments count, plus
papermill's inspection for defaults and help comments), so ``run_notebook`` and ``sweep``
refuse unknown names up front and list the valid ones (names of model arguments are routed
into ``model_kwargs`` instead: :mod:`dynvision.notebooks.model_args`). A parameters cell that
does not parse raises :class:`ParametersSyntaxError` naming the notebook, cell and line.

Example:
    >>> from dynvision.notebooks import notebook_parameters
    >>> notebook_parameters("tests/fixtures/notebooks/add.ipynb")["a"]  # doctest: +SKIP
    {'default': '1', 'type': 'None', 'help': 'first summand'}
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any


_HOW_TO_TAG = (
    "add one: in JupyterLab select the cell that assigns the default values, open the property "
    "inspector (gear icon in the right sidebar) and add the cell tag 'parameters' - or put "
    "'\"tags\": [\"parameters\"]' into that cell's metadata"
)


class MissingParametersCellError(ValueError):
    """A notebook has no cell tagged ``parameters``, so values cannot be injected."""


class ParametersSyntaxError(ValueError):
    """A notebook's ``parameters`` cell is not valid Python; the message names the line."""


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
        ParametersSyntaxError: The parameters cell of a Python notebook does not parse.

    Example:
        >>> list(notebook_parameters("tests/fixtures/notebooks/add.ipynb"))  # doctest: +SKIP
        ['a', 'b', 'fail', 'output_dir']
    """
    import nbformat
    from papermill.translators import papermill_translators

    path = resolve_notebook(notebook)
    nb = nbformat.read(path, as_version=4)
    index, cell = next(((i, c) for i, c in enumerate(nb.cells)
                        if "parameters" in c.get("metadata", {}).get("tags", [])), (None, None))
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
    where = f"notebook {str(path)!r}, cell {index + 1}"
    parsed = _python_assignments(cell.source, where) if language == "python" else {}
    names = list(parsed) + [n for n in inspected if n not in parsed]
    out = {}
    for name in names:
        p = inspected.get(name)
        default, comment = parsed.get(name, (p.default if p else "", p.help if p else ""))
        out[name] = {"default": default, "type": p.inferred_type_name if p else "None", "help": comment}
    return out


def resolve_notebook(notebook: str | Path) -> Path:
    """The absolute path of ``notebook``, or ``FileNotFoundError`` naming it."""
    path = Path(notebook).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"notebook {str(notebook)!r} does not exist (resolved to {str(path)!r})")
    return path


def _assigned_names(source: str, where: str = "the parameters cell") -> list[str]:
    """Top-level names assigned in a Python cell (IPython magics and shell lines ignored).

    Raises:
        ParametersSyntaxError: The cell does not parse; names ``where``, the line and its text.
    """
    return list(_python_assignments(source, where))


def _python_assignments(source: str, where: str = "the parameters cell") -> dict[str, tuple[str, str]]:
    """``{name: (source of the value, help comment)}`` of a Python cell's top-level assignments.

    The comment is what follows ``#`` after the value on its last line, so a ``#`` inside a
    string value (``colour = "#f00"  # red``) stays part of the value.

    Raises:
        ParametersSyntaxError: The cell does not parse; names ``where``, the line and its text.
    """
    code = "\n".join("" if re.match(r"\s*[%!]", line) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        lines = source.splitlines()
        text = lines[exc.lineno - 1].strip() if exc.lineno and 0 < exc.lineno <= len(lines) else ""
        raise ParametersSyntaxError(
            f"the parameters cell ({where}) is not valid Python: {exc.msg} at line {exc.lineno}"
            + (f": {text}" if text else "") + "; fix that line in the notebook") from None
    lines = code.splitlines()
    found: dict[str, tuple[str, str]] = {}

    def add(target: ast.AST, value: str, comment: str) -> None:
        if isinstance(target, ast.Name) and target.id not in found:
            found[target.id] = (value, comment)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                add(elt, "", comment)

    for stmt in tree.body:
        if not isinstance(stmt, (ast.Assign, ast.AnnAssign)) or stmt.value is None and isinstance(stmt, ast.Assign):
            continue
        rest = lines[stmt.end_lineno - 1][stmt.end_col_offset:] if stmt.end_lineno <= len(lines) else ""
        comment = rest.partition("#")[2].strip()
        value = (ast.get_source_segment(code, stmt.value) or "") if stmt.value is not None else ""
        for target in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]):
            add(target, value, comment)
    return found


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

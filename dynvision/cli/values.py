"""One coercion of command-line and config-file values, typed by the parameter they are for.

Every ``dynvision`` command types its values here: ``run --set``, ``train --set``,
``notebook run -p``, ``sweep -p/--grid`` and the values of a ``--config`` YAML file. A value
is typed by the annotation of the parameter it is for (an experiment spec field, a model
constructor argument, the default value of a notebook parameter); without one it is read
like a YAML scalar (:func:`parse_value`).

- ``int``/``float``/``bool``/``str``: ``3``, ``0.5``, ``true`` (``false``, ``yes``, ``no``),
  any text (quotes are stripped);
- sequences (``tuple[float, ...]``, ``Sequence[int]``): comma-separated (``0.1,0.5``),
  a ``[flow, list]``, or a single value, which is a list of one (``contrasts=0.5``,
  ``record=V1``: never split into letters);
- mappings: a ``{flow: mapping}``; optional values: ``none``/``null``;
- unions (``float | Mapping[str, float]``): the first member that fits.

A value that fits no member raises :class:`~dynvision.validation.InvalidValueError` naming
the parameter, the value and what was expected.

Example:
    >>> coerce("contrasts", "0.5", tuple[float, ...])
    (0.5,)
    >>> coerce("record", "V1", tuple[str, ...])
    ('V1',)
    >>> coerce("n_images", "abc", int)
    Traceback (most recent call last):
    ...
    dynvision.validation.InvalidValueError: n_images='abc' is invalid: expected a whole number
    >>> coerce_values("tau", "5,10,20", float)
    [5.0, 10.0, 20.0]
"""

from __future__ import annotations

import collections.abc as cabc
import numbers
import re
import types
import typing
from typing import Any

from dynvision.validation import InvalidValueError

__all__ = ["coerce", "coerce_values", "is_sequence_type", "parse_value", "split_top_level", "type_of_value",
           "type_words"]

_INT = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_NONE = ("none", "null", "~")
_TRUE, _FALSE = ("true", "yes", "on"), ("false", "no", "off")
_EMPTY = (None, Any, typing.Any)


def parse_value(text: str) -> Any:
    """Type an untyped command-line value like a YAML scalar (without YAML 1.1's surprises).

    ``true``/``false`` (any case) -> bool, ``none``/``null``/``~`` -> None, integers and
    decimals (``1e-3`` included) -> int/float, ``[...]``/``{...}`` -> list/dict (YAML flow
    syntax), ``'quoted'`` -> the string inside; anything else (``on``, ``no``,
    ``2024-01-01``, ``V1``) stays the string given.

    Example:
        >>> [parse_value(t) for t in ["3", "0.5", "1e-3", "true", "none", "on", "[1, 2]", "'7'", "V1"]]
        [3, 0.5, 0.001, True, None, 'on', [1, 2], '7', 'V1']
    """
    stripped = text.strip()
    low = stripped.lower()
    if low in _NONE:
        return None
    if low in ("true", "false"):
        return low == "true"
    if _INT.fullmatch(stripped):
        return int(stripped)
    if _FLOAT.fullmatch(stripped):
        return float(stripped)
    if _quoted(stripped):
        return stripped[1:-1]
    if stripped[:1] in ("[", "{"):
        value = _flow(stripped)
        if isinstance(value, (list, dict)):
            return value
    return text


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split ``text`` at ``sep`` outside brackets, braces, parentheses and quotes.

    Example:
        >>> split_top_level("{a: 1, b: 2},[3, 4],x")
        ['{a: 1, b: 2}', '[3, 4]', 'x']
    """
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def coerce(name: str, value: Any, annotation: Any = None) -> Any:
    """Type ``value`` (command-line text, or a value read from YAML) for parameter ``name``.

    Args:
        name: The parameter's name (used in errors).
        value: The text given on the command line, or an already typed value (from a YAML
            file); typed values are checked and conformed the same way (a single number for
            a sequence parameter becomes a sequence of one).
        annotation: The parameter's type annotation (``None`` or ``Any``: read the text like
            a YAML scalar, see :func:`parse_value`).

    Returns:
        The typed value; sequences come back as tuples for ``tuple`` annotations and lists
        otherwise.

    Raises:
        InvalidValueError: The value fits no part of the annotation.

    Example:
        >>> coerce("tau", "{V1: 5, IT: 20}", float | dict[str, float])
        {'V1': 5.0, 'IT': 20.0}
        >>> coerce("recurrence_bound", "none", float | None) is None
        True
    """
    try:
        return _coerce(value, annotation)
    except _Mismatch:
        raise InvalidValueError(name, value, type_words(annotation)) from None


def coerce_values(name: str, text: Any, annotation: Any = None) -> list[Any]:
    """Several values of one parameter (a grid, a comparison): ``a,b,c`` or ``[a, b, c]``.

    Each value is typed by ``annotation`` (so for a sequence parameter, ``0.5,1.0`` is two
    values ``[0.5]`` and ``[1.0]``, and ``[[0.5, 1.0], [0.2]]`` is two lists).

    Example:
        >>> coerce_values("seed", "0,1,2", int)
        [0, 1, 2]
        >>> coerce_values("contrasts", "[[0.5, 1.0], [0.2]]", tuple[float, ...])
        [(0.5, 1.0), (0.2,)]
    """
    if isinstance(text, str):
        stripped = text.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            parsed = _flow(stripped)
            items = parsed if isinstance(parsed, list) else split_top_level(stripped)
        else:
            items = split_top_level(stripped)
    elif isinstance(text, (list, tuple)):
        items = list(text)
    else:
        items = [text]
    if not items or any(isinstance(i, str) and not i.strip() for i in items):
        raise InvalidValueError(name, text, "one or more values separated by commas (e.g. 1,2,3)")
    return [coerce(name, item, annotation) for item in items]


def is_sequence_type(annotation: Any) -> bool:
    """Whether ``annotation`` takes a sequence (so commas in a value make one list).

    Example:
        >>> is_sequence_type(tuple[float, ...]), is_sequence_type(float | None)
        (True, False)
    """
    return any(_origin(m) in (list, tuple, cabc.Sequence) for m in _members(annotation))


def type_of_value(value: Any) -> Any:
    """An annotation for a default value (how notebook parameters get their type).

    Example:
        >>> type_of_value([0.1, 1]), type_of_value(3), type_of_value(None)
        (list[float], <class 'int'>, None)
    """
    if value is None:
        return None
    if isinstance(value, (bool, int, float, str)):
        return type(value)
    if isinstance(value, (list, tuple)):
        kinds = {type_of_value(v) for v in value}
        if kinds <= {int, float} and kinds:
            elem = float if float in kinds else int
        elif len(kinds) == 1:
            elem = kinds.pop()
        else:
            elem = Any
        return list[elem] if isinstance(value, list) else tuple[elem, ...]
    if isinstance(value, dict):
        return dict
    return None


def type_words(annotation: Any) -> str:
    """What a value of ``annotation`` looks like, in words (for error messages).

    Example:
        >>> type_words(float | None)
        'a number or none'
    """
    words = []
    for member in _members(annotation):
        origin = _origin(member)
        if member is type(None):
            words.append("none")
        elif member is bool:
            words.append("true or false")
        elif member is int:
            words.append("a whole number")
        elif member is float:
            words.append("a number")
        elif member is str:
            words.append("text")
        elif origin is typing.Literal:
            words.append("one of " + ", ".join(map(repr, typing.get_args(member))))
        elif origin in (list, tuple, cabc.Sequence):
            args = [a for a in typing.get_args(member) if a is not Ellipsis]
            inner = type_words(args[0]) if args else "values"
            words.append(f"a list of ({inner}), comma separated (e.g. a,b) or as [a, b]")
        elif origin in (dict, cabc.Mapping) or member in (dict, cabc.Mapping):
            words.append("a mapping like {key: value}")
        else:
            words.append(getattr(member, "__name__", str(member)))
    return " or ".join(words) if words else "a value"


# ---------------------------------------------------------------------------------------------
class _Mismatch(Exception):
    """The value does not fit (this member of) the annotation."""


def _quoted(text: str) -> bool:
    return len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]


def _flow(text: str) -> Any:
    """A YAML flow list/dict (``[1, a]``, ``{V1: 5}``); the text itself when it does not parse."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _origin(annotation: Any) -> Any:
    return typing.get_origin(annotation) or annotation


def _members(annotation: Any) -> tuple[Any, ...]:
    if annotation in _EMPTY or annotation is type(None):
        return () if annotation in _EMPTY else (annotation,)
    if _origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _coerce(value: Any, annotation: Any) -> Any:
    members = _members(annotation)
    if not members:
        return parse_value(value) if isinstance(value, str) else value
    # none/null means None only where None is allowed; elsewhere it stays text (reduce="none").
    if type(None) in members and (value is None or (isinstance(value, str) and value.strip().lower() in _NONE)):
        return None
    ordered = sorted((m for m in members if m is not type(None)), key=_rank)
    for member in ordered:
        try:
            return _one(value, member)
        except _Mismatch:
            continue
    raise _Mismatch


def _rank(member: Any) -> int:
    """Try scalars before containers, and exact scalar types before text."""
    origin = _origin(member)
    if member in (bool, int, float) or origin is typing.Literal:
        return 0
    if origin in (list, tuple, cabc.Sequence, dict, cabc.Mapping) or member in (dict, list, tuple):
        return 1
    return 2


def _one(value: Any, member: Any) -> Any:
    origin = _origin(member)
    if member is bool:
        return _bool(value)
    if member is int:
        return _int(value)
    if member is float:
        return _float(value)
    if member is str:
        return _str(value)
    if origin is typing.Literal:
        choices = typing.get_args(member)
        for choice in choices:
            try:
                if _coerce(value, type(choice)) == choice:
                    return choice
            except _Mismatch:
                continue
        raise _Mismatch
    if origin in (list, tuple, cabc.Sequence) or member in (list, tuple):
        return _sequence(value, member)
    if origin in (dict, cabc.Mapping) or member in (dict, cabc.Mapping):
        return _mapping(value, member)
    if isinstance(member, type) and isinstance(value, member):
        return value
    if isinstance(value, str) and isinstance(member, type):
        try:
            return member(value)
        except Exception:  # noqa: BLE001 - any failure means: does not fit
            raise _Mismatch from None
    raise _Mismatch


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise _Mismatch


def _number(value: Any) -> numbers.Real:
    if isinstance(value, bool):
        raise _Mismatch
    if isinstance(value, numbers.Real):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _quoted(text):
            text = text[1:-1]
        if _INT.fullmatch(text):
            return int(text)
        if _FLOAT.fullmatch(text):
            return float(text)
    raise _Mismatch


def _int(value: Any) -> int:
    x = _number(value)
    if float(x) != int(x):
        raise _Mismatch
    return int(x)


def _float(value: Any) -> float:
    return float(_number(value))


def _str(value: Any) -> str:
    if isinstance(value, str):
        text = value.strip()
        return text[1:-1] if _quoted(text) else text
    if isinstance(value, (bool, int, float)) and not isinstance(value, bool):
        return str(value)  # YAML read `name: 3` as a number; the parameter wants text
    raise _Mismatch


def _sequence(value: Any, member: Any) -> tuple | list:
    args = [a for a in typing.get_args(member) if a is not Ellipsis]
    elem = args[0] if args else None
    if isinstance(value, str):
        text = value.strip()
        parsed = _flow(text) if text.startswith("[") and text.endswith("]") else None
        items = parsed if isinstance(parsed, list) else split_top_level(text) if text else []
    elif isinstance(value, (list, tuple)):
        items = list(value)
    elif value is None:
        raise _Mismatch
    else:
        items = [value]  # one value for a list setting is a list of one
    out = [_coerce(item, elem) for item in items]
    fixed = typing.get_args(member)
    if _origin(member) is tuple and fixed and Ellipsis not in fixed and len(fixed) != len(out):
        raise _Mismatch
    return tuple(out) if _origin(member) is tuple else out


def _mapping(value: Any, member: Any) -> dict:
    args = typing.get_args(member)
    key_type, value_type = (args + (None, None))[:2] if args else (None, None)
    if isinstance(value, str):
        text = value.strip()
        value = _flow(text) if text.startswith("{") else None
    if not isinstance(value, dict):
        raise _Mismatch
    return {_coerce(k, key_type): _coerce(v, value_type) for k, v in value.items()}

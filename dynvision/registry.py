"""Named registries that fail loudly.

Every pluggable family in dynvision (models, recurrence types, activations, integrators,
experiments, stimuli, datasets) lives in a :class:`Registry`. Looking up a name that is not
registered raises :class:`UnknownNameError`, which names the bad value, lists every valid
choice and suggests the closest ones.

Example:
    >>> from dynvision.registry import Registry
    >>> colours = Registry("colour")
    >>> @colours.register("red")
    ... def red():
    ...     return (1, 0, 0)
    >>> colours.get("red")()
    (1, 0, 0)
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable, Iterable, Mapping


class UnknownNameError(ValueError, KeyError):
    """An unknown name was asked of a registry (or an unknown keyword of a constructor)."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


def unknown_name_message(kind: str, name: Any, valid: Iterable[str]) -> str:
    """Build the message for an unknown ``name`` of ``kind`` with the valid choices."""
    valid = sorted(valid)
    msg = f"unknown {kind} {name!r}; valid {kind}s: {', '.join(map(repr, valid)) or '(none)'}"
    close = difflib.get_close_matches(str(name), valid, n=3)
    if close:
        msg += f" (did you mean {' or '.join(map(repr, close))}?)"
    return msg


def check_choice(kind: str, value: Any, valid: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``valid``, else raise :class:`UnknownNameError`.

    ``kind`` is a noun ("integrator") or a parameter name ("recurrence_type"); for a parameter
    name the message lists the "valid choices".
    """
    valid = list(valid)
    if value not in valid:
        if "_" in kind and " " not in kind:  # a parameter's name, not a noun
            msg = unknown_name_message(kind, value, [str(v) for v in valid])
            msg = msg.replace(f"valid {kind}s:", "valid choices:", 1)
            raise UnknownNameError(msg)
        raise UnknownNameError(unknown_name_message(kind, value, [str(v) for v in valid]))
    return value


def check_kwargs(owner: str, kwargs: Mapping[str, Any], fn: Callable) -> None:
    """Raise :class:`UnknownNameError` if ``kwargs`` holds names that ``fn`` does not take."""
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    valid = [n for n, p in params.items() if n != "self" and p.kind is not p.VAR_POSITIONAL]
    # times may be given by their bare spelling (dt for dt_ms), see validation.ms_aliases
    bad = [k for k in kwargs if k not in valid and f"{k}_ms" not in valid]
    if bad:
        hints = []
        for b in bad:
            close = difflib.get_close_matches(b, valid, n=1)
            hints.append(f"{b!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise UnknownNameError(
            f"{owner} got unknown keyword argument{'s' if len(bad) > 1 else ''} "
            f"{', '.join(hints)}; valid keywords: {', '.join(sorted(valid))}"
        )


class Registry:
    """A mapping from names to objects with decorator registration.

    Args:
        kind: What the registry holds, used in error messages ("model", "recurrence type").
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, Any] = {}

    def register(self, name: str | None = None, obj: Any = None):
        """Register ``obj`` under ``name``; usable as ``@registry.register("name")``."""

        def add(o: Any) -> Any:
            key = name or getattr(o, "__name__", None)
            if not key:
                raise ValueError(f"cannot register {o!r} without a name")
            if key in self._items and self._items[key] is not o:
                raise ValueError(f"{self.kind} {key!r} is already registered")
            self._items[key] = o
            return o

        return add(obj) if obj is not None else add

    def get(self, name: str) -> Any:
        """Return the object registered as ``name`` or raise :class:`UnknownNameError`."""
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise UnknownNameError(unknown_name_message(self.kind, name, self._items)) from None

    def list(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self):
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.list()})"

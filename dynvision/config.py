"""Typed, frozen configurations: every default written once, every value validated once.

The machinery shared by :class:`~dynvision.layers.config.AreaConfig` (one area's dynamics) and
:class:`~dynvision.models.config.ModelConfig` (a model family's options).

A model family declares its options as a frozen dataclass (:class:`ModelConfig` subclass);
an area takes an :class:`AreaConfig`. Each field carries its validation in its metadata
(:func:`param`), so constructing a configuration checks every value and names the bad one with
what is valid. Times are in ms and their names end in ``_ms``; the bare spellings (``dt``,
``tau``, ``tff``... DynVision's names) are accepted everywhere a configuration is built or
changed. A configuration

- builds the model (``DyRCNNx4(**kwargs)`` is ``DyRCNNx4(DyRCNNx4.config_class(**kwargs))``),
- is ``model.config``, read like a mapping (``model.config["tau_ms"]``, ``dict(model.config)``),
- round-trips through JSON (zarr attrs, checkpoints, ``config.json``): :meth:`ModelConfig.to_dict`
  and :meth:`ModelConfig.from_dict`,
- is what ``--set`` edits: :meth:`ModelConfig.replace` (typed by the field annotations).

Example:
    >>> from dynvision.models import DyRCNNx4
    >>> config = DyRCNNx4.config_class.from_kwargs(tau=10, input_dims=(5, 1, 16, 16))
    >>> config.tau_ms, config.replace(dt=1).dt_ms
    (10.0, 1.0)
    >>> DyRCNNx4.config_class.from_kwargs(tau="abc")
    Traceback (most recent call last):
    ...
    dynvision.validation.InvalidValueError: tau_ms='abc' is invalid: expected a finite number > 0 and <= 1e+06 (ms), or {area: ms}
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator

from dynvision.conventions import jsonable
from dynvision.registry import UnknownNameError, check_choice
from dynvision.validation import InvalidValueError, check_bool, check_int, check_number

MAX_MS = 1e6  # the longest time a parameter may hold (about 17 minutes)


def param(default: Any, kind: str, *, lo: float | None = None, hi: float | None = None,
          lo_open: bool = False, hi_open: bool = False, choices: Callable[[], list] | tuple | None = None,
          allow_none: bool = False, doc: str = "") -> Any:
    """A configuration field: its default, how it is checked, and what it means.

    Args:
        default: The one default.
        kind: ``"number"``, ``"ms"`` (a time), ``"int"``, ``"bool"``, ``"choice"``,
            ``"per_area_ms"`` (a time, or ``{area: time}``), ``"per_area"`` (a number, or
            ``{area: number}``), ``"dims"`` (input dims), ``"text"``
            or ``"operations"``.
        lo, hi, lo_open, hi_open: The valid range of numbers (open ends if asked).
        choices: The valid choices (or a function returning them, e.g. a registry's list).
        allow_none: ``None`` is valid (and means what ``doc`` says).
        doc: One line for help texts.
    """
    meta = dict(kind=kind, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, choices=choices, allow_none=allow_none, doc=doc)
    return field(default=default, metadata=meta)


def same_as(config: type, name: str, doc: str | None = None) -> Any:
    """A field defined exactly as ``config``'s field ``name`` (its one default and checks),
    for a configuration that passes the value on to ``config`` (e.g. a model's to its areas).

    Example:
        >>> from dynvision.layers.config import AreaConfig
        >>> same_as(AreaConfig, "recurrence_sign").default
        'any'
    """
    source = config.__dataclass_fields__[name]
    meta = dict(source.metadata) if doc is None else {**source.metadata, "doc": doc}
    return field(default=source.default, metadata=meta)


class AreaValues(dict):
    """An immutable, hashable ``{area: value}`` mapping (per-area settings such as ``tau_ms``)."""

    def _frozen(self, *args, **kwargs):
        raise TypeError("per-area values are part of a frozen configuration; use config.replace(...)")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _frozen

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))

    def __reduce__(self):
        return (AreaValues, (dict(self),))

    def __copy__(self) -> "AreaValues":
        return self  # immutable

    def __deepcopy__(self, memo) -> "AreaValues":
        return self


def _check(name: str, value: Any, meta: Mapping[str, Any]) -> Any:
    kind, lo, hi = meta["kind"], meta["lo"], meta["hi"]
    if value is None and meta["allow_none"]:
        return None
    if kind in ("number", "ms"):
        hi = MAX_MS if kind == "ms" and hi is None else hi
        return check_number(name, value, lo=lo, hi=hi, lo_open=meta["lo_open"], hi_open=meta["hi_open"],
                            unit="ms" if kind == "ms" else "",
                            allow_none=meta["allow_none"])
    if kind == "int":
        return check_int(name, value, lo=lo, hi=hi)
    if kind == "bool":
        return check_bool(name, value)
    if kind == "choice":
        choices = meta["choices"]() if callable(meta["choices"]) else meta["choices"]
        if not isinstance(value, str):
            raise InvalidValueError(name, value, f"one of {', '.join(map(repr, choices))}")
        return check_choice(name, value, choices)
    if kind == "text":
        if not isinstance(value, str):
            raise InvalidValueError(name, value, "a string")
        return value
    if kind == "per_area_ms":
        expected = f"a finite number > {lo:g} and <= {MAX_MS:g} (ms), or {{area: ms}}"
        if isinstance(value, Mapping):
            if not value:
                raise InvalidValueError(name, value, expected)
            out = {}
            for area, v in value.items():
                if not isinstance(area, str):
                    raise InvalidValueError(name, value, expected)
                out[area] = _check_ms(f"{name}[{area!r}]", v, lo, expected)
            return AreaValues(out)
        return _check_ms(name, value, lo, expected)
    if kind == "per_area":
        rng = " ".join(w for w in (f">= {lo:g}" if lo is not None else "", f"and <= {hi:g}" if hi is not None else "") if w)
        expected = f"a finite number {rng}, or {{area: number}}".replace("  ", " ")
        if isinstance(value, Mapping):
            if not value or not all(isinstance(a, str) for a in value):
                raise InvalidValueError(name, value, expected)
            try:
                return AreaValues({a: check_number(f"{name}[{a!r}]", v, lo=lo, hi=hi) for a, v in value.items()})
            except InvalidValueError as err:
                raise InvalidValueError(err.name, err.value, expected) from None
        try:
            return check_number(name, value, lo=lo, hi=hi)
        except InvalidValueError:
            raise InvalidValueError(name, value, expected) from None
    if kind == "dims":
        expected = "4 positive whole numbers (time, channels, height, width)"
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 4:
            raise InvalidValueError(name, value, expected)
        out = []
        for v in value:
            try:
                out.append(check_int(name, v, lo=1, hi=2**31 - 1))
            except InvalidValueError:
                raise InvalidValueError(name, value, expected) from None
        return tuple(out)
    if kind == "operations":
        if isinstance(value, str) or not hasattr(value, "__iter__") or not all(isinstance(v, str) for v in value):
            raise InvalidValueError(name, value, "a sequence of operation names (see dynvision.layers.OPERATIONS)")
        return tuple(value)
    raise ValueError(f"unknown field kind {kind!r}")


def _check_ms(name, value, lo, expected):
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "item"):
        raise InvalidValueError(name, value, expected)
    x = float(value)
    if not math.isfinite(x) or x <= (lo or 0.0) or x > MAX_MS:
        raise InvalidValueError(name, value, expected)
    return x


@dataclass(frozen=True)
class Config(Mapping):
    """Shared machinery of frozen configurations (validation, aliases, JSON, mapping view)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if "kind" in f.metadata:
                object.__setattr__(self, f.name, _check(f.name, getattr(self, f.name), f.metadata))
        self.validate()

    def validate(self) -> None:
        """Checks that involve several fields (override in families)."""

    # -- names ------------------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def canonical(cls, key: str) -> str:
        """The field a keyword means: ``dt`` -> ``dt_ms``, legacy ``tau_gain`` -> ``tau_gain_ms``."""
        names = cls.field_names()
        if key in names:
            return key
        if f"{key}_ms" in names:
            return f"{key}_ms"
        return key

    @classmethod
    def _resolve(cls, kwargs: Mapping[str, Any], owner: str) -> dict[str, Any]:
        names = cls.field_names()
        out: dict[str, Any] = {}
        given: dict[str, str] = {}
        for key, value in kwargs.items():
            name = cls.canonical(key)
            if name not in names:
                close = difflib.get_close_matches(key, names + [n[:-3] for n in names if n.endswith("_ms")], n=1)
                hint = f" (did you mean {cls.canonical(close[0])!r}?)" if close else ""
                raise UnknownNameError(f"{owner} got an unknown keyword argument {key!r}{hint}; valid keywords: "
                                       f"{', '.join(names)} (times in ms; the bare spellings dt, tau, tff... work too)")
            if name in out:
                raise TypeError(f"{owner} got {given[name]!r} and {key!r}: the same parameter (in ms); give one")
            out[name], given[name] = value, key
        return out

    @classmethod
    def from_kwargs(cls, owner: str | None = None, **kwargs: Any) -> "Config":
        """Build from keyword arguments, bare time spellings included."""
        return cls(**cls._resolve(kwargs, owner or cls.__name__))

    def replace(self, **changes: Any) -> "Config":
        """A copy with ``changes`` (validated again)."""
        return dataclasses.replace(self, **self._resolve(changes, type(self).__name__))

    # -- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Config":
        return cls.from_kwargs(**dict(data))

    @classmethod
    def describe(cls) -> list[tuple[str, Any, str]]:
        """``(name, default, doc)`` of every field, for help texts."""
        return [(f.name, f.default, f.metadata.get("doc", "")) for f in dataclasses.fields(cls)]

    # -- the mapping view ---------------------------------------------------------------------
    def _keys(self) -> list[str]:
        return self.field_names()

    def __getitem__(self, key: str) -> Any:
        name = self.canonical(key)
        if name not in self.field_names():
            raise KeyError(key)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.canonical(key) in self.field_names()


__all__ = ["MAX_MS", "AreaValues", "Config", "param"]

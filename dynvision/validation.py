"""One validation layer: every bad value names the parameter, the value and what is valid.

Every public entry point (constructors, ``Simulation.run``, stimulus generators, experiment
specs, the command line) checks its arguments with these helpers, so errors read the same
everywhere and the command line can print them as one line:

    tau_ms='abc' is invalid: expected a finite number > 0 (ms)

Times are in milliseconds throughout dynvision, and public parameters that hold a time end in
``_ms`` (``dt_ms``, ``tau_ms``, ``t_stim_ms``...). :func:`ms_aliases` lets a function also take
the bare spelling (``dt``, ``tau``, ``tff``...: DynVision's names), so ``DyRCNNx4(dt=2, tau=5)``
and ``DyRCNNx4(dt_ms=2, tau_ms=5)`` are the same call.

Example:
    >>> check_number("tau_ms", 5, lo=0, lo_open=True)
    5.0
    >>> check_number("tau_ms", "abc", lo=0, lo_open=True)
    Traceback (most recent call last):
    ...
    dynvision.validation.InvalidValueError: tau_ms='abc' is invalid: expected a finite number > 0
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from typing import Any, Callable, Iterable, Sequence

from dynvision.registry import UnknownNameError, check_choice, unknown_name_message

__all__ = [
    "InvalidValueError",
    "UnknownNameError",
    "check_bool",
    "check_choice",
    "check_int",
    "check_number",
    "check_numbers",
    "ms_aliases",
]


class InvalidValueError(ValueError):
    """A parameter got a value outside its valid type or range.

    Attributes:
        name: The parameter's name.
        value: The value it got.
        expected: What would have been valid, in words.
    """

    def __init__(self, name: str, value: Any, expected: str):
        self.name, self.value, self.expected = name, value, expected
        super().__init__(f"{name}={_short(value)} is invalid: expected {expected}")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _range_words(lo, hi, lo_open: bool, hi_open: bool) -> str:
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {hi:g}")
    return " and ".join(parts)


def check_number(name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, hi_open: bool = False, unit: str = "",
                 allow_none: bool = False) -> float | None:
    """Return ``value`` as a finite float within ``[lo, hi]`` (open ends if asked).

    Booleans, strings, NaN and infinities are refused (a string that spells a number is not
    converted here: the command line converts, Python callers pass numbers).

    Raises:
        InvalidValueError: Naming ``name``, the value and the valid range.
    """
    if value is None and allow_none:
        return None
    rng = _range_words(lo, hi, lo_open, hi_open)
    expected = "a finite number" + (f" {rng}" if rng else "") + (f" ({unit})" if unit else "")
    if allow_none:
        expected += " or None"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy/torch scalars
            return check_number(name, value.item(), lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open,
                                unit=unit, allow_none=allow_none)
        raise InvalidValueError(name, value, expected)
    x = float(value)
    if not math.isfinite(x):
        raise InvalidValueError(name, value, expected)
    if lo is not None and (x < lo or (lo_open and x == lo)):
        raise InvalidValueError(name, value, expected)
    if hi is not None and (x > hi or (hi_open and x == hi)):
        raise InvalidValueError(name, value, expected)
    return x


def check_int(name: str, value: Any, *, lo: int | None = None, hi: int | None = None,
              allow_none: bool = False) -> int | None:
    """Return ``value`` as an int within ``[lo, hi]``; floats must be whole numbers.

    Raises:
        InvalidValueError: Naming ``name``, the value and the valid range.
    """
    if value is None and allow_none:
        return None
    rng = _range_words(lo, hi, False, False)
    expected = "a whole number" + (f" {rng}" if rng else "") + (" or None" if allow_none else "")
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidValueError(name, value, expected)
    if not math.isfinite(float(value)) or float(value) != int(value):
        raise InvalidValueError(name, value, expected)
    x = int(value)
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise InvalidValueError(name, value, expected)
    return x


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool (numpy bools too).

    Raises:
        InvalidValueError: For anything else (``"false"`` is a non-empty string, not False).
    """
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if not isinstance(value, bool):
        raise InvalidValueError(name, value, "True or False")
    return value


def check_numbers(name: str, values: Any, *, lo: float | None = None, hi: float | None = None,
                  lo_open: bool = False, hi_open: bool = False, unit: str = "",
                  min_len: int = 1) -> list[float]:
    """Return a list of valid numbers (see :func:`check_number`); a single number is a list of one.

    Raises:
        InvalidValueError: A string, an empty or too short sequence, or a bad element
            (named ``name[i]``).
    """
    if isinstance(values, numbers.Real) and not isinstance(values, bool):
        values = [values]
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidValueError(name, values, f"a list of at least {min_len} number(s)")
    values = list(values)
    if len(values) < min_len:
        raise InvalidValueError(name, values, f"a list of at least {min_len} number(s)")
    return [check_number(f"{name}[{i}]", v, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, unit=unit)
            for i, v in enumerate(values)]


def ms_aliases(fn: Callable) -> Callable:
    """Let ``fn`` take each ``X_ms`` parameter under its bare name ``X`` too.

    The canonical names carry the unit (``dt_ms``); the bare spellings (``dt``, ``tau``,
    ``tff``, ``t_pre``...) are DynVision's and stay accepted. Giving both is an error.

    Example:
        >>> @ms_aliases
        ... def f(dt_ms=2.0):
        ...     return dt_ms
        >>> f(dt=0.5), f(dt_ms=1.0)
        (0.5, 1.0)
    """
    sig = inspect.signature(fn)
    names = set(sig.parameters)
    aliases = {p[:-3]: p for p in names if p.endswith("_ms") and p[:-3] not in names}
    if not aliases:
        return fn

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        for bare in [k for k in kwargs if k in aliases]:
            canonical = aliases[bare]
            if canonical in kwargs:
                raise TypeError(f"{fn.__qualname__}() got both {bare!r} and {canonical!r} "
                                f"(the same parameter, in ms); give one")
            kwargs[canonical] = kwargs.pop(bare)
        return fn(*args, **kwargs)

    wrapper.ms_aliases = dict(aliases)  # type: ignore[attr-defined]
    return wrapper


def canonical_name(fn: Callable, name: str) -> str:
    """The canonical parameter name for ``name`` (``dt`` -> ``dt_ms`` where ``fn`` has aliases)."""
    return getattr(fn, "ms_aliases", {}).get(name, name)


def check_keys(owner: str, given: Iterable[str], valid: Sequence[str]) -> None:
    """Raise :class:`UnknownNameError` for a key of ``given`` not in ``valid`` (with hints)."""
    for key in given:
        if key not in valid:
            raise UnknownNameError(unknown_name_message(f"{owner} parameter", key, valid))

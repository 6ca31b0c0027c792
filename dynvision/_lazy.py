"""Names a package exports without importing them until first use (keeps ``import dynvision`` and
``dynvision --help`` free of torch, panel and the like)."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_exports(package: str, table: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` for ``{name: module that defines it}``.

    Example:
        >>> getattr_, dir_ = lazy_exports("pkg", {"sqrt": "math"})
        >>> getattr_("sqrt")(4.0), dir_()
        (2.0, ['sqrt'])
    """

    def __getattr__(name: str) -> Any:
        if name in table:
            return getattr(importlib.import_module(table[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(table)

    return __getattr__, __dir__

"""Content fingerprints: a canonical, type-tagged form of any configuration, for cache keys.

:func:`fingerprint` turns a configuration into nested lists of plain JSON values that change
whenever the configuration's *content* does, and only then:

- every value carries its type (``1``, ``1.0``, ``True`` and ``"1"`` differ; so do a dict key
  ``1`` and ``"1"``);
- order is kept where it means something: ``[1, 2]`` and ``[2, 1]`` differ (flyvis's keys sort
  lists, so those two collide there); dict keys and set items are put in a canonical order;
- arrays, tensors and DataArrays enter by a SHA-256 of their bytes, dtype and shape (never
  truncated), DataArrays with their dims, coordinates and attrs;
- a ``pathlib.Path`` enters by its file's (or folder's) content, so a changed file is a new key;
- a function enters by its qualified name, a digest of its compiled code, its defaults and the
  values it closes over, so editing a generator's body changes the key (globals it reads do not;
  pass those as parameters); dataclasses and objects with a ``config()`` method by their fields.

Example:
    >>> digest([1, 2]) != digest([2, 1]), digest({"a": 1}) == digest({"a": 1})
    (True, True)
    >>> digest(1) != digest(1.0) != digest(True)
    True
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import os
import types
from pathlib import Path
from typing import Any, Mapping

import numpy as np


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _array(arr: np.ndarray) -> list:
    if arr.dtype.kind in "OUSTV":  # objects, strings, bytes: by their values as JSON
        data = json.dumps([fingerprint(v) for v in arr.ravel().tolist()]).encode()
    else:
        data = np.ascontiguousarray(arr).tobytes()
    return ["ndarray", arr.dtype.str, list(arr.shape), _sha(data)]


def _code(code: types.CodeType) -> str:
    """A digest of compiled code: bytecode, names and constants (nested code recursively)."""
    h = hashlib.sha256(code.co_code)
    h.update(repr((code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars)).encode())
    for const in code.co_consts:
        h.update(_code(const).encode() if isinstance(const, types.CodeType) else repr(const).encode())
    return h.hexdigest()


def _callable(fn: Any) -> list:
    if isinstance(fn, functools.partial):
        return ["partial", fingerprint(fn.func), fingerprint(list(fn.args)), fingerprint(dict(fn.keywords))]
    if isinstance(fn, types.MethodType):
        return ["method", fingerprint(fn.__self__), _callable(fn.__func__)]
    wrapped = getattr(fn, "__wrapped__", None)  # decorated functions: the function underneath
    if wrapped is not None and callable(wrapped):
        return ["wrapped", f"{fn.__module__}.{fn.__qualname__}", _callable(wrapped)]
    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"
    code = getattr(fn, "__code__", None)
    if code is None:  # builtins, classes: by name (and, for dynvision, its version in the key)
        return ["callable", name]
    cells = [c.cell_contents for c in (fn.__closure__ or ())]
    try:
        closure = fingerprint(cells)
    except TypeError as err:
        raise TypeError(f"cannot key {name}: it closes over a value that has no fingerprint ({err}); "
                        f"pass that value as a parameter instead") from None
    return ["function", name, _code(code), fingerprint(list(fn.__defaults__ or ())),
            fingerprint(dict(fn.__kwdefaults__ or {})), closure]


def _path(path: Path) -> list:
    if path.is_file():
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return ["file", str(path), h.hexdigest()]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        return ["folder", str(path), [[str(p.relative_to(path)), _path(p)[2]] for p in files]]
    return ["path", str(path), "missing"]


def fingerprint(obj: Any) -> Any:
    """A canonical, type-tagged JSON form of ``obj`` (see the module docstring).

    Raises:
        TypeError: For a value with no fingerprint, naming its type and the accepted ones.

    Example:
        >>> fingerprint({"b": [1, 2.5], "a": None})
        ['dict', [[['str', 'a'], ['none']], [['str', 'b'], ['list', [['int', '1'], ['float', '2.5']]]]]]
    """
    if obj is None:
        return ["none"]
    if isinstance(obj, (bool, np.bool_)):
        return ["bool", bool(obj)]
    if isinstance(obj, enum.Enum):
        return ["enum", type(obj).__qualname__, obj.name]
    if isinstance(obj, (int, np.integer)):
        return ["int", str(int(obj))]
    if isinstance(obj, (float, np.floating)):
        return ["float", repr(float(obj))]
    if isinstance(obj, str):
        return ["str", obj]
    if isinstance(obj, bytes):
        return ["bytes", _sha(obj)]
    if isinstance(obj, np.ndarray):
        return _array(obj)
    if isinstance(obj, Path):
        return _path(obj)
    if isinstance(obj, (list, tuple)):
        return ["list", [fingerprint(v) for v in obj]]
    if isinstance(obj, (set, frozenset)):
        return ["set", sorted((fingerprint(v) for v in obj), key=json.dumps)]
    if isinstance(obj, Mapping):
        items = [[fingerprint(k), fingerprint(v)] for k, v in obj.items()]
        return ["dict", sorted(items, key=lambda kv: json.dumps(kv[0]))]
    module = type(obj).__module__.split(".")[0]
    if module == "torch" and hasattr(obj, "detach"):
        return ["tensor", _array(obj.detach().cpu().numpy())]
    if module == "xarray":
        return _xarray(obj)
    if module == "pandas" and hasattr(obj, "to_dict"):
        return ["pandas", type(obj).__name__, fingerprint(obj.to_dict()), fingerprint(list(map(str, obj.index)))]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        return ["dataclass", f"{type(obj).__module__}.{type(obj).__qualname__}", fingerprint(fields)]
    if callable(getattr(obj, "config", None)) and not isinstance(obj, type):
        return ["object", f"{type(obj).__module__}.{type(obj).__qualname__}", fingerprint(obj.config())]
    if isinstance(obj, os.PathLike):
        return _path(Path(obj))
    if callable(obj):
        return _callable(obj)
    raise TypeError(f"cannot build a cache key from {type(obj).__name__} {obj!r}; parameters must be numbers, "
                    f"strings, lists, dicts, sets, paths, numpy arrays, tensors, DataArrays, dataclasses or functions")


def _xarray(obj: Any) -> list:
    import xarray as xr

    if isinstance(obj, xr.DataArray):
        coords = {k: [list(c.dims), _array(np.asarray(c.values)), fingerprint(dict(c.attrs))]
                  for k, c in obj.coords.items()}
        return ["dataarray", fingerprint(obj.name), list(obj.dims), _array(np.asarray(obj.values)),
                fingerprint(coords), fingerprint(dict(obj.attrs))]
    if isinstance(obj, xr.Dataset):
        return ["dataset", fingerprint(dict(obj.data_vars)), fingerprint({k: obj[k] for k in obj.coords}),
                fingerprint(dict(obj.attrs))]
    raise TypeError(f"cannot build a cache key from {type(obj).__name__}")


def digest(obj: Any) -> str:
    """The SHA-256 (64 hex digits) of ``obj``'s :func:`fingerprint`.

    Example:
        >>> len(digest({"extent": 15, "kernel_size": 13}))
        64
    """
    return _sha(json.dumps(fingerprint(obj), separators=(",", ":")).encode())

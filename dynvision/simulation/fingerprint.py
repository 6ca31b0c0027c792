"""Fingerprints: a hash of exactly what determines a simulation's result.

The fingerprint covers the model (class, configuration, every weight and persistent buffer),
the stimulus (values read batch by batch, so memory stays flat however many stimuli there
are; every coordinate and attribute, ``background`` included) and the options (record and
reduce, store dtype, precision, layout, initial state, with a given state's tensors, idle
time). Values are hashed by *value*: numbers, strings, arrays, tensors, containers,
dataclasses and plain objects give the same bytes in every process (no memory addresses).

What does not change the stored values is left out: the batch size, the device, the codec.

Example:
    >>> a = Hasher().update({"record": ["V1"], "dt_ms": 2.0}).hexdigest()
    >>> a == Hasher().update({"dt_ms": 2.0, "record": ["V1"]}).hexdigest(), len(a)
    (True, 32)
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import struct
from typing import Any

import numpy as np
import torch
import xarray as xr


class UnhashableValueError(TypeError):
    """A value has no representation by value (its ``repr`` shows a memory address)."""


class Hasher:
    """A blake2b hash fed with typed, length-prefixed values (see :func:`canonical`)."""

    def __init__(self):
        self._h = hashlib.blake2b(digest_size=16)

    def update(self, value: Any, where: str = "value") -> "Hasher":
        _feed(self._h, value, where)
        return self

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _bytes(h, tag: bytes, data: bytes | memoryview) -> None:
    h.update(tag + struct.pack("<Q", len(data)))
    h.update(data)


def _array(h, arr: np.ndarray, where: str) -> None:
    if arr.dtype.kind == "O":
        _bytes(h, b"O", str(arr.shape).encode())
        for item in arr.ravel():
            _feed(h, item, where)
        return
    if arr.dtype.kind == "U":
        arr = np.char.encode(arr, "utf-8")
    arr = np.ascontiguousarray(arr)
    _bytes(h, b"A", f"{arr.dtype.str}{arr.shape}".encode())
    _bytes(h, b"D", memoryview(arr).cast("B"))


def tensor_bytes(t: torch.Tensor) -> memoryview:
    """A tensor's values as bytes (any dtype, bfloat16 included)."""
    t = t.detach().to("cpu").contiguous().reshape(-1)
    return memoryview(t.view(torch.uint8).numpy())


def _feed(h, value: Any, where: str) -> None:
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        _bytes(h, type(value).__name__.encode(), repr(value).encode() if not isinstance(value, bytes) else value)
    elif isinstance(value, np.generic):
        _feed(h, value.item(), where)
    elif isinstance(value, np.ndarray):
        _array(h, value, where)
    elif torch.is_tensor(value):
        _bytes(h, b"T", f"{value.dtype}{tuple(value.shape)}".encode())
        _bytes(h, b"D", tensor_bytes(value))
    elif isinstance(value, xr.DataArray):
        _feed(h, {"dims": list(value.dims), "values": np.asarray(value.values), "attrs": dict(value.attrs),
                  "coords": {k: c.variable for k, c in value.coords.items()}}, where)
    elif isinstance(value, xr.Variable):
        _feed(h, {"dims": list(value.dims), "values": np.asarray(value.values), "attrs": dict(value.attrs)}, where)
    elif isinstance(value, dict):
        items = sorted(((_digest(k, where), k, v) for k, v in value.items()), key=lambda kv: kv[0])
        _bytes(h, b"{", str(len(items)).encode())
        for _, k, v in items:
            _feed(h, k, where)
            _feed(h, v, f"{where}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        _bytes(h, b"[" if isinstance(value, list) else b"(", str(len(value)).encode())
        for i, v in enumerate(value):
            _feed(h, v, f"{where}[{i}]")
    elif isinstance(value, (set, frozenset)):
        _feed(h, sorted(_digest(v, where) for v in value), where)
    elif callable(value) and hasattr(value, "__code__"):
        code = value.__code__
        _feed(h, ["callable", getattr(value, "__module__", ""), value.__qualname__, code.co_code,
                  [c for c in code.co_consts if not hasattr(c, "co_code")]], where)
    elif dataclasses.is_dataclass(value):
        _feed(h, [type(value).__module__, type(value).__qualname__, dataclasses.asdict(value)], where)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        _feed(h, [type(value).__module__, type(value).__qualname__, vars(value)], where)
    else:
        text = repr(value)
        if " at 0x" in text:
            try:
                data = pickle.dumps(value, protocol=4)
            except Exception:  # noqa: BLE001
                raise UnhashableValueError(f"{where}: cannot fingerprint {type(value).__name__} by value "
                                           f"(its repr is {text!r}); use numbers, strings or arrays") from None
            _bytes(h, b"P", data)
        else:
            _bytes(h, b"R", f"{type(value).__qualname__}:{text}".encode())


def _digest(value: Any, where: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    _feed(h, value, where)
    return h.hexdigest()


def model_digest(model: torch.nn.Module) -> str:
    """The identity of a model: class, configuration and every weight and persistent buffer."""
    from dynvision.models.base import config_dict

    h = Hasher().update([type(model).__module__, type(model).__qualname__, config_dict(model)])
    for name, tensor in model.state_dict().items():
        h.update(name).update(tensor)
    return h.hexdigest()


def stimulus_digest(stimulus: xr.DataArray, batch_size: int) -> str:
    """The identity of a stimulus: its values (read ``batch_size`` samples at a time), dims,
    dtype, every coordinate and attribute (``background`` included), by value."""
    h = Hasher().update([list(stimulus.dims), list(stimulus.shape), str(stimulus.dtype), dict(stimulus.attrs),
                         {k: c.variable for k, c in stimulus.coords.items()}], "stimulus")
    n = stimulus.sizes["sample"]
    for start in range(0, n, batch_size):  # the raw bytes only: the same digest for any batch size
        values = np.ascontiguousarray(stimulus.isel(sample=slice(start, start + batch_size)).values)
        h._h.update(memoryview(values).cast("B"))
    return h.hexdigest()


def state_digest(state) -> str:
    """The identity of a given initial state (every tensor of it, and its step count)."""
    tensors: list = []
    state.map(lambda x: tensors.append(x) or x)
    return Hasher().update(["ModelState", state.t, tensors]).hexdigest()

"""Cache generated stimuli on disk, keyed by the generator and its configuration.

The key is a SHA-256 of a canonical JSON of ``{generator, config, dynvision version}``;
arrays and DataArrays in the config (e.g. the images of a presentation) enter the key by a
hash of their values, coordinates and attrs. DataArrays are stored as zarr (format 2),
plain arrays as ``.npy``, under the ``cache_dir`` the caller passes. The first call generates
and writes; later calls with an equal configuration load from disk.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     a = cached("grey", d, duration=4, dt=1, size=2)
    ...     b = cached("grey", d, duration=4, dt=1, size=2)  # loaded from disk
    >>> a.identical(b)
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import xarray as xr

_ZARR = {"zarr_format": 2, "consolidated": False}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fingerprint(obj: Any) -> Any:
    """A JSON-able stand-in for ``obj`` that changes whenever ``obj``'s content does."""
    if isinstance(obj, xr.DataArray):
        coords = {k: _fingerprint(v.values) for k, v in obj.coords.items()}
        return {
            "dataarray": _fingerprint(obj.values),
            "dims": list(obj.dims),
            "coords": coords,
            "attrs": _fingerprint(dict(obj.attrs)),
            "name": str(obj.name),
        }
    if isinstance(obj, np.ndarray):
        data = obj.astype(str) if obj.dtype.kind in "OUT" else np.ascontiguousarray(obj)
        return {"array": _digest(data.tobytes()), "dtype": str(obj.dtype), "shape": list(obj.shape)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Mapping):
        return {str(k): _fingerprint(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_fingerprint(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(
        f"cannot build a cache key from {type(obj).__name__} {obj!r}; config values must be "
        f"numbers, strings, lists, dicts, numpy arrays or DataArrays"
    )


def _generator_name(generator: str | Callable) -> str:
    if isinstance(generator, str):
        return generator
    return f"{generator.__module__}.{generator.__qualname__}"


def cache_key(generator: str | Callable, config: Mapping[str, Any]) -> str:
    """Return the 16-hex-digit key of ``generator`` called with ``config``.

    Example:
        >>> len(cache_key("grey", {"dt": 1}))
        16
    """
    from dynvision import __version__

    payload = {
        "generator": _generator_name(generator),
        "config": _fingerprint(dict(config)),
        "version": __version__,
    }
    return _digest(json.dumps(payload, sort_keys=True).encode())[:16]


def cache_path(generator: str | Callable, cache_dir: str | Path, config: Mapping[str, Any]) -> Path:
    """The path (without suffix) where :func:`cached` stores this configuration.

    Example:
        >>> cache_path("grey", "/tmp/c", {"dt": 1}).name.startswith("grey-")
        True
    """
    slug = _generator_name(generator).rsplit(".", 1)[-1]
    return Path(cache_dir) / f"{slug}-{cache_key(generator, config)}"


def _save(result: Any, target: Path) -> Path:
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    if isinstance(result, xr.DataArray):
        final = target.with_suffix(".zarr")
        ds = result.to_dataset(name="data", promote_attrs=False)
        ds.attrs["dataarray_name"] = json.dumps(result.name)
        ds.to_zarr(tmp, mode="w", **_ZARR)
    elif isinstance(result, np.ndarray):
        final = target.with_suffix(".npy")
        with open(tmp, "wb") as f:
            np.save(f, result, allow_pickle=False)
    else:
        raise TypeError(f"can only cache DataArrays and numpy arrays, got {type(result).__name__}")
    try:
        os.replace(tmp, final)
    except OSError:  # another process wrote the same entry first
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
    return final


def _load(target: Path) -> Any | None:
    zarr_path, npy_path = target.with_suffix(".zarr"), target.with_suffix(".npy")
    if zarr_path.exists():
        with xr.open_dataset(zarr_path, engine="zarr", chunks=None, **_ZARR) as ds:
            da = ds["data"].load()
            da.name = json.loads(ds.attrs["dataarray_name"])
        return da
    if npy_path.exists():
        return np.load(npy_path, allow_pickle=False)
    return None


def cached(generator: str | Callable[..., Any], cache_dir: str | Path, /, **config: Any) -> Any:
    """Return ``generator(**config)``, generating it once and loading it from disk afterwards.

    Args:
        generator: A registered stimulus name (see :func:`~dynvision.stimuli.list_stimuli`)
            or any callable returning a DataArray or numpy array (e.g.
            :func:`~dynvision.stimuli.moving_digits`).
        cache_dir: Folder for the cache (created if missing).
        **config: Keyword arguments of the generator; they (and the dynvision version) key
            the cache entry.

    Raises:
        TypeError: If a config value cannot be hashed or the result is not storable.

    Example:
        >>> import tempfile
        >>> from dynvision.stimuli import moving_digits
        >>> with tempfile.TemporaryDirectory() as d:
        ...     frames = cached(moving_digits, d, n=1, n_frames=2, size=8)
        >>> frames.shape
        (1, 2, 1, 8, 8)
    """
    if isinstance(generator, str):
        from dynvision.stimuli.temporal import make_stimulus

        name = generator
        fn: Callable[..., Any] = lambda **kw: make_stimulus(name, **kw)  # noqa: E731
    elif callable(generator):
        fn = generator
    else:
        raise TypeError(f"generator must be a stimulus name or a callable, got {generator!r}")
    target = cache_path(generator, cache_dir, config)
    found = _load(target)
    if found is not None:
        return found
    result = fn(**config)
    target.parent.mkdir(parents=True, exist_ok=True)
    _save(result, target)
    return result

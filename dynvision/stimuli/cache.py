"""Generated and rendered stimuli cached on disk, keyed by a content hash of everything that made them.

The key is the SHA-256 of the :func:`~dynvision.stimuli.fingerprint.fingerprint` of
``{generator, parameters, renderer, dynvision version}``: the generator's code (a registered
stimulus name enters by its function), every parameter by value and type (arrays and files by
content; ``[1, 2]`` and ``[2, 1]`` differ), and the renderer's configuration (e.g. a
:class:`~dynvision.stimuli.hex.HexRenderer`). Whatever changes, the key changes; an equal
configuration finds the stored result.

Each entry is one folder ``<cache_dir>/<generator>-<key[:16]>/`` holding ``manifest.json``
(the full key, the generator, a readable summary of the parameters and renderer) and
``data.zarr`` (a DataArray, zarr format 2) or ``data.npy`` (a numpy array). The folder is
written under a temporary name and renamed into place, so an entry is complete or absent, and
two processes computing the same entry never corrupt it. The cache never deletes or overwrites
what it did not write: a folder without its manifest is left alone (and is an error if it
blocks an entry), and :meth:`StimulusCache.clear` removes only folders with a valid manifest.

Example:
    >>> import tempfile
    >>> from dynvision.stimuli import moving_digits
    >>> cache = StimulusCache(tempfile.mkdtemp())
    >>> a = cache.get(moving_digits, {"n": 1, "n_frames": 2, "size": 8})   # generated, stored
    >>> b = cache.get(moving_digits, {"n": 1, "n_frames": 2, "size": 8})   # loaded from disk
    >>> a.identical(b), len(cache.entries()), cache.clear()
    (True, 1, 1)
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import xarray as xr

from dynvision.conventions import jsonable
from dynvision.stimuli.fingerprint import digest, fingerprint  # noqa: F401  (fingerprint re-exported)

_ZARR = {"zarr_format": 2, "consolidated": False}
MANIFEST = "manifest.json"
MARKER = "dynvision-stimulus-cache"


def _resolve(generator: str | Callable) -> tuple[str, Callable[..., Any]]:
    """The generator's name and the function to call (a registered stimulus, or a callable)."""
    if isinstance(generator, str):
        from dynvision.stimuli.temporal import STIMULI, make_stimulus

        STIMULI.get(generator)  # unknown names raise, listing the valid ones
        return generator, lambda **kw: make_stimulus(generator, **kw)
    if callable(generator):
        name = getattr(generator, "__qualname__", None) or type(generator).__qualname__
        return name, generator
    raise TypeError(f"generator must be a stimulus name or a callable, got {generator!r}")


def _identity(generator: str | Callable) -> Any:
    if isinstance(generator, str):
        from dynvision.stimuli.temporal import STIMULI

        return ["stimulus", generator, STIMULI.get(generator)]
    return generator


def cache_key(generator: str | Callable, config: Mapping[str, Any], renderer: Any = None) -> str:
    """The full key (64 hex digits) of ``generator(**config)`` rendered by ``renderer``.

    Example:
        >>> cache_key("grey", {"dt": 1}) == cache_key("grey", {"dt": 1}), len(cache_key("grey", {"dt": 1}))
        (True, 64)
        >>> cache_key("grey", {"t": [1, 2]}) != cache_key("grey", {"t": [2, 1]})
        True
    """
    from dynvision import __version__

    return digest({"generator": _identity(generator), "config": dict(config),
                   "renderer": renderer, "version": __version__})


def _slug(generator: str | Callable) -> str:
    name = _resolve(generator)[0].rsplit(".", 1)[-1]
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "generator"


def _summary(value: Any) -> Any:
    """A short, readable JSON form of a parameter for the manifest (arrays by shape and dtype)."""
    if isinstance(value, (xr.DataArray, np.ndarray)) or hasattr(value, "detach"):
        return {"type": type(value).__name__, "shape": list(np.shape(value)), "dtype": str(value.dtype)}
    if isinstance(value, Mapping):
        return {str(k): _summary(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and len(value) > 50:
        return {"type": type(value).__name__, "len": len(value)}
    if callable(value) and not hasattr(value, "config"):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', repr(value))}"
    if hasattr(value, "config") and callable(value.config):
        return value.config()
    return jsonable(value)


class StimulusCache:
    """A folder of cached stimuli (see the module docstring).

    Args:
        directory: The cache folder (created on the first write). It may hold other files;
            they are never touched.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory).expanduser()

    def __repr__(self) -> str:
        return f"StimulusCache({str(self.directory)!r}, entries={len(self.entries())})"

    # -- keys and paths -------------------------------------------------------------------
    def key(self, generator: str | Callable, config: Mapping[str, Any] | None = None, renderer: Any = None) -> str:
        """The full key of an entry (see :func:`cache_key`)."""
        return cache_key(generator, dict(config or {}), renderer)

    def _slots(self, generator: str | Callable, key: str):
        base = f"{_slug(generator)}-{key[:16]}"
        yield self.directory / base
        for i in range(1, 100):  # a 64-bit prefix shared by two keys: the next free slot
            yield self.directory / f"{base}-{i}"

    def _find(self, generator: str | Callable, key: str) -> tuple[Path | None, Path]:
        """(the folder holding ``key`` or None, the folder a new entry would go to)."""
        for slot in self._slots(generator, key):
            manifest = _manifest(slot)
            if manifest is None:
                if slot.exists():
                    raise FileExistsError(
                        f"{slot} exists but was not written by the stimulus cache (no valid {MANIFEST}); "
                        f"it is left alone: move it away or use another cache folder")
                return None, slot
            if manifest["key"] == key:
                return slot, slot
        raise RuntimeError(f"no free cache slot for key {key} in {self.directory}")

    def path(self, generator: str | Callable, config: Mapping[str, Any] | None = None, renderer: Any = None) -> Path:
        """The folder that holds (or will hold) this entry."""
        found, slot = self._find(generator, self.key(generator, config, renderer))
        return found or slot

    def __contains__(self, entry: tuple) -> bool:
        generator, config, *rest = entry
        return self._find(generator, self.key(generator, config, *rest))[0] is not None

    # -- get, list, clear ----------------------------------------------------------------
    def get(self, generator: str | Callable, config: Mapping[str, Any] | None = None, renderer: Any = None) -> Any:
        """``renderer.render(generator(**config))`` (or ``generator(**config)``), computed once.

        Args:
            generator: A registered stimulus name or any callable returning a DataArray or a
                numpy array (e.g. :func:`~dynvision.stimuli.load_moving_mnist`).
            config: The generator's keyword arguments.
            renderer: An object with ``render(result)`` and a fingerprint (a dataclass or a
                ``config()`` method), e.g. :class:`~dynvision.stimuli.hex.HexRenderer`.

        Raises:
            TypeError: A parameter with no fingerprint, or a result that cannot be stored.
            FileExistsError: The entry's folder exists but was not written by the cache.
        """
        config = dict(config or {})
        key = self.key(generator, config, renderer)
        found, slot = self._find(generator, key)
        if found is not None:
            return _load(found)
        result = _resolve(generator)[1](**config)
        if renderer is not None:
            result = renderer.render(result)
        manifest = {"format": MARKER, "key": key, "generator": _resolve(generator)[0],
                    "config": _summary(config), "renderer": _summary(renderer) if renderer is not None else None,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "type": type(result).__name__}
        _save(result, slot, manifest)
        return result

    def entries(self) -> list[dict[str, Any]]:
        """The manifests of the entries in the folder (each with its ``path``)."""
        if not self.directory.is_dir():
            return []
        out = []
        for folder in sorted(self.directory.iterdir()):
            manifest = _manifest(folder)
            if manifest is not None and not folder.name.startswith("."):
                out.append({**manifest, "path": str(folder)})
        return out

    def clear(self) -> int:
        """Delete the entries this cache wrote (folders with a valid manifest); return how many.

        Anything else in the folder (other files, folders without a manifest) stays.
        """
        removed = 0
        for entry in self.entries():
            shutil.rmtree(entry["path"])
            removed += 1
        return removed


def _manifest(folder: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(manifest, dict) and manifest.get("format") == MARKER and isinstance(manifest.get("key"), str)
    return manifest if ok else None


def _save(result: Any, slot: Path, manifest: dict[str, Any]) -> None:
    if not isinstance(result, (xr.DataArray, np.ndarray)):
        raise TypeError(f"can only cache DataArrays and numpy arrays, got {type(result).__name__}")
    slot.parent.mkdir(parents=True, exist_ok=True)
    tmp = slot.with_name(f".{slot.name}.{uuid.uuid4().hex}.tmp")
    tmp.mkdir()
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, default=repr) + "\n")
    if isinstance(result, xr.DataArray):
        ds = result.to_dataset(name="data", promote_attrs=False)
        ds.attrs["dataarray_name"] = json.dumps(result.name)
        ds.to_zarr(tmp / "data.zarr", mode="w-", **_ZARR)
    else:
        with open(tmp / "data.npy", "wb") as f:
            np.save(f, result, allow_pickle=False)
    _commit(tmp, slot)


def _commit(tmp: Path, slot: Path) -> None:
    """Rename a complete temporary folder into place (atomic: the entry appears whole)."""
    try:
        os.replace(tmp, slot)
    except OSError:  # another process wrote the same entry first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)


def _load(folder: Path) -> Any:
    if (folder / "data.zarr").exists():
        with xr.open_dataset(folder / "data.zarr", engine="zarr", chunks=None, **_ZARR) as ds:
            da = ds["data"].load()
            da.name = json.loads(ds.attrs["dataarray_name"])
        return da
    return np.load(folder / "data.npy", allow_pickle=False)


def cache_path(generator: str | Callable, cache_dir: str | os.PathLike, config: Mapping[str, Any] | None = None,
               renderer: Any = None) -> Path:
    """The folder where :func:`cached` stores this configuration.

    Example:
        >>> cache_path("grey", "/tmp/c", {"dt": 1}).name.startswith("grey-")
        True
    """
    return StimulusCache(cache_dir).path(generator, config, renderer)


def cached(generator: str | Callable[..., Any], cache_dir: str | os.PathLike, renderer: Any = None, /,
           **config: Any) -> Any:
    """Return ``generator(**config)`` (rendered by ``renderer``), computed once and then loaded from disk.

    A shortcut for ``StimulusCache(cache_dir).get(generator, config, renderer)``.

    Example:
        >>> import tempfile
        >>> from dynvision.stimuli import HexRenderer, moving_digits
        >>> d = tempfile.mkdtemp()
        >>> cached(moving_digits, d, n=1, n_frames=2, size=8).shape
        (1, 2, 1, 8, 8)
        >>> cached(moving_digits, d, HexRenderer(extent=2, kernel_size=4), n=1, n_frames=2, size=8).dims
        ('sequence', 'frame', 'channel', 'receptor')
    """
    return StimulusCache(cache_dir).get(generator, config, renderer)

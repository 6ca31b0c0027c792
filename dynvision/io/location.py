"""Where a store lives: a local folder or an fsspec URL, normalised once.

Every store function takes ``str``, ``os.PathLike`` or an fsspec URL (``memory://``,
``s3://``...). :func:`locate` expands ``~`` in local paths, makes them absolute and gives the
filesystem object used for everything that is not zarr data (run records, locks, checks).

Example:
    >>> loc = locate("~/acts.zarr")
    >>> loc.local, loc.url.startswith("/")
    (True, True)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from dynvision.validation import InvalidValueError


@dataclass(frozen=True)
class Location:
    """A store's address.

    Attributes:
        url: What zarr and xarray open (an absolute local path or an fsspec URL).
        fs: The fsspec filesystem holding it.
        root: The store's path inside ``fs``.
        local: Whether it is a folder on a local (or mounted) disk.
    """

    url: str
    fs: Any
    root: str
    local: bool

    def join(self, *parts: str) -> str:
        """A path inside the store (in ``fs``)."""
        return "/".join([self.root.rstrip("/"), *parts])

    def sibling(self, suffix: str) -> str:
        """A path beside the store (``acts.zarr`` -> ``.acts.zarr<suffix>``), in ``fs``."""
        head, _, name = self.root.rstrip("/").rpartition("/")
        return f"{head}/.{name}{suffix}"

    def read_json(self, path: str) -> Any | None:
        """A JSON document in ``fs``, or ``None`` if it does not exist."""
        try:
            with self.fs.open(path, "rb") as f:
                return json.loads(f.read())
        except FileNotFoundError:
            return None

    def write_json(self, path: str, value: Any) -> None:
        """Write a JSON document atomically (a temporary file renamed on local disks; object
        stores replace objects atomically)."""
        data = json.dumps(value, sort_keys=True).encode()
        if self.local:
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        else:
            self.fs.pipe_file(path, data)

    def write_files(self, files: dict[str, bytes]) -> None:
        """Write many small files (keys relative to the store) in one batch: ``zarr.json`` at
        the root first, so that a write cut short leaves a folder recognisable as a store."""
        keys = sorted(files, key=lambda k: k != "zarr.json")
        if self.local:
            made: set[str] = set()
            for key in keys:
                path = self.join(key)
                parent = os.path.dirname(path)
                if parent not in made:
                    os.makedirs(parent, exist_ok=True)
                    made.add(parent)
                with open(path, "wb") as f:
                    f.write(files[key])
            return
        if "zarr.json" in files:
            self.fs.pipe_file(self.join("zarr.json"), files["zarr.json"])
        self.fs.pipe({self.join(k): files[k] for k in keys if k != "zarr.json"})

    def __str__(self) -> str:
        return self.url


def locate(store: Any) -> Location:
    """Normalise a store argument (path, ``~`` path, ``file://`` or fsspec URL).

    Raises:
        InvalidValueError: Not a path or URL, or an empty one.
    """
    import fsspec

    if isinstance(store, os.PathLike):
        store = os.fspath(store)
    if not isinstance(store, str) or not store.strip():
        raise InvalidValueError("store", store, "a folder path or an fsspec URL (e.g. 'acts.zarr', 's3://bucket/acts.zarr')")
    if store.startswith("file://"):
        store = store[len("file://"):]
    if "://" not in store:
        path = os.path.abspath(os.path.expanduser(store))
        return Location(path, fsspec.filesystem("file"), path, True)
    fs, root = fsspec.core.url_to_fs(store)
    return Location(store.rstrip("/"), fs, root.rstrip("/"), False)

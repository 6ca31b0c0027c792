"""The ``ffcv`` loader: a dataset written once to a ``.beton`` file and read by FFCV.

Images are stored losslessly as float32 arrays (``NDArrayField``) and labels as ints, so the
pixels FFCV returns are bit-identical to the dataset's. The file name holds a hash of the
image and label bytes, so it is written once per distinct dataset and reused afterwards.
Batches follow :func:`~dynvision.data.loaders.epoch_order` exactly as in the ``plain`` loader.

FFCV is an optional extra, imported only when this loader is built::

    pip install "dynvision[ffcv]"
    sudo apt-get install pkg-config libopencv-dev libturbojpeg0-dev   # FFCV's C libraries

Example:
    >>> from dynvision.data import make_dataset, make_loader
    >>> ds = make_dataset("digits", split="val", size=16)
    >>> loader = make_loader(ds, batch_size=64, loader="ffcv", cache_dir="cache")  # doctest: +SKIP
    >>> images, labels = next(iter(loader))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset

from dynvision.data.base import ArrayDataset, as_arrays
from dynvision.data.loaders import Batch, BatchLoader

FORMAT_VERSION = 1
"""Bumped whenever the ``.beton`` layout written here changes (it is part of the file key)."""

INSTALL_HINT = (
    "the 'ffcv' loader needs the optional FFCV extra: install it with "
    '`pip install "dynvision[ffcv]"` after installing its system libraries, e.g. '
    "`sudo apt-get install pkg-config libopencv-dev libturbojpeg0-dev`; "
    "or use loader='plain'"
)


@contextmanager
def keep_torch_threads() -> Iterator[None]:
    """Restore torch's thread count on exit: FFCV sets it on import, build and iteration."""
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def require_ffcv() -> None:
    """Import ffcv or raise :class:`ImportError` saying how to install it."""
    try:
        with keep_torch_threads():
            import ffcv  # noqa: F401
            import ffcv.loader  # noqa: F401
    except ImportError as err:  # a missing C library also surfaces as ImportError
        raise ImportError(f"{INSTALL_HINT} (import failed: {err})") from err


def default_cache_dir() -> Path:
    """``$DYNVISION_CACHE_DIR/ffcv``, else ``~/.cache/dynvision/ffcv`` (not created here)."""
    base = os.environ.get("DYNVISION_CACHE_DIR") or Path.home() / ".cache" / "dynvision"
    return Path(base).expanduser() / "ffcv"


def _key(images: np.ndarray, labels: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=12)
    digest.update(f"v{FORMAT_VERSION}|{images.dtype}|{images.shape}|{labels.dtype}|".encode())
    digest.update(np.ascontiguousarray(images).data)
    digest.update(np.ascontiguousarray(labels).data)
    return digest.hexdigest()


class _Rows:
    """Indexable ``(image, label)`` view of arrays for ``DatasetWriter`` (cannot fail)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.images[i], int(self.labels[i])


def write_beton(dataset: Dataset, cache_dir: str | os.PathLike | None = None) -> Path:
    """Write ``dataset`` to a ``.beton`` file under ``cache_dir`` unless it is already there.

    The name is ``<name>-<split>-<hash>.beton``, the hash covering the image and label bytes;
    a ``.json`` file beside it records the dataset's config. Writing goes to a temporary file
    that is renamed when complete, so a crash never leaves a truncated cache entry.

    Returns:
        Path of the ``.beton`` file.

    Example:
        >>> path = write_beton(make_dataset("digits", size=16), "cache")  # doctest: +SKIP
    """
    require_ffcv()
    from ffcv.fields import IntField, NDArrayField
    from ffcv.writer import DatasetWriter

    images, labels = as_arrays(dataset)
    images = np.ascontiguousarray(images, dtype=np.float32)
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    config = dataset.config if isinstance(dataset, ArrayDataset) else {}
    stem = "-".join(str(config[k]) for k in ("name", "split") if k in config) or "dataset"
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    path = folder / f"{stem}-{_key(images, labels)}.beton"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fields = {"image": NDArrayField(np.dtype("float32"), images.shape[1:]), "label": IntField()}
    try:
        DatasetWriter(str(tmp), fields, num_workers=1).from_indexed_dataset(_Rows(images, labels))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    meta = {"config": config, "n": len(labels), "image_shape": list(images.shape[1:])}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    return path


class _PresetOrder:
    """Stands in for FFCV's traversal order: serves the order the loader set for this epoch."""

    def __init__(self, order: np.ndarray):
        self.order = order

    def sample_order(self, epoch: int) -> np.ndarray:
        return self.order


class FFCVLoader(BatchLoader):
    """Batches read by ``ffcv.loader.Loader`` from a cached ``.beton`` file.

    FFCV sets torch's thread count when it is imported and whenever it builds or starts a
    loader; this class restores the caller's setting each time.

    Args:
        num_workers: FFCV decoding threads (0 means 1).
        cache_dir: Folder of the ``.beton`` files (default :func:`default_cache_dir`).
        **kwargs: See :class:`~dynvision.data.loaders.BatchLoader`.

    Attributes:
        path: The ``.beton`` file.

    Example:
        >>> ds = make_dataset("digits", size=16)  # doctest: +SKIP
        >>> loader = FFCVLoader(ds, batch_size=64, cache_dir="cache")  # doctest: +SKIP
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
        epoch: int = 0,
        drop_last: bool = False,
        num_workers: int = 0,
        cache_dir: str | os.PathLike | None = None,
    ):
        super().__init__(dataset, batch_size, shuffle, seed, epoch, drop_last)
        self.path = write_beton(dataset, cache_dir)
        from ffcv.fields.decoders import IntDecoder, NDArrayDecoder
        from ffcv.loader import Loader, OrderOption
        from ffcv.transforms import Squeeze, ToTensor

        with keep_torch_threads():
            self._loader = Loader(
                str(self.path),
                batch_size=self.batch_size,
                num_workers=max(1, int(num_workers)),
                order=OrderOption.SEQUENTIAL,
                seed=self.seed,
                drop_last=self.drop_last,
                pipelines={
                    "image": [NDArrayDecoder(), ToTensor()],
                    "label": [IntDecoder(), ToTensor(), Squeeze(1)],
                },
            )
        # FFCV's orders are its own permutations; ours must match the plain loader's, so the
        # loader's traversal order is replaced by one that serves the order set per epoch.
        self._order = _PresetOrder(self.order())
        self._loader.traversal_order = self._order

    def _iterate(self, order: np.ndarray) -> Iterator[Batch]:
        self._order.order = order.astype(np.uint64)
        with keep_torch_threads():
            batches = iter(self._loader)
        for images, labels in batches:
            # FFCV reuses its output buffers for later batches: hand out owned copies.
            yield images.clone(), labels.clone()

"""Storage of activations: the schema in one place, safe streaming zarr writes, lazy reads.

The activation schema (see :mod:`dynvision.io.schema`) is an ``xarray.DataTree``: the root
holds ``logits`` (sample, time, class); one child node per recorded area holds ``activity``
(sample, time, channel, y, x); the optional node ``stimulus`` holds the input ``luminance``;
an ensemble's arrays have a leading ``model`` dimension. Stores are zarr (v3) on any path or
fsspec URL, written by one locked writer (:mod:`dynvision.io.lock`), one unit of work at a
time (:mod:`dynvision.io.writer`), with a run record and per-chunk checksums
(:mod:`dynvision.io.record`, :mod:`dynvision.io.check`); :func:`open_activations` reopens
them lazily with dask. See docs/stores.md.
"""

from dynvision.io.check import StoreReport, check_store
from dynvision.io.lock import StoreLockedError, store_lock
from dynvision.io.location import locate
from dynvision.io.record import ForeignStoreError, StoreCorruptError, StoreMismatchError
from dynvision.io.schema import ACTIVITY_DIMS, LOGIT_DIMS, STIMULUS_DIMS, build_tree, sample_coords
from dynvision.io.store import open_activations, store_status

__all__ = [
    "ACTIVITY_DIMS",
    "LOGIT_DIMS",
    "STIMULUS_DIMS",
    "ForeignStoreError",
    "StoreCorruptError",
    "StoreLockedError",
    "StoreMismatchError",
    "StoreReport",
    "build_tree",
    "check_store",
    "locate",
    "open_activations",
    "sample_coords",
    "store_lock",
    "store_status",
]

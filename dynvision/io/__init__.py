"""Storage of activations: the schema in one place, streaming zarr writes, lazy reads.

The activation schema (see :mod:`dynvision.io.schema`) is an ``xarray.DataTree``: the root
holds ``logits`` (sample, time, class); one child node per recorded area holds ``activity``
(sample, time, channel, y, x); the optional node ``stimulus`` holds the input ``luminance``. Stores are zarr (v3) on any
path or fsspec URL; :func:`open_activations` reopens them lazily with dask.
"""

from dynvision.io.schema import ACTIVITY_DIMS, LOGIT_DIMS, STIMULUS_DIMS, build_tree, sample_coords
from dynvision.io.store import ActivationWriter, StoreMismatchError, lazy_zeros, open_activations, store_status

__all__ = [
    "ACTIVITY_DIMS",
    "LOGIT_DIMS",
    "STIMULUS_DIMS",
    "ActivationWriter",
    "StoreMismatchError",
    "build_tree",
    "lazy_zeros",
    "open_activations",
    "sample_coords",
    "store_status",
]

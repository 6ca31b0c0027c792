"""MEIs (and other in-silico results) in zarr: written once, never over another run's data.

:func:`save_meis` writes the Dataset of :func:`~dynvision.insilico.meis.mei` (stimuli,
objective values, traces, responses, and the settings and model configuration in the attrs)
to a zarr store; an existing path is only replaced with ``overwrite=True``. :func:`open_meis`
reads it back (lazily, as xarray does).

Example:
    >>> save_meis(ds, "results/meis.zarr")  # doctest: +SKIP
    >>> open_meis("results/meis.zarr")["objective"]  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import xarray as xr

from dynvision.validation import check_bool


def _exists(path) -> bool:
    return isinstance(path, (str, os.PathLike)) and "://" not in str(path) and Path(path).exists()


def save_meis(ds: xr.Dataset, path: str | os.PathLike, *, overwrite: bool = False) -> str:
    """Write ``ds`` to the zarr store ``path`` (a folder or an fsspec URL).

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.
    """
    overwrite = check_bool("overwrite", overwrite)
    if _exists(path):
        if not overwrite:
            raise FileExistsError(f"{os.fspath(path)} exists; pass overwrite=True to replace it")
        if Path(path).is_dir():
            shutil.rmtree(path)
        else:
            Path(path).unlink()
    ds.to_zarr(os.fspath(path) if isinstance(path, os.PathLike) else path, mode="w" if overwrite else "w-",
               consolidated=False)
    return os.fspath(path)


def open_meis(path: str | os.PathLike) -> xr.Dataset:
    """The Dataset stored by :func:`save_meis` (data loaded lazily)."""
    if "://" not in str(path) and not Path(path).exists():
        raise FileNotFoundError(f"no MEI store at {os.fspath(path)}")
    return xr.open_zarr(os.fspath(path) if isinstance(path, os.PathLike) else path, consolidated=False)


__all__ = ["open_meis", "save_meis"]

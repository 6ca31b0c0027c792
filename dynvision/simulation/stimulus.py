"""Stimuli as Simulation sees them: validated, on the model's time grid, read batch by batch.

Example:
    >>> import numpy as np
    >>> stim = as_stimulus(np.zeros((2, 3, 1, 8, 8), "float32"), dt_ms=2.0)
    >>> stim["time"].values.tolist()
    [0.0, 2.0, 4.0]
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from dynvision.conventions import STIMULUS_DIMS
from dynvision.dynamics import time_axis
from dynvision.validation import InvalidValueError, ms_aliases


def _check_dtype(dtype) -> None:
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        hint = " (0..255 images: divide by 255)" if dtype.kind in "iu" else ""
        raise InvalidValueError("stimulus", f"<array of dtype {dtype}>",
                                f"floating-point luminance in [0, 1] (float16, float32 or float64){hint}")


@ms_aliases
def as_stimulus(stimulus, dt_ms: float) -> xr.DataArray:
    """Validate a stimulus and return it as a DataArray on the model's time grid.

    A tensor or array ``(sample, time, channel, y, x)`` gets times ``0, dt, 2 dt...``. A
    DataArray keeps its coordinates (and stays lazy if it is dask-backed); if its time step
    differs from ``dt_ms`` its frames are resampled by sample-and-hold (the frame shown at
    ``t`` is the latest with onset <= t).

    Raises:
        ValueError: Wrong rank or dims, empty, not floating point, or a time axis that is
            not increasing in ms.
    """
    dt = dt_ms
    if isinstance(stimulus, xr.DataArray):
        da_ = stimulus
        if da_.ndim != 5 or set(da_.dims) != set(STIMULUS_DIMS):
            raise ValueError(f"stimulus DataArray must have dims {STIMULUS_DIMS}, got {da_.dims}")
        da_ = da_.transpose(*STIMULUS_DIMS)
    else:
        if torch.is_tensor(stimulus):
            if stimulus.is_complex() or not stimulus.is_floating_point():
                _check_dtype(str(stimulus.dtype).replace("torch.", "").replace("bfloat16", "float16"))
            arr = stimulus.detach().float().cpu().numpy() if stimulus.dtype == torch.bfloat16 else \
                stimulus.detach().cpu().numpy()
        else:
            arr = np.asarray(stimulus)
        if arr.ndim != 5:
            raise ValueError(f"stimulus must have rank 5 (sample, time, channel, y, x), got rank {arr.ndim} "
                             f"with shape {arr.shape}")
        da_ = xr.DataArray(arr, dims=STIMULUS_DIMS, name="stimulus",
                           coords={"time": ("time", time_axis(arr.shape[1], dt), {"units": "ms"})})
    _check_dtype(da_.dtype)
    if 0 in da_.shape:
        raise ValueError(f"stimulus is empty: shape {dict(zip(da_.dims, da_.shape))}")
    if "time" not in da_.coords:
        da_ = da_.assign_coords(time=("time", time_axis(da_.sizes["time"], dt), {"units": "ms"}))
    times = np.asarray(da_["time"].values, dtype=np.float64)
    if times.size > 1 and np.any(np.diff(times) <= 0):
        raise ValueError("stimulus time coordinate must be strictly increasing (ms)")
    from dynvision.stimuli.resample import hold_resample  # the one sample-and-hold rule

    return hold_resample(da_, dt)


def read_frames(stimulus: xr.DataArray, start: int, stop: int) -> np.ndarray:
    """Samples ``start:stop`` as a float32 array, checked for non-finite values.

    Raises:
        ValueError: A NaN or inf, naming the first sample and time where it occurs.
    """
    frames = np.asarray(stimulus.isel(sample=slice(start, stop)).values, dtype=np.float32)
    if not np.isfinite(frames.sum(dtype=np.float64)):
        bad = ~np.isfinite(frames)
        if bad.any():
            s, t = np.argwhere(bad.reshape(*bad.shape[:2], -1).any(-1))[0]
            time = float(stimulus["time"].values[t])
            raise ValueError(f"stimulus contains non-finite values (NaN or inf): first at sample {start + int(s)}, "
                             f"time {time:g} ms; nothing of that batch was simulated or stored")
    return frames

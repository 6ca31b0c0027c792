"""The stimulus schema in one place: timing in ms, dims, coords, attrs and a validator.

A stimulus is a float32 :class:`xarray.DataArray` named ``"stimulus"`` with dims
``(sample, time, channel, y, x)``; ``time`` holds step times in ms from 0 with spacing ``dt``;
values are luminance in [0, 1] on a grey background of 0.5; conditions are non-index
coordinates along ``sample``; ``attrs`` hold ``dt``, ``background``, ``stimulus`` (the
generator's name) and ``config`` (a JSON string of the generator's parameters).

Example:
    >>> to_steps(20.0, 2.0, "t_pre")
    10
    >>> da = stimulus_array(np.full((1, 3, 1, 4, 4), 0.5), dt=2.0, name="grey", config={})
    >>> da.dims, da.time.values.tolist()
    (('sample', 'time', 'channel', 'y', 'x'), [0.0, 2.0, 4.0])
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

import numpy as np
import xarray as xr

from dynvision.dynamics.timing import delay_steps

from dynvision.conventions import BACKGROUND, STIMULUS_DIMS as DIMS  # noqa: F401  (one definition)
TIME_COORDS = ("stim_onset", "stim_offset", "onset2", "offset2", "duration", "interval")


def check_dt(dt: float) -> float:
    """Return ``dt`` as a float if it is a positive, finite number of ms.

    Example:
        >>> check_dt(1)
        1.0
    """
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.number)):
        raise ValueError(f"dt_ms must be a positive number of ms, got dt_ms={dt!r}")
    if not math.isfinite(float(dt)) or dt <= 0:
        raise ValueError(f"dt_ms must be a positive number of ms, got dt_ms={dt!r}")
    return float(dt)


def to_steps(value_ms: float, dt: float, name: str, minimum: int = 0) -> int:
    """Convert a time in ms to a whole number of steps of ``dt`` ms.

    The same rule as every delay in the models
    (:func:`dynvision.dynamics.timing.delay_steps`): the time must be finite, >= 0, a
    multiple of ``dt`` and at least ``minimum`` steps; errors name the value and ``dt``.

    Example:
        >>> to_steps(7.5, 2.5, "t_stim")
        3
    """
    return delay_steps(value_ms, check_dt(dt), name, minimum)


def as_list(value: Any, name: str) -> list:
    """Return a scalar or a sequence as a non-empty list (for condition grids).

    Example:
        >>> as_list(0.5, "contrast"), as_list((10, 20), "t_stim")
        ([0.5], [10, 20])
    """
    if isinstance(value, (str, bytes)) or np.ndim(value) == 0:
        return [value]
    out = list(np.asarray(value).ravel().tolist())
    if not out:
        raise ValueError(f"{name} is empty; give at least one value")
    return out


def json_config(config: Mapping[str, Any]) -> str:
    """Serialise a generator's parameters to a sorted JSON string (numpy values allowed).

    Example:
        >>> json_config({"t_stim": np.array([10.0]), "dt": 2})
        '{"dt": 2, "t_stim": [10.0]}'
    """

    def default(obj: Any) -> Any:
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        return repr(obj)

    return json.dumps(dict(config), sort_keys=True, default=default)


def stimulus_array(
    values: np.ndarray,
    *,
    dt: float,
    name: str,
    config: Mapping[str, Any],
    sample_coords: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Wrap a ``(sample, time, channel, y, x)`` array in the stimulus schema.

    Args:
        values: Luminance in [0, 1]; cast to float32.
        dt: The step in ms; the time coordinate is ``dt * arange(n_time)``.
        name: The generator's name, stored in ``attrs["stimulus"]``.
        config: The generator's parameters, stored as JSON in ``attrs["config"]``.
        sample_coords: Condition values, one per sample (become non-index coords). Names in
            ``TIME_COORDS`` get ``attrs["units"] = "ms"``.
        attrs: Extra attributes.

    Example:
        >>> stimulus_array(np.full((2, 1, 1, 2, 2), 0.5), dt=1.0, name="grey", config={},
        ...                sample_coords={"contrast": [0.0, 0.0]}).contrast.dims
        ('sample',)
    """
    dt = check_dt(dt)
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 5:
        raise ValueError(f"stimulus values must have 5 dims {DIMS}, got shape {values.shape}")
    n, n_time = values.shape[:2]
    coords: dict[str, Any] = {
        "sample": ("sample", np.arange(n)),
        "time": ("time", dt * np.arange(n_time, dtype=np.float64), {"units": "ms"}),
    }
    for key, val in (sample_coords or {}).items():
        val = np.asarray(val)
        if val.shape != (n,):
            raise ValueError(
                f"coordinate {key!r} needs one value per sample ({n}), got {val.shape}"
            )
        coords[key] = ("sample", val, {"units": "ms"} if key in TIME_COORDS else {})
    all_attrs = {
        "dt": dt,
        "background": BACKGROUND,
        "stimulus": name,
        "config": json_config(config),
        "long_name": "luminance",
    }
    all_attrs.update(attrs or {})
    return xr.DataArray(values, dims=DIMS, coords=coords, attrs=all_attrs, name="stimulus")


def validate_stimulus(stimulus: xr.DataArray) -> xr.DataArray:
    """Check that ``stimulus`` follows the schema and return it unchanged.

    Raises:
        ValueError: Saying which part of the schema is violated.

    Example:
        >>> da = stimulus_array(np.full((1, 2, 1, 2, 2), 0.5), dt=1.0, name="grey", config={})
        >>> validate_stimulus(da) is da
        True
    """
    if not isinstance(stimulus, xr.DataArray):
        raise ValueError(f"a stimulus is an xarray.DataArray, got {type(stimulus).__name__}")
    if stimulus.dims != DIMS:
        raise ValueError(f"stimulus dims must be {DIMS}, got {stimulus.dims}")
    if stimulus.dtype != np.float32:
        raise ValueError(f"stimulus dtype must be float32, got {stimulus.dtype}")
    missing = [k for k in ("dt", "background", "stimulus", "config") if k not in stimulus.attrs]
    if missing:
        raise ValueError(
            f"stimulus attrs lack {missing}; required: dt, background, stimulus, config"
        )
    dt = check_dt(stimulus.attrs["dt"])
    expected = dt * np.arange(stimulus.sizes["time"])
    if "time" not in stimulus.coords or not np.allclose(stimulus["time"].values, expected):
        raise ValueError(f"stimulus time coordinate must be dt * arange(n_time) ms with dt={dt:g}")
    values = stimulus.values
    if values.size and (np.isnan(values).any() or values.min() < 0 or values.max() > 1):
        lo, hi = np.nanmin(values), np.nanmax(values)
        raise ValueError(f"stimulus values must lie in [0, 1] (no NaN), got [{lo:g}, {hi:g}]")
    return stimulus

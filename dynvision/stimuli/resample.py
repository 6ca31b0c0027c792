"""Sample-and-hold resampling to the integration step: the one implementation.

A frame shown from its onset until the next frame's is *held*: on a grid of steps of ``dt_ms``,
step ``k`` (time ``t = k * dt_ms``) shows the latest frame whose onset is ``<= t``.
:func:`hold_indices` computes that for any two time axes; :func:`frame_indices` for frames at
a rate in Hz; :func:`hold_resample` applies it to a DataArray with a ``time`` coordinate in ms
(what :class:`~dynvision.Simulation` does when a stimulus's step is not the model's);
:func:`sequence_stimulus` turns frame sequences into a standard stimulus with grey padding.

A ``dt_ms`` longer than a frame would silently drop frames, so it is an error unless the
caller says ``drop_frames=True``.

Example:
    >>> frame_indices(3, framerate_hz=100, dt_ms=5).tolist()  # 10 ms frames, 5 ms steps
    [0, 0, 1, 1, 2, 2]
    >>> hold_indices([0.0, 10.0, 20.0], [0.0, 4.0, 8.0, 12.0, 16.0]).tolist()
    [0, 0, 0, 1, 1]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from dynvision.data.transforms import convert_channels
from dynvision.stimuli.schema import BACKGROUND, check_dt, stimulus_array, to_steps
from dynvision.stimuli.sources import check_channels
from dynvision.stimuli.temporal import STIMULI
from dynvision.validation import InvalidValueError, check_bool, check_int, check_number, ms_aliases

_EPS = 1e-6  # relative tolerance on times: 1e-6 of a step


def hold_indices(source_ms: Any, target_ms: Any) -> np.ndarray:
    """For each target time, the index of the latest source time ``<=`` it (sample-and-hold).

    Args:
        source_ms: Strictly increasing onset times of the source frames (ms).
        target_ms: Times to sample (ms), none before the first onset.

    Raises:
        InvalidValueError: Source times that do not increase, or a target before the first
            source time.

    Example:
        >>> hold_indices([0, 2, 4], [1, 2, 5]).tolist()
        [0, 1, 2]
    """
    source = np.asarray(source_ms, dtype=np.float64).ravel()
    target = np.asarray(target_ms, dtype=np.float64).ravel()
    if source.size == 0 or not np.isfinite(source).all() or np.any(np.diff(source) <= 0):
        raise InvalidValueError("source_ms", source_ms, "finite, strictly increasing times (ms)")
    step = float(np.median(np.diff(source))) if source.size > 1 else 1.0
    eps = _EPS * step
    if target.size and (not np.isfinite(target).all() or target.min() < source[0] - eps):
        raise InvalidValueError("target_ms", target_ms, f"finite times >= the first onset {source[0]:g} ms")
    return np.searchsorted(source, target + eps, side="right") - 1


@ms_aliases
def frame_indices(n_frames: int, framerate_hz: float, dt_ms: float) -> np.ndarray:
    """Which frame is shown at each step of ``dt_ms`` (sample-and-hold).

    Step ``k`` (time ``k * dt_ms`` after onset) shows frame ``floor(k * dt_ms * framerate_hz /
    1000)``; there are ``ceil(n_frames * 1000 / framerate_hz / dt_ms)`` steps, so when the
    sequence length is not a multiple of ``dt_ms`` the last frame is held to the end of its step.

    Example:
        >>> frame_indices(3, framerate_hz=100, dt_ms=4).tolist()  # frames at 0, 10, 20 ms
        [0, 0, 0, 1, 1, 2, 2, 2]
    """
    n_frames = check_int("n_frames", n_frames, lo=1)
    framerate_hz = check_number("framerate_hz", framerate_hz, lo=0, lo_open=True, unit="Hz")
    dt_ms = check_dt(dt_ms)
    frame_ms = 1000.0 / framerate_hz
    n_steps = math.ceil(n_frames * frame_ms / dt_ms - _EPS)
    return hold_indices(np.arange(n_frames) * frame_ms, np.arange(n_steps) * dt_ms)


def check_frames_shown(n_frames: int, framerate_hz: float, dt_ms: float, drop_frames: bool) -> None:
    """Raise if steps of ``dt_ms`` would skip frames shown at ``framerate_hz`` (unless allowed).

    Example:
        >>> check_frames_shown(4, 50, 40, drop_frames=True)  # allowed: nothing raised
    """
    if check_bool("drop_frames", drop_frames) or dt_ms <= 1000.0 / framerate_hz * (1 + _EPS):
        return
    shown = len(np.unique(frame_indices(n_frames, framerate_hz, dt_ms)))
    if shown < n_frames:
        raise InvalidValueError(
            "dt_ms", dt_ms,
            f"at most one frame ({1000.0 / framerate_hz:g} ms at {framerate_hz:g} Hz): "
            f"{n_frames - shown} of {n_frames} frames would never be shown; use a shorter dt_ms "
            f"or pass drop_frames=True")


def hold_resample(data: xr.DataArray, dt_ms: float, dim: str = "time") -> xr.DataArray:
    """Resample ``data`` along its time coordinate (ms) to steps of ``dt_ms`` by sample-and-hold.

    The new axis starts at the first time and covers the old one's duration (its last time
    plus its last step). Data already on that grid is returned unchanged; otherwise
    ``attrs["resampled_from_ms"]`` records the old step.

    Example:
        >>> da = xr.DataArray([1.0, 2.0], dims="time", coords={"time": [0.0, 10.0]})
        >>> hold_resample(da, 5).values.tolist(), hold_resample(da, 5).time.values.tolist()
        ([1.0, 1.0, 2.0, 2.0], [0.0, 5.0, 10.0, 15.0])
    """
    dt_ms = check_dt(dt_ms)
    times = np.asarray(data[dim].values, dtype=np.float64)
    if times.size < 2:
        return data
    steps = np.diff(times)
    if np.allclose(steps, dt_ms, rtol=0, atol=_EPS * dt_ms):
        return data
    if np.any(steps <= 0):
        raise InvalidValueError(dim, times.tolist()[:5], "strictly increasing times (ms)")
    n = int(np.floor((times[-1] + steps[-1] - times[0]) / dt_ms + _EPS))
    grid = times[0] + dt_ms * np.arange(n)
    attrs = {**data[dim].attrs, "units": "ms"}
    out = data.isel({dim: hold_indices(times, grid)}).assign_coords({dim: (dim, grid, attrs)})
    out.attrs = {**data.attrs, "resampled_from_ms": float(np.median(steps))}
    return out


@STIMULI.register("sequence")
@ms_aliases
def sequence_stimulus(
    frames: Any,
    *,
    framerate_hz: float,
    dt_ms: float,
    t_pre_ms: float,
    t_post_ms: float,
    channels: int | None = None,
    drop_frames: bool = False,
) -> xr.DataArray:
    """Resample frame sequences to steps of ``dt_ms`` with grey padding: a standard stimulus.

    Args:
        frames: A frames DataArray (from :func:`~dynvision.stimuli.moving_digits`,
            :func:`~dynvision.stimuli.load_moving_mnist`...) or an array ``(sequence, frame,
            y, x)`` / ``(sequence, frame, channel, y, x)`` in [0, 1]. Coordinates along
            ``sequence`` become coordinates along ``sample``.
        framerate_hz: Frames per second of the sequence.
        dt_ms: The step in ms.
        t_pre_ms: Grey before the first frame in ms (a multiple of ``dt_ms``).
        t_post_ms: Grey after the last frame in ms (a multiple of ``dt_ms``).
        channels: Convert to 1 or 3 channels (``None`` keeps).
        drop_frames: Allow a ``dt_ms`` longer than a frame (some frames are then never shown).

    Raises:
        InvalidValueError: A bad shape, values outside [0, 1], a bad rate or time, or frames
            that would be dropped without ``drop_frames=True``.

    Example:
        >>> s = sequence_stimulus(np.ones((1, 2, 4, 4)), framerate_hz=50, dt_ms=10, t_pre_ms=10,
        ...                       t_post_ms=0)
        >>> s.isel(sample=0, channel=0, y=0, x=0).values.tolist()
        [0.5, 1.0, 1.0, 1.0, 1.0]
    """
    coords: dict[str, Any] = {}
    source: dict[str, Any] = {"source": "array"}
    if isinstance(frames, xr.DataArray):
        coords = {k: frames[k].values for k in frames.coords if frames[k].dims == ("sequence",)}
        coords.pop("sequence", None)
        source = {"source": frames.attrs.get("source", "array"), "config": frames.attrs.get("config", "")}
    values = np.asarray(frames, dtype=np.float64)
    if values.ndim == 4:
        values = values[:, :, None]
    if values.ndim != 5 or values.shape[2] not in (1, 3) or 0 in values.shape:
        raise InvalidValueError(
            "frames", f"<array of shape {np.shape(frames)}>",
            "shape (sequence, frame, y, x) or (sequence, frame, channel, y, x) with 1 or 3 channels")
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
        raise InvalidValueError("frames", f"<values in [{values.min():g}, {values.max():g}]>",
                                "values in [0, 1]")
    if channels is not None:
        values = convert_channels(values, check_channels(channels), axis=2)
    framerate_hz = check_number("framerate_hz", framerate_hz, lo=0, lo_open=True, unit="Hz")
    dt_ms = check_dt(dt_ms)
    pre, post = to_steps(t_pre_ms, dt_ms, "t_pre_ms"), to_steps(t_post_ms, dt_ms, "t_post_ms")
    check_frames_shown(values.shape[1], framerate_hz, dt_ms, drop_frames)
    idx = frame_indices(values.shape[1], framerate_hz, dt_ms)
    n, n_stim = values.shape[0], len(idx)
    out = np.full((n, pre + n_stim + post, *values.shape[2:]), BACKGROUND, dtype=np.float32)
    out[:, pre : pre + n_stim] = values[:, idx]
    coords.update({"stim_onset": [pre * dt_ms] * n, "stim_offset": [(pre + n_stim) * dt_ms] * n})
    config = {
        "framerate_hz": framerate_hz,
        "dt_ms": dt_ms,
        "t_pre_ms": float(t_pre_ms),
        "t_post_ms": float(t_post_ms),
        "channels": channels,
        "drop_frames": drop_frames,
        "frames": {**source, "shape": list(values.shape)},
    }
    attrs = {"framerate_hz": framerate_hz, "t_pre_ms": float(t_pre_ms), "t_post_ms": float(t_post_ms)}
    return stimulus_array(out, dt=dt_ms, name="sequence", config=config, sample_coords=coords, attrs=attrs)

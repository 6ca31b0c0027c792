"""Temporal stimuli with explicit timing in ms: grey, presentations and condition grids.

Every generator returns one stimulus DataArray (schema in :mod:`dynvision.stimuli.schema`).
A presentation shows ``0.5 + contrast * (image - 0.5)`` (contrast about the mean luminance)
from ``stim_onset = t_pre`` for ``t_stim`` ms; with ``t_interval`` a second, identical
presentation follows after ``t_interval`` ms of grey. Conditions form a Cartesian grid
(image x contrast x duration x interval, image outermost) along ``sample``; each sample
carries ``image``, ``contrast``, ``duration``, (``interval``), ``stim_onset``,
``stim_offset`` (and ``onset2``, ``offset2``) in ms, plus the image set's own coordinates
(``label``, ``orientation``...). All samples share one time axis whose length fits the
longest condition plus ``t_post``; shorter conditions stay grey until the end.

Example:
    >>> from dynvision.stimuli import make_images
    >>> stim = presentation(make_images("flash", size=4), dt=2, t_pre=4, t_stim=6, t_post=4,
    ...                     contrast=[0.5, 1.0])
    >>> stim.sizes["sample"], stim.sizes["time"], stim.contrast.values.tolist()
    (2, 7, [0.5, 1.0])
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Sequence

import numpy as np
import xarray as xr

from dynvision.registry import Registry, check_kwargs
from dynvision.validation import canonical_name
from dynvision.stimuli.schema import BACKGROUND, as_list, check_dt, stimulus_array, to_steps
from dynvision.stimuli.sources import IMAGE_DIMS, check_channels, from_array, image_size
from dynvision.validation import ms_aliases

STIMULI = Registry("stimulus")


def _image_set(images: Any) -> xr.DataArray:
    if isinstance(images, xr.DataArray) and images.dims == IMAGE_DIMS:
        from_array(images.values)  # validates range and channels
        return images
    return from_array(images)


def _parse(config: Any) -> Any:
    """An image set's JSON config as an object (kept as it is if it is not JSON)."""
    try:
        return json.loads(config)
    except (TypeError, ValueError):
        return config


def _contrasts(contrast: Any) -> list[float]:
    values = [float(c) for c in as_list(contrast, "contrast")]
    bad = [c for c in values if not 0.0 <= c <= 1.0]
    if bad:
        raise ValueError(
            f"contrast {bad[0]!r} is outside [0, 1]; contrast scales the image about the mean "
            f"luminance 0.5 (0 = grey, 1 = the image itself)"
        )
    return values


@STIMULI.register("grey")
@ms_aliases
def grey(
    n: int = 1, *, duration_ms: float, dt_ms: float, size: int | Sequence[int] = 32, channels: int = 1
) -> xr.DataArray:
    """A uniform grey (0.5) stimulus, e.g. to settle a model or measure spontaneous activity.

    Args:
        n: Number of samples.
        duration_ms: Total length in ms (a positive multiple of ``dt_ms``).
        dt_ms: The step in ms.
        size: Frame size in pixels.
        channels: 1 or 3.

    Example:
        >>> grey(duration=10, dt=2, size=4).shape
        (1, 5, 1, 4, 4)
    """
    duration, dt = duration_ms, dt_ms
    n_time = to_steps(duration, dt, "duration_ms", minimum=1)
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive number of samples, got n={n!r}")
    check_channels(channels)
    h, w = image_size(size)
    values = np.full((n, n_time, channels, h, w), BACKGROUND, dtype=np.float32)
    config = {"n": n, "duration": duration, "dt": dt, "size": [h, w], "channels": channels}
    return stimulus_array(values, dt=dt, name="grey", config=config)


@ms_aliases
def build_stimulus(
    images: Any,
    *,
    dt_ms: float,
    t_pre_ms: float,
    t_stim_ms: float | Sequence[float],
    t_post_ms: float,
    contrast: float | Sequence[float] = 1.0,
    t_interval_ms: float | Sequence[float] | None = None,
    name: str = "conditions",
) -> xr.DataArray:
    """Present each image in every combination of contrast, duration (and interval).

    Args:
        images: An image set (from :func:`~dynvision.stimuli.make_images`), an array or a list
            of images (see :func:`~dynvision.stimuli.from_array`).
        dt_ms: The step in ms (> 0).
        t_pre_ms: Grey before the (first) onset, in ms (>= 0, a multiple of ``dt_ms``).
        t_stim_ms: Presentation duration(s) in ms (> 0, multiples of ``dt_ms``); the ``duration``
            coordinate.
        t_post_ms: Grey after the last offset of the longest condition, in ms.
        contrast: Contrast(s) in [0, 1]: ``value = 0.5 + contrast * (image - 0.5)``.
        t_interval_ms: Grey gap(s) in ms between two presentations of the same image; ``None``
            presents once. Becomes the ``interval`` coordinate.

    The bare spellings ``dt``, ``t_pre``, ``t_stim``, ``t_post``, ``t_interval`` work too.
        name: The generator name stored in ``attrs["stimulus"]``.

    Raises:
        ValueError: Naming the bad value: times negative or not multiples of ``dt``,
            ``dt <= 0``, contrast outside [0, 1], no images.

    Example:
        >>> from dynvision.stimuli import make_images
        >>> s = build_stimulus(make_images("digits", n=2, size=4), dt=1, t_pre=2, t_stim=[1, 2],
        ...                    t_post=1, contrast=[0.2, 1.0])
        >>> s.sizes["sample"], s.duration.values.tolist()[:4]
        (8, [1.0, 2.0, 1.0, 2.0])
    """
    dt, t_pre, t_stim, t_post, t_interval = check_dt(dt_ms), t_pre_ms, t_stim_ms, t_post_ms, t_interval_ms
    imgs = _image_set(images)
    pre = to_steps(t_pre, dt, "t_pre_ms")
    post = to_steps(t_post, dt, "t_post_ms")
    durations = [float(d) for d in as_list(t_stim, "t_stim_ms")]
    stim_steps = [to_steps(d, dt, "t_stim_ms", minimum=1) for d in durations]
    contrasts = _contrasts(contrast)
    two = t_interval is not None
    intervals = [float(i) for i in as_list(t_interval, "t_interval_ms")] if two else [None]
    gap_steps = [to_steps(i, dt, "t_interval_ms") if two else 0 for i in intervals]
    n_pres = 2 if two else 1
    longest = max(n_pres * s + (n_pres - 1) * g for s in stim_steps for g in gap_steps)
    n_time = pre + longest + post

    grid = list(
        itertools.product(
            range(imgs.sizes["image"]),
            range(len(contrasts)),
            range(len(durations)),
            range(len(intervals)),
        )
    )
    pixels = imgs.values
    values = np.full((len(grid), n_time, *pixels.shape[1:]), BACKGROUND, dtype=np.float32)
    for k, (i, c, d, g) in enumerate(grid):
        frame = BACKGROUND + contrasts[c] * (pixels[i] - BACKGROUND)
        values[k, pre : pre + stim_steps[d]] = frame
        if two:
            on2 = pre + stim_steps[d] + gap_steps[g]
            values[k, on2 : on2 + stim_steps[d]] = frame

    coords: dict[str, Any] = {
        key: imgs[key].values[[i for i, *_ in grid]]
        for key in imgs.coords
        if imgs[key].dims == ("image",)
    }
    coords["contrast"] = [contrasts[c] for _, c, _, _ in grid]
    coords["duration"] = [durations[d] for *_, d, _ in grid]
    coords["stim_onset"] = [pre * dt] * len(grid)
    coords["stim_offset"] = [(pre + stim_steps[d]) * dt for *_, d, _ in grid]
    if two:
        coords["interval"] = [intervals[g] for *_, g in grid]
        on2 = [pre + stim_steps[d] + gap_steps[g] for *_, d, g in grid]
        coords["onset2"] = [s * dt for s in on2]
        coords["offset2"] = [(s + stim_steps[d]) * dt for s, (*_, d, _) in zip(on2, grid)]
    config = {
        "dt": dt,
        "t_pre": float(t_pre),
        "t_stim": durations,
        "t_post": float(t_post),
        "contrast": contrasts,
        "t_interval": intervals if two else None,
        "images": {
            "source": imgs.attrs.get("source", "array"),
            "config": _parse(imgs.attrs.get("config")),
            "shape": list(pixels.shape),
        },
    }
    attrs = {"n_presentations": n_pres, "t_pre": float(t_pre), "t_post": float(t_post)}
    return stimulus_array(
        values, dt=dt, name=name, config=config, sample_coords=coords, attrs=attrs
    )


@STIMULI.register("presentation")
@ms_aliases
def presentation(
    images: Any,
    *,
    dt_ms: float,
    t_pre_ms: float,
    t_stim_ms: float | Sequence[float],
    t_post_ms: float,
    contrast: float | Sequence[float] = 1.0,
) -> xr.DataArray:
    """Show each image once, for each contrast and duration, on a grey background.

    Args:
        images: Image set, array or list of images.
        dt_ms: The step in ms (``dt`` works too, as do the other bare spellings).
        t_pre_ms: Grey before onset in ms.
        t_stim_ms: Presentation duration(s) in ms.
        t_post_ms: Grey after the longest presentation in ms.
        contrast: Contrast(s) in [0, 1] about the mean luminance 0.5.

    Example:
        >>> import numpy as np
        >>> s = presentation(np.ones((1, 4, 4)), dt=1, t_pre=2, t_stim=3, t_post=1)
        >>> s.isel(sample=0, channel=0, y=0, x=0).values.tolist()
        [0.5, 0.5, 1.0, 1.0, 1.0, 0.5]
    """
    return build_stimulus(
        images,
        dt_ms=dt_ms,
        t_pre_ms=t_pre_ms,
        t_stim_ms=t_stim_ms,
        t_post_ms=t_post_ms,
        contrast=contrast,
        name="presentation",
    )


@STIMULI.register("repetition")
@ms_aliases
def repetition(
    images: Any,
    *,
    dt_ms: float,
    t_pre_ms: float,
    t_stim_ms: float | Sequence[float],
    t_interval_ms: float | Sequence[float],
    t_post_ms: float,
    contrast: float | Sequence[float] = 1.0,
) -> xr.DataArray:
    """Show each image twice, separated by ``t_interval`` ms of grey (repetition suppression).

    Args:
        images: Image set, array or list of images.
        dt_ms: The step in ms (``dt`` works too, as do the other bare spellings).
        t_pre_ms: Grey before the first onset in ms.
        t_stim_ms: Duration(s) of each presentation in ms.
        t_interval_ms: Grey gap(s) between the presentations in ms.
        t_post_ms: Grey after the longest condition in ms.
        contrast: Contrast(s) in [0, 1].

    Example:
        >>> import numpy as np
        >>> s = repetition(np.ones((1, 2, 2)), dt=1, t_pre=1, t_stim=1, t_interval=2, t_post=1)
        >>> s.isel(sample=0, channel=0, y=0, x=0).values.tolist(), float(s.onset2[0])
        ([0.5, 1.0, 0.5, 0.5, 1.0, 0.5], 4.0)
    """
    if t_interval_ms is None:
        raise ValueError("t_interval_ms is required (ms of grey between the two presentations)")
    return build_stimulus(
        images,
        dt_ms=dt_ms,
        t_pre_ms=t_pre_ms,
        t_stim_ms=t_stim_ms,
        t_post_ms=t_post_ms,
        contrast=contrast,
        t_interval_ms=t_interval_ms,
        name="repetition",
    )


def make_stimulus(name: str, *args: Any, **kwargs: Any) -> xr.DataArray:
    """Build the stimulus registered as ``name`` (see :func:`list_stimuli`).

    Example:
        >>> make_stimulus("grey", duration=4, dt=1, size=2).shape
        (1, 4, 1, 2, 2)
    """
    fn = STIMULI.get(name)
    check_kwargs(f"stimulus {name!r}", {canonical_name(fn, k): v for k, v in kwargs.items()}, fn)
    return fn(*args, **kwargs)


def list_stimuli() -> list[str]:
    """Names of the registered stimulus generators.

    Example:
        >>> "repetition" in list_stimuli()
        True
    """
    return STIMULI.list()

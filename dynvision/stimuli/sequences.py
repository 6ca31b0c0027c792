"""Frame sequences generated at run time, and their resampling to the integration step.

Sequence sources return a float32 :class:`xarray.DataArray` named ``"frames"`` with dims
``(sequence, frame, channel, y, x)`` in [0, 1]. :func:`sequence_stimulus` turns frames shown
at a ``framerate`` (Hz) into a standard stimulus sampled every ``dt`` ms by sample-and-hold:
the frame shown at time ``t`` after onset is the latest frame whose onset is <= ``t``, i.e.
``floor(t * framerate / 1000)``; grey (0.5) pads ``t_pre`` before and ``t_post`` after.

Example:
    >>> frames = moving_digits(2, n_frames=4, size=12, seed=0)
    >>> stim = sequence_stimulus(frames, framerate=100, dt=5, t_pre=10, t_post=5)
    >>> stim.sizes["time"], float(stim.stim_offset[0])
    (11, 50.0)
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np
import xarray as xr

from dynvision.registry import Registry, check_kwargs
from dynvision.stimuli.schema import BACKGROUND, check_dt, json_config, stimulus_array, to_steps
from dynvision.stimuli.sources import _digits, check_channels, image_size
from dynvision.stimuli.temporal import STIMULI

FRAME_DIMS = ("sequence", "frame", "channel", "y", "x")
SEQUENCES = Registry("sequence source")


def _frames(
    values: np.ndarray, source: str, config: dict, coords: dict | None = None
) -> xr.DataArray:
    n = values.shape[0]
    all_coords = {"sequence": np.arange(n)}
    all_coords.update({k: ("sequence", np.asarray(v)) for k, v in (coords or {}).items()})
    return xr.DataArray(
        values.astype(np.float32),
        dims=FRAME_DIMS,
        coords=all_coords,
        attrs={"source": source, "config": json_config(config)},
        name="frames",
    )


def _check_counts(**counts: Any) -> None:
    for key, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{key} must be a positive integer, got {key}={value!r}")


@SEQUENCES.register("moving_digits")
def moving_digits(
    n: int = 4,
    *,
    n_frames: int = 20,
    size: int | Sequence[int] = 32,
    channels: int = 1,
    n_digits: int = 2,
    digit_size: int | None = None,
    speed: float = 2.0,
    seed: int = 0,
) -> xr.DataArray:
    """Moving-MNIST-like sequences made from scikit-learn's 8x8 digits (no download).

    Each sequence moves ``n_digits`` bright digits on a black background in straight lines at
    ``speed`` pixels per frame in random directions, bouncing off the borders; overlapping
    digits combine by maximum. The ``digits`` coordinate lists the classes (``"3 7"``); with
    one digit the ``label`` coordinate holds its class.

    Args:
        n: Number of sequences.
        n_frames: Frames per sequence.
        size: Frame size in pixels.
        channels: 1 or 3.
        n_digits: Digits per sequence.
        digit_size: Side of a digit in pixels (default half the smaller frame side).
        speed: Pixels per frame (>= 0).
        seed: Seed of the draw of digits, positions and directions.

    Example:
        >>> moving_digits(1, n_frames=3, size=8, n_digits=1, seed=2).shape
        (1, 3, 1, 8, 8)
    """
    from skimage.transform import resize

    _check_counts(n=n, n_frames=n_frames, n_digits=n_digits)
    h, w = image_size(size)
    ch = check_channels(channels)
    side = digit_size if digit_size is not None else max(1, min(h, w) // 2)
    if not isinstance(side, (int, np.integer)) or not 1 <= side <= min(h, w):
        raise ValueError(f"digit_size={digit_size!r} must be an int in [1, {min(h, w)}]")
    if not (speed >= 0 and math.isfinite(speed)):
        raise ValueError(f"speed must be >= 0 pixels per frame, got speed={speed!r}")
    images, targets = _digits()
    rng = np.random.default_rng(seed)
    out = np.zeros((n, n_frames, h, w))
    classes = []
    limit = np.array([h - side, w - side], dtype=float)
    for s in range(n):
        picks = rng.choice(len(targets), size=n_digits, replace=False)
        classes.append([int(targets[i]) for i in picks])
        for i in picks:
            glyph = np.clip(resize(images[i], (side, side), anti_aliasing=True, order=1), 0, 1)
            pos = rng.uniform(0, 1, 2) * limit
            angle = rng.uniform(0, 2 * np.pi)
            vel = speed * np.array([np.sin(angle), np.cos(angle)])
            for f in range(n_frames):
                y, x = np.round(pos).astype(int)
                region = out[s, f, y : y + side, x : x + side]
                np.maximum(region, glyph, out=region)
                pos = pos + vel
                for a in range(2):  # bounce off the borders
                    if pos[a] < 0 or pos[a] > limit[a]:
                        vel[a] = -vel[a]
                        pos[a] = np.clip(
                            -pos[a] if pos[a] < 0 else 2 * limit[a] - pos[a], 0, limit[a]
                        )
    coords = {"digits": [" ".join(map(str, c)) for c in classes]}
    if n_digits == 1:
        coords["label"] = [c[0] for c in classes]
    config = {
        "n": n,
        "n_frames": n_frames,
        "size": [h, w],
        "channels": ch,
        "n_digits": n_digits,
        "digit_size": side,
        "speed": speed,
        "seed": seed,
    }
    return _frames(np.repeat(out[:, :, None], ch, axis=2), "moving_digits", config, coords)


@SEQUENCES.register("blocks")
def random_walk_of_blocks(
    n: int = 4,
    *,
    n_frames: int = 20,
    size: int | Sequence[int] = 32,
    channels: int = 1,
    block_size: int = 4,
    n_blocks: int = 3,
    seed: int = 0,
) -> xr.DataArray:
    """Black or white square blocks taking independent random walks on a grey background.

    Blocks live on a grid of ``block_size`` cells; every frame each block steps one cell
    up, down, left, right or stays (equal odds), wrapping around the borders. Later blocks
    are drawn over earlier ones.

    Args:
        n: Number of sequences.
        n_frames: Frames per sequence.
        size: Frame size in pixels (multiples of ``block_size`` tile exactly).
        channels: 1 or 3.
        block_size: Side of a block in pixels.
        n_blocks: Blocks per sequence.
        seed: Seed of the walk.

    Example:
        >>> f = random_walk_of_blocks(1, n_frames=2, size=8, block_size=4, n_blocks=1)
        >>> sorted(set(np.unique(f.values).tolist()) - {0.5}) in ([0.0], [1.0])
        True
    """
    _check_counts(n=n, n_frames=n_frames, block_size=block_size, n_blocks=n_blocks)
    h, w = image_size(size)
    ch = check_channels(channels)
    if block_size > min(h, w):
        raise ValueError(f"block_size={block_size} is larger than the frame size {(h, w)}")
    cells = np.array([h // block_size, w // block_size])
    steps = np.array([[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]])
    rng = np.random.default_rng(seed)
    out = np.full((n, n_frames, h, w), BACKGROUND)
    for s in range(n):
        pos = rng.integers(0, cells, size=(n_blocks, 2))
        lum = rng.integers(0, 2, size=n_blocks).astype(float)
        for f in range(n_frames):
            for b in range(n_blocks):
                y, x = pos[b] * block_size
                out[s, f, y : y + block_size, x : x + block_size] = lum[b]
            pos = (pos + steps[rng.integers(0, 5, size=n_blocks)]) % cells
    config = {
        "n": n,
        "n_frames": n_frames,
        "size": [h, w],
        "channels": ch,
        "block_size": block_size,
        "n_blocks": n_blocks,
        "seed": seed,
    }
    return _frames(np.repeat(out[:, :, None], ch, axis=2), "random_walk_of_blocks", config)


def frame_indices(n_frames: int, framerate: float, dt: float) -> np.ndarray:
    """Which frame is shown at each step of ``dt`` ms (sample-and-hold).

    Step ``k`` (time ``k * dt`` after onset) shows frame ``floor(k * dt * framerate / 1000)``;
    there are ``ceil(n_frames * 1000 / framerate / dt)`` steps, so when the sequence length
    is not a multiple of ``dt`` the last frame is held to the end of its step.

    Example:
        >>> frame_indices(3, framerate=100, dt=5).tolist()  # 10 ms frames, 5 ms steps
        [0, 0, 1, 1, 2, 2]
    """
    _check_counts(n_frames=n_frames)
    dt = check_dt(dt)
    if not (framerate > 0 and math.isfinite(framerate)):
        raise ValueError(f"framerate must be a positive number of Hz, got framerate={framerate!r}")
    n_steps = math.ceil(n_frames * 1000.0 / framerate / dt - 1e-9)
    idx = np.floor(np.arange(n_steps) * dt * framerate / 1000.0 + 1e-9).astype(int)
    return np.minimum(idx, n_frames - 1)


@STIMULI.register("sequence")
def sequence_stimulus(
    frames: Any,
    *,
    framerate: float,
    dt: float,
    t_pre: float,
    t_post: float,
    channels: int | None = None,
) -> xr.DataArray:
    """Resample frame sequences to steps of ``dt`` ms with grey padding: a standard stimulus.

    Args:
        frames: A frames DataArray (from :func:`moving_digits`...) or an array
            ``(sequence, frame, y, x)`` / ``(sequence, frame, channel, y, x)`` in [0, 1].
        framerate: Frames per second (Hz) of the sequence.
        dt: The step in ms.
        t_pre: Grey before the first frame in ms (a multiple of ``dt``).
        t_post: Grey after the last frame in ms (a multiple of ``dt``).
        channels: Convert to 1 or 3 channels (``None`` keeps).

    Warns:
        UserWarning: If ``dt`` is longer than a frame, so that some frames are never shown.

    Example:
        >>> s = sequence_stimulus(np.ones((1, 2, 4, 4)), framerate=50, dt=10, t_pre=10, t_post=0)
        >>> s.isel(sample=0, channel=0, y=0, x=0).values.tolist()
        [0.5, 1.0, 1.0, 1.0, 1.0]
    """
    coords: dict[str, Any] = {}
    source: dict[str, Any] = {"source": "array"}
    if isinstance(frames, xr.DataArray):
        coords = {k: frames[k].values for k in frames.coords if frames[k].dims == ("sequence",)}
        coords.pop("sequence", None)
        source = {
            "source": frames.attrs.get("source", "array"),
            "config": frames.attrs.get("config", ""),
        }
    values = np.asarray(frames, dtype=np.float64)
    if values.ndim == 4:
        values = values[:, :, None]
    if values.ndim != 5 or values.shape[2] not in (1, 3) or 0 in values.shape:
        raise ValueError(
            "frames must have shape (sequence, frame, y, x) or (sequence, frame, channel, y, x) "
            f"with 1 or 3 channels, got {np.shape(frames)}"
        )
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
        raise ValueError(
            f"frame values must lie in [0, 1], got [{values.min():g}, {values.max():g}]"
        )
    if channels is not None and check_channels(channels) != values.shape[2]:
        weights = np.array([0.2125, 0.7154, 0.0721])[None, None, :, None, None]
        values = (
            np.repeat(values, 3, axis=2)
            if channels == 3
            else (values * weights).sum(axis=2, keepdims=True)
        )
    dt = check_dt(dt)
    pre, post = to_steps(t_pre, dt, "t_pre"), to_steps(t_post, dt, "t_post")
    idx = frame_indices(values.shape[1], framerate, dt)
    if dt > 1000.0 / framerate:
        warnings.warn(
            f"dt={dt:g} ms is longer than a frame ({1000.0 / framerate:g} ms at {framerate:g} Hz): "
            f"{values.shape[1] - len(np.unique(idx))} of {values.shape[1]} frames are never shown",
            UserWarning,
            stacklevel=2,
        )
    n, n_stim = values.shape[0], len(idx)
    out = np.full((n, pre + n_stim + post, *values.shape[2:]), BACKGROUND, dtype=np.float32)
    out[:, pre : pre + n_stim] = values[:, idx]
    coords.update({"stim_onset": [pre * dt] * n, "stim_offset": [(pre + n_stim) * dt] * n})
    config = {
        "framerate": framerate,
        "dt": dt,
        "t_pre": float(t_pre),
        "t_post": float(t_post),
        "channels": channels,
        "frames": {**source, "shape": list(values.shape)},
    }
    attrs = {"framerate": float(framerate), "t_pre": float(t_pre), "t_post": float(t_post)}
    return stimulus_array(
        out, dt=dt, name="sequence", config=config, sample_coords=coords, attrs=attrs
    )


def make_sequences(name: str, n: int = 4, **kwargs: Any) -> xr.DataArray:
    """Generate ``n`` frame sequences from the source registered as ``name``.

    Args:
        name: ``"moving_digits"`` or ``"blocks"`` (see :data:`SEQUENCES`).
        n: Number of sequences.
        **kwargs: Source options; unknown ones raise, listing the valid ones.

    Example:
        >>> make_sequences("blocks", 2, n_frames=3, size=8).dims
        ('sequence', 'frame', 'channel', 'y', 'x')
    """
    fn = SEQUENCES.get(name)
    check_kwargs(f"sequence source {name!r}", kwargs, fn)
    return fn(n, **kwargs)

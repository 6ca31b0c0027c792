"""Frame sequences: generated at run time, or loaded from a Moving-MNIST-style file.

Sequence sources return a float32 :class:`xarray.DataArray` named ``"frames"`` with dims
``(sequence, frame, channel, y, x)`` in [0, 1], per-sequence coordinates (``label``,
``digits``...) and ``attrs["source"]`` / ``attrs["config"]``. Frames have no time in ms yet:
:func:`~dynvision.stimuli.resample.sequence_stimulus` (or a
:class:`~dynvision.stimuli.dataset.SequenceDataset`) shows them at a frame rate and resamples
them to the integration step (sample-and-hold, :mod:`dynvision.stimuli.resample`).

Example:
    >>> frames = moving_digits(2, n_frames=4, size=12, seed=0)
    >>> stim = sequence_stimulus(frames, framerate_hz=100, dt_ms=5, t_pre_ms=10, t_post_ms=5)
    >>> stim.sizes["time"], float(stim.stim_offset[0])
    (11, 50.0)
"""

from __future__ import annotations

import math
import os
from typing import Any, Sequence

import numpy as np
import xarray as xr

from dynvision.data.digits import load_digit_arrays
from dynvision.registry import Registry, check_choice, check_kwargs
from dynvision.stimuli.resample import frame_indices, sequence_stimulus  # noqa: F401  (re-exported)
from dynvision.stimuli.schema import BACKGROUND, json_config
from dynvision.stimuli.sources import check_channels, image_size
from dynvision.validation import InvalidValueError, check_int, check_number

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
    images, targets = load_digit_arrays()
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


MOVING_MNIST_LAYOUTS = ("TNHW", "NTHW")
"""Axis orders of a Moving-MNIST ``.npy`` file: the public file's (frame, sequence, y, x), or
(sequence, frame, y, x)."""


def load_moving_mnist(
    path: str | os.PathLike,
    *,
    layout: str = "TNHW",
    n: int | None = None,
    framerate_hz: float | None = None,
) -> xr.DataArray:
    """Load a Moving-MNIST-style ``.npy`` file as frames in [0, 1].

    The public file (``mnist_test_seq.npy``: 10,000 sequences of 20 frames of 64 x 64, uint8)
    is laid out ``(T, N, H, W)``; files written ``(N, T, H, W)`` load with ``layout="NTHW"``.
    The file is memory-mapped, so ``n`` reads only the sequences asked for.

    Args:
        path: The ``.npy`` file.
        layout: ``"TNHW"`` (the public file) or ``"NTHW"``; never guessed.
        n: Load the first ``n`` sequences (default: all; the public file takes 3.3 GB as
            float32).
        framerate_hz: The frame rate to record in ``attrs["framerate_hz"]`` (the file holds
            none); :class:`~dynvision.stimuli.SequenceDataset` then uses it.

    Returns:
        Frames ``(sequence, frame, channel=1, y, x)``: uint8 divided by 255; float files must
        already lie in [0, 1]. The ``sequence`` coordinate holds each sequence's index in the file.

    Raises:
        InvalidValueError: Not 4-D, another dtype, values outside [0, 1], or a bad ``n``.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "mm.npy"
        >>> np.save(path, np.full((3, 2, 4, 4), 255, np.uint8))  # 3 frames of 2 sequences
        >>> frames = load_moving_mnist(path)
        >>> frames.dims, frames.shape, float(frames.max())
        (('sequence', 'frame', 'channel', 'y', 'x'), (2, 3, 1, 4, 4), 1.0)
    """
    check_choice("Moving-MNIST layout", layout, MOVING_MNIST_LAYOUTS)
    raw = np.load(os.fspath(path), mmap_mode="r", allow_pickle=False)
    if raw.ndim != 4:
        raise InvalidValueError("path", os.fspath(path), f"a 4-D array ({layout}), found shape {raw.shape}")
    file_shape = list(raw.shape)
    if layout == "TNHW":
        raw = raw.transpose(1, 0, 2, 3)
    total = raw.shape[0]
    n = total if n is None else check_int("n", n, lo=1, hi=total)
    if framerate_hz is not None:
        framerate_hz = check_number("framerate_hz", framerate_hz, lo=0, lo_open=True, unit="Hz")
    chunk = np.asarray(raw[:n])
    if chunk.dtype == np.uint8:
        values = chunk.astype(np.float32) / 255.0
    elif chunk.dtype.kind == "f":
        values = chunk.astype(np.float32)
        if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
            raise InvalidValueError("path", os.fspath(path), "uint8 values, or floats in [0, 1]")
    else:
        raise InvalidValueError("path", os.fspath(path), f"uint8 or float frames, found {chunk.dtype}")
    config = {"path": os.fspath(path), "layout": layout, "n": n, "file_shape": file_shape}
    out = _frames(values[:, :, None], "moving_mnist", config)
    if framerate_hz is not None:
        out.attrs["framerate_hz"] = framerate_hz
    return out


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

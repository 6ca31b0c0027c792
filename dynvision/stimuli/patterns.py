"""Synthetic image sources: sinusoidal/square gratings, uniform flashes and seeded noise.

All return image sets (see :mod:`dynvision.stimuli.sources`) in [0, 1] whose mean luminance is
the grey background 0.5 (except flashes, which are uniform at a chosen luminance), so contrast
scaling about 0.5 behaves as expected.

Example:
    >>> g = gratings(size=8, orientation=[0, 90], frequency=2)
    >>> g.orientation.values.tolist(), float(g.mean())
    ([0.0, 90.0], 0.5)
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np
import xarray as xr

from dynvision.registry import check_choice
from dynvision.stimuli.schema import as_list
from dynvision.stimuli.sources import SOURCES, check_channels, image_set, image_size


def _grid(hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in units of the image width, centred on the image."""
    h, w = hw
    y = (np.arange(h) + 0.5 - h / 2) / w
    x = (np.arange(w) + 0.5 - w / 2) / w
    return np.meshgrid(y, x, indexing="ij")


def _to_channels(grey: np.ndarray, channels: int) -> np.ndarray:
    """(n, y, x) -> (n, channels, y, x) by repetition."""
    return np.repeat(grey[:, None], channels, axis=1).astype(np.float32)


@SOURCES.register("grating")
def gratings(
    n: int | None = None,
    *,
    size: int | Sequence[int] = 32,
    channels: int = 1,
    orientation: float | Sequence[float] | None = None,
    frequency: float | Sequence[float] = 4.0,
    phase: float | Sequence[float] = 0.0,
    wave: str = "sine",
) -> xr.DataArray:
    """Full-contrast gratings, one per combination of orientation x frequency x phase.

    ``value = 0.5 + 0.5 * s(2 pi f (x cos(theta) + y sin(theta)) + phi)`` with ``x, y`` in units
    of the image width measured from the image centre, ``s = sin`` (``wave="sine"``) or
    ``sign(sin)`` (``wave="square"``). Orientation 0 deg gives vertical bars.

    Args:
        n: Number of orientations evenly spaced over [0, 180) deg, used when ``orientation``
            is not given (default 1: vertical).
        size: Output size in pixels.
        channels: 1 or 3.
        orientation: Orientation(s) in degrees; excludes ``n``.
        frequency: Spatial frequency(ies) in cycles per image width (> 0).
        phase: Phase(s) in degrees.
        wave: ``"sine"`` or ``"square"``.

    Example:
        >>> gratings(4, size=8).orientation.values.tolist()
        [0.0, 45.0, 90.0, 135.0]
    """
    check_choice("grating wave", wave, ["sine", "square"])
    if orientation is not None and n is not None:
        raise ValueError(f"give n={n!r} (evenly spaced orientations) or orientation=, not both")
    if orientation is None:
        n = 1 if n is None else n
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive number of orientations, got n={n!r}")
        orientation = np.arange(n) * 180.0 / n
    oris = [float(o) for o in as_list(orientation, "orientation")]
    freqs = [float(f) for f in as_list(frequency, "frequency")]
    phases = [float(p) for p in as_list(phase, "phase")]
    if any(not np.isfinite(f) or f <= 0 for f in freqs):
        raise ValueError(f"frequency must be > 0 cycles/image, got frequency={frequency!r}")
    hw, ch = image_size(size), check_channels(channels)
    yy, xx = _grid(hw)
    combos = list(itertools.product(oris, freqs, phases))
    images = []
    for ori, freq, ph in combos:
        theta, phi = np.deg2rad(ori), np.deg2rad(ph)
        s = np.sin(2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta)) + phi)
        images.append(0.5 + 0.5 * (np.sign(np.round(s, 12)) if wave == "square" else s))
    ids = [f"grating-o{o:g}-f{f:g}-p{p:g}" for o, f, p in combos]
    coords = {
        name: [c[i] for c in combos] for i, name in enumerate(("orientation", "frequency", "phase"))
    }
    config = {
        "size": list(hw),
        "channels": ch,
        "orientation": oris,
        "frequency": freqs,
        "phase": phases,
        "wave": wave,
    }
    return image_set(
        _to_channels(np.stack(images), ch), ids, source="grating", config=config, coords=coords
    )


@SOURCES.register("flash")
def flashes(
    n: int | None = None,
    *,
    size: int | Sequence[int] = 32,
    channels: int = 1,
    luminance: float | Sequence[float] = 1.0,
) -> xr.DataArray:
    """Uniform full-field images (a flash once presented on the grey background).

    Args:
        n: Number of images when ``luminance`` is a single value (default 1); with a list of
            luminances ``n`` must be ``None`` or equal its length.
        size: Output size in pixels.
        channels: 1 or 3.
        luminance: Luminance(s) in [0, 1] (1 = white flash, 0 = black).

    Example:
        >>> flashes(size=4, luminance=[0.0, 1.0]).mean(("channel", "y", "x")).values.tolist()
        [0.0, 1.0]
    """
    levels = [float(v) for v in as_list(luminance, "luminance")]
    if any(not 0.0 <= v <= 1.0 for v in levels):
        raise ValueError(f"luminance must lie in [0, 1], got luminance={luminance!r}")
    if len(levels) == 1:
        n = 1 if n is None else n
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive number of flashes, got n={n!r}")
        levels = levels * int(n)
    elif n is not None and n != len(levels):
        raise ValueError(f"n={n} does not match the {len(levels)} luminance values given")
    hw, ch = image_size(size), check_channels(channels)
    grey = np.stack([np.full(hw, v) for v in levels])
    ids = [f"flash-{v:g}-{i}" for i, v in enumerate(levels)]
    config = {"size": list(hw), "channels": ch, "luminance": levels}
    return image_set(
        _to_channels(grey, ch), ids, source="flash", config=config, coords={"luminance": levels}
    )


@SOURCES.register("noise")
def noise_images(
    n: int = 1,
    *,
    size: int | Sequence[int] = 32,
    channels: int = 1,
    kind: str = "white",
    rms: float = 0.15,
    seed: int = 0,
) -> xr.DataArray:
    """Seeded Gaussian noise images with mean 0.5 and a given RMS contrast.

    White noise has a flat spectrum; pink noise has amplitude ~ 1/f (power ~ 1/f^2). Each
    image is normalised to zero mean and unit SD, scaled by ``rms`` around 0.5 and clipped
    to [0, 1]. Grey noise is repeated over channels.

    Args:
        n: Number of images.
        size: Output size in pixels.
        channels: 1 or 3.
        kind: ``"white"`` or ``"pink"``.
        rms: SD of the luminance before clipping, in (0, 0.5].
        seed: Seed of the generator.

    Example:
        >>> a = noise_images(2, size=8, kind="pink", seed=1)
        >>> bool((a == noise_images(2, size=8, kind="pink", seed=1)).all())
        True
    """
    check_choice("noise kind", kind, ["white", "pink"])
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive number of images, got n={n!r}")
    if not 0 < rms <= 0.5:
        raise ValueError(f"rms must lie in (0, 0.5], got rms={rms!r}")
    hw, ch = image_size(size), check_channels(channels)
    z = np.random.default_rng(seed).standard_normal((n, *hw))
    if kind == "pink":
        fy, fx = np.meshgrid(np.fft.fftfreq(hw[0]), np.fft.fftfreq(hw[1]), indexing="ij")
        f = np.hypot(fy, fx)
        f[0, 0] = np.inf  # drop the mean
        z = np.real(np.fft.ifft2(np.fft.fft2(z) / f))
    z = z - z.mean(axis=(1, 2), keepdims=True)
    z = z / np.maximum(z.std(axis=(1, 2), keepdims=True), 1e-12)
    grey = np.clip(0.5 + rms * z, 0.0, 1.0)
    ids = [f"noise-{kind}-{seed}-{i}" for i in range(n)]
    config = {"n": n, "size": list(hw), "channels": ch, "kind": kind, "rms": rms, "seed": seed}
    return image_set(_to_channels(grey, ch), ids, source="noise", config=config)

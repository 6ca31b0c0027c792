"""Seeded augmentations of frame sequences: flips, rotations, jitter and noise.

An augmentation draws its parameters for one sequence from a random generator
(:meth:`draw`, a dict of plain values that becomes columns of the dataset's parameter table,
hence ``sample`` coordinates of its stimulus) and applies them to all frames of that sequence
(:meth:`apply`, frames ``(frame, channel, y, x)`` in [0, 1]), so a moving pattern stays one
rigid motion. :class:`~dynvision.stimuli.dataset.SequenceDataset` seeds the generator by
``(seed, epoch, index)``, so an item is the same every time it is read. Any object with
``draw`` and ``apply`` works as an augmentation; they are registered by name in
:data:`AUGMENTATIONS`.

Example:
    >>> rng = np.random.default_rng(0)
    >>> flip = Flip(p_horizontal=1.0)
    >>> params = flip.draw(rng)
    >>> params, flip.apply(np.arange(3.0).reshape(1, 1, 1, 3), params).ravel().tolist()
    ({'flip_horizontal': True, 'flip_vertical': False}, [2.0, 1.0, 0.0])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from dynvision.conventions import BACKGROUND
from dynvision.registry import Registry
from dynvision.validation import InvalidValueError, check_int, check_number, check_numbers

AUGMENTATIONS = Registry("augmentation")


class Augmentation(Protocol):
    """What an augmentation provides."""

    def draw(self, rng: np.random.Generator) -> dict[str, Any]: ...

    def apply(self, frames: np.ndarray, params: dict[str, Any]) -> np.ndarray: ...


@AUGMENTATIONS.register("flip")
@dataclass(frozen=True)
class Flip:
    """Mirror left-right with probability ``p_horizontal`` and up-down with ``p_vertical``."""

    p_horizontal: float = 0.5
    p_vertical: float = 0.0

    def __post_init__(self):
        check_number("p_horizontal", self.p_horizontal, lo=0, hi=1)
        check_number("p_vertical", self.p_vertical, lo=0, hi=1)

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        h, v = rng.random(2)
        return {"flip_horizontal": bool(h < self.p_horizontal), "flip_vertical": bool(v < self.p_vertical)}

    def apply(self, frames: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        if params["flip_horizontal"]:
            frames = frames[..., ::-1]
        if params["flip_vertical"]:
            frames = frames[..., ::-1, :]
        return frames


@AUGMENTATIONS.register("rotate")
@dataclass(frozen=True)
class Rotate:
    """Rotate counter-clockwise by one of ``angles_deg`` (uniform); multiples of 90 are exact.

    Other angles interpolate bilinearly and fill the corners with ``fill``.
    """

    angles_deg: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0)
    fill: float = BACKGROUND

    def __post_init__(self):
        object.__setattr__(self, "angles_deg", tuple(check_numbers("angles_deg", self.angles_deg)))
        check_number("fill", self.fill, lo=0, hi=1)

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        return {"rotation_deg": float(self.angles_deg[int(rng.integers(len(self.angles_deg)))])}

    def apply(self, frames: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        angle = params["rotation_deg"] % 360.0
        quarter = angle / 90.0
        if abs(quarter - round(quarter)) < 1e-9:
            k = int(round(quarter)) % 4
            if k % 2 and frames.shape[-1] != frames.shape[-2]:
                raise InvalidValueError("rotation_deg", params["rotation_deg"],
                                        f"0 or 180 for non-square frames {frames.shape[-2:]}")
            return np.rot90(frames, k=k, axes=(-2, -1))
        from scipy.ndimage import rotate

        return np.clip(rotate(frames, angle, axes=(-1, -2), reshape=False, order=1, mode="constant",
                              cval=self.fill), 0.0, 1.0)


@AUGMENTATIONS.register("jitter")
@dataclass(frozen=True)
class Jitter:
    """Shift by up to ``max_px`` pixels on each axis (uniform integers), filling with ``fill``."""

    max_px: int = 2
    fill: float = BACKGROUND

    def __post_init__(self):
        check_int("max_px", self.max_px, lo=0)
        check_number("fill", self.fill, lo=0, hi=1)

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        dy, dx = rng.integers(-self.max_px, self.max_px + 1, size=2)
        return {"shift_y": int(dy), "shift_x": int(dx)}

    def apply(self, frames: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        dy, dx = params["shift_y"], params["shift_x"]
        h, w = frames.shape[-2:]
        out = np.full_like(frames, self.fill)
        ys, yd = slice(max(0, -dy), min(h, h - dy)), slice(max(0, dy), min(h, h + dy))
        xs, xd = slice(max(0, -dx), min(w, w - dx)), slice(max(0, dx), min(w, w + dx))
        out[..., yd, xd] = frames[..., ys, xs]
        return out


@AUGMENTATIONS.register("noise")
@dataclass(frozen=True)
class Noise:
    """Add Gaussian pixel noise of standard deviation ``std`` (new in every frame), clipped to [0, 1]."""

    std: float = 0.05

    def __post_init__(self):
        check_number("std", self.std, lo=0)

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        return {"noise_seed": int(rng.integers(2**31))}

    def apply(self, frames: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        noise = np.random.default_rng(params["noise_seed"]).normal(0.0, self.std, frames.shape)
        return np.clip(frames + noise, 0.0, 1.0)


def make_augmentation(spec: Any) -> Any:
    """An augmentation from a registered name, an object with ``draw``/``apply``, or a callable.

    A callable ``f(frames, rng) -> frames`` is wrapped (it records no parameters).

    Example:
        >>> make_augmentation("jitter")
        Jitter(max_px=2, fill=0.5)
    """
    if isinstance(spec, str):
        return AUGMENTATIONS.get(spec)()
    if hasattr(spec, "draw") and hasattr(spec, "apply"):
        return spec
    if callable(spec):
        return _Hook(spec)
    raise InvalidValueError("augment", spec, f"a name ({', '.join(AUGMENTATIONS.list())}), an object with "
                                             f"draw() and apply(), or a function (frames, rng) -> frames")


@dataclass(frozen=True)
class _Hook:
    fn: Any

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        return {"_rng": rng}

    def apply(self, frames: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return np.asarray(self.fn(frames, params["_rng"]))

"""Image helpers shared by the datasets and the stimuli: sizes, channels, resizing, cropping.

The one implementation of each: :mod:`dynvision.data` (datasets for training) and
:mod:`dynvision.stimuli` (image sources for experiments) both call these, so an image resized
for training and one resized for a stimulus are the same pixels. All helpers take and return
float images in [0, 1]; heavy imports (scikit-image) happen inside the functions that need them.

Example:
    >>> import numpy as np
    >>> img = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    >>> prepare_image(img, size=(16, 16), channels=3).shape
    (3, 16, 16)
"""

from __future__ import annotations

import numpy as np

from dynvision.registry import check_choice
from dynvision.validation import InvalidValueError

CHANNELS = (1, 3)
"""Channel counts the datasets produce: grey (1) or RGB (3)."""

LUMINANCE = (0.2125, 0.7154, 0.0721)
"""ITU-R 709 weights of red, green and blue in grey (the weights scikit-image's ``rgb2gray`` uses)."""


def as_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """Return ``size`` (an int or ``(height, width)``) as a positive ``(height, width)`` pair.

    Example:
        >>> as_size(32), as_size([8, 12])
        ((32, 32), (8, 12))
    """
    if isinstance(size, (int, np.integer)):
        hw: tuple = (size, size)
    else:
        try:
            hw = tuple(size)
        except TypeError:
            hw = ()
    if len(hw) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in hw):
        raise InvalidValueError("size", size, "a positive int or (height, width) of positive ints")
    return int(hw[0]), int(hw[1])


def check_channels(channels: int) -> int:
    """Return ``channels`` if it is 1 or 3, else raise :class:`UnknownNameError`."""
    return check_choice("channel count", channels, CHANNELS)


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """Convert a (H, W) or (H, W, 1) grey or (H, W, 3|4) colour image to (C, H, W).

    Colour becomes grey by luminance (ITU-R 709 weights); grey becomes RGB by repetition;
    an alpha channel is dropped.

    Example:
        >>> to_channels(np.zeros((4, 5)), 3).shape
        (3, 4, 5)
    """
    check_channels(channels)
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[-1] == 4:
        image = image[..., :3]
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        grey = image[None]
        return grey if channels == 1 else np.repeat(grey, 3, axis=0)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"expected a (H, W) or (H, W, 3) image, got shape {image.shape}")
    if channels == 3:
        return np.ascontiguousarray(image.transpose(2, 0, 1))
    return (image @ np.asarray(LUMINANCE, dtype=np.float32))[None]


def convert_channels(values: np.ndarray, channels: int, axis: int) -> np.ndarray:
    """Convert the 1- or 3-channel ``axis`` of an array to ``channels`` (repeat grey, weigh RGB).

    Example:
        >>> convert_channels(np.ones((2, 1, 4, 4)), 3, axis=1).shape
        (2, 3, 4, 4)
    """
    check_channels(channels)
    values = np.asarray(values)
    if values.shape[axis] == channels:
        return values
    if channels == 3:
        return np.repeat(values, 3, axis=axis)
    shape = [1] * values.ndim
    shape[axis] = 3
    weights = np.asarray(LUMINANCE, dtype=values.dtype if values.dtype.kind == "f" else np.float64).reshape(shape)
    return (values * weights).sum(axis=axis, keepdims=True)


def resize(image: np.ndarray, size: tuple[int, int], order: int = 1) -> np.ndarray:
    """Resize a (C, H, W) float image to ``size`` with anti-aliasing when shrinking.

    Shrinking by a factor of 2 or more first averages whole blocks of pixels (exact
    anti-aliasing and fast on large photographs; the few rows or columns that do not fill a
    block are trimmed evenly from both sides); the rest is :func:`skimage.transform.resize`
    (bilinear by default). The result is clipped to [0, 1].

    Example:
        >>> resize(np.ones((1, 8, 8), np.float32), (3, 3)).shape
        (1, 3, 3)
    """
    from skimage.transform import resize as _resize

    _, h, w = image.shape
    if (h, w) == tuple(size):
        return image.astype(np.float32, copy=False)
    factors = (h // size[0], w // size[1])
    if min(factors) >= 2:
        from skimage.transform import downscale_local_mean

        bh, bw = (h // factors[0]) * factors[0], (w // factors[1]) * factors[1]
        top, left = (h - bh) // 2, (w - bw) // 2
        image = downscale_local_mean(image[:, top : top + bh, left : left + bw], (1, *factors))
        _, h, w = image.shape
        if (h, w) == tuple(size):
            return np.ascontiguousarray(np.clip(image, 0.0, 1.0), dtype=np.float32)
    shrink = size[0] < h or size[1] < w
    out = _resize(  # channels last: trailing dims are kept and never blurred
        image.transpose(1, 2, 0),
        size,
        order=order,
        mode="reflect",
        anti_aliasing=shrink,
        preserve_range=True,
    )
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0).transpose(2, 0, 1), dtype=np.float32)


def crop_to_aspect(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre-crop a (H, W) or (H, W, C) image to the aspect ratio of ``size``.

    Example:
        >>> crop_to_aspect(np.zeros((10, 20)), (4, 4)).shape
        (10, 10)
    """
    h, w = image.shape[:2]
    target = size[0] / size[1]
    if h / w > target:  # too tall: crop rows
        new_h = max(1, round(w * target))
        top = (h - new_h) // 2
        return image[top : top + new_h]
    if h / w < target:  # too wide: crop columns
        new_w = max(1, round(h / target))
        left = (w - new_w) // 2
        return image[:, left : left + new_w]
    return image


def fit_image(image: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    """Centre-crop a (H, W) or (H, W, C) image to the aspect of ``size``, then prepare it.

    What the image sources of :mod:`dynvision.stimuli` use: nothing is stretched.

    Example:
        >>> fit_image(np.zeros((10, 20, 3)), (4, 4), 1).shape
        (1, 4, 4)
    """
    return prepare_image(crop_to_aspect(np.asarray(image), size), size, channels)


def prepare_image(image: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    """Convert a grey or colour float image in [0, 1] to a (C, *size) float32 array.

    Example:
        >>> prepare_image(np.zeros((8, 8, 3)), (4, 4), 1).shape
        (1, 4, 4)
    """
    return resize(to_channels(image, channels), size)

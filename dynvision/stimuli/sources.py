"""Image sources that work offline: natural images, handwritten digits and user arrays.

Every source returns an *image set*: a float32 :class:`xarray.DataArray` named ``"images"``
with dims ``(image, channel, y, x)``, values in [0, 1], a string ``image`` coordinate (ids),
optional per-image coordinates (``label`` for digits) and ``attrs["source"]`` /
``attrs["config"]``. ``images.values`` is the plain ``(n, channel, y, x)`` array. Sources are
registered in :data:`SOURCES`; :func:`make_images` builds any of them by name. Pattern sources
(gratings, flashes, noise) live in :mod:`dynvision.stimuli.patterns`.

Example:
    >>> imgs = make_images("digits", n=2, size=8, channels=3)
    >>> imgs.shape, str(imgs.dtype), imgs.label.dims
    ((2, 3, 8, 8), 'float32', ('image',))
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import xarray as xr

from dynvision.data.digits import load_digit_arrays
from dynvision.data.natural import BUNDLED_IMAGES, load_source
from dynvision.data.transforms import as_size, check_channels, fit_image
from dynvision.registry import Registry, check_choice, check_kwargs
from dynvision.stimuli.schema import json_config

SOURCES = Registry("image source")
IMAGE_DIMS = ("image", "channel", "y", "x")

#: Images shipped inside scikit-image's wheel (no download needed): the same tuple as
#: :data:`dynvision.data.natural.BUNDLED_IMAGES`, photographs first.
NATURAL_IMAGES = BUNDLED_IMAGES

#: ``size`` (an int or ``(height, width)``) as a ``(height, width)`` tuple: the one size
#: parser, :func:`dynvision.data.transforms.as_size`.
image_size = as_size


def image_set(
    values: np.ndarray,
    ids: Sequence[str],
    *,
    source: str,
    config: dict[str, Any],
    coords: dict[str, Any] | None = None,
) -> xr.DataArray:
    """Wrap an ``(n, channel, y, x)`` array in [0, 1] as an image set.

    Example:
        >>> image_set(np.zeros((1, 1, 2, 2)), ["blank"], source="array", config={}).dims
        ('image', 'channel', 'y', 'x')
    """
    values = np.asarray(values, dtype=np.float32)
    extra = {k: ("image", np.asarray(v)) for k, v in (coords or {}).items()}
    return xr.DataArray(
        values,
        dims=IMAGE_DIMS,
        coords={"image": ("image", np.asarray(list(ids), dtype=str)), **extra},
        attrs={"source": source, "config": json_config(config)},
        name="images",
    )


def _finish(images: list[np.ndarray], size: tuple[int, int], channels: int) -> np.ndarray:
    """Crop, resize and convert (h, w, c) images and stack them as (n, channel, y, x)."""
    return np.stack([fit_image(img, size, channels) for img in images]).astype(np.float32)


def from_array(
    array: Any,
    *,
    size: int | Sequence[int] | None = None,
    channels: int | None = None,
    labels: Sequence[int] | None = None,
    names: Sequence[str] | None = None,
) -> xr.DataArray:
    """Validate user images and return them as an image set.

    Accepted layouts: one ``(y, x)`` image, ``(n, y, x)`` (3-D arrays are always a batch of
    grey images), ``(n, channel, y, x)`` with 1 or 3 channels, a list of ``(y, x)`` /
    ``(channel, y, x)`` images, or an existing image set. Floats must lie in [0, 1]; ``uint8``
    is divided by 255 and ``bool`` becomes 0/1.

    Args:
        array: The images.
        size: Resize (centre-crop, then anti-aliased resize) to this size; required when list
            items differ in size. ``None`` keeps the size.
        channels: 1 or 3 (grey -> RGB by repetition, RGB -> grey by luminance); ``None`` keeps.
        labels: One integer label per image (stored as the ``label`` coordinate).
        names: One id per image (default ``"image-<i>"``).

    Raises:
        ValueError: For a wrong number of dims or channels, non-finite values or values
            outside [0, 1], and labels/names of the wrong length.

    Example:
        >>> from_array(np.ones((2, 4, 4)), channels=3, labels=[0, 1]).shape
        (2, 3, 4, 4)
    """
    if isinstance(array, xr.DataArray) and array.dims == IMAGE_DIMS:
        labels = labels if labels is not None else array.coords.get("label")
        names = names if names is not None else array["image"].values
        array = array.values
    items = list(array) if isinstance(array, (list, tuple)) else None
    if items is None:
        arr = np.asarray(array)
        if arr.ndim == 2:
            arr = arr[None, None]
        elif arr.ndim == 3:
            arr = arr[:, None]
        elif arr.ndim != 4:
            raise ValueError(
                f"images must have shape (y, x), (n, y, x) or (n, channel, y, x), got {arr.shape}"
            )
        items = list(arr)
    if not items:
        raise ValueError("no images given; pass at least one image")
    chw = []
    for i, item in enumerate(items):
        img = _to_float(np.asarray(item), i)
        img = img[None] if img.ndim == 2 else img
        if img.ndim != 3 or img.shape[0] not in (1, 3):
            raise ValueError(
                f"image {i} must be (y, x) or (channel, y, x) with 1 or 3 channels, "
                f"got shape {img.shape}"
            )
        chw.append(img)
    shapes = {img.shape[1:] for img in chw}
    if size is None and len(shapes) > 1:
        raise ValueError(f"images differ in size {sorted(shapes)}; pass size= to resize them")
    hw = image_size(size) if size is not None else next(iter(shapes))
    n_ch = check_channels(channels) if channels is not None else max(i.shape[0] for i in chw)
    values = _finish([img.transpose(1, 2, 0) for img in chw], hw, n_ch)
    n = len(values)
    ids = [f"image-{i}" for i in range(n)] if names is None else [str(s) for s in names]
    if len(ids) != n:
        raise ValueError(f"names has {len(ids)} entries for {n} images")
    coords = {}
    if labels is not None:
        lab = np.asarray(labels).astype(int)
        if lab.shape != (n,):
            raise ValueError(f"labels has shape {lab.shape}; need one label per image ({n})")
        coords["label"] = lab
    return image_set(
        values, ids, source="array", config={"shape": list(values.shape)}, coords=coords
    )


def _to_float(img: np.ndarray, i: int) -> np.ndarray:
    if img.dtype == np.uint8:
        return img.astype(np.float64) / 255.0
    if img.dtype == bool:
        return img.astype(np.float64)
    if not np.issubdtype(img.dtype, np.number):
        raise ValueError(f"image {i} has non-numeric dtype {img.dtype}")
    img = img.astype(np.float64)
    if not np.isfinite(img).all():
        raise ValueError(f"image {i} contains NaN or infinite values")
    if img.size and (img.min() < 0 or img.max() > 1):
        raise ValueError(
            f"image {i} has values in [{img.min():g}, {img.max():g}]; luminance must lie in "
            f"[0, 1] (divide 0-255 images by 255)"
        )
    return img


@SOURCES.register("natural")
def natural_images(
    n: int | None = None,
    *,
    size: int | Sequence[int] = 32,
    channels: int = 1,
    names: Sequence[str] | None = None,
) -> xr.DataArray:
    """Natural photographs bundled with scikit-image, centre-cropped and resized.

    Args:
        n: How many images (the first ``n`` of ``names``); ``None`` takes all of them.
        size: Output size in pixels, an int or ``(height, width)``.
        channels: 1 (grey, by luminance) or 3 (RGB; grey photos are repeated).
        names: Which images, from :data:`NATURAL_IMAGES` (default: all, in that order).

    Example:
        >>> natural_images(2, size=8).image.values.tolist()
        ['astronaut', 'camera']
    """
    chosen = list(NATURAL_IMAGES if names is None else names)
    for name in chosen:
        check_choice("natural image", name, NATURAL_IMAGES)
    if n is not None:
        if not isinstance(n, (int, np.integer)) or not 1 <= n <= len(chosen):
            raise ValueError(f"n={n!r} natural images requested; choose 1 <= n <= {len(chosen)}")
        chosen = chosen[:n]
    hw, ch = image_size(size), check_channels(channels)
    raw = [load_source(name) for name in chosen]
    config = {"n": n, "size": list(hw), "channels": ch, "names": chosen}
    return image_set(_finish(raw, hw, ch), chosen, source="natural", config=config)


def _digits() -> tuple[np.ndarray, np.ndarray]:
    """The digits as (images (N, 8, 8) in [0, 1], labels): :func:`load_digit_arrays`."""
    return load_digit_arrays()


@SOURCES.register("digits")
def digit_images(
    n: int = 10,
    *,
    size: int | Sequence[int] = 32,
    channels: int = 1,
    classes: Sequence[int] | None = None,
    seed: int = 0,
) -> xr.DataArray:
    """Handwritten digits from scikit-learn's bundled 8x8 set (0..16 scaled to [0, 1]).

    Bright strokes on a dark background, upsampled to ``size``; labels are the ``label``
    coordinate.

    Args:
        n: How many digits, drawn without replacement (seeded).
        size: Output size in pixels, an int or ``(height, width)``.
        channels: 1 or 3.
        classes: Only draw these digit classes (0-9); default all.
        seed: Seed of the draw.

    Example:
        >>> digit_images(3, size=8, classes=[7]).label.values.tolist()
        [7, 7, 7]
    """
    images, targets = _digits()
    keep = np.arange(len(targets))
    if classes is not None:
        for c in classes:
            check_choice("digit class", c, range(10))
        keep = keep[np.isin(targets, list(classes))]
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= len(keep):
        raise ValueError(f"n={n!r} digits requested; choose 1 <= n <= {len(keep)}")
    idx = np.random.default_rng(seed).choice(keep, size=n, replace=False)
    hw, ch = image_size(size), check_channels(channels)
    values = _finish([images[i][..., None] for i in idx], hw, ch)
    ids = [f"digit{targets[i]}-{i:04d}" for i in idx]
    config = {"n": n, "size": list(hw), "channels": ch, "classes": classes, "seed": seed}
    return image_set(values, ids, source="digits", config=config, coords={"label": targets[idx]})


def make_images(
    name: str, n: int | None = None, *, size: int | Sequence[int] = 32, channels: int = 1, **kwargs
) -> xr.DataArray:
    """Build images from the source registered as ``name``.

    Args:
        name: One of :func:`list_sources` (``"natural"``, ``"digits"``, ``"grating"``,
            ``"flash"``, ``"noise"``).
        n: How many images (see each source for its default).
        size: Output size in pixels.
        channels: 1 or 3.
        **kwargs: Source-specific options; unknown ones raise, listing the valid ones.

    Example:
        >>> make_images("grating", n=4, size=8).sizes["image"]
        4
    """
    fn = SOURCES.get(name)
    check_kwargs(f"image source {name!r}", kwargs, fn)
    if n is not None:
        kwargs["n"] = n
    return fn(size=size, channels=channels, **kwargs)


def list_sources() -> list[str]:
    """Names of the registered image sources.

    Example:
        >>> "digits" in list_sources()
        True
    """
    return SOURCES.list()

"""``image_folder``: your own images in ImageNet layout, ``root/<class>/<image>.png|jpg``.

Class names are the sub-folder names sorted alphabetically (label = position in that order);
images are found recursively inside each class folder. Each image is read with Pillow,
converted to RGB, scaled and centre-cropped (or stretched) to the requested size once, so
indexing is cheap.

Example:
    >>> from dynvision.data import make_dataset
    >>> ds = make_dataset("image_folder", root="my_images", size=64, channels=3)  # doctest: +SKIP
    >>> ds.classes  # doctest: +SKIP
    ['cat', 'dog']
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from dynvision.data.base import ArrayDataset
from dynvision.data.datasets import DATASETS
from dynvision.data.splits import DEFAULT_FRACTIONS, check_fractions, split_indices
from dynvision.data.transforms import as_size, check_channels, to_channels
from dynvision.registry import check_choice

EXTENSIONS = (".png", ".jpg", ".jpeg")
"""File endings read as images (case-insensitive)."""

RESIZE_MODES = ("center_crop", "stretch")
"""``center_crop``: scale the shorter side to fit, crop the centre; ``stretch``: ignore aspect."""


def find_images(
    root: str | os.PathLike, extensions: Sequence[str] = EXTENSIONS
) -> tuple[list[Path], np.ndarray, list[str]]:
    """Image paths, their labels and the sorted class names of an ImageNet-style folder.

    Args:
        root: Folder with one sub-folder per class.
        extensions: File endings to read (case-insensitive); other and hidden files are skipped.

    Returns:
        ``(paths, labels, classes)`` with paths sorted within each class.

    Raises:
        FileNotFoundError: If ``root`` does not exist.
        NotADirectoryError: If ``root`` is a file.
        ValueError: If there are no class folders, or a class folder holds no images.

    Example:
        >>> paths, labels, classes = find_images("my_images")  # doctest: +SKIP
    """
    root = Path(root).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"image folder {str(root)!r} is not a directory")
    layout = f"expected {root}/<class>/<image> with images ending in {', '.join(extensions)}"
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise ValueError(f"image folder {str(root)!r} has no class sub-folders; {layout}")
    ends = tuple(e.lower() for e in extensions)
    paths: list[Path] = []
    labels: list[int] = []
    empty = []
    for label, name in enumerate(classes):
        found = sorted(
            p
            for p in (root / name).rglob("*")
            if p.is_file() and p.suffix.lower() in ends and not p.name.startswith(".")
        )
        if not found:
            empty.append(name)
        paths += found
        labels += [label] * len(found)
    if empty:
        raise ValueError(f"class folder(s) {empty} in {str(root)!r} hold no images; {layout}")
    return paths, np.asarray(labels, dtype=np.int64), classes


def read_image(
    path: str | os.PathLike, size: tuple[int, int], channels: int, resize: str = "center_crop"
) -> np.ndarray:
    """Read one image file as a (C, H, W) float32 array in [0, 1] of the given size.

    Raises:
        ValueError: Naming the file, if Pillow cannot read it.

    Example:
        >>> read_image("my_images/cat/1.png", (32, 32), 3).shape  # doctest: +SKIP
        (3, 32, 32)
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    check_choice("resize mode", resize, RESIZE_MODES)
    try:
        with Image.open(path) as im:
            rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise ValueError(f"cannot read image file {str(path)!r}: {err}") from err
    h, w = size
    if resize == "center_crop":
        rgb = ImageOps.fit(rgb, (w, h), method=Image.Resampling.BICUBIC)
    else:
        rgb = rgb.resize((w, h), resample=Image.Resampling.BICUBIC)
    return to_channels(np.asarray(rgb, dtype=np.float32) / 255.0, channels)


@DATASETS.register("image_folder")
def image_folder(
    split: str = "train",
    size: int | tuple[int, int] = 32,
    channels: int = 1,
    seed: int = 0,
    *,
    root: str | os.PathLike,
    extensions: Sequence[str] = EXTENSIONS,
    resize: str = "center_crop",
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> ArrayDataset:
    """Images from ``root/<class>/<image>``, stratified split, resized once.

    Args:
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        size: Output side in pixels, or ``(height, width)``.
        channels: 1 (luminance) or 3 (RGB).
        seed: Seed of the stratified split.
        root: The folder (required).
        extensions: File endings read as images.
        resize: One of :data:`RESIZE_MODES`.
        fractions: (train, val, test) fractions.

    Returns:
        The split; ``classes`` are the sorted sub-folder names.

    Example:
        >>> ds = image_folder("all", (16, 16), 1, root="my_images")  # doctest: +SKIP
    """
    check_choice("resize mode", resize, RESIZE_MODES)
    fractions = check_fractions(fractions)
    size, channels = as_size(size), check_channels(channels)
    paths, labels, classes = find_images(root, extensions)
    keep = split_indices(labels, split, seed=seed, fractions=fractions)
    images = np.empty((len(keep), channels, *size), dtype=np.float32)
    for j, i in enumerate(keep):
        images[j] = read_image(paths[i], size, channels, resize)
    config = {
        "name": "image_folder",
        "split": split,
        "size": list(size),
        "channels": channels,
        "seed": seed,
        "root": str(Path(root).expanduser().resolve()),
        "extensions": list(extensions),
        "resize": resize,
        "fractions": list(fractions),
    }
    return ArrayDataset(images, labels[keep], classes, config=config, source_indices=keep)

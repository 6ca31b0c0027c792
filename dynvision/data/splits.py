"""Deterministic, stratified train/val/test splits drawn from a seed.

Every offline dataset splits its samples with :func:`split_indices`, so the same ``seed`` always
gives the same, disjoint subsets, and each class is spread over the splits in proportion.

Example:
    >>> import numpy as np
    >>> labels = np.repeat(np.arange(3), 20)
    >>> train = split_indices(labels, "train", seed=0)
    >>> len(train), np.bincount(labels[train]).tolist()
    (42, [14, 14, 14])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dynvision.registry import check_choice

SPLITS = ("train", "val", "test", "all")
"""Split names every dataset accepts; ``"all"`` is the union of the other three."""

DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)
"""Default (train, val, test) fractions."""


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """Return ``fractions`` as a (train, val, test) tuple after checking it sums to one.

    Raises:
        ValueError: If there are not three non-negative fractions summing to 1.
    """
    fr = tuple(float(f) for f in fractions)
    if len(fr) != 3 or min(fr) < 0 or abs(sum(fr) - 1.0) > 1e-6:
        raise ValueError(
            f"fractions must be three non-negative numbers (train, val, test) summing to 1, "
            f"got {tuple(fractions)!r}"
        )
    return fr  # type: ignore[return-value]


def _allocate(n: int, fractions: tuple[float, float, float]) -> np.ndarray:
    """Split ``n`` items into three counts by the largest-remainder rule."""
    exact = np.asarray(fractions) * n
    counts = np.floor(exact).astype(int)
    rest = n - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")  # ties go to train, then val
    counts[order[:rest]] += 1
    return counts


def split_indices(
    labels: Sequence[int] | np.ndarray,
    split: str,
    seed: int = 0,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    stratify: bool = True,
) -> np.ndarray:
    """Indices of the samples in ``split``, sorted ascending.

    The samples of each class (or of the whole set when ``stratify=False``) are permuted with
    ``numpy.random.default_rng(seed)`` and cut into train/val/test by ``fractions`` (largest
    remainder rounding), so the three splits are disjoint and cover every sample.

    Args:
        labels: One integer label per sample.
        split: One of :data:`SPLITS`.
        seed: Seed of the permutation; the same seed gives the same splits.
        fractions: (train, val, test) fractions summing to 1.
        stratify: Keep the class proportions in every split.

    Returns:
        Sorted int64 indices into ``labels``.

    Raises:
        UnknownNameError: If ``split`` is not one of :data:`SPLITS`.

    Example:
        >>> split_indices([0, 0, 1, 1], "all").tolist()
        [0, 1, 2, 3]
    """
    check_choice("split", split, SPLITS)
    fr = check_fractions(fractions)
    labels = np.asarray(labels)
    if split == "all":
        return np.arange(len(labels), dtype=np.int64)
    rng = np.random.default_rng(seed)
    groups = (
        [np.flatnonzero(labels == c) for c in np.unique(labels)]
        if stratify
        else [np.arange(len(labels))]
    )
    which = SPLITS.index(split)
    chosen = []
    for members in groups:
        members = rng.permutation(members)
        bounds = np.concatenate([[0], np.cumsum(_allocate(len(members), fr))])
        chosen.append(members[bounds[which] : bounds[which + 1]])
    return np.sort(np.concatenate(chosen)).astype(np.int64)

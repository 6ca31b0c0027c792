"""Hexagonal receptor lattice: exact geometry, pixel conversions and the sampling operators.

Receptors sit on a regular hexagonal (triangular) lattice with axial coordinates ``(u, v)``;
the lattice of extent ``e`` holds every receptor with ``max(|u|, |v|, |u + v|) <= e``
(``3 e (e + 1) + 1`` of them: 721 for ``e = 15``), sorted by ``u`` then ``v``. With neighbour
spacing ``d`` a receptor's centre, relative to the central one and in image orientation
(``x`` right, ``y`` down), is::

    x = d * (u + v / 2)        y = -d * sqrt(3) / 2 * v

so all six neighbours are exactly ``d`` apart (rows of constant ``v`` are horizontal, the
middle row has ``2 e + 1`` receptors). flyvis's BoxEye rounds rows to whole pixels, which
spaces neighbours ``d`` and ``1.118 d``; here centres stay where the geometry puts them and
the box of pixels each receptor averages is weighted by its exact overlap with every pixel.

Two linear operators, as sparse matrices in COO form, carry images to receptors and back:

- :func:`sampling_operator`: each receptor's box (side ``kernel_size``) or Gaussian average
  of a frame of any size: the frame is mapped onto the lattice's *canvas* (the
  ``(height, width)`` in pixels that the lattice with boxes spans, :meth:`HexLattice.canvas`)
  by ``fit``: ``"crop"`` (same scale on both axes, centred; the frame's margins are not seen),
  ``"stretch"`` (fill both axes) or ``"none"`` (frame pixels are canvas pixels, centred).
- :func:`image_operator`: receptor values back to an image: ``"linear"`` (barycentric
  interpolation between the three nearest receptors: smooth, exact for linear ramps) or
  ``"nearest"`` (each pixel takes its receptor's value: hexagonal cells); pixels beyond the
  lattice take their nearest receptor's value, or ``fill``.

This module is pure geometry (numpy and scipy); :mod:`dynvision.layers.hex` runs the
operators in torch (a model's front stage) and :mod:`dynvision.stimuli.hex` on DataArrays.

Example:
    >>> lattice = HexLattice(15)
    >>> len(lattice), lattice.canvas(kernel_size=13)
    (721, (351, 403))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from dynvision.registry import check_choice
from dynvision.validation import InvalidValueError, check_int, check_number

SQRT3_2 = math.sqrt(3.0) / 2.0
FITS = ("crop", "stretch", "none")
KERNELS = ("box", "gaussian")
INTERPOLATIONS = ("linear", "nearest")
AXIAL_NEIGHBOURS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1))


def n_receptors(extent: int) -> int:
    """Receptors in a hexagonal lattice of ``extent`` rings around the centre: ``3 e (e + 1) + 1``.

    Example:
        >>> [n_receptors(e) for e in (0, 1, 2, 15)]
        [1, 7, 19, 721]
    """
    e = check_int("extent", extent, lo=0)
    return 3 * e * (e + 1) + 1


def extent_of(n: int) -> int:
    """The extent of a lattice with ``n`` receptors (the inverse of :func:`n_receptors`).

    Example:
        >>> extent_of(721)
        15
    """
    n = check_int("n", n, lo=1)
    e = int(round((-3 + math.sqrt(9 + 12 * (n - 1))) / 6))
    if n_receptors(e) != n:
        raise InvalidValueError("n", n, "a receptor count 3 e (e + 1) + 1 (1, 7, 19, 37, 61...)")
    return e


def hex_to_pixel(u, v, spacing: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Axial coordinates to ``(x, y)`` relative to the centre (``x`` right, ``y`` down).

    Example:
        >>> [round(float(c), 3) for c in hex_to_pixel(0, 1, spacing=2.0)]
        [1.0, -1.732]
    """
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    return spacing * (u + v / 2.0), -spacing * SQRT3_2 * v


def pixel_to_hex(x, y, spacing: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` relative to the centre to fractional axial coordinates (inverse of
    :func:`hex_to_pixel`).

    Example:
        >>> [round(float(c), 6) for c in pixel_to_hex(*hex_to_pixel(3, -2, 5.0), spacing=5.0)]
        [3.0, -2.0]
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    v = -y / (spacing * SQRT3_2)
    return x / spacing - v / 2.0, v


def round_hex(u, v) -> tuple[np.ndarray, np.ndarray]:
    """The nearest lattice point (cube rounding) of fractional axial coordinates.

    Example:
        >>> [int(c) for c in round_hex(0.2, 0.2)], [int(c) for c in round_hex(0.4, 0.4)]
        ([0, 0], [0, 1])
    """
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    w = -u - v
    ru, rv, rw = np.round(u), np.round(v), np.round(w)
    du, dv, dw = np.abs(ru - u), np.abs(rv - v), np.abs(rw - w)
    fix_u = (du > dv) & (du > dw)
    fix_v = ~fix_u & (dv > dw)
    ru = np.where(fix_u, -rv - rw, ru)
    rv = np.where(fix_v, -ru - rw, rv)
    return ru.astype(np.int64), rv.astype(np.int64)


def hex_distance(u, v) -> np.ndarray:
    """Rings between ``(u, v)`` and the centre: ``max(|u|, |v|, |u + v|)``.

    Example:
        >>> hex_distance([0, 2, 1], [0, -1, 1]).tolist()
        [0, 2, 2]
    """
    u, v = np.asarray(u), np.asarray(v)
    return np.maximum(np.maximum(np.abs(u), np.abs(v)), np.abs(u + v))


class HexLattice:
    """A hexagonal receptor lattice of ``extent`` rings around a central receptor.

    Args:
        extent: Rings around the centre (15 gives flyvis's 721 receptors).

    Attributes:
        extent: The extent.
        u, v: Axial coordinates of the receptors (int arrays), sorted by ``u`` then ``v``.

    Example:
        >>> lattice = HexLattice(1)
        >>> len(lattice), lattice.u.tolist(), lattice.index(0, 0)
        (7, [-1, -1, 0, 0, 0, 1, 1], 3)
    """

    def __init__(self, extent: int = 15):
        self.extent = check_int("extent", extent, lo=0)
        e = self.extent
        u, v = np.meshgrid(np.arange(-e, e + 1), np.arange(-e, e + 1), indexing="ij")
        keep = hex_distance(u, v) <= e
        self.u, self.v = u[keep].astype(np.int64), v[keep].astype(np.int64)  # ij order: sorted by u, v
        self._lookup = np.full((2 * e + 1, 2 * e + 1), -1, dtype=np.int64)
        self._lookup[self.u + e, self.v + e] = np.arange(len(self.u))

    def __len__(self) -> int:
        return len(self.u)

    def __repr__(self) -> str:
        return f"HexLattice(extent={self.extent}, receptors={len(self)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HexLattice) and other.extent == self.extent

    def __hash__(self) -> int:
        return hash(("HexLattice", self.extent))

    def index(self, u, v) -> np.ndarray | int:
        """Receptor index of axial ``(u, v)``, ``-1`` where it lies outside the lattice."""
        u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
        e = self.extent
        inside = hex_distance(u, v) <= e
        out = np.where(inside, self._lookup[np.clip(u + e, 0, 2 * e), np.clip(v + e, 0, 2 * e)], -1)
        return int(out) if out.ndim == 0 else out

    def positions(self, spacing: float = 1.0) -> np.ndarray:
        """Receptor centres ``(n, 2)`` as ``(x, y)`` relative to the central receptor."""
        return np.stack(hex_to_pixel(self.u, self.v, spacing), axis=1)

    def canvas(self, kernel_size: float = 13, spacing: float | None = None) -> tuple[int, int]:
        """``(height, width)`` in pixels spanned by the centres and their boxes.

        Example:
            >>> HexLattice(15).canvas(13)  # flyvis's BoxEye(extent=15, kernel_size=13) frame
            (351, 403)
        """
        k, d = _kernel_and_spacing(kernel_size, spacing)
        e = self.extent
        return math.ceil(2 * e * d * SQRT3_2 + k - 1e-9), math.ceil(2 * e * d + k - 1e-9)

    def to_pixels(self, kernel_size: float = 13, spacing: float | None = None) -> np.ndarray:
        """Receptor centres ``(n, 2)`` as ``(x, y)`` in pixels of the :meth:`canvas`.

        Pixel ``(row i, column j)`` covers ``[j, j + 1) x [i, i + 1)``; neighbours are
        ``spacing`` (default ``kernel_size``) apart.

        Example:
            >>> HexLattice(1).to_pixels(kernel_size=2)[3].tolist()  # the centre of a 6 x 6 canvas
            [3.0, 3.0]
        """
        k, d = _kernel_and_spacing(kernel_size, spacing)
        h, w = self.canvas(k, d)
        return self.positions(d) + np.array([w / 2.0, h / 2.0])


def _kernel_and_spacing(kernel_size: float, spacing: float | None) -> tuple[float, float]:
    k = check_number("kernel_size", kernel_size, lo=0, lo_open=True, unit="pixels")
    d = k if spacing is None else check_number("spacing", spacing, lo=0, lo_open=True, unit="pixels")
    return k, d


@dataclass(frozen=True)
class Placement:
    """Where the canvas lies on a frame: ``x_frame = offset_x + scale_x * x_canvas`` (same for y)."""

    scale_x: float
    scale_y: float
    offset_x: float
    offset_y: float


def placement(canvas_hw: Sequence[int], frame_hw: Sequence[int], fit: str = "crop") -> Placement:
    """How the lattice's canvas maps onto a frame of ``frame_hw`` pixels (see the module docstring).

    Example:
        >>> placement((10, 20), (10, 10), "crop")
        Placement(scale_x=0.5, scale_y=0.5, offset_x=0.0, offset_y=2.5)
    """
    check_choice("fit", fit, FITS)
    (hc, wc), (h, w) = canvas_hw, frame_hw
    if fit == "none":
        sx = sy = 1.0
    elif fit == "stretch":
        sx, sy = w / wc, h / hc
    else:
        sx = sy = min(h / hc, w / wc)
    return Placement(sx, sy, (w - sx * wc) / 2.0, (h - sy * hc) / 2.0)


def _frame_hw(frame_hw: Sequence[int]) -> tuple[int, int]:
    hw = tuple(int(check_int("frame size", s, lo=1)) for s in frame_hw)
    if len(hw) != 2:
        raise InvalidValueError("frame size", frame_hw, "(height, width)")
    return hw  # type: ignore[return-value]


def sampling_operator(lattice: HexLattice, frame_hw: Sequence[int], kernel_size: float = 13,
                      spacing: float | None = None, kernel: str = "box", sigma: float | None = None,
                      fit: str = "crop") -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """The receptors x pixels averaging matrix, as COO ``(rows, cols, values, shape)``.

    Each row sums to 1. ``"box"`` weights every pixel by its overlap area with the receptor's
    ``kernel_size`` square (the part inside the frame); ``"gaussian"`` weights pixel centres by
    a Gaussian of ``sigma`` canvas pixels (default ``kernel_size / sqrt(12)``, the box's own
    spread), cut at 3 sigma.

    Raises:
        InvalidValueError: A bad option, or a receptor whose box lies wholly outside the frame.

    Example:
        >>> rows, cols, vals, shape = sampling_operator(HexLattice(0), (4, 4), kernel_size=2, fit="none")
        >>> shape, sorted(cols.tolist()), vals.tolist()  # the centre box covers the middle 2 x 2
        ((1, 16), [5, 6, 9, 10], [0.25, 0.25, 0.25, 0.25])
    """
    check_choice("kernel", kernel, KERNELS)
    k, d = _kernel_and_spacing(kernel_size, spacing)
    h, w = _frame_hw(frame_hw)
    p = placement(lattice.canvas(k, d), (h, w), fit)
    centres = lattice.to_pixels(k, d)
    cx, cy = p.offset_x + p.scale_x * centres[:, 0], p.offset_y + p.scale_y * centres[:, 1]
    if kernel == "box":
        wx, col = _box_weights(cx, p.scale_x * k / 2.0, w)
        wy, row = _box_weights(cy, p.scale_y * k / 2.0, h)
    else:
        s = k / math.sqrt(12.0) if sigma is None else check_number("sigma", sigma, lo=0, lo_open=True)
        wx, col = _gauss_weights(cx, p.scale_x * s, w)
        wy, row = _gauss_weights(cy, p.scale_y * s, h)
    weights = wy[:, :, None] * wx[:, None, :]  # (n, my, mx)
    pixel = row[:, :, None] * w + col[:, None, :]
    receptor = np.broadcast_to(np.arange(len(lattice))[:, None, None], weights.shape)
    total = weights.sum(axis=(1, 2))
    if np.any(total <= 0):
        bad = int(np.argmax(total <= 0))
        raise InvalidValueError(
            "fit", fit, f"a placement that puts every receptor on the {h} x {w} frame (receptor "
            f"u={lattice.u[bad]}, v={lattice.v[bad]} falls outside; use fit='crop' or a larger frame)")
    keep = weights > 0
    values = (weights / total[:, None, None])[keep]
    return receptor[keep], pixel[keep], values, (len(lattice), h * w)


def _box_weights(centre: np.ndarray, half: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per receptor, overlap of ``[c - half, c + half]`` with pixels ``[j, j + 1)``; (n, m) each."""
    start = np.floor(centre - half).astype(np.int64)
    m = int(math.ceil(2 * half)) + 2
    idx = start[:, None] + np.arange(m)[None, :]
    lo, hi = (centre - half)[:, None], (centre + half)[:, None]
    overlap = np.clip(np.minimum(idx + 1, hi) - np.maximum(idx, lo), 0.0, None)
    inside = (idx >= 0) & (idx < size)
    return np.where(inside, overlap, 0.0), np.clip(idx, 0, size - 1)


def _gauss_weights(centre: np.ndarray, sigma: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per receptor, a Gaussian of pixel centres within 3 sigma; (n, m) each."""
    start = np.floor(centre - 3 * sigma - 0.5).astype(np.int64)
    m = int(math.ceil(6 * sigma)) + 3
    idx = start[:, None] + np.arange(m)[None, :]
    dist = idx + 0.5 - centre[:, None]
    weight = np.where(np.abs(dist) <= 3 * sigma + 0.5, np.exp(-0.5 * (dist / sigma) ** 2), 0.0)
    inside = (idx >= 0) & (idx < size)
    return np.where(inside, weight, 0.0), np.clip(idx, 0, size - 1)


def image_operator(lattice: HexLattice, frame_hw: Sequence[int], kernel_size: float = 13,
                   spacing: float | None = None, interpolation: str = "linear", fit: str = "crop",
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int], np.ndarray]:
    """The pixels x receptors matrix back to an image, as COO plus the mask of outside pixels.

    Returns:
        ``(rows, cols, values, shape, outside)``: each row sums to 1; ``outside`` (``h * w``
        bools) marks pixels beyond the lattice's hexagonal cells (they take their nearest
        receptor's value; callers may put a fill value there instead).

    Example:
        >>> rows, cols, vals, shape, outside = image_operator(HexLattice(1), (6, 6), kernel_size=2,
        ...                                                   fit="none")
        >>> shape, bool(outside[0]), bool(outside[3 * 6 + 3])  # a corner is outside, the centre not
        ((36, 7), True, False)
    """
    check_choice("interpolation", interpolation, INTERPOLATIONS)
    k, d = _kernel_and_spacing(kernel_size, spacing)
    h, w = _frame_hw(frame_hw)
    p = placement(lattice.canvas(k, d), (h, w), fit)
    hc, wc = lattice.canvas(k, d)
    jj, ii = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    x = (jj.ravel() - p.offset_x) / p.scale_x - wc / 2.0  # relative to the central receptor
    y = (ii.ravel() - p.offset_y) / p.scale_y - hc / 2.0
    fu, fv = pixel_to_hex(x, y, d)
    nu, nv = round_hex(fu, fv)
    outside = hex_distance(nu, nv) > lattice.extent
    nearest = _nearest_receptor(lattice, x, y, d)
    n_pix = h * w
    if interpolation == "nearest":
        return np.arange(n_pix), nearest, np.ones(n_pix), (n_pix, len(lattice)), outside
    i, j = np.floor(fu).astype(np.int64), np.floor(fv).astype(np.int64)
    a, b = fu - i, fv - j
    lower = a + b <= 1.0  # which of the rhombus's two triangles holds the pixel
    corners_u = np.stack([np.where(lower, i, i + 1), np.where(lower, i + 1, i), np.where(lower, i, i + 1)], axis=1)
    corners_v = np.stack([np.where(lower, j, j + 1), np.where(lower, j, j + 1), np.where(lower, j + 1, j)], axis=1)
    weights = np.stack([np.where(lower, 1 - a - b, a + b - 1), np.where(lower, a, 1 - a),
                        np.where(lower, b, 1 - b)], axis=1)
    index = lattice.index(corners_u, corners_v)
    weights = np.where(index >= 0, np.clip(weights, 0.0, None), 0.0)
    total = weights.sum(axis=1)
    lone = total <= 1e-12  # no corner inside the lattice: the nearest receptor
    weights[lone] = 0.0
    weights[lone, 0], index[lone, 0] = 1.0, nearest[lone]
    weights /= weights.sum(axis=1, keepdims=True)
    rows = np.broadcast_to(np.arange(n_pix)[:, None], weights.shape)
    keep = weights > 0
    return rows[keep], index[keep], weights[keep], (n_pix, len(lattice)), outside


def _nearest_receptor(lattice: HexLattice, x: np.ndarray, y: np.ndarray, spacing: float) -> np.ndarray:
    from scipy.spatial import cKDTree

    _, idx = cKDTree(lattice.positions(spacing)).query(np.stack([x, y], axis=1))
    return idx.astype(np.int64)

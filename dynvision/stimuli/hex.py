"""Frames on a hexagonal receptor lattice: rendering, the way back to images, and the geometry.

:func:`render_hex` turns frames (a stimulus, frame sequences, any array ``(..., y, x)``) into
receptor activations with a ``receptor`` dimension and axial ``u``, ``v`` coordinates, in one
sparse matrix product over all samples and time steps (chunked, with a progress bar, for large
sets). :func:`hex_to_image` maps receptor values back to pixels, so a convolutional model can
be shown what the eye sees (or use :class:`~dynvision.layers.hex.HexFront` as its front stage).
:class:`HexRenderer` is the same renderer as a frozen, hashable configuration that is also
callable on torch tensors (differentiable) and keys the render cache
(:mod:`dynvision.stimuli.cache`).

The geometry (:class:`HexLattice`, :func:`hex_to_pixel`, :func:`pixel_to_hex`...) lives in
:mod:`dynvision.layers.hexgrid` (layers may not import stimuli) and is re-exported here.

Example:
    >>> frames = np.zeros((2, 3, 32, 32), np.float32)  # (sequence, frame, y, x)
    >>> frames[..., :, 16:] = 1.0                       # right half bright
    >>> rec = render_hex(frames, extent=3, kernel_size=4)
    >>> rec.dims, rec.sizes["receptor"]
    (('sequence', 'frame', 'receptor'), 37)
    >>> right = (rec.v == 0) & (rec.u > 0)  # the middle row, right of the centre
    >>> bool((rec.where(right, drop=True) == 1).all()), bool((rec.where(~right & (rec.v == 0) & (rec.u < 0), drop=True) == 0).all())
    (True, True)
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any, Sequence

import numpy as np
import torch
import xarray as xr

from dynvision.layers.hex import apply_operator, sparse_operator
from dynvision.layers.hexgrid import (  # noqa: F401  (re-exported: the lattice geometry)
    FITS,
    INTERPOLATIONS,
    KERNELS,
    HexLattice,
    extent_of,
    hex_distance,
    hex_to_pixel,
    image_operator,
    n_receptors,
    pixel_to_hex,
    round_hex,
    sampling_operator,
)
from dynvision.registry import check_choice
from dynvision.validation import InvalidValueError, check_int, check_number

_DEFAULT_DIMS = {2: ("y", "x"), 3: ("frame", "y", "x"), 4: ("sequence", "frame", "y", "x"),
                 5: ("sequence", "frame", "channel", "y", "x")}


@dataclasses.dataclass(frozen=True)
class HexRenderer:
    """Box or Gaussian averaging of frames onto a hexagonal lattice (a frozen configuration).

    Args:
        extent: Rings of receptors around the centre (15: 721 receptors).
        kernel_size: Side of each receptor's box in canvas pixels (13 as in flyvis).
        spacing: Neighbour distance in canvas pixels (default ``kernel_size``).
        kernel: ``"box"`` or ``"gaussian"``.
        sigma: Gaussian width in canvas pixels (default: the box's spread).
        fit: ``"crop"``, ``"stretch"`` or ``"none"``: how frames map onto the canvas
            (see :mod:`dynvision.layers.hexgrid`).

    Example:
        >>> r = HexRenderer(extent=2, kernel_size=4)
        >>> r(torch.ones(5, 16, 16, requires_grad=True)).shape  # differentiable, any leading dims
        torch.Size([5, 19])
    """

    extent: int = 15
    kernel_size: float = 13
    spacing: float | None = None
    kernel: str = "box"
    sigma: float | None = None
    fit: str = "crop"

    def __post_init__(self):
        check_int("extent", self.extent, lo=0)
        check_number("kernel_size", self.kernel_size, lo=0, lo_open=True, unit="pixels")
        check_number("spacing", self.spacing, lo=0, lo_open=True, unit="pixels", allow_none=True)
        check_number("sigma", self.sigma, lo=0, lo_open=True, unit="pixels", allow_none=True)
        check_choice("kernel", self.kernel, KERNELS)
        check_choice("fit", self.fit, FITS)

    @property
    def lattice(self) -> HexLattice:
        """The receptor lattice."""
        return HexLattice(self.extent)

    def config(self) -> dict[str, Any]:
        """The configuration as a JSON-able dict (what keys the cache and ``attrs["hex"]``)."""
        return {"renderer": "HexRenderer", **dataclasses.asdict(self)}

    def operator(self, frame_hw: Sequence[int]) -> torch.Tensor:
        """The sparse ``(receptors, height * width)`` averaging matrix for frames of ``frame_hw``."""
        return _operator(self, tuple(int(s) for s in frame_hw))

    def render(self, frames: Any, progress: bool | None = None) -> xr.DataArray:
        """:func:`render_hex` with this configuration (what the cache calls)."""
        return render_hex(frames, **dataclasses.asdict(self), progress=progress)

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """Receptor values ``(..., R)`` of frames ``(..., H, W)`` (differentiable)."""
        if frames.ndim < 2:
            raise InvalidValueError("frames", tuple(frames.shape), "a tensor (..., height, width)")
        op = self.operator(frames.shape[-2:])
        return apply_operator(op, frames.reshape(*frames.shape[:-2], -1))


@functools.lru_cache(maxsize=32)
def _operator(renderer: HexRenderer, frame_hw: tuple[int, int]) -> torch.Tensor:
    rows, cols, vals, shape = sampling_operator(renderer.lattice, frame_hw, renderer.kernel_size,
                                                renderer.spacing, renderer.kernel, renderer.sigma, renderer.fit)
    return sparse_operator(rows, cols, vals, shape)


def _as_dataarray(frames: Any, last: tuple[str, ...], what: str) -> xr.DataArray:
    if isinstance(frames, xr.DataArray):
        if frames.dims[-len(last):] != last:
            raise InvalidValueError(what, f"<DataArray with dims {frames.dims}>", f"a DataArray whose last dims are {last}")
        return frames
    values = frames.detach().cpu().numpy() if torch.is_tensor(frames) else np.asarray(frames)
    if last == ("y", "x"):
        dims = _DEFAULT_DIMS.get(values.ndim)
    else:
        dims = {1: ("receptor",), 2: ("frame", "receptor"), 3: ("sequence", "frame", "receptor"),
                4: ("sequence", "frame", "channel", "receptor")}.get(values.ndim)
    if dims is None:
        raise InvalidValueError(what, f"<array of shape {values.shape}>", f"an array ending in {last} with 1 to 5 dims")
    return xr.DataArray(values, dims=dims)


def _chunks(n: int, chunk: int, progress: bool | None, desc: str):
    starts = range(0, n, chunk)
    if progress or (progress is None and len(starts) > 1):
        from tqdm.auto import tqdm

        return tqdm(starts, desc=desc, unit="chunk")
    return starts


def render_hex(frames: Any, *, extent: int = 15, kernel_size: float = 13, spacing: float | None = None,
               kernel: str = "box", sigma: float | None = None, fit: str = "crop", chunk: int = 4096,
               progress: bool | None = None) -> xr.DataArray:
    """Render frames onto a hexagonal receptor lattice (see :class:`HexRenderer` for the options).

    Args:
        frames: A DataArray whose last dims are ``(y, x)`` (a stimulus, frame sequences...), a
            numpy array or a tensor ``(..., y, x)`` (2-D: one frame; 3-D ``(frame, y, x)``;
            4-D ``(sequence, frame, y, x)``; 5-D ``(sequence, frame, channel, y, x)``).
        chunk: Frames per sparse product (bounds memory; results do not depend on it).
        progress: Show a progress bar (default: when there is more than one chunk).

    Returns:
        float32 receptor values with the leading dims and coords of ``frames``, ``receptor``
        last with coords ``u`` and ``v``; ``attrs`` keep those of ``frames`` plus ``hex``
        (the renderer's configuration as JSON) and ``frame_size`` (``[height, width]``).

    Example:
        >>> render_hex(np.full((8, 8), 0.5), extent=1, kernel_size=2).values.round(6).tolist()
        [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    """
    renderer = HexRenderer(extent, kernel_size, spacing, kernel, sigma, fit)
    chunk = check_int("chunk", chunk, lo=1)
    da = _as_dataarray(frames, ("y", "x"), "frames")
    lead = da.dims[:-2]
    h, w = da.shape[-2:]
    flat = np.ascontiguousarray(da.values, dtype=np.float32).reshape(-1, h * w)
    op = renderer.operator((h, w))
    out = np.empty((flat.shape[0], op.shape[0]), dtype=np.float32)
    with torch.no_grad():
        for start in _chunks(flat.shape[0], chunk, progress, "render_hex"):
            out[start:start + chunk] = apply_operator(op, torch.from_numpy(flat[start:start + chunk])).numpy()
    lattice = renderer.lattice
    coords = {k: c for k, c in da.coords.items() if "y" not in c.dims and "x" not in c.dims}
    coords.update({"u": ("receptor", lattice.u), "v": ("receptor", lattice.v)})
    attrs = {**da.attrs, "hex": json.dumps(renderer.config(), sort_keys=True), "frame_size": [int(h), int(w)]}
    return xr.DataArray(out.reshape(*da.shape[:-2], op.shape[0]), dims=(*lead, "receptor"), coords=coords,
                        attrs=attrs, name=da.name)


def hex_to_image(values: Any, size: int | Sequence[int] | None = None, *, kernel_size: float | None = None,
                 spacing: float | None = None, fit: str | None = None, interpolation: str = "linear",
                 fill: float | None = None, chunk: int = 4096, progress: bool | None = None) -> xr.DataArray:
    """Map receptor values back to images: the eye's view, as frames a model can take.

    Geometry not given is read from ``values.attrs["hex"]`` (what :func:`render_hex` wrote),
    so ``hex_to_image(render_hex(frames, ...))`` lies back on the frames' own pixels.

    Args:
        values: A DataArray with a last dim ``receptor`` (from :func:`render_hex`), or an
            array ``(..., receptors)``; the receptor count gives the extent.
        size: ``(height, width)`` of the images (default: ``attrs["frame_size"]``, else the
            lattice's canvas).
        kernel_size, spacing, fit: The lattice geometry (defaults: from ``attrs["hex"]``,
            else 13, ``kernel_size``, ``"crop"``).
        interpolation: ``"linear"`` (barycentric, smooth) or ``"nearest"`` (hexagonal cells).
        fill: Value of pixels beyond the lattice; ``None`` extends the nearest receptor.

    Returns:
        float32 images with dims ``(..., y, x)`` and the leading coords and attrs of ``values``.

    Example:
        >>> img = hex_to_image(np.arange(7.0), size=6, kernel_size=2, fit="none",
        ...                    interpolation="nearest")
        >>> img.dims, float(img[3, 3]), float(img[0, 0])  # the centre is receptor 3, top left (u, v) = (-1, 1)
        (('y', 'x'), 3.0, 1.0)
    """
    da = _as_dataarray(values, ("receptor",), "values")
    stored = json.loads(da.attrs["hex"]) if "hex" in da.attrs else {}
    lattice = HexLattice(extent_of(da.sizes["receptor"]))
    if stored and stored.get("extent") != lattice.extent:
        raise InvalidValueError("values", f"<{da.sizes['receptor']} receptors>",
                                f"the {n_receptors(stored['extent'])} receptors of attrs['hex']")
    k = kernel_size if kernel_size is not None else stored.get("kernel_size", 13)
    d = spacing if spacing is not None else stored.get("spacing")
    fit = fit if fit is not None else stored.get("fit", "crop")
    if size is None:
        size = da.attrs.get("frame_size") or lattice.canvas(k, d)
    hw = (size, size) if np.ndim(size) == 0 else tuple(size)
    rows, cols, vals, shape, outside = image_operator(lattice, hw, k, d, interpolation, fit)
    op = sparse_operator(rows, cols, vals, shape)
    flat = np.ascontiguousarray(da.values, dtype=np.float32).reshape(-1, shape[1])
    out = np.empty((flat.shape[0], shape[0]), dtype=np.float32)
    with torch.no_grad():
        for start in _chunks(flat.shape[0], check_int("chunk", chunk, lo=1), progress, "hex_to_image"):
            out[start:start + chunk] = apply_operator(op, torch.from_numpy(flat[start:start + chunk])).numpy()
    if fill is not None:
        out[:, outside] = check_number("fill", fill)
    coords = {key: c for key, c in da.coords.items() if "receptor" not in c.dims}
    attrs = {key: v for key, v in da.attrs.items() if key not in ("frame_size",)}
    return xr.DataArray(out.reshape(*da.shape[:-1], *hw), dims=(*da.dims[:-1], "y", "x"), coords=coords,
                        attrs=attrs, name=da.name)

"""Animations: a stimulus beside responses, over time, inline in JupyterLab or saved as MP4 / GIF.

(The module is ``animation``, not ``animate``, so that ``dynvision.views.animate`` stays the function.)

:func:`animate` lays out a grid of panels: one row per sample, one column per input (and, for
an input with a ``model`` dimension, one column per model), each showing an image ``(y, x)``
or a hexagonal lattice (``receptor``) at every (strided) time step. Responses take a diverging
colour map centred at 0 with symmetric limits, stimuli grey over [0, 1] (three channels are
shown in colour); limits are shared across samples, models and time by default, so panels
compare. The inputs' time axes may differ: at each frame every panel shows its latest value
at or before the frame's time (sample-and-hold).

The returned :class:`Animation` plays inline in JupyterLab (a self-contained HTML player with
a time slider, no network), and :meth:`Animation.save` writes ``.mp4`` (H.264 through
``imageio-ffmpeg``, which ships its own ffmpeg) or ``.gif`` (Pillow). Drawing uses
matplotlib's object API (no pyplot state, works headless).

Example:
    >>> from dynvision.stimuli import moving_digits
    >>> anim = animate(moving_digits(2, n_frames=6, size=16), samples=[0, 1], stride=2)  # a bare stimulus
    >>> anim.n_frames, anim.grid
    (3, (2, 1))
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import xarray as xr

from dynvision.registry import check_choice
from dynvision.validation import InvalidValueError, check_int, check_number

FORMATS = (".mp4", ".gif")
SHARING = ("input", "all", "panel")
TIME_DIMS = ("time", "frame")
SAMPLE_DIMS = ("sample", "sequence")


@dataclass
class _Panel:
    data: xr.DataArray  # (time, y, x[, rgb]) or (time, receptor)
    title: str
    row: int
    col: int
    source: int  # index of the input it came from
    kind: str  # "image", "rgb" or "hex"
    cmap: str = "gray"
    vmin: float = 0.0
    vmax: float = 1.0

    @property
    def values(self) -> np.ndarray:
        """The data as a numpy array (loaded once)."""
        if not hasattr(self, "_values"):
            self._values = np.asarray(self.data.values, dtype=np.float64)
        return self._values


def _time_dim(da: xr.DataArray) -> str:
    dims = [d for d in TIME_DIMS if d in da.dims]
    if not dims:
        raise InvalidValueError("data", f"<DataArray with dims {da.dims}>", f"a time dimension ({' or '.join(TIME_DIMS)})")
    return dims[0]


def _sample_dim(da: xr.DataArray) -> str | None:
    return next((d for d in SAMPLE_DIMS if d in da.dims), None)


def _is_stimulus(da: xr.DataArray) -> bool:
    return da.name in ("stimulus", "frames", "images") or "stimulus" in da.attrs or da.attrs.get("source") is not None


def _split(da: xr.DataArray, i: int, samples: list[int], model_dim: str, models: Sequence[str] | None) -> list[tuple]:
    """The (row, column title, DataArray (time, ...)) pieces of input ``i``."""
    tdim, sdim = _time_dim(da), _sample_dim(da)
    if "channel" in da.dims and da.sizes["channel"] == 1:
        da = da.isel(channel=0)
    members: list[tuple[str | None, int | None]] = [(None, None)]
    if model_dim in da.dims:
        labels = [str(m) for m in (da[model_dim].values if model_dim in da.coords else range(da.sizes[model_dim]))]
        chosen = labels if models is None else [str(m) for m in models]
        missing = [m for m in chosen if m not in labels]
        if missing:
            raise InvalidValueError("models", list(models or []), f"models of input {i} ({', '.join(labels)})")
        members = [(m, labels.index(m)) for m in chosen]
    name = str(da.name or f"input {i}")
    pieces = []
    for r, s in enumerate(samples):
        piece = da.isel({sdim: s}) if sdim else da
        for label, j in members:
            part = piece.isel({model_dim: j}) if j is not None else piece
            pieces.append((r, f"{name}: {label}" if label is not None else name, part.transpose(tdim, ...)))
    return pieces


def _kind(da: xr.DataArray, where: str) -> str:
    rest = da.dims[1:]
    if rest == ("receptor",):
        return "hex"
    if rest == ("y", "x"):
        return "image"
    if rest == ("channel", "y", "x") and da.sizes["channel"] == 3:
        return "rgb"
    raise InvalidValueError("data", f"<{where} with dims {da.dims}>",
                            "(time, y, x), (time, channel=3, y, x) or (time, receptor) per panel: select one "
                            "channel (e.g. .isel(channel=0)) or reduce the other dims first")


class Animation:
    """A grid of panels over time (see :func:`animate`).

    Attributes:
        times: The time (or frame) label of each animation frame.
        grid: ``(rows, columns)`` of panels.
        panels: The panels (``title``, ``row``, ``col``, ``kind``, ``cmap``, ``vmin``, ``vmax``, ``data``).
        figure: The matplotlib figure the frames are drawn on.
    """

    def __init__(self, panels: list[_Panel], times: np.ndarray, time_label: str, fps: float, size: float, dpi: int):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.panels, self.times, self.fps, self.dpi = panels, times, fps, dpi
        rows = 1 + max(p.row for p in panels)
        cols = 1 + max(p.col for p in panels)
        self.grid = (rows, cols)
        self.figure = Figure(figsize=(size * cols + 0.6, size * rows + 0.5), dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.figure)
        self._time_label = time_label
        axes = self.figure.subplots(rows, cols, squeeze=False)
        self._artists = []
        for p in panels:
            ax = axes[p.row, p.col]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(p.title, fontsize=8)
            self._artists.append(self._draw(ax, p))
        for ax in axes.ravel():
            if not ax.has_data():
                ax.set_axis_off()
        self._suptitle = self.figure.suptitle("", fontsize=9)
        from dynvision.stimuli.resample import hold_indices

        self._rows = []  # per panel, the row of its data shown at each frame (-1: before its first time)
        for p in panels:
            own = np.asarray(p.data[p.data.dims[0]].values, dtype=np.float64)
            before = self.times < own[0] - 1e-9 * max(1.0, abs(own[0]))
            idx = hold_indices(own, np.where(before, own[0], self.times))
            self._rows.append(np.where(before, -1, idx))
        self.show(0)
        canvas = self.figure.canvas
        canvas.draw()
        self.figure.set_layout_engine("none")  # lay out once: frames then redraw only the data
        for artist in self._moving:
            artist.set_animated(True)
        canvas.draw()
        self._background = canvas.copy_from_bbox(self.figure.bbox)  # axes, colour bars, titles

    def _draw(self, ax, p: _Panel):
        from matplotlib.collections import PolyCollection

        from dynvision.views.hex import hexagons

        first = p.data.isel({p.data.dims[0]: 0}).values
        if p.kind == "hex":
            coll = PolyCollection(hexagons(p.data["u"].values, p.data["v"].values), cmap=p.cmap, edgecolors="face",
                                  linewidths=0.2)
            coll.set_array(first)
            coll.set_clim(p.vmin, p.vmax)
            ax.add_collection(coll)
            ax.autoscale_view()
            ax.set_aspect("equal")
            ax.set_frame_on(False)
            artist = coll
        elif p.kind == "rgb":
            artist = ax.imshow(np.clip(np.moveaxis(first, 0, -1), 0, 1), interpolation="nearest")
        else:
            artist = ax.imshow(first, cmap=p.cmap, vmin=p.vmin, vmax=p.vmax, interpolation="nearest")
        if p.kind != "rgb":
            self.figure.colorbar(artist, ax=ax, fraction=0.046, pad=0.02).ax.tick_params(labelsize=6)
        return artist

    @property
    def _moving(self) -> list:
        return [*self._artists, self._suptitle]

    @property
    def n_frames(self) -> int:
        """Number of animation frames."""
        return len(self.times)

    def show(self, index: int) -> None:
        """Draw frame ``index`` on :attr:`figure`."""
        index = check_int("index", index, lo=0, hi=self.n_frames - 1)
        t = float(self.times[index])
        for p, artist, data in zip(self.panels, self._artists, self.shown(index)):
            if p.kind == "hex":
                artist.set_array(data)
            elif p.kind == "rgb":
                artist.set_data(np.clip(np.moveaxis(data, 0, -1), 0, 1))
            else:
                artist.set_data(data)
        unit = " ms" if self._time_label == "time" else ""
        self._suptitle.set_text(f"{self._time_label} {t:g}{unit}")

    def shown(self, index: int) -> list[np.ndarray]:
        """What each panel shows at frame ``index`` (in :attr:`panels` order; NaN before its data starts)."""
        index = check_int("index", index, lo=0, hi=self.n_frames - 1)
        out = []
        for p, rows in zip(self.panels, self._rows):
            row = int(rows[index])
            out.append(p.values[row] if row >= 0 else np.full(p.data.shape[1:], np.nan))
        return out

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as an RGB image ``(height, width, 3)`` of uint8."""
        self.show(index)
        canvas = self.figure.canvas
        canvas.restore_region(self._background)
        for artist in self._moving:  # only what changes is redrawn
            self.figure.draw_artist(artist)
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()

    def frames(self, progress: bool | None = None) -> list[np.ndarray]:
        """All frames as RGB images (of equal, even size); a progress bar for long animations."""
        indices: Any = range(self.n_frames)
        if progress or (progress is None and self.n_frames > 200):
            from tqdm.auto import tqdm

            indices = tqdm(indices, desc="frames", unit="frame")
        out = [self.frame(i) for i in indices]
        h, w = out[0].shape[:2]
        ph, pw = h % 2, w % 2  # H.264 wants even sides
        return [np.pad(f, ((0, ph), (0, pw), (0, 0)), mode="edge") for f in out] if ph or pw else out

    def save(self, path: str | os.PathLike, fps: float | None = None, overwrite: bool = False,
             progress: bool | None = None) -> Path:
        """Write the animation to ``.mp4`` or ``.gif``.

        Raises:
            InvalidValueError: Another file type.
            FileExistsError: The file exists and ``overwrite`` is false.
        """
        import imageio.v2 as imageio

        path = Path(path)
        check_choice("animation file type", path.suffix.lower(), FORMATS)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        fps = check_number("fps", fps if fps is not None else self.fps, lo=0, lo_open=True)
        frames = self.frames(progress)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
        if path.suffix.lower() == ".mp4":
            with imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", quality=8,
                                    pixelformat="yuv420p", macro_block_size=2, ffmpeg_log_level="error") as writer:
                for f in frames:
                    writer.append_data(f)
        else:
            import imageio.v3 as iio

            iio.imwrite(tmp, np.stack(frames), extension=".gif", duration=1000.0 / fps, loop=0)
        os.replace(tmp, path)
        return path

    def to_html(self, fps: float | None = None, progress: bool | None = None) -> str:
        """A self-contained HTML player: every frame inline as PNG, a time slider, play / pause.

        It needs no network and no running kernel (it also works in exported HTML).
        """
        import base64
        import json
        import uuid

        import imageio.v3 as iio

        fps = check_number("fps", fps if fps is not None else self.fps, lo=0, lo_open=True)
        images = [base64.b64encode(iio.imwrite("<bytes>", f, extension=".png")).decode() for f in self.frames(progress)]
        unit = " ms" if self._time_label == "time" else ""
        labels = [f"{self._time_label} {float(t):g}{unit}" for t in self.times]
        return _PLAYER.format(id=f"dv{uuid.uuid4().hex[:12]}", first=images[0], n=self.n_frames - 1, label=labels[0],
                              frames=json.dumps(images), labels=json.dumps(labels), interval=round(1000.0 / fps))

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"Animation({self.n_frames} frames, {self.grid[0]} x {self.grid[1]} panels)"


_PLAYER = """<div id="{id}" class="dynvision-animation" style="display: inline-block; font-family: sans-serif; font-size: 12px">
<img src="data:image/png;base64,{first}" style="max-width: 100%" alt="animation frame">
<div style="display: flex; align-items: center; gap: 6px">
<button type="button" title="play / pause">&#x25B6;</button>
<input type="range" min="0" max="{n}" value="0" step="1" style="flex: 1" aria-label="time">
<span>{label}</span></div>
<script>(function() {{
  var root = document.getElementById("{id}"), img = root.querySelector("img"),
      slider = root.querySelector("input"), label = root.querySelector("span"),
      button = root.querySelector("button"), timer = null;
  var frames = {frames}, labels = {labels};
  function show(i) {{ img.src = "data:image/png;base64," + frames[i]; label.textContent = labels[i]; slider.value = i; }}
  function stop() {{ clearInterval(timer); timer = null; button.innerHTML = "&#x25B6;"; }}
  slider.addEventListener("input", function() {{ stop(); show(+slider.value); }});
  button.addEventListener("click", function() {{
    if (timer) {{ stop(); return; }}
    if (+slider.value >= frames.length - 1) {{ show(0); }}
    button.innerHTML = "&#x25AE;&#x25AE;";
    timer = setInterval(function() {{
      var i = +slider.value + 1;
      if (i >= frames.length) {{ stop(); return; }}
      show(i);
    }}, {interval});
  }});
}})();</script></div>"""


def _limits(panels: list[_Panel], share: str, cmap: str | None, vmin: float | None, vmax: float | None) -> None:
    from dynvision.views.hex import colour_limits

    groups: dict[Any, list[_Panel]] = {}
    for p in panels:
        if p.kind == "rgb":
            continue
        key = {"input": p.source, "all": "stimulus" if p.cmap == "gray" else "responses",
               "panel": (p.row, p.col)}[share]
        groups.setdefault(key, []).append(p)
    for group in groups.values():
        values = np.concatenate([np.asarray(p.data.values, dtype=np.float64).ravel() for p in group])
        stimulus = all(p.cmap == "gray" for p in group)
        c, lo, hi = colour_limits(values, cmap, vmin, vmax)
        if stimulus and cmap is None and vmin is None and vmax is None and values.min() >= 0 and values.max() <= 1:
            c, lo, hi = "gray", 0.0, 1.0
        for p in group:
            p.cmap, p.vmin, p.vmax = c, lo, hi


def animate(*data: xr.DataArray, samples: Sequence[int] | None = None, models: Sequence[str] | None = None,
            stride: int = 1, share: str = "input", cmap: str | None = None, vmin: float | None = None,
            vmax: float | None = None, titles: Sequence[str] | None = None, model_dim: str = "model",
            fps: float = 10.0, size: float = 2.2, dpi: int = 80) -> Animation:
    """Animate stimuli and responses side by side (see the module docstring).

    Args:
        *data: DataArrays with a ``time`` (ms) or ``frame`` dimension and, per panel, ``(y, x)``,
            ``(channel=3, y, x)`` or ``(receptor)`` (with ``u``, ``v``); optional ``sample`` (or
            ``sequence``) and ``model`` dimensions. A bare stimulus alone works too.
        samples: Which samples (rows; default: all, at most 8).
        models: Which models of inputs with a ``model`` dimension (columns; default: all).
        stride: Show every ``stride``-th time step of the first input.
        share: Colour limits shared per ``"input"`` (across samples, models and time), over
            ``"all"`` responses, or per ``"panel"``.
        cmap, vmin, vmax: Override the colour map and limits of the responses.
        titles: One title per input (default: the DataArray names).
        model_dim: Name of the model dimension.
        fps: Frames per second of playback and files.
        size: Panel size in inches.
        dpi: Resolution of frames.
    """
    if not data:
        raise InvalidValueError("data", (), "at least one DataArray")
    for i, da in enumerate(data):
        if not isinstance(da, xr.DataArray):
            raise InvalidValueError(f"data[{i}]", type(da).__name__, "an xarray.DataArray")
    check_choice("share", share, SHARING)
    stride = check_int("stride", stride, lo=1)
    if titles is not None and len(titles) != len(data):
        raise InvalidValueError("titles", list(titles), f"one title per input ({len(data)})")
    n_samples = [da.sizes[_sample_dim(da)] for da in data if _sample_dim(da)]
    n = min(n_samples) if n_samples else 1
    if samples is None:
        if n > 8:
            raise InvalidValueError("samples", None, f"a list of samples to show (the data hold {n}; at most 8 rows)")
        samples = list(range(n))
    samples = [check_int("samples[i]", s, lo=0, hi=n - 1) for s in samples]
    panels: list[_Panel] = []
    col = 0
    for i, da in enumerate(data):
        named = da.rename(titles[i]) if titles is not None else da
        pieces = _split(named, i, samples, model_dim, models)
        cols = sorted({t for _, t, _ in pieces}, key=[t for _, t, _ in pieces].index)
        for row, title, part in pieces:
            kind = _kind(part, f"input {i}")
            panels.append(_Panel(part, title, row, col + cols.index(title), i, kind,
                                 cmap="gray" if _is_stimulus(da) else "RdBu_r"))
        col += len(cols)
    _limits(panels, share, cmap, vmin, vmax)
    first = panels[0].data
    axis = first.dims[0]
    times = np.asarray(first[axis].values if axis in first.coords else np.arange(first.sizes[axis]), dtype=np.float64)
    for p in panels:
        if p.data.dims[0] not in p.data.coords:
            p.data = p.data.assign_coords({p.data.dims[0]: np.arange(p.data.sizes[p.data.dims[0]])})
    return Animation(panels, times[::stride], axis, check_number("fps", fps, lo=0, lo_open=True),
                     check_number("size", size, lo=0, lo_open=True), check_int("dpi", dpi, lo=10))


"""SequenceDataset: frame sequences as a torch Dataset, on the integration step, for simulation and training.

A :class:`SequenceDataset` wraps any source of frame sequences:

- frames ``(sequence, frame, [channel,] y, x)`` (a DataArray from
  :func:`~dynvision.stimuli.moving_digits` / :func:`~dynvision.stimuli.load_moving_mnist`, a
  numpy array or a tensor) shown at their native ``framerate_hz``;
- a stimulus DataArray ``(sample, time, channel, y, x)`` whose ``time`` coordinate (ms) already
  says when each frame is shown (it is resampled to ``dt_ms`` by sample-and-hold);
- a generator ``f(**row) -> frames (frame, [channel,] y, x)`` called with each row of a
  parameter table, lazily, per item.

Every item is resampled to steps of ``dt_ms`` (the frame shown at ``t`` is the latest with onset
``<= t``), padded with ``t_pre_ms`` of grey before and ``t_post_ms`` after, and augmented by
seeded hooks (:mod:`dynvision.stimuli.augment`). ``ds[i]`` is a ``(frames, target)`` pair of
tensors (``frames``: ``(time, channel, y, x)``), so a ``DataLoader`` gives the
``(batch, time, channel, y, x)`` a model takes; :meth:`SequenceDataset.stimulus` gives the
standard stimulus DataArray for :class:`~dynvision.Simulation`, with the parameter table
(source coordinates, user parameters, drawn augmentations) as ``sample`` coordinates.

Nothing is silently ignored: a frame rate for a source that has its own time axis, a rate
missing where it is needed, or a ``dt_ms`` that would skip frames raise (the last unless
``drop_frames=True``).

Example:
    >>> from dynvision.stimuli import moving_digits
    >>> ds = SequenceDataset(moving_digits(3, n_frames=4, size=8, n_digits=1), framerate_hz=100,
    ...                      dt_ms=5, t_pre_ms=10, t_post_ms=5)
    >>> frames, target = ds[0]
    >>> tuple(frames.shape), len(ds), ds.stimulus().dims
    ((11, 1, 8, 8), 3, ('sample', 'time', 'channel', 'y', 'x'))
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
import xarray as xr
from torch.utils.data import Dataset

from dynvision.conventions import BACKGROUND, STIMULUS_DIMS, jsonable
from dynvision.data.transforms import convert_channels
from dynvision.stimuli.augment import make_augmentation
from dynvision.stimuli.resample import check_frames_shown, frame_indices, hold_resample
from dynvision.stimuli.schema import check_dt, stimulus_array, to_steps
from dynvision.stimuli.sources import check_channels
from dynvision.validation import InvalidValueError, check_bool, check_int, check_number, ms_aliases

FRAME_DIMS = ("sequence", "frame", "channel", "y", "x")


def _as_frames(values: Any, what: str) -> np.ndarray:
    """One sequence as float32 ``(frame, channel, y, x)`` in [0, 1]."""
    arr = values.detach().cpu().numpy() if torch.is_tensor(values) else np.asarray(values)
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or arr.shape[1] not in (1, 3) or 0 in arr.shape:
        raise InvalidValueError(what, f"<array of shape {arr.shape}>",
                                "frames (frame, y, x) or (frame, channel, y, x) with 1 or 3 channels")
    arr = arr.astype(np.float32) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float32)
    if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
        raise InvalidValueError(what, f"<values in [{arr.min():g}, {arr.max():g}]>", "values in [0, 1]")
    return arr


def _table(params: Any, n: int | None) -> pd.DataFrame:
    if params is None:
        return pd.DataFrame(index=range(n or 0))
    table = params if isinstance(params, pd.DataFrame) else pd.DataFrame(dict(params))
    table = table.reset_index(drop=True)
    if n is not None and len(table) != n:
        raise InvalidValueError("params", f"<table of {len(table)} rows>", f"one row per sequence ({n})")
    return table


class SequenceDataset(Dataset):
    """Frame sequences on the integration step (see the module docstring).

    Args:
        source: Frames, a stimulus DataArray, or a generator ``f(**row) -> frames``.
        dt_ms: The integration step in ms (required: the model's ``dt``).
        framerate_hz: Native frame rate of frames and generators (default: the frames'
            ``attrs["framerate_hz"]``); an error for a stimulus, whose time axis sets its timing.
        t_pre_ms, t_post_ms: Grey (0.5) before and after each sequence, multiples of ``dt_ms``.
        params: Per-sequence parameters (a DataFrame or a dict of equal-length lists): the rows
            a generator is called with, and extra ``sample`` coordinates for any source.
        target: Parameter (column) giving each item's target; default ``"label"`` when present,
            else the sequence's index.
        augment: Augmentations (names, objects or functions ``(frames, rng) -> frames``),
            applied in order with a generator seeded by ``(seed, epoch, index)``.
        seed: Seed of the augmentations.
        channels: Convert frames to 1 or 3 channels (``None`` keeps).
        drop_frames: Allow a ``dt_ms`` longer than a frame (frames are then skipped).

    Example:
        >>> ds = SequenceDataset(lambda speed: np.full((2, 4, 4), speed), params={"speed": [0.1, 0.9]},
        ...                      framerate_hz=50, dt_ms=10)
        >>> ds.params.speed.tolist(), ds[1][0][:, 0, 0, 0].tolist()
        ([0.1, 0.9], [0.8999999761581421, 0.8999999761581421, 0.8999999761581421, 0.8999999761581421])
    """

    @ms_aliases
    def __init__(self, source: Any, *, dt_ms: float, framerate_hz: float | None = None,
                 t_pre_ms: float = 0.0, t_post_ms: float = 0.0, params: Any = None, target: str | None = None,
                 augment: Sequence[Any] = (), seed: int = 0, channels: int | None = None,
                 drop_frames: bool = False):
        self.dt_ms = check_dt(dt_ms)
        self.pre = to_steps(t_pre_ms, self.dt_ms, "t_pre_ms")
        self.post = to_steps(t_post_ms, self.dt_ms, "t_post_ms")
        self.t_pre_ms, self.t_post_ms = self.pre * self.dt_ms, self.post * self.dt_ms
        self.seed, self.epoch = check_int("seed", seed), 0
        self.channels = check_channels(channels) if channels is not None else None
        self.drop_frames = check_bool("drop_frames", drop_frames)
        self.augment = [make_augmentation(a) for a in (augment if isinstance(augment, (list, tuple)) else [augment])]
        self._generator: Callable | None = None
        self._frames: np.ndarray | None = None
        self.framerate_hz: float | None = None
        coords: dict[str, Any] = {}
        self.source_attrs: dict[str, Any] = {}
        if isinstance(source, xr.DataArray) and "time" in source.dims:
            if framerate_hz is not None:
                raise InvalidValueError("framerate_hz", framerate_hz, "None for a stimulus DataArray: its time "
                                        "coordinate (ms) sets when each frame is shown, so a frame rate would be ignored")
            stim = hold_resample(source.transpose(*STIMULUS_DIMS), self.dt_ms)
            self._frames = stim.values
            coords = {k: stim[k].values for k in stim.coords if stim[k].dims == ("sample",) and k != "sample"}
            self.source_attrs = {k: v for k, v in stim.attrs.items() if k in ("stimulus", "config")}
            self._native = "time"
        elif callable(source) and not isinstance(source, (xr.DataArray, np.ndarray)) and not torch.is_tensor(source):
            if params is None:
                raise InvalidValueError("params", None, "a parameter table: one row per sequence the generator makes")
            self._generator = source
            self.framerate_hz = check_number("framerate_hz", framerate_hz, lo=0, lo_open=True, unit="Hz")
            self.source_attrs = {"stimulus": getattr(source, "__qualname__", "generator")}
            self._native = "generator"
        else:
            da = source if isinstance(source, xr.DataArray) else None
            values = source.detach().cpu().numpy() if torch.is_tensor(source) else np.asarray(source)
            if values.ndim == 4:
                values = values[:, :, None]
            if values.ndim != 5:
                raise InvalidValueError("source", f"<array of shape {values.shape}>",
                                        "frames (sequence, frame, [channel,] y, x), a stimulus DataArray "
                                        "(sample, time, channel, y, x) or a generator")
            self._frames = np.stack([_as_frames(v, f"source[{i}]") for i, v in enumerate(values)])
            stored = da.attrs.get("framerate_hz") if da is not None else None
            if framerate_hz is None and stored is None:
                raise InvalidValueError("framerate_hz", None, "the frames' native rate in Hz (the frames carry none)")
            if framerate_hz is not None and stored is not None and abs(float(stored) - framerate_hz) > 1e-9:
                raise InvalidValueError("framerate_hz", framerate_hz, f"the frames' own rate {stored:g} Hz "
                                        f"(attrs['framerate_hz']) or None")
            self.framerate_hz = check_number("framerate_hz", framerate_hz if framerate_hz is not None else stored,
                                             lo=0, lo_open=True, unit="Hz")
            if da is not None:
                dim = da.dims[0]
                coords = {k: da[k].values for k in da.coords if da[k].dims == (dim,) and k != dim}
                self.source_attrs = {"stimulus": da.attrs.get("source", "frames"), "config": da.attrs.get("config", "")}
            self._native = "frames"
        n = len(self._frames) if self._frames is not None else None
        table = _table(params, n)
        for key, val in coords.items():
            if key in table:
                raise InvalidValueError("params", key, "names other than the source's own coordinates")
            table[key] = val
        table.insert(0, "sequence", np.arange(len(table)))
        self.params = table
        self.target = target if target is not None else ("label" if "label" in table else None)
        if self.target is not None and self.target not in table:
            raise InvalidValueError("target", self.target, f"one of the parameters {list(table.columns)}")
        if self._frames is not None and self.framerate_hz is not None:
            check_frames_shown(self._frames.shape[1], self.framerate_hz, self.dt_ms, self.drop_frames)

    # ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.params)

    def set_epoch(self, epoch: int) -> None:
        """Draw new augmentations (the generator is seeded by ``(seed, epoch, index)``)."""
        self.epoch = check_int("epoch", epoch, lo=0)

    def _index(self, index: int) -> int:
        i = check_int("index", index, lo=-len(self), hi=len(self) - 1)
        return i % len(self)

    def native_frames(self, index: int) -> np.ndarray:
        """The frames of sequence ``index`` before augmentation and resampling, ``(frame, channel, y, x)``."""
        i = self._index(index)
        if self._generator is not None:
            row = {k: v.item() if hasattr(v, "item") else v for k, v in self.params.iloc[i].items() if k != "sequence"}
            return _as_frames(self._generator(**row), f"generator(row {i})")
        return self._frames[i]

    def augmentation_params(self, index: int) -> dict[str, Any]:
        """The augmentation parameters drawn for sequence ``index`` in the current epoch."""
        out: dict[str, Any] = {}
        for _, params in self._draws(self._index(index)):
            out.update({k: v for k, v in params.items() if not k.startswith("_")})
        return out

    def _draws(self, i: int) -> list[tuple[Any, dict[str, Any]]]:
        """Each augmentation with the parameters it drew for item ``i`` (one seeded generator, in order)."""
        rng = np.random.default_rng([self.seed, self.epoch, i])
        return [(aug, aug.draw(rng)) for aug in self.augment]

    def frames(self, index: int) -> np.ndarray:
        """Sequence ``index`` on the step grid: ``(time, channel, y, x)`` float32, padded and augmented."""
        i = self._index(index)
        frames = self.native_frames(i)
        for aug, params in self._draws(i):
            frames = np.ascontiguousarray(aug.apply(frames, params), dtype=np.float32)
        if self.channels is not None:
            frames = convert_channels(frames, self.channels, axis=1)
        if self._native != "time":
            check_frames_shown(len(frames), self.framerate_hz, self.dt_ms, self.drop_frames)
            frames = frames[frame_indices(len(frames), self.framerate_hz, self.dt_ms)]
        out = np.full((self.pre + len(frames) + self.post, *frames.shape[1:]), BACKGROUND, dtype=np.float32)
        out[self.pre:self.pre + len(frames)] = frames
        return out

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        i = self._index(index)
        target = self.params[self.target].iloc[i] if self.target is not None else i
        return torch.from_numpy(self.frames(i)), torch.as_tensor(np.asarray(target))

    # ------------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """How the items are made, as JSON-able values (recorded in the stimulus's attrs)."""
        return jsonable({"source": self.source_attrs, "native": self._native, "framerate_hz": self.framerate_hz,
                         "dt_ms": self.dt_ms, "t_pre_ms": self.t_pre_ms, "t_post_ms": self.t_post_ms,
                         "augment": [repr(a) for a in self.augment], "seed": self.seed, "epoch": self.epoch,
                         "channels": self.channels, "drop_frames": self.drop_frames})

    def stimulus(self, indices: Sequence[int] | None = None, progress: bool | None = None) -> xr.DataArray:
        """The items as one standard stimulus ``(sample, time, channel, y, x)`` (time in ms).

        Every parameter (source coordinates, ``params``, drawn augmentations, ``sequence``)
        becomes a coordinate along ``sample``; ``stim_onset`` / ``stim_offset`` say when the
        sequence starts and ends.

        Raises:
            InvalidValueError: Sequences of different lengths or sizes (they cannot share a time axis).
        """
        idx = list(range(len(self))) if indices is None else [self._index(i) for i in indices]
        if not idx:
            raise InvalidValueError("indices", indices, "at least one sequence")
        loop: Any = idx
        if progress or (progress is None and len(idx) > 2000):
            from tqdm.auto import tqdm

            loop = tqdm(idx, desc="SequenceDataset.stimulus", unit="sequence")
        items = [self.frames(i) for i in loop]
        shapes = {f.shape for f in items}
        if len(shapes) > 1:
            raise InvalidValueError("indices", idx[:10], f"sequences of one shape (found {sorted(shapes)})")
        coords = {k: self.params[k].to_numpy()[idx] for k in self.params.columns}
        drawn = [self.augmentation_params(i) for i in idx]
        for key in (drawn[0] if drawn else {}):
            coords[key] = np.asarray([d[key] for d in drawn])
        n_stim = items[0].shape[0] - self.pre - self.post
        coords.update({"stim_onset": np.full(len(idx), self.t_pre_ms),
                       "stim_offset": np.full(len(idx), self.t_pre_ms + n_stim * self.dt_ms)})
        attrs = {"framerate_hz": self.framerate_hz, "t_pre_ms": self.t_pre_ms, "t_post_ms": self.t_post_ms}
        return stimulus_array(np.stack(items), dt=self.dt_ms, name="sequence_dataset", config=self.config(),
                              sample_coords=coords, attrs={k: v for k, v in attrs.items() if v is not None})

    def __repr__(self) -> str:
        rate = f"framerate_hz={self.framerate_hz:g}, " if self.framerate_hz else ""
        return (f"SequenceDataset(n={len(self)}, {rate}dt_ms={self.dt_ms:g}, t_pre_ms={self.t_pre_ms:g}, "
                f"t_post_ms={self.t_post_ms:g}, augment={self.augment})")

"""Activation trees as the explorers read them: sources, areas, conditions and slices.

Pure xarray, no plotting: :func:`as_trees` turns whatever holds activations (a tree, a zarr
path or URL, an experiment folder, an :class:`~dynvision.experiments.ExperimentResult` or a
mapping of those) into ``{label: DataTree}``; the other functions cut the arrays a view
shows out of one tree. Times are in ms; samples are positions along ``sample``.

Example:
    >>> import numpy as np
    >>> from dynvision.io import build_tree
    >>> tree = build_tree(np.zeros((2, 3, 4), "float32"), {"V1": np.ones((2, 3, 5, 6, 6), "float32")},
    ...                   times=np.array([0.0, 2.0, 4.0]),
    ...                   coords={"sample": ("sample", np.arange(2)), "contrast": ("sample", [0.5, 1.0])},
    ...                   attrs={"dt": 2.0})
    >>> area_names(tree), conditions(tree)
    (['V1'], {'contrast': [0.5, 1.0]})
    >>> activity_map(tree, "V1", sample=1, time=2.0, channel="mean").dims
    ('y', 'x')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

MEAN = "mean"
"""The channel choice that averages over all channels."""

STIMULUS_NODE, STIMULUS_VAR, ACTIVITY_VAR = "stimulus", "luminance", "activity"
FIRST = ("image", "contrast", "duration", "interval")
"""Conditions listed first (others follow in stored order)."""


def _open(path: str | os.PathLike) -> dict[str, xr.DataTree]:
    """One store, or every store under ``<experiment folder>/activations``."""
    from dynvision.io import open_activations, store_status

    if store_status(path) is not None:
        return {_label_of(path): open_activations(path)}
    folder = Path(path) / "activations"
    if isinstance(path, (str, os.PathLike)) and folder.is_dir():
        stores = sorted(folder.glob("*.zarr"))
        if stores:
            return {p.stem: open_activations(p) for p in stores}
    raise FileNotFoundError(
        f"no activations at {str(path)!r}: expected a zarr store written by Simulation.run(..., store=) "
        f"or an experiment folder holding activations/<model>.zarr")


def _label_of(path) -> str:
    name = Path(str(path).rstrip("/")).name
    return name[:-5] if name.endswith(".zarr") else name or "activations"


def as_trees(source: Any) -> dict[str, xr.DataTree]:
    """Normalise a source of activations to ``{label: DataTree}`` (lazy where stored).

    Args:
        source: An activation ``DataTree``; a path or fsspec URL of a store; an experiment
            folder (``activations/*.zarr``); an object with an ``activations`` mapping (an
            ``ExperimentResult``); or a mapping ``{label: tree or path}``.

    Raises:
        FileNotFoundError: A path holds no activations.
        TypeError: ``source`` is none of the above.
        ValueError: A tree has no area node with ``activity``.

    Example:
        >>> as_trees("results/contrast")  # doctest: +SKIP
        {'DyRCNNx4': <xarray.DataTree ...>}
    """
    if isinstance(source, xr.DataTree):
        trees = {str(source.attrs.get("model", "activations")): source}
    elif isinstance(source, (str, os.PathLike)):
        trees = _open(source)
    elif isinstance(getattr(source, "activations", None), Mapping):
        trees = as_trees(dict(source.activations))
    elif isinstance(source, Mapping):
        trees = {}
        for label, value in source.items():
            opened = as_trees(value)
            if len(opened) == 1:
                trees[str(label)] = next(iter(opened.values()))
            else:
                trees.update({f"{label}/{k}": v for k, v in opened.items()})
    else:
        raise TypeError(f"cannot explore a {type(source).__name__}: pass an activation DataTree, a store "
                        f"path or URL, an experiment folder or result, or a mapping of those")
    if not trees:
        raise ValueError("no activations to explore (the source is empty)")
    for label, tree in trees.items():
        if not area_names(tree):
            raise ValueError(f"activations {label!r} hold no area node with {ACTIVITY_VAR!r}; "
                             f"nodes: {sorted(tree.children)}")
    return trees


def area_names(tree: xr.DataTree) -> list[str]:
    """The area nodes (children holding ``activity``), in stored (hierarchy) order."""
    return [name for name, node in tree.children.items() if ACTIVITY_VAR in node.data_vars]


def activity(tree: xr.DataTree, area: str) -> xr.DataArray:
    """The ``activity`` of one area (raises listing the areas if unknown)."""
    from dynvision.registry import check_choice

    check_choice("area", area, area_names(tree))
    return tree[area][ACTIVITY_VAR]


def is_reduced(tree: xr.DataTree, area: str) -> bool:
    """Whether an area was stored without space (spatial mean or centre unit)."""
    return "y" not in activity(tree, area).dims


def sample_table(tree: xr.DataTree):
    """The coordinates along ``sample`` as a DataFrame (one row per sample)."""
    import pandas as pd

    da = activity(tree, area_names(tree)[0])
    names = [n for n, c in da.coords.items() if c.dims == ("sample",) and n != "sample"]
    names = [n for n in FIRST if n in names] + [n for n in names if n not in FIRST]
    return pd.DataFrame({n: np.asarray(da[n].values) for n in names}, index=pd.RangeIndex(da.sizes["sample"]))


def conditions(tree: xr.DataTree, derived: bool = False) -> dict[str, list]:
    """Coordinates along ``sample`` that take more than one value, with their sorted values.

    Args:
        tree: Activations.
        derived: Also list coordinates that follow from an earlier listed one (``label``
            from ``image``, ``stim_offset`` from ``duration``...).

    Example:
        >>> conditions(tree)  # doctest: +SKIP
        {'image': ['digit5-1144', 'digit7-1527'], 'contrast': [0.1, 0.5, 1.0]}
    """
    table = sample_table(tree).map(_scalar)
    out: dict[str, list] = {}
    for name in table.columns:
        values = _unique(table[name])
        if len(values) < 2:
            continue
        if not derived and any(table.groupby(prev, sort=False)[name].nunique().max() == 1 for prev in out):
            continue
        out[name] = values
    return out


def _unique(column) -> list:
    values = list(dict.fromkeys(_scalar(v) for v in column))
    try:
        return sorted(values)
    except TypeError:
        return values


def _scalar(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def sample_conditions(tree: xr.DataTree, sample: int) -> dict[str, Any]:
    """The condition values of one sample (every coordinate that varies, derived ones too)."""
    row = sample_table(tree).iloc[int(sample)]
    return {name: _scalar(row[name]) for name in conditions(tree, derived=True)}


def find_sample(tree: xr.DataTree, wanted: Mapping[str, Any], keep: str | Sequence[str] = ()) -> int:
    """The sample matching most of ``wanted`` (ties: the first), always matching ``keep``.

    Args:
        tree: Activations.
        wanted: Condition name -> value.
        keep: Conditions the result must match (those the user just chose), as far as some
            sample has all their values.

    Example:
        >>> find_sample(tree, {"contrast": 1.0, "image": "digit7-1527"}, keep="contrast")  # doctest: +SKIP
        3
    """
    table = sample_table(tree)
    names = [n for n in wanted if n in table.columns]
    if not names:
        return 0
    hits = np.stack([np.array([_scalar(v) == wanted[n] for v in table[n]]) for n in names])
    score = hits.sum(axis=0).astype(float)
    kept = [names.index(k) for k in ([keep] if isinstance(keep, str) else keep) if k in names]
    must = hits[kept].all(axis=0) if kept else np.ones(len(score), bool)
    if must.any():
        score[~must] = -1
    return int(np.argmax(score))


def _channel(da: xr.DataArray, channel: Any) -> xr.DataArray:
    if channel == MEAN:
        return da.mean("channel")
    if channel not in da["channel"].values:
        raise ValueError(f"channel {channel!r} is not stored; valid: {MEAN!r} or 0..{da.sizes['channel'] - 1}")
    return da.sel(channel=channel)


def activity_map(tree: xr.DataTree, area: str, sample: int, time: float, channel: Any = MEAN) -> xr.DataArray:
    """What an area does at one time: ``(y, x)`` for one channel or the channel mean.

    For a reduced area (no space) this is the channel profile ``(channel,)`` instead.
    """
    da = activity(tree, area).isel(sample=int(sample)).sel(time=time, method="nearest")
    if "y" not in da.dims:
        return da.load()
    return _channel(da, channel).load()


def time_course(tree: xr.DataTree, area: str, sample: int, channel: Any = MEAN) -> xr.DataArray:
    """The response of an area over time: one channel or all, averaged over space."""
    da = activity(tree, area).isel(sample=int(sample))
    da = da.mean([d for d in ("y", "x") if d in da.dims])
    return _channel(da, channel).load()


def value_range(tree: xr.DataTree, area: str, sample: int, channel: Any = MEAN) -> tuple[float, float]:
    """Min and max of what :func:`activity_map` shows, over all times (a steady colour scale)."""
    da = activity(tree, area).isel(sample=int(sample))
    if "y" in da.dims:
        da = _channel(da, channel)
    lo, hi = float(da.min()), float(da.max())
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def stimulus_frame(tree: xr.DataTree, sample: int, time: float) -> xr.DataArray | None:
    """The stimulus frame shown at ``time``: ``(y, x)`` (one channel) or ``(y, x, channel)``.

    ``None`` when the run did not keep its stimulus (``store_stimulus=False``).
    """
    if STIMULUS_NODE not in tree.children or STIMULUS_VAR not in tree[STIMULUS_NODE].data_vars:
        return None
    da = tree[STIMULUS_NODE][STIMULUS_VAR].isel(sample=int(sample)).sel(time=time, method="nearest")
    if da.sizes["channel"] == 1:
        return da.isel(channel=0).load()
    return da.transpose("y", "x", "channel").load()


def stimulus_windows(tree: xr.DataTree, sample: int) -> list[tuple[float, float]]:
    """The ``(onset, offset)`` windows (ms) of one sample's presentations (none if not recorded)."""
    row = sample_table(tree).iloc[int(sample)]
    out = []
    for on, off in (("stim_onset", "stim_offset"), ("onset2", "offset2")):
        if on in row and off in row:
            a, b = float(row[on]), float(row[off])
            if np.isfinite(a) and np.isfinite(b):
                out.append((a, b))
    return out


def onset(tree: xr.DataTree) -> float | None:
    """The stimulus onset (ms) shared by every sample, or ``None`` (none recorded, or they differ)."""
    table = sample_table(tree)
    if "stim_onset" not in table:
        return None
    values = np.asarray(table["stim_onset"], dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0 or not np.allclose(values, values[0]):
        return None
    return float(values[0])


def peak_time(tree: xr.DataTree, area: str, sample: int, channel: Any = MEAN) -> float:
    """When the area's (channel's) mean response is largest (ms): an informative time to show."""
    course = time_course(tree, area, sample, channel)
    values = np.asarray(course.values, dtype=float)
    if not np.isfinite(values).any():
        return float(course["time"].values[0])
    return float(course["time"].values[int(np.nanargmax(values))])


def strongest_sample(tree: xr.DataTree) -> int:
    """The first sample at the largest contrast (0 when contrast does not vary)."""
    table = sample_table(tree)
    if "contrast" not in table or table["contrast"].nunique() < 2:
        return 0
    return int(np.argmax(np.asarray(table["contrast"], dtype=float)))


def times(tree: xr.DataTree) -> list[float]:
    """The time coordinate (ms) as floats."""
    return [float(t) for t in activity(tree, area_names(tree)[0])["time"].values]


def channels(tree: xr.DataTree, area: str) -> list:
    """The choices for the channel: ``"mean"`` then every stored channel."""
    return [MEAN, *(int(c) for c in activity(tree, area)["channel"].values)]


__all__ = ["MEAN", "activity", "activity_map", "area_names", "as_trees", "channels", "conditions",
           "find_sample", "is_reduced", "onset", "peak_time", "sample_conditions", "sample_table", "stimulus_frame",
           "stimulus_windows", "strongest_sample", "time_course", "times", "value_range"]

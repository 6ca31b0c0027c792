"""Selection and averaging that the figures apply to results (no metrics are computed here).

Figures take xarray data as :func:`~dynvision.experiments.run_experiment` produces it:
responses ``(model, area, sample, time)`` with stimulus conditions as coordinates along
``sample``, metrics indexed by ``model``, ``area``, ``image`` and the experiment's
condition. These helpers pick models and areas (in hierarchy order, unknown names raise),
average over images or over the samples of one condition, and read the stimulus windows
to shade. Nothing here imports holoviews.

Example:
    >>> import numpy as np, xarray as xr
    >>> r = xr.DataArray(np.zeros((1, 2, 3, 4)), dims=("model", "area", "sample", "time"),
    ...                  coords={"model": ["m"], "area": ["V1", "V2"], "time": np.arange(4.0),
    ...                          "stim_onset": ("sample", [1.0] * 3),
    ...                          "stim_offset": ("sample", [2.0, 3.0, 3.0])})
    >>> pick(r, areas=["V2"]).area.values.tolist(), stimulus_windows(r)
    (['V2'], [(1.0, 2.0), (1.0, 3.0)])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import xarray as xr

from dynvision.registry import UnknownNameError, unknown_name_message

WINDOWS = (("stim_onset", "stim_offset"), ("onset2", "offset2"))
"""Coordinate pairs (onset, offset) of the presentations in a stimulus."""


def _names(da: xr.DataArray | xr.Dataset, dim: str, wanted: Sequence[str] | str | None) -> list[str]:
    if dim not in da.dims:
        return []
    have = [str(v) for v in da[dim].values.tolist()]
    if wanted is None:
        return have
    wanted = [wanted] if isinstance(wanted, str) else [str(w) for w in wanted]
    for w in wanted:
        if w not in have:
            raise UnknownNameError(unknown_name_message(dim, w, have))
    return [h for h in have if h in wanted] if dim == "area" else wanted


def pick(da, models: Sequence[str] | str | None = None, areas: Sequence[str] | str | None = None):
    """Select models (in the order asked) and areas (kept in hierarchy order).

    Example:
        >>> d = xr.DataArray([1, 2], dims="area", coords={"area": ["V1", "IT"]})
        >>> pick(d, areas=["IT", "V1"]).area.values.tolist()
        ['V1', 'IT']
    """
    sel = {}
    if "model" in da.dims:
        sel["model"] = _names(da, "model", models)
    if "area" in da.dims:
        sel["area"] = _names(da, "area", areas)
    return da.sel(sel) if sel else da


def model_names(da) -> list[str]:
    """The model labels of ``da`` (``[""]`` when it has no ``model`` dim)."""
    return _names(da, "model", None) or [""]


def short_names(names: Sequence[str]) -> tuple[dict[str, str], str]:
    """Short labels for models compared along one setting, and that setting's name.

    ``compare={"recurrence_type": [...]}`` labels models ``recurrence_type=full``...; legends
    and titles show ``full`` under the title ``recurrence_type`` instead (hover keeps the
    full label).

    Example:
        >>> short_names(["recurrence_type=full", "recurrence_type=self"])
        ({'recurrence_type=full': 'full', 'recurrence_type=self': 'self'}, 'recurrence_type')
        >>> short_names(["a", "b"])
        ({'a': 'a', 'b': 'b'}, '')
    """
    names = [str(n) for n in names]
    parts = [n.split("=", 1) for n in names]
    keys = {p[0] for p in parts}
    if len(names) > 1 and all(len(p) == 2 and "," not in n for p, n in zip(parts, names)) and len(keys) == 1:
        return {n: p[1] for n, p in zip(names, parts)}, keys.pop()
    return {n: n for n in names}, ""


def area_names(da) -> list[str]:
    """The areas of ``da`` in hierarchy (stored) order."""
    return _names(da, "area", None)


def image_mean(da):
    """Mean over ``image`` (NaN skipped) where that dim exists; attrs kept.

    Example:
        >>> d = xr.DataArray([1.0, np.nan, 3.0], dims="image")
        >>> float(image_mean(d))
        2.0
    """
    return da.mean("image", keep_attrs=True) if "image" in da.dims else da


def sem(da: xr.DataArray, dim: str) -> xr.DataArray:
    """Standard error of the mean along ``dim`` (NaN skipped; NaN where fewer than two values).

    Example:
        >>> float(sem(xr.DataArray([1.0, 3.0], dims="image"), "image"))
        1.0
    """
    n = da.notnull().sum(dim)
    out = da.std(dim, ddof=1, keep_attrs=True) / np.sqrt(n.where(n > 1))
    return out


def image_stats(da: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray | None]:
    """Mean and standard error over ``image`` (``None`` for the error without that dim or with
    a single image).

    Example:
        >>> m, e = image_stats(xr.DataArray([1.0, 3.0], dims="image"))
        >>> float(m), float(e)
        (2.0, 1.0)
    """
    if "image" not in da.dims:
        return da, None
    mean = da.mean("image", keep_attrs=True)
    return mean, (sem(da, "image") if da.sizes["image"] > 1 else None)


def condition_stats(responses: xr.DataArray, condition: str | None = None
                    ) -> tuple[xr.DataArray, xr.DataArray | None]:
    """Mean and standard error over the samples of each ``condition`` value (over all
    samples with ``None``): the variability across images.

    The error is ``None`` where every condition value has a single sample.

    Example:
        >>> r = xr.DataArray([[1.0, 3.0], [3.0, 7.0]], dims=("sample", "time"),
        ...                  coords={"contrast": ("sample", [0.5, 0.5])})
        >>> m, e = condition_stats(r, "contrast")
        >>> m.values.tolist(), e.values.tolist()
        ([[2.0, 5.0]], [[1.0, 2.0]])
    """
    responses = _eager_coords(responses)
    mean = condition_means(responses, condition)
    if "sample" not in responses.dims:
        return mean, None
    if condition is None:
        if responses.sizes["sample"] < 2:
            return mean, None
        return mean, sem(responses, "sample")
    if condition in responses.dims:
        return mean, None
    counts = responses[condition].to_series().value_counts()
    if counts.max() < 2:
        return mean, None
    groups = responses.groupby(condition)
    n = responses.notnull().groupby(condition).sum("sample")
    err = groups.std("sample", ddof=1) / np.sqrt(n.where(n > 1))
    return mean, err.transpose(*mean.dims)


def onset(responses: xr.DataArray, condition: str | None = None, value: float | None = None) -> float | None:
    """The stimulus onset (ms) shared by the samples (of one condition value), or ``None``
    where there is none or the samples differ.

    Example:
        >>> r = xr.DataArray(np.zeros((2, 3)), dims=("sample", "time"),
        ...                  coords={"stim_onset": ("sample", [10.0, 10.0])})
        >>> onset(r)
        10.0
    """
    if "stim_onset" not in responses.coords:
        return None
    values = np.asarray(responses["stim_onset"].values, dtype=float)
    if condition is not None and value is not None and condition in responses.coords \
            and responses[condition].dims == responses["stim_onset"].dims:
        values = values[np.isclose(np.asarray(responses[condition].values, dtype=float), float(value))]
    values = values[np.isfinite(values)]
    if values.size == 0 or not np.allclose(values, values[0]):
        return None
    return float(values[0])


def _eager_coords(da: xr.DataArray) -> xr.DataArray:
    """``da`` with its coordinates read into memory (a lazily opened store keeps them as dask
    arrays, which xarray cannot group by)."""
    lazy = {k: c.compute() for k, c in da.coords.items() if c.chunks is not None}
    return da.assign_coords(lazy) if lazy else da


def condition_means(responses: xr.DataArray, condition: str | None = None) -> xr.DataArray:
    """Responses averaged over the samples of each ``condition`` value (or over all samples).

    Example:
        >>> r = xr.DataArray([[1.0, 3.0], [5.0, 7.0]], dims=("sample", "time"),
        ...                  coords={"contrast": ("sample", [0.5, 0.5])})
        >>> condition_means(r, "contrast").values.tolist()
        [[3.0, 5.0]]
    """
    from dynvision.analysis import by_condition

    if condition is None:
        return responses.mean("sample", keep_attrs=True) if "sample" in responses.dims else responses
    responses = _eager_coords(responses)
    if condition not in responses.coords:
        valid = sorted(str(c) for c in responses.coords if responses[c].dims == ("sample",))
        raise UnknownNameError(unknown_name_message("condition", condition, valid))
    out = by_condition(responses, condition)
    out.attrs = dict(responses.attrs)
    return out


def stimulus_windows(responses: xr.DataArray, condition: str | None = None,
                     value: float | None = None) -> list[tuple[float, float]]:
    """Distinct ``(onset, offset)`` windows (ms) of the presentations, optionally of one condition.

    Example:
        >>> r = xr.DataArray(np.zeros((2, 3)), dims=("sample", "time"),
        ...                  coords={"interval": ("sample", [2.0, 4.0]),
        ...                          "stim_onset": ("sample", [1.0, 1.0]),
        ...                          "stim_offset": ("sample", [2.0, 2.0]),
        ...                          "onset2": ("sample", [4.0, 6.0]), "offset2": ("sample", [5.0, 7.0])})
        >>> stimulus_windows(r, "interval", 4.0)
        [(1.0, 2.0), (6.0, 7.0)]
    """
    if "sample" not in responses.dims:
        return []
    keep = np.ones(responses.sizes["sample"], bool)
    if condition is not None and value is not None:
        keep = np.isclose(np.asarray(responses[condition].values, dtype=float), float(value))
    out: list[tuple[float, float]] = []
    for on, off in WINDOWS:
        if on in responses.coords and off in responses.coords:
            pairs = zip(np.asarray(responses[on].values)[keep], np.asarray(responses[off].values)[keep])
            out += [(float(a), float(b)) for a, b in pairs if np.isfinite(a) and np.isfinite(b)]
    return sorted(set(out), key=out.index)


def condition_values(da, condition: str) -> list[float]:
    """Sorted distinct values of a condition (a dim or a coordinate along ``sample``)."""
    return sorted({float(v) for v in np.ravel(da[condition].values) if np.isfinite(v)})


def units(da, default: str = "a.u.") -> str:
    """``attrs["units"]`` of a DataArray (``default`` if unset)."""
    return str(getattr(da, "attrs", {}).get("units", default))


__all__ = ["WINDOWS", "pick", "model_names", "short_names", "area_names", "image_mean", "image_stats", "sem", "condition_means",
           "condition_stats", "onset", "stimulus_windows", "condition_values", "units"]

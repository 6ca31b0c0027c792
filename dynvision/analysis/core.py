"""Shared machinery of the metrics: time axis, stimulus times, windows, baseline, kernels.

Metrics are vectorised numpy kernels over the last (``time``) axis, applied with
:func:`xarray.apply_ufunc` so that every other dim and coordinate is kept (and dask arrays
work). Stimulus times (onset, offset...) are given as a number of ms, the name of a
coordinate (``"stim_onset"``, set per sample by :mod:`dynvision.stimuli`) or a DataArray.
A window ``(start, stop)`` is relative to a reference time and half-open: it holds the
samples with ``ref + start <= t < ref + stop`` (``None`` means the start or end of the trace).

Example:
    >>> import numpy as np, xarray as xr
    >>> r = xr.DataArray([1.0, 1.0, 3.0, 3.0], dims="time", coords={"time": [0, 1, 2, 3]})
    >>> float(baseline(r, onset=2.0))
    1.0
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import xarray as xr

Time = float | str | xr.DataArray
Window = tuple[float | None, float | None]


def time_values(resp: xr.DataArray) -> np.ndarray:
    """Return the ``time`` coordinate (ms) after checking it is 1-D, finite and increasing.

    Example:
        >>> time_values(xr.DataArray([0, 1], dims="time", coords={"time": [0.0, 2.0]}))
        array([0., 2.])
    """
    if not isinstance(resp, xr.DataArray):
        raise TypeError(f"metrics take an xarray.DataArray, got {type(resp).__name__}")
    if "time" not in resp.dims:
        raise ValueError(f"the response has no 'time' dim (dims: {resp.dims}); time is in ms")
    if "time" not in resp.coords:
        raise ValueError("the response's 'time' dim has no coordinate; set times in ms")
    t = np.asarray(resp["time"].values, dtype=np.float64)
    if t.size == 0 or not np.isfinite(t).all() or (t.size > 1 and np.any(np.diff(t) <= 0)):
        raise ValueError("the 'time' coordinate must be finite and strictly increasing (ms)")
    return t


def uniform_dt(t: np.ndarray) -> float:
    """The step of a uniformly sampled time axis (raises if the steps differ).

    Example:
        >>> uniform_dt(np.array([0.0, 0.5, 1.0]))
        0.5
    """
    if t.size < 2:
        raise ValueError("need at least two time points to know the step dt")
    steps = np.diff(t)
    if not np.allclose(steps, steps[0], rtol=1e-6, atol=1e-9):
        raise ValueError("time steps differ; this metric needs a uniformly sampled time axis")
    return float(steps[0])


def resolve_time(resp: xr.DataArray, value: Time, name: str) -> float | xr.DataArray:
    """Turn a stimulus time (ms, coordinate name or DataArray) into a number or DataArray.

    Example:
        >>> r = xr.DataArray([[0.0, 1.0]], dims=("sample", "time"),
        ...                  coords={"time": [0, 1], "stim_onset": ("sample", [1.0])})
        >>> resolve_time(r, "stim_onset", "onset").values.tolist()
        [1.0]
    """
    if isinstance(value, str):
        if value not in resp.coords:
            coords = sorted(str(c) for c in resp.coords if "time" not in resp[c].dims)
            raise ValueError(
                f"{name}={value!r} is not a coordinate of the response; pass {name} in ms or "
                f"one of the coordinates: {', '.join(map(repr, coords)) or '(none)'}"
            )
        value = resp.coords[value]
    if isinstance(value, xr.DataArray):
        if "time" in value.dims:
            raise ValueError(f"{name} must not vary over time, got dims {value.dims}")
        return value.astype(np.float64)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(
            f"{name} must be a time in ms, a coordinate name or a DataArray, got {value!r}"
        )
    return float(value)


def bounds(ref: Any, window: Window, name: str = "window") -> tuple[Any, Any]:
    """Absolute ``(lo, hi)`` times of ``window`` relative to ``ref`` (``None`` -> +-inf).

    Example:
        >>> bounds(20.0, (0.0, None))
        (20.0, inf)
    """
    if len(window) != 2:
        raise ValueError(f"{name} must be (start, stop) in ms relative to onset, got {window!r}")
    start, stop = window
    if start is not None and stop is not None and stop <= start:
        raise ValueError(f"{name}={window!r} is empty: stop must be greater than start")
    lo = ref + start if start is not None else -np.inf
    hi = ref + stop if stop is not None else np.inf
    return lo, hi


def _flat(R: np.ndarray, *args: Any) -> tuple[np.ndarray, list[np.ndarray], tuple]:
    shape = np.broadcast_shapes(R.shape[:-1], *(np.shape(a) for a in args))
    R2 = np.broadcast_to(R, (*shape, R.shape[-1])).reshape(-1, R.shape[-1]).astype(np.float64)
    flat = [np.broadcast_to(np.asarray(a, dtype=np.float64), shape).ravel() for a in args]
    return R2, flat, shape


def mask(t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per-trace boolean mask (n, time) of ``lo <= t < hi`` with a tolerance of 1e-6 step.

    Example:
        >>> mask(np.arange(4.0), np.array([1.0]), np.array([3.0])).astype(int).tolist()
        [[0, 1, 1, 0]]
    """
    tol = 1e-6 * (np.min(np.diff(t)) if t.size > 1 else 1.0)
    return (t[None, :] >= lo[:, None] - tol) & (t[None, :] < hi[:, None] - tol)


def apply(kernel: Callable, resp: xr.DataArray, *args: Any, n_out: int = 1, **kwargs: Any):
    """Apply ``kernel(R, *args, t=times, **kwargs)`` over ``time``; keep the other coords.

    The kernel receives the response as (n, time) and each argument as (n,) (broadcast and
    flattened), and returns ``n_out`` arrays of shape (n,).

    Example:
        >>> r = xr.DataArray([[1.0, 2.0], [3.0, 5.0]], dims=("sample", "time"),
        ...                  coords={"time": [0.0, 1.0]})
        >>> apply(lambda R, t: R[:, -1] - R[:, 0], r).values.tolist()
        [1.0, 2.0]
    """
    t = time_values(resp)

    def run(R, *a):
        R2, flat, shape = _flat(R, *a)
        out = kernel(R2, *flat, t=t, **kwargs)
        outs = out if n_out > 1 else (out,)
        res = tuple(np.asarray(o, dtype=np.float64).reshape(shape) for o in outs)
        return res if n_out > 1 else res[0]

    return xr.apply_ufunc(
        run,
        resp,
        *args,
        input_core_dims=[["time"]] + [[] for _ in args],
        output_core_dims=[[] for _ in range(n_out)],
        dask="parallelized",
        output_dtypes=[np.float64] * n_out,
        dask_gufunc_kwargs={"allow_rechunk": True},
    )


def finish(da: xr.DataArray, name: str, long_name: str, units: str, **attrs: Any) -> xr.DataArray:
    """Name a metric's result and set ``units``, ``long_name`` and its parameters in attrs.

    Example:
        >>> finish(xr.DataArray(1.0), "latency", "onset latency", "ms").attrs["units"]
        'ms'
    """
    da = da.rename(name)
    da.attrs = {"long_name": long_name, "units": units}
    da.attrs.update(
        {k: (str(v) if not isinstance(v, (int, float, str)) else v) for k, v in attrs.items()}
    )
    return da


def _k_mean(R, lo, hi, *, t, stat="mean"):
    M = mask(t, lo, hi)
    n = M.sum(axis=1)
    x = np.where(M, R, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x.sum(axis=1) / n
        if stat == "mean":
            return mean
        var = (np.where(M, R - mean[:, None], 0.0) ** 2).sum(axis=1) / (n - 1)
        return np.sqrt(np.where(n > 1, var, np.nan))


def window_mean(resp: xr.DataArray, lo: Any, hi: Any, stat: str = "mean") -> xr.DataArray:
    """Mean (``stat="mean"``) or SD (``"std"``, ddof=1) of ``resp`` over ``lo <= t < hi``.

    Example:
        >>> r = xr.DataArray([1.0, 2.0, 6.0], dims="time", coords={"time": [0.0, 1.0, 2.0]})
        >>> float(window_mean(r, 0.0, 2.0))
        1.5
    """
    return apply(_k_mean, resp, lo, hi, stat=stat)


def _k_max(R, lo, hi, *, t):
    M = mask(t, lo, hi)
    X = np.where(M, R, -np.inf)
    i = X.argmax(axis=1)
    val = X[np.arange(len(X)), i]
    empty = ~np.isfinite(val)
    return np.where(empty, np.nan, val), np.where(empty, -1, i).astype(np.float64)


def window_max(resp: xr.DataArray, lo: Any, hi: Any) -> tuple[xr.DataArray, xr.DataArray]:
    """Maximum of ``resp`` over ``lo <= t < hi`` and its time index (NaN, -1 when empty).

    Example:
        >>> r = xr.DataArray([1.0, 4.0, 6.0], dims="time", coords={"time": [0.0, 1.0, 2.0]})
        >>> [float(v) for v in window_max(r, 0.0, 2.0)]
        [4.0, 1.0]
    """
    return apply(_k_max, resp, lo, hi, n_out=2)


def baseline(
    resp: xr.DataArray,
    *,
    onset: Time = "stim_onset",
    window: Window = (None, 0.0),
    stat: str = "mean",
) -> xr.DataArray:
    """Mean activity before the stimulus: the reference level of every metric.

    Definition: the mean (or SD with ddof=1 for ``stat="std"``) of the response over
    ``onset + start <= t < onset + stop``; by default all times before onset.

    Args:
        resp: Response with a ``time`` dim (ms).
        onset: Stimulus onset: ms, a coordinate name or a DataArray.
        window: ``(start, stop)`` in ms relative to onset.
        stat: ``"mean"`` or ``"std"``.

    Raises:
        ValueError: If no time point falls in the window (e.g. a stimulus without ``t_pre``).

    Example:
        >>> r = xr.DataArray([1.0, 3.0, 5.0], dims="time", coords={"time": [0, 1, 2]})
        >>> float(baseline(r, onset=2.0, stat="std"))
        1.4142135623730951
    """
    from dynvision.registry import check_choice

    check_choice("baseline statistic", stat, ["mean", "std"])
    on = resolve_time(resp, onset, "onset")
    lo, hi = bounds(on, window, "baseline window")
    out = window_mean(resp, lo, hi, stat=stat)
    if stat == "mean" and out.size and bool(np.isnan(out).all()) and not bool(resp.isnull().all()):
        t0 = float(resp["time"][0])
        raise ValueError(
            f"no time points in the baseline window {window} ms around onset (first time "
            f"{t0:g} ms); present the stimulus after some grey (t_pre > 0) or pass baseline=<value>"
        )
    units = resp.attrs.get("units", "a.u.")
    return finish(out, "baseline", f"baseline {stat}", units, window=window)


def resolve_baseline(
    resp: xr.DataArray, value: str | float | xr.DataArray, onset: Time, window: Window
) -> float | xr.DataArray:
    """``"pre"`` -> :func:`baseline`; a number or DataArray is used as it is.

    Example:
        >>> r = xr.DataArray([1.0, 3.0], dims="time", coords={"time": [0.0, 1.0]})
        >>> float(resolve_baseline(r, "pre", 1.0, (None, 0.0)))
        1.0
        >>> resolve_baseline(r, 0.2, 1.0, (None, 0.0))
        0.2
    """
    if isinstance(value, str):
        if value != "pre":
            raise ValueError(
                f"baseline={value!r}; valid: 'pre' (mean before onset), a number or a DataArray"
            )
        return baseline(resp, onset=onset, window=window)
    if isinstance(value, xr.DataArray):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"baseline must be 'pre', a number or a DataArray, got {value!r}")
    return float(value)


def conditions_to_dims(da: xr.DataArray | xr.Dataset, names: Sequence[str], dim: str = "sample"):
    """Turn condition coordinates along ``dim`` into dims (e.g. ``contrast`` x ``image``).

    Each combination of the named coordinates must occur once.

    Example:
        >>> d = xr.DataArray([1.0, 2.0, 3.0, 4.0], dims="sample",
        ...                  coords={"contrast": ("sample", [0.1, 0.1, 1.0, 1.0]),
        ...                          "image": ("sample", ["a", "b", "a", "b"])})
        >>> conditions_to_dims(d, ["contrast", "image"]).dims
        ('contrast', 'image')
    """
    names = list(names)
    missing = [n for n in names if n not in da.coords or da[n].dims != (dim,)]
    if missing:
        valid = sorted(str(c) for c in da.coords if da[c].dims == (dim,) and c != dim)
        raise ValueError(f"{missing} are not coordinates along {dim!r}; valid: {valid}")
    stacked = da.drop_vars(dim) if dim in da.coords else da
    if len(names) == 1:
        values = stacked[names[0]].values
        if len(set(values.tolist())) != len(values):
            raise ValueError(f"values of {names[0]!r} are not unique along {dim!r}")
        return stacked.swap_dims({dim: names[0]})
    try:
        return stacked.set_index({dim: names}).unstack(dim)
    except ValueError as err:
        raise ValueError(f"combinations of {names} are not unique along {dim!r}: {err}") from None


def by_condition(da: xr.DataArray, coord: str) -> xr.DataArray:
    """Make ``coord`` a dim: use it if it is one, else average over samples sharing a value.

    Where ``coord`` is a condition coordinate along ``sample`` (``contrast``, ``duration``,
    ``interval``), the result is the mean (NaN skipped) over all samples with the same value,
    e.g. over images; use :func:`conditions_to_dims` first to keep them apart.

    Example:
        >>> d = xr.DataArray([1.0, 3.0, 5.0], dims="sample",
        ...                  coords={"contrast": ("sample", [0.5, 0.5, 1.0])})
        >>> by_condition(d, "contrast").values.tolist()
        [2.0, 5.0]
    """
    if coord in da.dims:
        return da
    if coord not in da.coords or da[coord].ndim != 1:
        valid = sorted(str(c) for c in da.coords if da[c].ndim == 1 and c not in da.dims)
        raise ValueError(
            f"{coord!r} is neither a dim nor a 1-D condition coordinate; valid: {valid or '(none)'}"
        )
    return da.groupby(coord).mean(keep_attrs=True)


def fit_over(
    da: xr.DataArray,
    dim: str,
    model: Callable[..., np.ndarray],
    names: Sequence[str],
    guess: Callable[[np.ndarray, np.ndarray], tuple[list[float], tuple[list[float], list[float]]]],
) -> xr.Dataset:
    """Least-squares fit of ``model(x, *params)`` along ``dim`` for every other index.

    ``guess(x, y)`` returns the initial parameters and ``(lower, upper)`` bounds. The result
    holds one variable per parameter plus ``r2`` (coefficient of determination) and ``rmse``;
    all are NaN where the fit fails or fewer valid points than parameters remain.

    Example:
        >>> y = xr.DataArray([1.0, 3.0, 5.0], dims="x", coords={"x": [0.0, 1.0, 2.0]})
        >>> fit = fit_over(y, "x", lambda x, a, b: a * x + b, ("a", "b"),
        ...                lambda x, y: ([1.0, 0.0], ([-9, -9], [9, 9])))
        >>> round(float(fit.a), 6), round(float(fit.b), 6)
        (2.0, 1.0)
    """
    import warnings

    from scipy.optimize import OptimizeWarning, curve_fit

    x = np.asarray(da[dim].values, dtype=np.float64)
    other = [d for d in da.dims if d != dim]
    Y = da.transpose(*other, dim).values.reshape(-1, len(x)).astype(np.float64)
    out = np.full((len(Y), len(names) + 2), np.nan)
    for row, y in enumerate(Y):
        ok = np.isfinite(y)
        if ok.sum() < len(names):
            continue
        p0, bnds = guess(x[ok], y[ok])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OptimizeWarning)
                params, _ = curve_fit(model, x[ok], y[ok], p0=p0, bounds=bnds, maxfev=20000)
        except (RuntimeError, ValueError):
            continue
        resid = y[ok] - model(x[ok], *params)
        ss_tot = np.sum((y[ok] - y[ok].mean()) ** 2)
        r2 = 1.0 - np.sum(resid**2) / ss_tot if ss_tot > 0 else np.nan
        out[row] = [*params, r2, np.sqrt(np.mean(resid**2))]
    shape = [da.sizes[d] for d in other]
    coords = {k: v for k, v in da.coords.items() if dim not in v.dims}
    data = {n: (other, out[:, i].reshape(shape)) for i, n in enumerate([*names, "r2", "rmse"])}
    return xr.Dataset(data, coords=coords)

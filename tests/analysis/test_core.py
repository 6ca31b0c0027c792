"""Shared metric machinery: time axis, stimulus times, windows, baseline, conditions, fits."""

import numpy as np
import pytest
import xarray as xr

from dynvision.analysis.core import (
    apply,
    baseline,
    bounds,
    by_condition,
    conditions_to_dims,
    fit_over,
    resolve_time,
    time_values,
    uniform_dt,
    window_max,
    window_mean,
)


def _resp(values, t=None, **coords):
    values = np.asarray(values, dtype=float)
    t = np.arange(values.shape[-1], dtype=float) if t is None else t
    dims = ("sample", "time") if values.ndim == 2 else ("time",)
    return xr.DataArray(values, dims=dims, coords={"time": t, **coords})


def test_time_values_checks():
    assert time_values(_resp([0, 1], t=[0.0, 2.0])).tolist() == [0.0, 2.0]
    with pytest.raises(ValueError, match=r"no 'time' dim"):
        time_values(xr.DataArray([1.0], dims="t"))
    with pytest.raises(ValueError, match=r"strictly increasing"):
        time_values(_resp([0, 1], t=[2.0, 1.0]))
    with pytest.raises(ValueError, match=r"has no coordinate"):
        time_values(xr.DataArray([1.0, 2.0], dims="time"))
    with pytest.raises(TypeError, match=r"take an xarray.DataArray"):
        time_values(np.zeros(3))


def test_uniform_dt():
    assert uniform_dt(np.array([0.0, 0.5, 1.0])) == 0.5
    with pytest.raises(ValueError, match="time steps differ"):
        uniform_dt(np.array([0.0, 1.0, 3.0]))


def test_resolve_time_forms():
    r = _resp([[0, 1]], stim_onset=("sample", [1.0]), image=("sample", ["a"]))
    assert resolve_time(r, 3, "onset") == 3.0
    assert resolve_time(r, "stim_onset", "onset").values.tolist() == [1.0]
    with pytest.raises(
        ValueError, match=r"onset='onset2' is not a coordinate.*'image', 'stim_onset'"
    ):
        resolve_time(r, "onset2", "onset")
    with pytest.raises(ValueError, match=r"must not vary over time"):
        resolve_time(r, r, "onset")
    with pytest.raises(ValueError, match=r"onset must be a time in ms"):
        resolve_time(r, [1.0], "onset")


def test_windows_are_half_open():
    r = _resp(np.arange(6.0))
    lo, hi = bounds(2.0, (0.0, 3.0))
    assert float(window_mean(r, lo, hi)) == np.mean([2, 3, 4])
    peak, idx = window_max(r, lo, hi)
    assert float(peak) == 4.0 and float(idx) == 4
    assert np.isnan(float(window_mean(r, 10.0, 12.0)))
    with pytest.raises(ValueError, match=r"window=\(3.0, 1.0\) is empty"):
        bounds(0.0, (3.0, 1.0))


def test_baseline_mean_std_and_per_sample_onset():
    r = _resp([[1, 3, 5, 9, 9], [2, 2, 2, 2, 9]], stim_onset=("sample", [2.0, 4.0]))
    b = baseline(r)
    assert b.values.tolist() == [2.0, 2.0]
    assert b.attrs["units"] == "a.u." and b.name == "baseline"
    assert baseline(r, stat="std").values[0] == pytest.approx(np.std([1, 3], ddof=1))
    assert float(baseline(r, window=(-1.0, 0.0)).isel(sample=0)) == 3.0


def test_baseline_without_pre_stimulus_time_raises():
    with pytest.raises(ValueError, match=r"no time points in the baseline window.*t_pre > 0"):
        baseline(_resp([1.0, 2.0]), onset=0.0)


def test_apply_keeps_other_dims_coords_and_dask():
    data = np.random.default_rng(0).random((2, 3, 5))
    r = xr.DataArray(
        data,
        dims=("area", "sample", "time"),
        coords={
            "area": ["V1", "IT"],
            "time": np.arange(5.0),
            "contrast": ("sample", [0.1, 0.5, 1.0]),
        },
    )
    out = window_mean(r, 1.0, 3.0)
    assert out.dims == ("area", "sample") and out.area.values.tolist() == ["V1", "IT"]
    assert out.contrast.values.tolist() == [0.1, 0.5, 1.0]
    np.testing.assert_allclose(out.values, data[..., 1:3].mean(-1))
    lazy = window_mean(r.chunk({"sample": 1}), 1.0, 3.0)
    np.testing.assert_allclose(lazy.compute().values, out.values)
    # a time argument with a dim the response lacks broadcasts
    lo = xr.DataArray([0.0, 2.0], dims="shift")
    assert apply(lambda R, lo, t: (t[None] >= lo[:, None]).sum(1), r, lo).dims == (
        "area",
        "sample",
        "shift",
    )


def test_by_condition_and_conditions_to_dims():
    d = xr.DataArray(
        [1.0, 2.0, 3.0, 5.0],
        dims="sample",
        coords={
            "sample": range(4),
            "contrast": ("sample", [0.1, 0.1, 1.0, 1.0]),
            "image": ("sample", ["a", "b", "a", "b"]),
        },
    )
    assert by_condition(d, "contrast").values.tolist() == [1.5, 4.0]
    grid = conditions_to_dims(d, ["contrast", "image"])
    assert grid.sel(contrast=1.0, image="b").item() == 5.0
    with pytest.raises(ValueError, match=r"'duration' is neither a dim.*'contrast', 'image'"):
        by_condition(d, "duration")
    with pytest.raises(ValueError, match=r"\['duration'\] are not coordinates along 'sample'"):
        conditions_to_dims(d, ["duration"])
    with pytest.raises(ValueError, match=r"not unique"):
        conditions_to_dims(d, ["contrast"])


def test_fit_over_recovers_a_line_per_row():
    x = np.linspace(0, 1, 6)
    y = xr.DataArray([2 * x + 1, -x + 3], dims=("row", "x"), coords={"x": x, "row": ["a", "b"]})
    fit = fit_over(
        y,
        "x",
        lambda x, a, b: a * x + b,
        ("a", "b"),
        lambda x, y: ([1.0, 0.0], ([-10, -10], [10, 10])),
    )
    np.testing.assert_allclose(fit.a.values, [2, -1], atol=1e-6)
    np.testing.assert_allclose(fit.r2.values, 1.0)
    assert fit.row.values.tolist() == ["a", "b"]
    few = fit_over(
        y.isel(x=[0]),
        "x",
        lambda x, a, b: a * x + b,
        ("a", "b"),
        lambda x, y: ([1.0, 0.0], ([-10, -10], [10, 10])),
    )
    assert np.isnan(few.a.values).all()  # fewer points than parameters

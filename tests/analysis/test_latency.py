"""Onset latency: known answers for exponential rises, ramps and steps; NaN when never crossed."""

import numpy as np
import pytest
import xarray as xr

from dynvision.analysis import crossing_time, onset_latency
from dynvision.registry import UnknownNameError


def exp_rise(t, t0, tau, amp=1.0, base=0.0):
    return base + amp * np.where(t > t0, 1 - np.exp(-(t - t0) / tau), 0.0)


@pytest.mark.parametrize("dt", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("t0, tau", [(30.0, 10.0), (27.3, 6.0)])
def test_half_max_of_exponential_rise(dt, t0, tau):
    t = np.arange(0.0, 200.0, dt)
    r = xr.DataArray(exp_rise(t, t0, tau, amp=2.0, base=0.5), dims="time", coords={"time": t})
    onset = 20.0
    peak = r.max().item() - 0.5  # the peak above baseline reached within the trace
    expected = t0 - onset - tau * np.log(1 - 0.5 * peak / 2.0)  # ~ t0 - onset + tau ln 2
    assert abs(expected - (t0 - onset + tau * np.log(2))) < 1e-6
    lat = onset_latency(r, onset=onset)
    assert abs(float(lat) - expected) <= dt**2 / (4 * tau) + 1e-9  # linear interpolation error


def test_latency_per_sample_onsets_and_kept_coords():
    t = np.arange(0.0, 100.0)
    onsets = np.array([10.0, 20.0, 30.0])
    data = np.stack([np.clip(t - on - 5, 0, 10) for on in onsets])  # ramp starts 5 ms after onset
    r = xr.DataArray(
        data,
        dims=("sample", "time"),
        coords={
            "time": t,
            "stim_onset": ("sample", onsets),
            "contrast": ("sample", [0.1, 0.5, 1.0]),
        },
    )
    lat = onset_latency(r)  # stim_onset by default
    np.testing.assert_allclose(lat.values, 10.0)  # 5 ms delay + 5 ms to reach half of 10
    assert lat.dims == ("sample",) and lat.contrast.values.tolist() == [0.1, 0.5, 1.0]
    assert lat.attrs["units"] == "ms" and "latency" in lat.attrs["long_name"]
    assert lat.name == "onset_latency"


def test_sd_threshold_on_linear_ramp_is_exact():
    t = np.arange(0.0, 60.0)
    pre = np.tile([0.0, 1.0], 10)  # baseline 0.5 with a known SD
    r = np.concatenate([pre, 0.5 + 0.1 * (t[20:] - 20)])
    da = xr.DataArray(r, dims="time", coords={"time": t})
    sd = np.std(pre, ddof=1)
    lat = onset_latency(da, method="sd", k=2.0, onset=20.0)
    assert float(lat) == pytest.approx(2.0 * sd / 0.1)
    assert lat.attrs["k"] == 2.0


@pytest.mark.parametrize(
    "method, kwargs, level",
    [("absolute", {"threshold": 0.73}, 0.73), ("fraction", {"fraction": 0.2}, 0.2)],
)
def test_absolute_and_fraction(method, kwargs, level):
    t = np.arange(0.0, 50.0)
    da = xr.DataArray(np.clip((t - 10) / 10, 0, 1), dims="time", coords={"time": t})
    lat = onset_latency(da, method=method, onset=10.0, **kwargs)
    assert float(lat) == pytest.approx(level * 10)  # ramp from 0 to 1 over 10 ms


def test_model_and_area_dims():
    t = np.arange(0.0, 80.0)
    delays = np.array([[5.0, 10.0, 20.0], [6.0, 12.0, 24.0]])
    data = np.stack([[exp_rise(t, 20 + d, 4.0) for d in row] for row in delays])
    r = xr.DataArray(
        data,
        dims=("model", "area", "time"),
        coords={"time": t, "area": ["V1", "V4", "IT"], "model": ["a", "b"]},
    )
    lat = onset_latency(r, onset=20.0)
    assert lat.dims == ("model", "area")
    np.testing.assert_allclose(lat.values, delays + 4.0 * np.log(2), atol=1.0 / (4 * 4.0))
    assert (lat.diff("area") > 0).all()  # later areas respond later


@pytest.mark.parametrize(
    "values, kwargs",
    [
        (np.full(40, 0.3), {}),  # flat: no response
        (np.r_[np.zeros(20), -np.ones(20)], {}),  # only decreases
        (np.r_[np.zeros(20), np.ones(20)], {"method": "absolute", "threshold": 2.0}),
        (np.r_[np.zeros(20), np.ones(20)], {"window": (0.0, 5.0)}),  # response after the window
    ],
)
def test_nan_when_never_crossed(values, kwargs):
    da = xr.DataArray(values, dims="time", coords={"time": np.arange(40.0)})
    onset = 10.0 if "window" in kwargs else 20.0
    assert np.isnan(float(onset_latency(da, onset=onset, **kwargs)))


def test_crossing_is_not_earlier_than_window_start():
    t = np.arange(0.0, 10.0)
    da = xr.DataArray(np.r_[np.zeros(4), np.ones(6)], dims="time", coords={"time": t})
    # the interpolated crossing (3.5 ms) lies before onset at 4 ms: clamp to the onset
    assert float(onset_latency(da, onset=4.0)) == 0.0
    assert float(crossing_time(da, 0.5, 0.0, np.inf)) == 3.5


def test_errors():
    da = xr.DataArray(np.zeros(10), dims="time", coords={"time": np.arange(10.0)})
    with pytest.raises(
        UnknownNameError,
        match=r"unknown latency method 'peak'.*'absolute', 'fraction', 'half_max', 'sd'",
    ):
        onset_latency(da, method="peak", onset=5.0)
    with pytest.raises(ValueError, match=r"method='absolute' needs threshold="):
        onset_latency(da, method="absolute", onset=5.0)
    with pytest.raises(ValueError, match=r"fraction must lie in \(0, 1\), got fraction=1.5"):
        onset_latency(da, method="fraction", fraction=1.5, onset=5.0)
    with pytest.raises(ValueError, match=r"onset='stim_onset' is not a coordinate"):
        onset_latency(da)
    with pytest.raises(ValueError, match=r"baseline='post'; valid: 'pre'"):
        onset_latency(da, onset=5.0, baseline="post")
    with pytest.raises(ValueError, match=r"k must be >= 0"):
        onset_latency(da, method="sd", k=-1, onset=5.0)


def test_explicit_baseline_value():
    t = np.arange(0.0, 30.0)
    da = xr.DataArray(np.clip(t - 10, 0, 10) + 1.0, dims="time", coords={"time": t})
    # with baseline 0 the half-max level is 5.5 (peak 11) -> 4.5 ms after onset
    assert float(onset_latency(da, onset=10.0, baseline=0.0)) == pytest.approx(4.5)

"""Repetition suppression of two-peak responses and its recovery with the interval."""

import numpy as np
import pytest
import xarray as xr

from dynvision.analysis import recovery, repetition_suppression


def bump(t, c, amp, sigma=2.0):
    return amp * np.exp(-0.5 * ((t - c) / sigma) ** 2)


def two_peaks(t, onset, onset2, a1, a2, delay=10.0, base=0.0):
    return base + bump(t, onset + delay, a1) + bump(t, onset2 + delay, a2)


def test_ratio_of_hand_made_two_peak_response():
    t = np.arange(0.0, 120.0)
    r = xr.DataArray(two_peaks(t, 20.0, 60.0, 1.0, 0.6, base=0.3), dims="time", coords={"time": t})
    ratio = repetition_suppression(r, onset=20.0, onset2=60.0)
    assert float(ratio) == pytest.approx(0.6, abs=1e-6)
    assert ratio.attrs["units"] == "1" and ratio.name == "repetition_suppression"


def test_per_sample_windows_from_stimulus_coords():
    t = np.arange(0.0, 200.0)
    onset2 = np.array([40.0, 60.0, 100.0])
    amps = np.array([0.2, 0.5, 0.9])
    data = np.stack([two_peaks(t, 20.0, o2, 2.0, 2.0 * a) for o2, a in zip(onset2, amps)])
    r = xr.DataArray(
        data,
        dims=("sample", "time"),
        coords={"time": t, "stim_onset": ("sample", [20.0] * 3), "onset2": ("sample", onset2)},
    )
    np.testing.assert_allclose(repetition_suppression(r).values, amps, atol=1e-6)


def test_local_second_baseline_discounts_the_residue():
    t = np.arange(0.0, 100.0)
    r = np.zeros_like(t)
    r[(t >= 25) & (t < 50)] = 0.2  # the first response leaves a plateau of 0.2
    r += bump(t, 25.0, 0.8) + bump(t, 55.0, 0.6) * (t >= 50)
    r[(t >= 50)] += 0.2
    da = xr.DataArray(r, dims="time", coords={"time": t})
    assert float(repetition_suppression(da, onset=20.0, onset2=50.0)) == pytest.approx(
        0.8, abs=1e-3
    )
    local = repetition_suppression(da, onset=20.0, onset2=50.0, second_baseline="local")
    assert float(local) == pytest.approx(0.6, abs=1e-3)


def test_nan_without_first_response():
    t = np.arange(0.0, 60.0)
    da = xr.DataArray(np.zeros(60), dims="time", coords={"time": t})
    assert np.isnan(float(repetition_suppression(da, onset=10.0, onset2=30.0)))


def _recovery_responses(tau, intervals, r0=0.3, images=2):
    t = np.arange(0.0, 400.0)
    onset, t_stim = 20.0, 10.0
    rows, coords = [], {"interval": [], "onset2": [], "image": []}
    for i in intervals:
        for k in range(images):
            o2 = onset + t_stim + i
            ratio = 1 - (1 - r0) * np.exp(-i / tau)
            rows.append(two_peaks(t, onset, o2, 1.0 + k, (1.0 + k) * ratio))
            coords["interval"].append(i)
            coords["onset2"].append(o2)
            coords["image"].append(k)
    coords = {k: ("sample", v) for k, v in coords.items()}
    return xr.DataArray(
        np.stack(rows),
        dims=("sample", "time"),
        coords={"time": t, "stim_onset": ("sample", [onset] * len(rows)), **coords},
    )


def test_recovery_time_constant_is_recovered():
    intervals = [5.0, 10.0, 20.0, 40.0, 80.0, 160.0]
    rec = recovery(_recovery_responses(30.0, intervals))
    assert rec.ratio.dims == ("interval",) and rec.ratio.interval.values.tolist() == intervals
    np.testing.assert_allclose(
        rec.ratio.values, 1 - 0.7 * np.exp(-np.array(intervals) / 30.0), atol=1e-4
    )
    assert float(rec.tau) == pytest.approx(30.0, rel=0.02)
    assert float(rec.r0) == pytest.approx(0.3, abs=0.02)
    assert float(rec.r_inf) == pytest.approx(1.0, abs=0.02)
    assert float(rec.r2) > 0.999 and rec.tau.attrs["units"] == "ms"


def test_recovery_needs_three_intervals():
    with pytest.raises(ValueError, match=r"at least 3 intervals, got \[5.0, 10.0\]"):
        recovery(_recovery_responses(30.0, [5.0, 10.0], images=1))
    with pytest.raises(ValueError, match=r"unknown second baseline 'post'"):
        repetition_suppression(_recovery_responses(30.0, [5.0], images=1), second_baseline="post")

"""Peak, FWHM, sustained/transient, adaptation and summed response on hand-built responses."""

import numpy as np
import pytest
import xarray as xr

from dynvision.analysis import (
    adaptation_index,
    peak_height,
    peak_time,
    response_duration,
    summed_response,
    sustained_ratio,
)

FWHM_PER_SIGMA = 2 * np.sqrt(2 * np.log(2))  # 2.3548


def gaussian(t, mu, sigma, amp=1.0, base=0.0):
    return base + amp * np.exp(-0.5 * ((t - mu) / sigma) ** 2)


def _da(values, t):
    return xr.DataArray(values, dims="time", coords={"time": t})


@pytest.mark.parametrize("mu", [40.0, 40.3, 41.7])
def test_gaussian_peak_time_and_height(mu):
    t = np.arange(0.0, 100.0)
    r = _da(gaussian(t, mu, 5.0, amp=1.5, base=0.2), t)
    assert float(peak_time(r, onset=10.0)) == pytest.approx(mu - 10.0, abs=0.05)
    assert float(peak_time(r, onset=10.0, interpolate=False)) == np.round(mu) - 10.0
    # the sampled maximum, relative to the baseline (0.2)
    assert float(peak_height(r, onset=10.0)) == pytest.approx(r.max().item() - 0.2, abs=1e-9)
    assert float(peak_height(r, onset=10.0)) == pytest.approx(1.5, abs=0.03)


@pytest.mark.parametrize("sigma, dt", [(3.0, 0.5), (5.0, 1.0), (10.0, 2.0)])
def test_gaussian_fwhm(sigma, dt):
    t = np.arange(0.0, 200.0, dt)
    r = _da(gaussian(t, 100.3, sigma, base=0.1), t)
    fwhm = float(response_duration(r, onset=20.0))
    assert fwhm == pytest.approx(FWHM_PER_SIGMA * sigma, rel=0.01)


def test_fwhm_nan_when_response_does_not_return():
    t = np.arange(0.0, 50.0)
    step = _da(np.where(t >= 20, 1.0, 0.0), t)
    assert np.isnan(float(response_duration(step, onset=10.0)))
    assert np.isnan(float(response_duration(_da(np.zeros(50), t), onset=10.0)))


def _transient_sustained(t, onset, offset, base=0.1, peak=1.0, sustained=0.4, lag=0.0):
    r = np.full_like(t, base)
    on = (t >= onset + lag) & (t < offset + lag)
    r[on] = base + sustained
    r[np.argmax(on)] = base + peak  # a one-step transient at onset
    return r


def test_sustained_ratio_and_adaptation_index():
    t = np.arange(0.0, 100.0)
    r = _da(_transient_sustained(t, 20, 60), t)
    assert float(sustained_ratio(r, onset=20.0, offset=60.0)) == pytest.approx(0.4)
    assert float(adaptation_index(r, onset=20.0, offset=60.0)) == pytest.approx(0.6 / 1.4)
    assert float(sustained_ratio(r, onset=20.0, offset=60.0, late=10.0)) == pytest.approx(0.4)
    no_adapt = _da(_transient_sustained(t, 20, 60, peak=0.4), t)
    assert float(adaptation_index(no_adapt, onset=20.0, offset=60.0)) == pytest.approx(0.0)


def test_adaptation_index_stays_bounded_when_the_sustained_response_falls_below_baseline():
    """A late response just below baseline (S = -0.9 P) is full adaptation (index 1), not
    (P - S) / (P + S) = 19: the signed form has an arbitrarily small denominator."""
    t = np.arange(0.0, 100.0)
    below = _da(_transient_sustained(t, 20, 60, base=0.2, peak=0.1, sustained=-0.09), t)
    assert float(sustained_ratio(below, onset=20.0, offset=60.0)) == pytest.approx(-0.9)
    assert float(adaptation_index(below, onset=20.0, offset=60.0)) == pytest.approx(1.0)


def test_lag_shifts_the_windows():
    t = np.arange(0.0, 120.0)
    late = _da(
        _transient_sustained(t, 20, 30, lag=15.0), t
    )  # responds 15 ms after a 10 ms stimulus
    assert float(sustained_ratio(late, onset=20.0, offset=30.0, lag=15.0)) == pytest.approx(0.4)
    assert np.isnan(
        float(sustained_ratio(late, onset=20.0, offset=30.0))
    )  # no response in [20, 30)


def test_transient_ratio_nan_without_response_and_coord_times():
    t = np.arange(0.0, 60.0)
    flat = xr.DataArray(
        np.zeros((1, 60)),
        dims=("sample", "time"),
        coords={"time": t, "stim_onset": ("sample", [10.0]), "stim_offset": ("sample", [40.0])},
    )
    assert np.isnan(sustained_ratio(flat).item()) and np.isnan(adaptation_index(flat).item())
    with pytest.raises(ValueError, match=r"late must be a positive number of ms"):
        sustained_ratio(flat, late=0.0)
    with pytest.raises(ValueError, match=r"lag must be >= 0 ms"):
        sustained_ratio(flat, lag=-1.0)


@pytest.mark.parametrize("dt", [0.5, 1.0, 2.0])
def test_summed_response_of_a_box(dt):
    t = np.arange(0.0, 100.0, dt)
    box = _da(np.where((t >= 30) & (t < 50), 2.5, 0.5), t)  # 2 above baseline for 20 ms
    total = summed_response(box, onset=20.0)
    assert float(total) == pytest.approx(2.0 * 20.0)
    assert total.attrs["units"] == "a.u.·ms" and total.name == "summed_response"
    assert float(summed_response(box, onset=20.0, window=(0.0, 20.0))) == pytest.approx(2.0 * 10.0)
    hz = box.assign_attrs(units="Hz")
    assert summed_response(hz, onset=20.0).attrs["units"] == "Hz·ms"


def test_summed_response_needs_uniform_time():
    r = xr.DataArray([0.0, 1.0, 1.0], dims="time", coords={"time": [0.0, 1.0, 3.0]})
    with pytest.raises(ValueError, match="uniformly sampled"):
        summed_response(r, onset=1.0)


def test_empty_window_gives_nan():
    t = np.arange(0.0, 20.0)
    r = _da(gaussian(t, 10, 2), t)
    assert np.isnan(float(peak_time(r, onset=5.0, window=(30.0, 40.0))))
    assert np.isnan(float(peak_height(r, onset=5.0, window=(30.0, 40.0))))
    assert np.isnan(float(summed_response(r, onset=5.0, window=(30.0, 40.0))))


def test_units_and_names():
    t = np.arange(0.0, 40.0)
    r = _da(gaussian(t, 20, 3), t).assign_attrs(units="Hz")
    assert peak_time(r, onset=5.0).attrs["units"] == "ms"
    assert response_duration(r, onset=5.0).attrs["units"] == "ms"
    assert peak_height(r, onset=5.0).attrs["units"] == "Hz"
    assert adaptation_index(r, onset=5.0, offset=30.0).attrs["units"] == "1"


def test_dask_backed_responses_match_numpy():
    t = np.arange(0.0, 60.0)
    data = np.stack([gaussian(t, c, 4.0) for c in (25.0, 30.0, 35.0, 40.0)])
    r = xr.DataArray(data, dims=("sample", "time"), coords={"time": t})
    for fn in (peak_time, peak_height, response_duration):
        lazy = fn(r.chunk({"sample": 2}), onset=10.0)
        assert lazy.chunks is not None
        np.testing.assert_allclose(lazy.compute().values, fn(r, onset=10.0).values)

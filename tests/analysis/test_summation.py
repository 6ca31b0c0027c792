"""Temporal summation across durations: linear, saturating and from time-domain responses."""

import numpy as np
import pytest
import xarray as xr

from dynvision.analysis import temporal_summation

D = np.array([10.0, 20.0, 40.0, 80.0, 160.0])


def _summed(values):
    return xr.DataArray(values, dims="duration", coords={"duration": D})


def test_linear_summation_ratio_one():
    ts = temporal_summation(_summed(3.0 * D))
    np.testing.assert_allclose(ts.ratio.values, 1.0)
    assert float(ts.exponent) == pytest.approx(1.0)
    assert ts.ratio.attrs["units"] == "1" and ts.exponent.attrs["units"] == "1"


def test_saturating_summation_is_subadditive():
    S = 100 * (1 - np.exp(-D / 30.0))
    ts = temporal_summation(_summed(S))
    expected = S / (S[0] * D / D[0])
    np.testing.assert_allclose(ts.ratio.values, expected)
    assert (np.diff(ts.ratio.values) < 0).all() and ts.ratio.values[0] == pytest.approx(1.0)
    assert 0 < float(ts.exponent) < 1


def test_power_law_exponent():
    assert float(temporal_summation(_summed(D**0.3)).exponent) == pytest.approx(0.3)


def test_from_time_domain_responses_averaging_images():
    dt, onset = 1.0, 10.0
    t = np.arange(0.0, 200.0, dt)
    durations = np.repeat([10.0, 20.0, 40.0], 2)
    gains = np.tile([1.0, 3.0], 3)  # two images with different gains
    data = np.stack([g * ((t >= onset) & (t < onset + d)) for g, d in zip(gains, durations)])
    r = xr.DataArray(
        data,
        dims=("sample", "time"),
        coords={
            "time": t,
            "duration": ("sample", durations),
            "image": ("sample", ["a", "b"] * 3),
            "stim_onset": ("sample", [onset] * 6),
        },
    )
    ts = temporal_summation(r)
    np.testing.assert_allclose(ts.summed.values, 2.0 * np.array([10.0, 20.0, 40.0]))  # mean gain 2
    np.testing.assert_allclose(ts.ratio.values, 1.0)  # boxes sum linearly
    assert ts.summed.attrs["units"] == "a.u.·ms"


def test_extra_dims_are_kept():
    S = xr.DataArray(
        np.stack([D, np.sqrt(D)]),
        dims=("area", "duration"),
        coords={"area": ["V1", "IT"], "duration": D},
    )
    ts = temporal_summation(S)
    np.testing.assert_allclose(ts.exponent.values, [1.0, 0.5])
    assert ts.ratio.dims == ("area", "duration")


def test_errors():
    with pytest.raises(ValueError, match=r"at least two durations, got \[10.0\]"):
        temporal_summation(xr.DataArray([1.0], dims="duration", coords={"duration": [10.0]}))
    with pytest.raises(ValueError, match=r"'duration' is neither a dim"):
        temporal_summation(xr.DataArray([1.0, 2.0], dims="sample"))
    with pytest.raises(ValueError, match=r"durations must be > 0 ms"):
        temporal_summation(
            xr.DataArray([1.0, 2.0], dims="duration", coords={"duration": [0.0, 1.0]})
        )

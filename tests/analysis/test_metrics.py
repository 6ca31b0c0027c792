"""The metric registry, the one-call summary and an end-to-end run on a generated stimulus."""

import numpy as np
import pytest
import xarray as xr

from dynvision.analysis import METRICS, compute, response_properties
from dynvision.registry import UnknownNameError
from dynvision.stimuli import make_images, presentation


def _leaky_response(stim, tau=10.0):
    """A toy area: a leaky integrator (exact exponential steps) of the contrast energy."""
    drive = np.abs(stim - 0.5).mean(("channel", "y", "x")).values
    dt = stim.attrs["dt"]
    a = np.exp(-dt / tau)
    r = np.zeros_like(drive)
    for k in range(1, drive.shape[1]):
        r[:, k] = a * r[:, k - 1] + (1 - a) * drive[:, k - 1]
    coords = {k: v for k, v in stim.coords.items() if set(v.dims) <= {"sample", "time"}}
    return xr.DataArray(r, dims=("sample", "time"), coords=coords)


def test_end_to_end_with_generated_stimulus():
    tau = 10.0
    stim = presentation(
        make_images("flash", size=4),
        dt=0.5,
        t_pre=20,
        t_stim=[20, 40],
        t_post=100,
        contrast=[0.5, 1.0],
    )
    resp = _leaky_response(stim, tau)
    props = response_properties(resp)  # onset and offset from the stimulus coordinates
    T = resp.duration.values
    # the response peaks at offset; half of A (1 - exp(-T / tau)) is reached at
    expected = -tau * np.log(1 - 0.5 * (1 - np.exp(-T / tau)))
    np.testing.assert_allclose(props.onset_latency.values, expected, atol=0.5**2 / (4 * tau) + 1e-6)
    np.testing.assert_allclose(props.peak_time.values, T, atol=0.5)
    heights = props.peak_height.values
    np.testing.assert_allclose(
        heights, 0.5 * resp.contrast.values * (1 - np.exp(-T / tau)), rtol=2e-2
    )
    # a linear leaky unit sums linearly: the integral is the drive times the duration
    np.testing.assert_allclose(
        props.summed_response.values, 0.5 * resp.contrast.values * T, rtol=1e-2
    )
    assert props.onset_latency.attrs["units"] == "ms"
    assert props.contrast.values.tolist() == resp.contrast.values.tolist()


def test_registry_and_compute():
    assert {"onset_latency", "peak_time", "summed_response", "baseline"} <= set(METRICS.list())
    r = xr.DataArray([0.0, 0.0, 2.0, 0.0], dims="time", coords={"time": [0.0, 1.0, 2.0, 3.0]})
    assert float(compute("peak_height", r, onset=1.0)) == 2.0
    with pytest.raises(UnknownNameError, match=r"unknown metric 'latency'.*did you mean"):
        compute("latency", r)
    with pytest.raises(UnknownNameError, match=r"'onsett'.*did you mean 'onset'"):
        compute("peak_height", r, onsett=1.0)
    with pytest.raises(UnknownNameError, match=r"unknown metric 'fwhm'"):
        response_properties(r, onset=1.0, metrics=["fwhm"])

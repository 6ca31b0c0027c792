"""Naka-Rushton fits recover known parameters; latency shortens with contrast."""

import numpy as np
import pytest
import xarray as xr

from dynvision.analysis import fit_naka_rushton, latency_vs_contrast, naka_rushton

C = np.array([0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0])


def test_naka_rushton_values():
    assert naka_rushton(0.2, r_max=2.0, c50=0.2, n=3.0, baseline=0.5) == pytest.approx(1.5)
    assert naka_rushton(0.0, 2.0, 0.2, 3.0, 0.5) == pytest.approx(0.5)
    assert naka_rushton(1e6, 2.0, 0.2, 3.0, 0.5) == pytest.approx(2.5)


@pytest.mark.parametrize(
    "r_max, c50, n, base", [(2.0, 0.15, 2.2, 0.3), (0.5, 0.4, 1.5, 0.0), (10.0, 0.05, 3.0, 1.0)]
)
def test_fit_recovers_parameters_from_noisy_data(r_max, c50, n, base):
    rng = np.random.default_rng(0)
    y = naka_rushton(C, r_max, c50, n, base) + rng.normal(0, 0.005 * r_max, C.size)
    fit = fit_naka_rushton(xr.DataArray(y, dims="contrast", coords={"contrast": C}))
    assert float(fit.c50) == pytest.approx(c50, rel=0.1)
    assert float(fit.n) == pytest.approx(n, rel=0.2)
    assert float(fit.r_max) == pytest.approx(r_max, rel=0.05)
    assert float(fit.baseline) == pytest.approx(base, abs=0.03 * r_max)
    assert float(fit.r2) > 0.99 and float(fit.rmse) < 0.02 * r_max
    assert fit.c50.attrs["units"] == "1" and "semi-saturation" in fit.c50.attrs["long_name"]


def test_fit_per_area():
    c50s = xr.DataArray([0.1, 0.3], dims="area", coords={"area": ["V1", "IT"]})
    contrast = xr.DataArray(C, dims="contrast", coords={"contrast": C})
    y = naka_rushton(contrast, 1.0, c50s, 2.0, 0.0)
    fit = fit_naka_rushton(y)
    assert fit.c50.dims == ("area",)
    np.testing.assert_allclose(fit.c50.values, [0.1, 0.3], rtol=1e-3)
    assert fit.response.dims == ("area", "contrast")


def test_fit_from_time_domain_responses():
    t = np.arange(0.0, 100.0)
    contrasts = np.repeat(C, 2)
    gains = np.tile([0.8, 1.2], C.size)  # two images, averaged per contrast
    heights = naka_rushton(contrasts, 1.0, 0.2, 2.0) * gains
    data = heights[:, None] * np.exp(-0.5 * ((t - 50) / 5) ** 2)[None]
    r = xr.DataArray(
        data,
        dims=("sample", "time"),
        coords={
            "time": t,
            "contrast": ("sample", contrasts),
            "stim_onset": ("sample", [20.0] * contrasts.size),
        },
    )
    fit = fit_naka_rushton(r)  # peak height per sample, averaged per contrast
    assert float(fit.c50) == pytest.approx(0.2, rel=1e-3)
    assert fit.attrs["measure"] == "peak_height"
    summed = fit_naka_rushton(r, measure="summed_response")
    assert float(summed.c50) == pytest.approx(0.2, rel=1e-3)


def test_fit_errors():
    few = xr.DataArray([0.0, 1.0, 2.0], dims="contrast", coords={"contrast": [0.1, 0.5, 1.0]})
    with pytest.raises(ValueError, match=r"needs at least 4 contrasts, got 3"):
        fit_naka_rushton(few)
    neg = xr.DataArray(np.arange(4.0), dims="contrast", coords={"contrast": [-0.1, 0.2, 0.5, 1.0]})
    with pytest.raises(ValueError, match=r"contrasts must be >= 0"):
        fit_naka_rushton(neg)


def test_fit_nan_when_too_few_finite_points():
    y = xr.DataArray(
        [np.nan, np.nan, 1.0, 2.0, np.nan],
        dims="contrast",
        coords={"contrast": [0.0, 0.1, 0.2, 0.5, 1.0]},
    )
    assert np.isnan(float(fit_naka_rushton(y).c50))


def test_latency_vs_contrast():
    t = np.arange(0.0, 150.0, 0.5)
    contrasts = np.array([0.1, 0.3, 1.0, 0.1, 0.3, 1.0])
    delays = 40.0 - 20.0 * contrasts  # higher contrast, shorter delay
    data = np.stack([np.where(t > 20 + d, 1 - np.exp(-(t - 20 - d) / 5.0), 0.0) for d in delays])
    r = xr.DataArray(
        data,
        dims=("sample", "time"),
        coords={"time": t, "contrast": ("sample", contrasts), "stim_onset": ("sample", [20.0] * 6)},
    )
    lat = latency_vs_contrast(r)
    assert lat.dims == ("contrast",) and lat.attrs["units"] == "ms"
    np.testing.assert_allclose(
        lat.values, 40.0 - 20.0 * lat.contrast.values + 5.0 * np.log(2), atol=0.02
    )
    assert (lat.diff("contrast") < 0).all()

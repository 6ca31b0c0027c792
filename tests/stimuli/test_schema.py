"""The stimulus schema helpers: steps in ms, array wrapping and validation."""

import numpy as np
import pytest
import xarray as xr

from dynvision.stimuli.schema import (
    BACKGROUND,
    DIMS,
    check_dt,
    json_config,
    stimulus_array,
    to_steps,
    validate_stimulus,
)


def test_to_steps_exact_multiples():
    assert to_steps(0, 2.0, "t_pre") == 0
    assert to_steps(20.0, 2.0, "t_pre") == 10
    assert to_steps(0.3, 0.1, "t_stim") == 3  # float rounding tolerated


@pytest.mark.parametrize(
    "value, match",
    [
        (3.0, r"t_pre=3 ms is not a multiple of dt_ms=2.*2 or 4 ms"),
        (-2.0, r"t_pre=-2 ms is negative"),
        (float("nan"), r"t_pre must be a finite number"),
        ("10", r"t_pre must be a finite number of ms, got t_pre=.10."),
    ],
)
def test_to_steps_errors_name_value_and_dt(value, match):
    with pytest.raises(ValueError, match=match):
        to_steps(value, 2.0, "t_pre")


def test_to_steps_minimum():
    with pytest.raises(ValueError, match=r"t_stim=0 ms is shorter than 1 step"):
        to_steps(0.0, 1.0, "t_stim", minimum=1)


@pytest.mark.parametrize("dt", [0, -1.0, float("inf"), None, True])
def test_check_dt_rejects(dt):
    with pytest.raises(ValueError, match=r"dt_ms must be a positive number of ms"):
        check_dt(dt)


def test_stimulus_array_schema():
    values = np.full((2, 4, 1, 3, 3), BACKGROUND)
    da = stimulus_array(
        values,
        dt=0.5,
        name="grey",
        config={"a": np.float64(1.0)},
        sample_coords={"duration": [1.0, 2.0], "image": ["a", "b"]},
    )
    assert da.name == "stimulus" and da.dims == DIMS and da.dtype == np.float32
    np.testing.assert_allclose(da.time.values, [0.0, 0.5, 1.0, 1.5])
    assert da.time.attrs["units"] == "ms" and da.duration.attrs["units"] == "ms"
    assert "units" not in da.image.attrs
    assert da.attrs["dt"] == 0.5 and da.attrs["background"] == 0.5
    assert da.attrs["stimulus"] == "grey" and da.attrs["config"] == '{"a": 1.0}'
    assert validate_stimulus(da) is da


def test_stimulus_array_rejects_bad_coords_and_shape():
    with pytest.raises(ValueError, match="one value per sample"):
        stimulus_array(
            np.zeros((2, 1, 1, 1, 1)), dt=1, name="x", config={}, sample_coords={"contrast": [1.0]}
        )
    with pytest.raises(ValueError, match="5 dims"):
        stimulus_array(np.zeros((2, 1, 1, 1)), dt=1, name="x", config={})


def test_validate_stimulus_reports_violations():
    good = stimulus_array(np.full((1, 2, 1, 2, 2), 0.5), dt=1.0, name="grey", config={})
    with pytest.raises(ValueError, match="dims"):
        validate_stimulus(good.transpose("time", ...))
    with pytest.raises(ValueError, match="float32"):
        validate_stimulus(good.astype(np.float64))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        validate_stimulus(good + 1)
    with pytest.raises(ValueError, match="attrs lack"):
        validate_stimulus(xr.DataArray(good.values, dims=DIMS, coords=good.coords))


def test_json_config_is_sorted_and_handles_numpy():
    assert json_config({"b": np.arange(2), "a": np.int64(3)}) == '{"a": 3, "b": [0, 1]}'

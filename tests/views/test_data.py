"""Selection and averaging helpers of the views (no holoviews involved)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from dynvision.registry import UnknownNameError
from dynvision.views import data as D


def responses():
    rng = np.random.default_rng(0)
    return xr.DataArray(
        rng.random((2, 3, 4, 5)), dims=("model", "area", "sample", "time"),
        coords={"model": ["a", "b"], "area": ["V1", "V4", "IT"], "time": np.arange(5.0),
                "contrast": ("sample", [0.5, 0.5, 1.0, 1.0]), "stim_onset": ("sample", [1.0] * 4),
                "stim_offset": ("sample", [2.0, 2.0, 3.0, 3.0]),
                "onset2": ("sample", [np.nan] * 4), "offset2": ("sample", [np.nan] * 4)},
        attrs={"units": "a.u."})


def test_pick_keeps_the_hierarchy_order_of_areas_and_the_asked_order_of_models():
    r = D.pick(responses(), models=["b", "a"], areas=["IT", "V1"])
    assert r["area"].values.tolist() == ["V1", "IT"]
    assert r["model"].values.tolist() == ["b", "a"]


@pytest.mark.parametrize("kw, bad", [({"areas": ["V2"]}, "V2"), ({"models": "c"}, "c")])
def test_pick_unknown_names_raise_and_list_the_valid_ones(kw, bad):
    with pytest.raises(UnknownNameError, match=f"'{bad}'.*valid"):
        D.pick(responses(), **kw)


def test_condition_means_average_the_samples_of_each_value():
    r = responses()
    out = D.condition_means(r, "contrast")
    assert out.sizes["contrast"] == 2
    np.testing.assert_allclose(out.sel(contrast=1.0).values, r.isel(sample=[2, 3]).mean("sample").values)
    np.testing.assert_allclose(D.condition_means(r).values, r.mean("sample").values)
    assert out.attrs["units"] == "a.u."
    with pytest.raises(UnknownNameError, match="'duration'.*contrast"):
        D.condition_means(r, "duration")


def test_stimulus_windows_are_distinct_and_skip_missing_second_presentations():
    r = responses()
    assert D.stimulus_windows(r) == [(1.0, 2.0), (1.0, 3.0)]
    assert D.stimulus_windows(r, "contrast", 1.0) == [(1.0, 3.0)]


def test_image_mean_skips_nan_and_leaves_data_without_images_alone():
    d = xr.DataArray([[1.0, np.nan], [3.0, 5.0]], dims=("area", "image"))
    assert D.image_mean(d).values.tolist() == [1.0, 4.0]
    assert D.image_mean(d.isel(image=0)) is not None and "image" not in D.image_mean(d).dims


def test_names_and_condition_values():
    r = responses()
    assert D.model_names(r) == ["a", "b"] and D.area_names(r) == ["V1", "V4", "IT"]
    assert D.model_names(r.isel(model=0, drop=True)) == [""]
    assert D.condition_values(r, "contrast") == [0.5, 1.0]
    assert D.units(r) == "a.u." and D.units(r["time"], "ms") == "ms"


def test_condition_stats_give_the_standard_error_of_each_values_samples():
    r = responses()
    mean, err = D.condition_stats(r, "contrast")
    x = r.isel(sample=[2, 3]).values
    np.testing.assert_allclose(mean.sel(contrast=1.0).values, x.mean(axis=2))
    np.testing.assert_allclose(err.sel(contrast=1.0).values, x.std(axis=2, ddof=1) / np.sqrt(2))
    assert err.dims == mean.dims
    _, none = D.condition_stats(r.isel(sample=[0, 2]), "contrast")  # one sample per value: no error
    assert none is None


def test_image_stats_and_a_single_image():
    da = xr.DataArray([[1.0, 3.0], [2.0, 2.0]], dims=("area", "image"))
    mean, err = D.image_stats(da)
    assert mean.values.tolist() == [2.0, 2.0] and err.values.tolist() == [1.0, 0.0]
    assert D.image_stats(da.isel(image=[0]))[1] is None


def test_onset_is_shared_or_none():
    r = responses()
    assert D.onset(r) == 1.0
    later = r.assign_coords(stim_onset=("sample", [1.0, 1.0, 5.0, 5.0]))
    assert D.onset(later) is None and D.onset(later, "contrast", 1.0) == 5.0


def test_short_names_move_a_shared_setting_to_the_title():
    assert D.short_names(["tau=5", "tau=10"]) == ({"tau=5": "5", "tau=10": "10"}, "tau")
    assert D.short_names(["tau=5,dt=1", "tau=10,dt=1"])[1] == ""  # several settings: keep them
    assert D.short_names(["dyrcnnx4-digits[tau=10]", "x"])[1] == ""


def test_conditions_of_a_lazily_opened_store_can_be_grouped():
    r = responses().chunk()
    lazy = r.assign_coords(contrast=r["contrast"].chunk())
    assert lazy["contrast"].chunks is not None
    mean, err = D.condition_stats(lazy, "contrast")
    np.testing.assert_allclose(mean.values, D.condition_stats(responses(), "contrast")[0].values)

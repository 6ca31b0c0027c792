"""The .dv accessors on DataArrays, Datasets and activation DataTrees."""

import inspect
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import dynvision.analysis as dva


def _responses():
    t = np.arange(0.0, 80.0)
    data = np.stack([np.exp(-0.5 * ((t - c) / 4) ** 2) for c in (30.0, 40.0)])
    return xr.DataArray(
        data,
        dims=("sample", "time"),
        coords={
            "time": t,
            "stim_onset": ("sample", [20.0, 20.0]),
            "stim_offset": ("sample", [40.0, 40.0]),
            "contrast": ("sample", [0.5, 1.0]),
        },
    )


@pytest.mark.parametrize("fn", dva.accessor.RESPONSE_METHODS[:9])
def test_dataarray_methods_equal_functions(fn):
    r = _responses()
    kwargs = {"onset2": 30.0} if fn is dva.repetition_suppression else {}
    xr.testing.assert_identical(getattr(r.dv, fn.__name__)(**kwargs), fn(r, **kwargs))


def test_dataarray_accessor_extras():
    r = _responses()
    assert r.dv.onset_latency.__doc__ == dva.onset_latency.__doc__
    params = list(inspect.signature(r.dv.onset_latency).parameters)
    assert params[0] == "method" and "resp" not in params  # the data is the accessor's
    xr.testing.assert_identical(r.dv.metric("peak_time"), dva.peak_time(r))
    assert r.dv.response_properties().peak_time.values.tolist() == pytest.approx([10.0, 20.0])


def test_dataset_accessor_maps_over_time_variables():
    r = _responses()
    ds = xr.Dataset({"a": r, "b": 2 * r, "static": ("sample", [1.0, 2.0])})
    out = ds.dv.peak_height()
    assert set(out.data_vars) == {"a", "b"}
    np.testing.assert_allclose(out.b.values, 2 * out.a.values)
    fits = ds.dv.response_properties()
    assert "a_peak_time" in fits.data_vars
    with pytest.raises(ValueError, match=r"no data variable has a 'time' dim"):
        ds[["static"]].dv.peak_height()


def _tree():
    r = _responses()
    act = lambda gain: (r * gain).expand_dims(channel=2, y=2, x=2).transpose("sample", "time", ...)  # noqa: E731
    logits = xr.DataArray(np.zeros((2, 80, 3)), dims=("sample", "time", "class"))
    root = xr.Dataset({"logits": logits}, coords={"time": r.time, "label": ("sample", [0, 1])})
    return xr.DataTree.from_dict(
        {
            "/": root,
            "V1": xr.Dataset({"activity": act(1.0)}),
            "IT": xr.Dataset({"activity": act(0.5)}),
        }
    )


def test_datatree_responses_and_metrics():
    tree = _tree()
    resp = tree.dv.responses()
    assert resp.dims == ("area", "sample", "time") and resp.area.values.tolist() == ["V1", "IT"]
    assert resp.area.dtype.kind == "U"
    heights = tree.dv.peak_height()
    np.testing.assert_allclose(heights.sel(area="IT").values, 0.5 * heights.sel(area="V1").values)
    assert tree.dv.responses(areas=["IT"]).sizes["area"] == 1
    with pytest.raises(ValueError, match=r"unknown areas \['V4'\]; valid areas: \['V1', 'IT'\]"):
        tree.dv.responses(areas=["V4"])
    with pytest.raises(ValueError, match=r"no child node holds 'rates'"):
        tree.dv.responses(var="rates")


def test_datatree_classifier_response():
    out = _tree().dv.classifier_response()
    np.testing.assert_allclose(out.p_true.values, 1 / 3)
    assert out.accuracy.dims == ("time",)


def test_accessor_registered_only_by_importing_analysis():
    code = (
        "import xarray as xr, dynvision; a = hasattr(xr.DataArray([0]), 'dv'); "
        "import dynvision.analysis; print(a, hasattr(xr.DataArray([0]), 'dv'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]

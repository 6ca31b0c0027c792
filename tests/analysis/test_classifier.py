"""Classifier accuracy and confidence over time from hand-made logits."""

import numpy as np
import pytest
import xarray as xr

from dynvision.analysis import classifier_response, softmax


def _logits():
    # 4 samples, 3 time steps, 3 classes; labels 0, 1, 2, 0
    z = np.zeros((4, 3, 3))
    z[:, 1] = [[3, 0, 0], [0, 3, 0], [3, 0, 0], [0, 0, 3]]  # t=1: samples 0, 1 right
    z[:, 2] = [[5, 0, 0], [0, 5, 0], [0, 0, 5], [5, 0, 0]]  # t=2: all right
    return xr.DataArray(
        z,
        dims=("sample", "time", "class"),
        coords={"time": [0.0, 2.0, 4.0], "label": ("sample", [0, 1, 2, 0])},
    )


def _p(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_accuracy_and_confidence_over_time():
    out = classifier_response(_logits())
    np.testing.assert_allclose(out.accuracy.values, [0.5, 0.5, 1.0])  # ties pick class 0
    p3, p5 = _p(np.array([3.0, 0, 0]))[0], _p(np.array([5.0, 0, 0]))[0]
    np.testing.assert_allclose(out.p_true.values, [1 / 3, (2 * p3 + 2 * (1 - p3) / 2) / 4, p5])
    np.testing.assert_allclose(out.p_top.values, [1 / 3, p3, p5])
    assert out.accuracy.dims == ("time",) and out.time.values.tolist() == [0.0, 2.0, 4.0]
    assert out.accuracy.attrs["units"] == "1"


def test_per_sample_and_named_classes():
    z = _logits().assign_coords({"class": ["cat", "dog", "emu"]})
    per = classifier_response(z, ["cat", "dog", "emu", "cat"], dim=None)
    assert per.accuracy.dims == ("sample", "time")
    assert per.accuracy.values[:, 2].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert per.accuracy.values[:, 1].tolist() == [1.0, 1.0, 0.0, 0.0]


def test_softmax_sums_to_one():
    p = softmax(_logits())
    np.testing.assert_allclose(p.sum("class").values, 1.0)
    assert float(softmax(xr.DataArray([1000.0, 0.0], dims="class"))[0]) == 1.0  # stable


def test_errors():
    with pytest.raises(ValueError, match=r"label 7 is not a class; valid classes: \[0, 1, 2\]"):
        classifier_response(_logits(), [0, 1, 2, 7])
    with pytest.raises(ValueError, match=r"labels='target' is not a coordinate"):
        classifier_response(_logits(), "target")
    with pytest.raises(ValueError, match=r"class_dim='cls' is not a dim"):
        classifier_response(_logits(), class_dim="cls")

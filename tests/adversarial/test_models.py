"""Adversarial inputs to model constructors and model(x): each gives an error naming the value."""

import math

import pytest
import torch

import dynvision
from dynvision.registry import UnknownNameError
from dynvision.validation import InvalidValueError

KW = dict(n_classes=3, input_dims=(4, 1, 16, 16), width=0.25)


@pytest.mark.parametrize("name,value,match", [
    ("width", math.nan, r"width=nan is invalid: expected a finite number > 0"),
    ("width", -1, r"width=-1 is invalid"),
    ("input_dims", "6,1,16,16", r"input_dims='6,1,16,16' is invalid: expected 4 positive whole numbers"),
    ("input_dims", (6, 1, 16), r"input_dims=\(6, 1, 16\) is invalid"),
    ("input_dims", (6, 1, 16, 0), r"input_dims=\(6, 1, 16, 0\) is invalid"),
    ("tau", "abc", r"tau_ms='abc' is invalid: expected a finite number > 0"),
    ("tau", 0.0, r"tau_ms=0.0 is invalid"),
    ("tau", {"V1": 5.0, "V2": -1.0}, r"tau_ms\['V2'\]=-1.0 is invalid"),
    ("adaptation", -1, r"adaptation=-1 is invalid: expected a finite number >= 0"),
    ("trc", 1e308, r"trc_ms=1e\+308 is invalid: expected a finite number >= 0 and <= 1e\+06 \(ms\)"),
    ("supralinearity", math.nan, r"supralinearity=nan is invalid"),
    ("input_gain", math.nan, r"input_gain=nan is invalid"),
    ("dt", True, r"dt_ms=True is invalid"),
    ("n_classes", 2.5, r"n_classes=2.5 is invalid: expected a whole number >= 1"),
    ("skip", "false", r"skip='false' is invalid: expected True or False"),
    ("recurrence_kernel", 4, r"recurrence_kernel=4 is invalid: expected an odd whole number"),
])
def test_bad_constructor_values_name_the_parameter_value_and_range(name, value, match):
    with pytest.raises(InvalidValueError, match=match):
        dynvision.create_model("DyRCNNx2", **{**KW, name: value})


@pytest.mark.parametrize("name,value,match", [
    ("recurrence_type", "ful", r"unknown recurrence_type 'ful'.*'full'.*did you mean 'full'"),
    ("integrator", "rk4", r"unknown integrator 'rk4'.*'etd2', 'euler', 'exponential'"),
    ("dynamics", "spiking", r"unknown dynamics 'spiking'.*'dynvision', 'rate', 'voltage'"),
    ("tau_adaptaton", 3, r"'tau_adaptaton' \(did you mean 'tau_adaptation_ms'\?\)"),
])
def test_unknown_choices_and_keywords_list_the_valid_ones(name, value, match):
    with pytest.raises(UnknownNameError, match=match):
        dynvision.create_model("DyRCNNx2", **{**KW, name: value})


def test_a_time_given_twice_is_an_error():
    with pytest.raises(TypeError, match="'dt' and 'dt_ms'"):
        dynvision.create_model("DyRCNNx2", dt=2, dt_ms=2, **KW)


@pytest.mark.parametrize("x,error,match", [
    (torch.randint(0, 255, (1, 4, 1, 16, 16), dtype=torch.uint8), TypeError, r"torch.uint8.*x.float\(\) / 255"),
    (torch.rand(1, 4, 1, 16, 16) + 0j, TypeError, r"complex64.*floating-point"),
    (torch.ones(1, 4, 1, 16, 16, dtype=torch.bool), TypeError, r"torch.bool"),
    (torch.rand(4, 1, 16, 16), ValueError, r"rank 5.*got rank 4"),
    (torch.rand(1, 4, 2, 16, 16), ValueError, r"2 channels"),
])
def test_bad_model_inputs(x, error, match):
    model = dynvision.create_model("DyRCNNx2", **KW)
    with pytest.raises(error, match=match):
        model(x)


def test_non_finite_input_names_where_and_huge_finite_input_is_not_called_non_finite():
    model = dynvision.create_model("DyRCNNx2", **KW)
    x = torch.rand(2, 4, 1, 16, 16)
    x[1, 3, 0, 2, 2] = float("inf")
    with pytest.raises(ValueError, match="non-finite.*sample 1, step 3"):
        model(x)
    with torch.no_grad():
        model(torch.full((1, 4, 1, 16, 16), 3e38))  # finite: no input error (its activity overflows)


def test_float64_input_runs_in_the_model_dtype():
    model = dynvision.create_model("DyRCNNx2", **KW)
    x = torch.rand(1, 4, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(model(x.double()), model(x))

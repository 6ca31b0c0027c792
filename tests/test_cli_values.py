"""One coercion of command-line values, typed by the parameter they are for (dynvision.cli.values/params)."""

from __future__ import annotations

import json
from typing import Literal, Mapping, Sequence

import pytest

from dynvision.cli.params import experiment_parameters, function_parameters, model_arguments, notebook_parameter_types
from dynvision.cli.values import coerce, coerce_values, is_sequence_type, parse_value, split_top_level, type_of_value
from dynvision.validation import InvalidValueError, ms_aliases


def test_untyped_values_read_like_yaml_scalars():
    texts = ["3", "-2", "0.5", "1e-3", "True", "false", "none", "null", "on", "no", "2024-01-01", "V1", "'7'",
             "[1, 2.5, x]", "{k: 1}"]
    assert [parse_value(t) for t in texts] == [3, -2, 0.5, 0.001, True, False, None, None, "on", "no", "2024-01-01",
                                               "V1", "7", [1, 2.5, "x"], {"k": 1}]


@pytest.mark.parametrize("annotation, text, expected", [
    (int, "3", 3), (int, "3.0", 3), (float, "2", 2.0), (float, "1e-3", 0.001), (bool, "true", True),
    (bool, "No", False), (str, "V1", "V1"), (str, "'3'", "3"), (str, "3", "3"), (str, "none", "none"),
    (float | None, "none", None), (float | None, "2.5", 2.5), (str | None, "null", None),
    (tuple[float, ...], "0.5", (0.5,)), (tuple[float, ...], "0.1,0.5,1", (0.1, 0.5, 1.0)),
    (tuple[float, ...], "[0.2, 1]", (0.2, 1.0)), (tuple[str, ...], "V1", ("V1",)),
    (tuple[str, ...], "V1,IT", ("V1", "IT")), (Sequence[int], "[60,1,16,16]", [60, 1, 16, 16]),
    (Sequence[int], "60,1,16,16", [60, 1, 16, 16]), (Sequence[str] | None, "none", None),
    (float | Mapping[str, float], "5", 5.0), (float | Mapping[str, float], "{V1: 5, IT: 20}", {"V1": 5.0, "IT": 20.0}),
    (Literal["a", "b"], "b", "b"), (dict, "{width: 0.25}", {"width": 0.25}), (None, "[1, 2]", [1, 2]),
])
def test_values_are_typed_by_the_parameter(annotation, text, expected):
    value = coerce("x", text, annotation)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("annotation, value, expected", [
    (tuple[float, ...], 0.5, (0.5,)), (tuple[str, ...], "V1", ("V1",)), (float, 2, 2.0),
    (tuple[float, ...], [1, 0.5], (1.0, 0.5)), (str, 3, "3"), (int | None, None, None),
])
def test_values_from_yaml_are_conformed_the_same_way(annotation, value, expected):
    assert coerce("x", value, annotation) == expected


@pytest.mark.parametrize("annotation, text, words", [
    (int, "abc", "a whole number"), (int, "2.5", "a whole number"), (float, "abc", "a number"),
    (bool, "maybe", "true or false"), (tuple[float, ...], "a,b", "a list of (a number)"),
    (float | Mapping[str, float], "fast", "a number or a mapping"), (Literal["a", "b"], "c", "one of 'a', 'b'"),
    (float | None, "x", "a number or none"), (float, "nan", "a number"), (int, "[1, 2]", "a whole number"),
])
def test_bad_values_name_the_parameter_value_and_what_fits(annotation, text, words):
    with pytest.raises(InvalidValueError) as err:
        coerce("n_images", text, annotation)
    message = str(err.value)
    assert message.startswith(f"n_images={text!r} is invalid: expected ") and words in message
    assert "\n" not in message


def test_several_values_for_grids_and_comparisons():
    assert coerce_values("seed", "0,1,2", int) == [0, 1, 2]
    assert coerce_values("tau", "5,10,20", float) == [5.0, 10.0, 20.0]
    assert coerce_values("r", "full,self", str) == ["full", "self"]
    assert coerce_values("contrasts", "0.5,1", tuple[float, ...]) == [(0.5,), (1.0,)]  # one run each
    assert coerce_values("contrasts", "[[0.5, 1.0], [0.2]]", tuple[float, ...]) == [(0.5, 1.0), (0.2,)]
    assert coerce_values("kw", "{a: 1, b: 2},{a: 3}", dict) == [{"a": 1, "b": 2}, {"a": 3}]
    assert coerce_values("x", ["a", "b"], str) == ["a", "b"]  # a YAML list
    with pytest.raises(InvalidValueError, match="one or more values"):
        coerce_values("seed", "1,,2", int)
    with pytest.raises(InvalidValueError, match="seed='x' is invalid"):
        coerce_values("seed", "1,x", int)


def test_split_respects_brackets_and_quotes():
    assert split_top_level("{a: 1, b: 2},[3, 4],'x,y',z") == ["{a: 1, b: 2}", "[3, 4]", "'x,y'", "z"]
    assert split_top_level("V1") == ["V1"]


def test_type_of_a_default_value():
    assert [type_of_value(v) for v in (True, 3, 0.5, "x", None, {})] == [bool, int, float, str, None, dict]
    assert type_of_value([1, 2.5]) == list[float] and type_of_value((1, 2)) == tuple[int, ...]
    assert is_sequence_type(list[float]) and is_sequence_type(Sequence[str] | None) and not is_sequence_type(float)


def test_experiment_parameters_carry_resolved_types_defaults_and_docs():
    params = experiment_parameters("contrast")
    assert params["contrasts"].annotation == tuple[float, ...]
    assert params["record"].annotation == tuple[str, ...]
    assert params["n_images"].annotation is int and params["n_images"].default == 4
    assert "Contrast levels" in params["contrasts"].doc


def test_model_arguments_come_from_the_constructor():
    params = model_arguments("DyRCNNx4")
    assert params["width"].annotation is float and params["width"].default == 1.0
    assert coerce("tau", "{V1: 5}", params["tau"].annotation) == {"V1": 5.0}
    assert coerce("input_dims", "1,1,16,16", params["input_dims"].annotation) == (1, 1, 16, 16)


def test_ms_aliases_are_typed_like_their_canonical_name():
    @ms_aliases
    def build(n: int = 1, *, dt_ms: float = 2.0, tau_ms: float | None = None):
        return dt_ms

    params = function_parameters(build)
    assert params["dt"].annotation is float and params["tau"].annotation == float | None
    assert set(params) == {"n", "dt_ms", "tau_ms", "dt", "tau"}


def _notebook(path, source: str):
    cell = {"cell_type": "code", "id": "params", "metadata": {"tags": ["parameters"]}, "source": source, "outputs": [],
            "execution_count": None}
    path.write_text(json.dumps({"cells": [cell], "metadata": {"kernelspec": {"name": "python3", "language": "python"}},
                                "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_notebook_parameters_are_typed_by_their_defaults(tmp_path):
    nb = _notebook(tmp_path / "nb.ipynb", 'model = "m"  # which model\nn = 4\nxs = [0.1, 1]\nfast = False\n'
                                          'kw = {}\nother = None\nexpr = list(range(3))\ncolour = "#f00"  # red\n')
    params = notebook_parameter_types(nb)
    assert params["model"].annotation is str and params["model"].doc == "which model"
    assert params["n"].annotation == int | float  # a whole-number default takes any number
    assert params["xs"].annotation == list[float] and params["fast"].annotation is bool
    assert params["kw"].annotation is dict and params["other"].annotation is None and params["expr"].annotation is None
    assert params["expr"].source == "list(range(3))" and params["colour"].doc == "red"
    assert coerce("xs", "0.5", params["xs"].annotation) == [0.5]
    assert coerce("model", "3", params["model"].annotation) == "3"


def test_a_parameters_cell_with_a_syntax_error_is_reported_with_its_line(tmp_path):
    nb = _notebook(tmp_path / "broken.ipynb", "a = 1\nb = (2,\n")
    with pytest.raises(ValueError, match="parameters cell .*broken.ipynb.* is not valid Python: .* at line 2"):
        notebook_parameter_types(nb)

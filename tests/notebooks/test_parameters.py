"""A notebook's parameters cell: names, defaults, and a syntax error reported as one."""

from __future__ import annotations

import pytest

from dynvision.notebooks import ParametersSyntaxError, notebook_parameters, run_notebook, sweep

from .conftest import FIXTURES

SYNTAX = FIXTURES / "syntax_error.ipynb"
MESSAGE = (r"the parameters cell \(notebook '.*syntax_error.ipynb', cell 2\) is not valid Python: "
           r"invalid syntax at line 2: b = = 2  # the planted syntax error")


def test_syntax_error_names_notebook_cell_and_line():
    with pytest.raises(ParametersSyntaxError, match=MESSAGE):
        notebook_parameters(SYNTAX)


def test_run_and_sweep_report_the_syntax_error_not_an_unknown_parameter(tmp_path):
    with pytest.raises(ParametersSyntaxError, match=MESSAGE):
        run_notebook(SYNTAX, tmp_path / "run", {"a": 2})
    with pytest.raises(ParametersSyntaxError, match=MESSAGE):
        sweep(SYNTAX, {"a": [1, 2]}, tmp_path / "sweep", progress=False)
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()


def test_magics_and_tuple_assignments_count(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%matplotlib inline\na = 1; b = 2\nc, (d, e) = 3, (4, 5)\nf: int = 6",
                                          metadata={"tags": ["parameters"]})]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    assert list(notebook_parameters(tmp_path / "nb.ipynb")) == ["a", "b", "c", "d", "e", "f"]

"""The notebook harness: warnings of chosen packages fail the run, stderr is reported, asserts fail with their line."""

from __future__ import annotations

import sys
import warnings

import pytest

from dynvision.notebooks import run_notebook
from dynvision.notebooks import strict

pytestmark = pytest.mark.notebook


def _run(notebook_copy, tmp_path, case, packages=("warner",)):
    return run_notebook(notebook_copy("checks.ipynb"), tmp_path / case, {"case": case}, export_html=False,
                        warnings_as_errors=list(packages))


@pytest.mark.parametrize("case", ["package_warning", "library_warning_in_package"])
def test_warning_involving_the_package_fails_the_run(notebook_copy, tmp_path, case):
    record = _run(notebook_copy, tmp_path, case)
    assert record.status == "failed"
    expected, line = ("UserWarning: planted package warning", 2) if case == "package_warning" else \
        ("RuntimeWarning: Mean of empty slice", 4)
    assert record.error.startswith(expected), record.error
    assert f"line {line}: warner." in record.error  # the cell's line that called the package


def test_other_warnings_and_stderr_pass_but_are_reported(notebook_copy, tmp_path):
    other = _run(notebook_copy, tmp_path, "other_warning")
    printed = _run(notebook_copy, tmp_path, "stderr")
    assert other.ok and "UserWarning: a warning from the notebook itself" in other.stderr
    assert printed.ok and printed.stderr == "planted line on stderr\n"


def test_without_the_harness_warnings_only_print(notebook_copy, tmp_path):
    record = _run(notebook_copy, tmp_path, "package_warning", packages=())
    assert record.ok and "planted package warning" in record.stderr


def test_failing_assert_fails_with_its_message_cell_and_line(notebook_copy, tmp_path):
    record = _run(notebook_copy, tmp_path, "assert")
    assert record.status == "failed" and record.error_cell is not None
    assert record.error == (f"AssertionError: planted: total is 2, not 3 (cell In [{record.error_cell}], line 3: "
                            f'assert total == 3, f"planted: total is {{total}}, not 3")')


def test_involved_looks_at_the_whole_stack():
    package = __name__.split(".")[0]  # this test module's top-level package

    def inner():
        return strict.involved(sys._getframe(), (package,))

    assert inner() == __name__
    assert strict.involved(sys._getframe(), ("dynvision",)) is None
    assert strict.involved(sys._getframe(), (package[:-1],)) is None  # a prefix must be a whole module name


def test_install_raises_only_for_the_package_and_uninstalls():
    from dynvision import validation

    before = warnings.showwarning
    strict.install([validation.__name__])
    try:
        assert strict.installed()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            with pytest.raises(UserWarning, match="from validation"):
                exec("import warnings; warnings.warn('from validation')", {"__name__": validation.__name__})
            with pytest.warns(UserWarning, match="elsewhere"):
                warnings.warn("elsewhere")
    finally:
        strict.uninstall()
    assert warnings.showwarning is before and not strict.installed()


def test_policy_runs_in_a_kernel_without_dynvision(notebook_copy, tmp_path, monkeypatch):
    """The policy is source on the kernel's command line: it needs no dynvision inside the kernel."""
    monkeypatch.setenv("PYTHONPATH", "/nonexistent")  # the kernel cannot import this checkout's dynvision
    record = _run(notebook_copy, tmp_path, "package_warning")
    assert record.status == "failed" and record.error.startswith("UserWarning: planted package warning")


def test_error_names_the_failing_cells_own_line():
    """A function defined in another cell raises: the line is the failing cell's, not the function's."""
    from types import SimpleNamespace

    from dynvision.notebooks.runner import _describe

    exc = SimpleNamespace(ename="ValueError", evalue="bad", exec_count=5,
                          source="x = 1\nresult = helper(x)\nprint(result)",
                          traceback=["\x1b[0;31mValueError\x1b[0m  Traceback",
                                     "Cell \x1b[0;32mIn[5], line 2\x1b[0m\n----> 2 result = helper(x)",
                                     "Cell \x1b[0;32mIn[3], line 3\x1b[0m, in helper(x)\n----> 3 raise ValueError"])
    assert _describe(exc) == "ValueError: bad (cell In [5], line 2: result = helper(x))"
    exc.source = "def helper(x):\n    raise ValueError\nresult = helper(1)"  # the function in the failing cell
    exc.traceback = ["Cell In[5], line 3\n----> 3 result = helper(1)", "Cell In[5], line 2, in helper(x)"]
    assert _describe(exc) == "ValueError: bad (cell In [5], line 3: result = helper(1))"

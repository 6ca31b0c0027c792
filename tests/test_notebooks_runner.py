"""Tests for dynvision.notebooks: papermill runs, Dask sweeps, combine_sweep and the CLI helper.

Kernel starts dominate the cost, so the notebook executions are shared through module-scoped
fixtures: one ok run, one failing run, a 4-run sweep on a 2-thread local cluster, a rerun that
redoes 3 of them and one CLI run (10 executions in all). Everything else is validation that
raises before a kernel starts. The module's tests stay on one pytest-xdist worker (``xdist_group``),
so those fixtures run once. The finer behaviours (kernels, the warnings harness, run keys and
locks, backends, model arguments) are tested in tests/notebooks/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("papermill")
pytest.importorskip("distributed")

from dynvision.notebooks import MissingParametersCellError, combine_sweep, notebook_parameters, run_notebook, sweep
from dynvision.notebooks.cli import add_notebook_commands, main, parse_grid_item, parse_value
from dynvision.notebooks.sweep import expand_grid, run_ids
from dynvision.registry import UnknownNameError

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("notebooks_runner")]

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
ADD = FIXTURES / "add.ipynb"
NO_PARAMETERS = FIXTURES / "no_parameters.ipynb"
INDEX_COLUMNS = ["run_id", "a", "fail", "status", "duration_s", "started", "output_notebook", "html", "error",
                 "attempts"]
GRID = {"a": [1, 2], "fail": [False, True]}


def _cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def _calls(run_dir: Path) -> list[str]:
    return (run_dir / "calls.log").read_text().split()


# ---------------------------------------------------------------- single runs

@pytest.fixture(scope="module")
def ok_run(tmp_path_factory):
    return run_notebook(ADD, tmp_path_factory.mktemp("ok") / "run", {"a": 5, "b": 7})


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    return run_notebook(ADD, tmp_path_factory.mktemp("failed") / "run", {"fail": True})


def test_run_writes_executed_notebook_and_html(ok_run):
    out = Path(ok_run.output_dir)
    assert ok_run.ok and ok_run.error is None
    assert Path(ok_run.output_notebook) == out / "add.ipynb"
    assert Path(ok_run.html) == out / "add.html"
    assert ok_run.parameters == {"a": 5, "b": 7, "output_dir": str(out)}
    assert ok_run.duration_s > 0
    # the kernel ran in the notebook's own folder, as in JupyterLab
    assert json.loads((out / "result.json").read_text()) == {"a": 5, "b": 7, "c": 12, "cwd": str(FIXTURES.resolve())}


def test_injected_values_are_visible_in_executed_notebook(ok_run):
    cells = _cells(Path(ok_run.output_notebook))
    injected = [c for c in cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    source = injected[0].source
    assert "a = 5" in source and "b = 7" in source and ok_run.output_dir in source
    printed = "".join(o.get("text", "") for c in cells if c.cell_type == "code" for o in c.outputs)
    assert "c = 12" in printed


def test_html_reads_offline(ok_run):
    html = Path(ok_run.html).read_text()
    text = re.sub(r"<[^>]+>", "", html)  # input cells are syntax-highlighted with spans
    assert "c = 12" in text and "a = 5" in text
    assert "<script src=" not in html.replace(" ", "")  # no require.js / MathJax / mermaid from a CDN


def test_failed_run_keeps_notebook_with_traceback(failed_run):
    assert failed_run.status == "failed" and not failed_run.ok
    assert failed_run.error == ('RuntimeError: asked to fail with a=1, b=2 (cell In [4], line 2: '
                                'raise RuntimeError(f"asked to fail with a={a}, b={b}"))')
    assert failed_run.error_cell == 4
    errors = [o for c in _cells(Path(failed_run.output_notebook)) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "RuntimeError" and errors[0].traceback
    assert Path(failed_run.html).exists()
    with pytest.raises(RuntimeError, match="asked to fail"):
        failed_run.raise_for_status()


def test_unknown_parameter_lists_valid_names(tmp_path):
    with pytest.raises(UnknownNameError) as info:
        run_notebook(ADD, tmp_path, {"a": 1, "fial": True})
    message = str(info.value)
    assert "'fial'" in message and "did you mean 'fail'" in message and "add.ipynb" in message
    assert "valid parameters (from its 'parameters' cell): a, b, fail, output_dir" in message
    assert not (tmp_path / "add.ipynb").exists()


def test_notebook_without_parameters_cell(tmp_path):
    with pytest.raises(MissingParametersCellError, match="no_parameters.ipynb.*tagged 'parameters'.*add"):
        run_notebook(NO_PARAMETERS, tmp_path, {})


def test_other_run_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.ipynb"):
        run_notebook(FIXTURES / "missing.ipynb", tmp_path)
    with pytest.raises(UnknownNameError, match="unknown kernel 'nope'.*python3"):
        run_notebook(ADD, tmp_path, kernel_name="nope")
    with pytest.raises(ValueError, match="overwrite 'add.ipynb'"):
        run_notebook(ADD, FIXTURES)
    with pytest.raises(TypeError, match="parameter 'a' has type object"):
        run_notebook(ADD, tmp_path, {"a": object()})


def test_notebook_parameters_reads_names_defaults_and_help():
    declared = notebook_parameters(ADD)
    assert list(declared) == ["a", "b", "fail", "output_dir"]
    assert declared["a"]["default"] == "1" and declared["a"]["help"] == "first summand"


# ---------------------------------------------------------------- sweeps

def test_expand_grid_and_run_ids():
    combos = expand_grid({"a": [1, 2], "m": ["x"]})
    assert combos == [{"a": 1, "m": "x"}, {"a": 2, "m": "x"}]
    assert run_ids(combos) == ["a=1__m=x", "a=2__m=x"]
    ids = run_ids([{"m": "a/b"}, {"m": "a b"}, {"lr": 1e-3}, {"s": "x" * 300}])
    assert ids[0] != ids[1] and all(i.startswith("m=a-b") for i in ids[:2])
    assert ids[2] == "lr=0.001" and len(ids[3]) <= 120 and len(set(ids)) == 4
    assert run_ids([{"m": "a/b"}]) == run_ids([{"m": "a/b"}])


def test_sweep_validates_before_running(tmp_path):
    with pytest.raises(UnknownNameError, match="'c'.*valid parameters"):
        sweep(ADD, {"c": [1]}, tmp_path, progress=False)
    with pytest.raises(ValueError, match="'a' both swept"):
        sweep(ADD, {"a": [1]}, tmp_path, fixed={"a": 2}, progress=False)
    with pytest.raises(ValueError, match=r"grid\['a'\] is empty"):
        sweep(ADD, {"a": []}, tmp_path, progress=False)
    with pytest.raises(ValueError, match="list of values"):
        sweep(ADD, {"a": "12"}, tmp_path, progress=False)
    with pytest.raises(ValueError, match="not both"):
        sweep(ADD, {"a": [1]}, tmp_path, scheduler="tcp://127.0.0.1:1", cluster=object(), progress=False)
    assert not (tmp_path / "index.csv").exists()


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The first sweep; what the tests read from disk is captured before `rerun` changes it."""
    import pandas as pd

    out = tmp_path_factory.mktemp("sweep")
    index = sweep(ADD, GRID, out, workers=2, fixed={"b": 10}, progress=False)
    return out, index, pd.read_csv(out / "index.csv")


def test_sweep_runs_every_combination(swept):
    out, index, _ = swept
    assert list(index.columns) == INDEX_COLUMNS
    assert list(index.run_id) == ["a=1__fail=False", "a=1__fail=True", "a=2__fail=False", "a=2__fail=True"]
    assert list(index.status) == ["ok", "failed", "ok", "failed"]
    for a in (1, 2):
        assert json.loads((out / f"a={a}__fail=False" / "result.json").read_text())["c"] == a + 10
    # kernels are started from the local cluster's threads, in this process (not from worker processes)
    assert {pid for rid in index.run_id for pid in _calls(out / rid)} == {str(os.getpid())}


def test_sweep_index_file_matches_and_points_to_outputs(swept):
    out, index, on_disk = swept
    assert list(on_disk.columns) == INDEX_COLUMNS
    assert list(on_disk.status) == list(index.status)
    for row in on_disk.itertuples():
        assert (out / row.output_notebook).exists() and (out / row.html).exists()
        assert row.duration_s > 0 and isinstance(row.started, str)
    failed = on_disk[on_disk.status == "failed"]
    assert [e.split(" (cell")[0] for e in failed.error] == [f"RuntimeError: asked to fail with a={a}, b=10"
                                                             for a in (1, 2)]
    assert on_disk[on_disk.status == "ok"].error.isna().all() and set(on_disk.attempts) == {1}


def test_failing_combination_keeps_its_traceback(swept):
    out, *_ = swept
    cells = _cells(out / "a=2__fail=True" / "add.ipynb")
    errors = [o for c in cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors[0].ename == "RuntimeError" and "a=2, b=10" in errors[0].evalue


@pytest.fixture(scope="module")
def rerun(swept):
    out, *_ = swept
    kept = out / "a=1__fail=False" / "add.ipynb"
    mtime = kept.stat().st_mtime_ns
    shutil.rmtree(out / "a=2__fail=False")  # a missing run
    index = sweep(ADD, GRID, out, workers=2, fixed={"b": 10}, progress=False)
    return out, index, kept, mtime


def test_rerun_redoes_only_failed_and_missing(rerun):
    out, index, kept, mtime = rerun
    assert list(index.status) == ["skipped", "failed", "ok", "failed"]
    assert kept.stat().st_mtime_ns == mtime
    assert [len(_calls(out / rid)) for rid in index.run_id] == [1, 2, 1, 2]


def test_rerun_without_retry_runs_nothing(rerun):
    out, *_ = rerun
    index = sweep(ADD, GRID, out, fixed={"b": 10}, progress=False, retry_failed=False)
    assert list(index.status) == ["skipped", "failed", "skipped", "failed"]
    assert [len(_calls(out / rid)) for rid in index.run_id] == [1, 2, 1, 2]


def test_changed_fixed_parameter_is_refused_unless_overwrite(rerun, tmp_path):
    from dynvision.notebooks import RunConflictError

    out, *_ = rerun
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with pytest.raises(RunConflictError, match=r"4 run folders in .* hold other results: a=1__fail=False \(its "
                                               r"parameters differ \(b: 10 -> 11\)\).*overwrite=True"):
        sweep(ADD, GRID, copy, fixed={"b": 11}, progress=False)
    assert [len(_calls(copy / rid)) for rid in sorted(p.name for p in copy.iterdir() if p.is_dir())] == [1, 2, 1, 2]
    index = sweep(ADD, {"a": [1], "fail": [False]}, copy, fixed={"b": 11}, progress=False, overwrite=True)
    assert list(index.status) == ["ok"] and json.loads((copy / "a=1__fail=False" / "result.json").read_text())["c"] == 12


def test_combine_sweep_from_files(rerun):
    out, *_ = rerun
    with pytest.warns(RuntimeWarning, match="2 of 4 runs have no result"):
        combined = combine_sweep(out, "result.nc")
    assert combined.c.dims == ("a", "fail")
    assert list(combined.a.values) == [1, 2] and list(combined.fail.values) == [False, True]
    assert combined.c.sel(fail=False).values.tolist() == [11, 12]
    assert combined.c.sel(fail=True).isnull().all()
    assert combined.ab.dims == ("a", "fail", "i")
    assert json.loads(combined.attrs["sweep"])["fixed"] == {"b": 10}


def test_combine_sweep_with_callables(rerun):
    import xarray as xr

    out, *_ = rerun

    def as_array(run_dir):
        return xr.DataArray(json.loads((run_dir / "result.json").read_text())["c"], name="c")

    def as_tree(run_dir):
        c = as_array(run_dir)
        return xr.DataTree.from_dict({"/": xr.Dataset({"c": c}), "/V1": xr.Dataset({"double": 2 * c})})

    with pytest.warns(RuntimeWarning):
        array = combine_sweep(out, as_array)
        tree = combine_sweep(out, as_tree)
    assert isinstance(array, xr.DataArray) and array.dims == ("a", "fail")
    assert tree["V1"].double.sel(fail=False).values.tolist() == [22, 24]
    with pytest.raises(FileNotFoundError, match="no sweep"):
        combine_sweep(out / "a=1__fail=False", "result.nc")


# ---------------------------------------------------------------- CLI

@pytest.fixture()
def parser():
    p = argparse.ArgumentParser(prog="dynvision")
    add_notebook_commands(p.add_subparsers(dest="command", required=True))
    return p


def test_parse_value_types_like_yaml():
    assert [parse_value(t) for t in ["3", "-2", "0.5", "1e-3", "True", "false", "none", "null"]] == [
        3, -2, 0.5, 0.001, True, False, None, None]
    assert [parse_value(t) for t in ["on", "no", "2024-01-01", "V1", "'7'", "[1, 2.5, x]", "{k: 1}"]] == [
        "on", "no", "2024-01-01", "V1", "7", [1, 2.5, "x"], {"k": 1}]
    assert parse_grid_item("seed=0,1,2") == ("seed", [0, 1, 2])
    assert parse_grid_item("sizes=[[8, 16], [32]]") == ("sizes", [[8, 16], [32]])
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=V1,V2"):
        parse_grid_item("seed")


def test_cli_parses_typed_parameters_and_grids(parser):
    args = parser.parse_args(["notebook", "run", "nb.ipynb", "-p", "a", "3", "-p", "name", "V1", "--out", "x"])
    assert args.parameters == [("a", 3), ("name", "V1")] and args.out == Path("x")
    args = parser.parse_args(["sweep", "nb.ipynb", "-g", "a=1,2", "--grid", "m=x,y", "-p", "b", "0.5",
                              "-w", "3", "--scheduler", "tcp://h:8786", "--no-retry-failed"])
    assert args.grid == [("a", [1, 2]), ("m", ["x", "y"])] and args.parameters == [("b", 0.5)]
    assert (args.workers, args.scheduler, args.retry_failed) == (3, "tcp://h:8786", False)
    with pytest.raises(SystemExit):
        parser.parse_args(["sweep", "nb.ipynb"])  # --grid is required


@pytest.mark.parametrize("command", [["notebook", "run"], ["sweep"]])
def test_cli_help_explains_usage(parser, capsys, command):
    with pytest.raises(SystemExit) as info:
        parser.parse_args([*command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "--out" in text and "-p NAME VALUE" in text


def test_cli_params_and_errors(capsys):
    assert main(["notebook", "params", str(ADD)]) == 0
    assert "a = 1  # first summand" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["notebook", "run", str(ADD), "-p", "c", "1"])
    assert info.value.code == 2 and "unknown parameter 'c'" in capsys.readouterr().err


def test_cli_run_executes_with_typed_values(tmp_path, capsys):
    code = main(["notebook", "run", str(ADD), "-p", "a", "2", "-p", "b", "0.5", "--out", str(tmp_path),
                 "--no-progress", "--no-html"])
    assert code == 0 and capsys.readouterr().out.startswith("ok: ")
    assert json.loads((tmp_path / "result.json").read_text())["c"] == 2.5
    assert not (tmp_path / "add.html").exists()

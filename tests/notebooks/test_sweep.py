"""Sweeps that parallelise and never redo or mix up work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from dynvision.notebooks import RunConflictError, run_notebook, sweep
from dynvision.notebooks.kernel import available_cores

from .conftest import FIXTURES

pytestmark = pytest.mark.notebook
ADD = FIXTURES / "add.ipynb"


def _calls(run_dir) -> int:
    return len((run_dir / "calls.log").read_text().split())


def test_runs_overlap_and_share_the_cores(tmp_path):
    """Each run waits until the other has started: a sweep that ran them one after another would fail."""
    index = sweep(FIXTURES / "barrier.ipynb", {"run": [0, 1]}, tmp_path / "out", workers=2, progress=False,
                  fixed={"n": 2, "barrier_dir": str(tmp_path / "barrier")}, export_html=False)
    assert list(index.status) == ["ok", "ok"], list(index.error)
    threads = str(max(1, available_cores() // 2))
    assert [(tmp_path / "out" / rid / "threads.txt").read_text() for rid in index.run_id] == [threads, threads]


def test_two_identical_sweeps_into_one_folder_run_each_point_once(tmp_path):
    """Two `dynvision sweep` commands at once: every point runs once, and neither prints on stderr."""
    import re

    checkout = os.path.dirname(os.path.dirname(os.path.abspath(__import__("dynvision").__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (checkout, os.environ.get("PYTHONPATH")) if p)}
    command = [sys.executable, "-m", "dynvision.cli", "sweep", str(ADD), "--grid", "a=1,2", "--workers", "1",
               "--out", str(tmp_path / "out"), "--no-progress", "--no-html"]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    assert [err for _, err in results] == ["", ""]
    counts = [dict((s, int(n)) for n, s in re.findall(r"(\d+) (ok|skipped)", out)) for out, _ in results]
    assert sum(c.get("ok", 0) for c in counts) == 2 and sum(c.get("skipped", 0) for c in counts) == 2, results
    for rid in ("a=1", "a=2"):
        assert _calls(tmp_path / "out" / rid) == 1  # executed exactly once; the other sweep found it done


@pytest.fixture
def done(tmp_path):
    """A finished two-run sweep of a copy of add.ipynb (the copy can be edited)."""
    src = tmp_path / "src"
    src.mkdir()
    nb = shutil.copy(ADD, src / "add.ipynb")
    out = tmp_path / "out"
    index = sweep(nb, {"a": [1, 2]}, out, workers=2, progress=False)
    assert list(index.status) == ["ok", "ok"]
    return nb, out


def test_deleted_executed_notebook_or_result_is_run_again(done):
    nb, out = done
    (out / "a=1" / "add.ipynb").unlink()
    (out / "a=2" / "result.nc").unlink()
    index = sweep(nb, {"a": [1, 2]}, out, progress=False)
    assert list(index.status) == ["ok", "ok"]
    assert [_calls(out / rid) for rid in ("a=1", "a=2")] == [2, 2]
    again = sweep(nb, {"a": [1, 2]}, out, progress=False)
    assert list(again.status) == ["skipped", "skipped"] and [_calls(out / r) for r in ("a=1", "a=2")] == [2, 2]


def test_changed_notebook_is_refused_then_replaced_with_overwrite(done):
    nb, out = done
    text = open(nb).read()
    open(nb, "w").write(text.replace("c = a + b", "c = a * b"))
    with pytest.raises(RunConflictError, match=r"2 run folders .*a=1 \(notebook 'add.ipynb' has changed since it "
                                               r"ran\).*overwrite=True"):
        sweep(nb, {"a": [1, 2]}, out, progress=False)
    assert json.loads((out / "a=2" / "result.json").read_text())["c"] == 4  # untouched
    index = sweep(nb, {"a": [1, 2]}, out, progress=False, overwrite=True)
    assert list(index.status) == ["ok", "ok"]
    assert [json.loads((out / rid / "result.json").read_text())["c"] for rid in ("a=1", "a=2")] == [2, 4]


def test_extending_the_grid_reuses_the_overlap(done):
    nb, out = done
    index = sweep(nb, {"a": [1, 2, 3]}, out, progress=False)
    assert list(index.status) == ["skipped", "skipped", "ok"]
    assert json.loads((out / "sweep.json").read_text())["grid"] == {"a": [1, 2, 3]}


def test_folders_of_others_are_never_touched(done, tmp_path):
    nb, out = done
    with pytest.raises(RunConflictError, match=r"holds a sweep of 'add.ipynb' over a, not of 'add.ipynb' over b"):
        sweep(nb, {"b": [1]}, out, progress=False)
    mine = tmp_path / "mine"
    (mine / "a=1").mkdir(parents=True)
    (mine / "a=1" / "notes.txt").write_text("a user's notes")
    with pytest.raises(RunConflictError, match=r"a=1 \(holds files no run recorded: notes.txt\)"):
        sweep(nb, {"a": [1]}, mine, progress=False)
    assert sorted(p.name for p in (mine / "a=1").iterdir()) == ["notes.txt"]
    assert not (mine / "index.csv").exists()


def test_kernel_that_never_starts_is_in_the_index(flaky_kernels, tmp_path):
    index = sweep(ADD, {"a": [1]}, tmp_path / "out", progress=False, kernel_name="dead", export_html=False)
    row = index.iloc[0]
    assert row.status == "failed" and row.attempts == 3
    assert row.error.startswith("KernelStartError: the kernel did not start in 3 attempts")
    import pandas as pd

    assert pd.read_csv(tmp_path / "out" / "index.csv").iloc[0].error == row.error


def test_sweep_after_a_run_in_the_same_process(tmp_path):
    """A run on the main thread leaves an event loop behind; the sweep's worker threads must not use it."""
    assert run_notebook(ADD, tmp_path / "single", export_html=False).ok
    index = sweep(ADD, {"a": [1, 2]}, tmp_path / "out", workers=2, progress=False, export_html=False)
    assert list(index.status) == ["ok", "ok"], list(index.error)

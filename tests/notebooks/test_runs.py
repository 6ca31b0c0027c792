"""Run keys, reuse and locks: what makes a finished run stand in for running it again."""

from __future__ import annotations

import json
import shutil

import nbformat
import pytest
from filelock import FileLock

from dynvision.notebooks.runs import LOCK_FILE, RUN_FILE, execute_run, foreign_content, key_difference, \
    list_outputs, notebook_digest, outputs_intact, reusable, run_key

from .conftest import FIXTURES

ADD = FIXTURES / "add.ipynb"


def test_digest_ignores_outputs_and_metadata_but_not_code(tmp_path):
    nb = nbformat.read(ADD, as_version=4)
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="x")]
    nb.cells[2].execution_count = 7
    nb.cells[2].metadata["tags"] = ["saved-in-jupyterlab"]
    nb.metadata["widgets"] = {"state": {}}
    nbformat.write(nb, tmp_path / "saved.ipynb")
    assert notebook_digest(tmp_path / "saved.ipynb") == notebook_digest(ADD)
    nb.cells[3].source = nb.cells[3].source.replace("c = a + b", "c = a - b")
    nbformat.write(nb, tmp_path / "edited.ipynb")
    assert notebook_digest(tmp_path / "edited.ipynb") != notebook_digest(ADD)


def test_key_difference_says_what_changed(tmp_path):
    key = run_key(ADD, {"a": 1, "b": 2}, None)
    assert key["kernel"] == "python3" and key["notebook"] == "add.ipynb"
    assert key_difference({"key": run_key(ADD, {"a": 1, "b": 3}, None)}, key) == "its parameters differ (b: 3 -> 2)"
    assert key_difference({"key": run_key(ADD, {"a": 1}, None)}, key) == "its parameters differ (b: '(unset)' -> 2)"
    assert key_difference({"key": {**key, "notebook_sha256": "0"}}, key) == "notebook 'add.ipynb' has changed since it ran"
    assert key_difference({"status": "ok"}, key) == "it was written by an older dynvision (no run key)"


@pytest.fixture
def finished(tmp_path):
    """A run folder as a finished ok run leaves it (written by hand: no kernel needed)."""
    run_dir = tmp_path / "run"
    (run_dir / "sub").mkdir(parents=True)
    shutil.copy(ADD, run_dir / "add.ipynb")
    (run_dir / "sub" / "result.nc").write_bytes(b"12345")
    key = run_key(ADD, {"a": 1}, None)
    from dynvision.notebooks.runs import _sha256

    record = {"status": "ok", "key": key, "output_notebook": "add.ipynb", "output_sha256": _sha256(run_dir / "add.ipynb"),
              "files": list_outputs(run_dir)}
    (run_dir / RUN_FILE).write_text(json.dumps(record))
    return run_dir, key


def test_an_intact_finished_run_is_reused(finished):
    run_dir, key = finished
    assert list_outputs(run_dir) == {"add.ipynb": ADD.stat().st_size, "sub/result.nc": 5}
    assert reusable(run_dir, key, retry_failed=True)["status"] == "skipped"
    assert reusable(run_dir, run_key(ADD, {"a": 2}, None), retry_failed=True) is None  # another run's key


@pytest.mark.parametrize("damage, reason", [
    (lambda d: (d / "add.ipynb").unlink(), "its executed notebook 'add.ipynb' is missing"),
    (lambda d: (d / "add.ipynb").write_text((d / "add.ipynb").read_text().replace("summand", "summand!")),
     "its executed notebook 'add.ipynb' has changed"),
    (lambda d: (d / "sub" / "result.nc").unlink(), "its output 'sub/result.nc' is missing"),
    (lambda d: (d / "sub" / "result.nc").write_bytes(b"12"), "its output 'sub/result.nc' has changed size"),
])
def test_a_run_with_missing_or_changed_outputs_is_not_reused(finished, damage, reason):
    run_dir, key = finished
    damage(run_dir)
    assert outputs_intact(run_dir, json.loads((run_dir / RUN_FILE).read_text())) == reason
    assert reusable(run_dir, key, retry_failed=True) is None


def test_failed_and_interrupted_runs(finished):
    run_dir, key = finished
    record = json.loads((run_dir / RUN_FILE).read_text())
    (run_dir / RUN_FILE).write_text(json.dumps({**record, "status": "failed"}))
    assert reusable(run_dir, key, retry_failed=True) is None
    assert reusable(run_dir, key, retry_failed=False)["status"] == "failed"
    (run_dir / RUN_FILE).write_text(json.dumps({"key": key, "status": "running"}))  # killed while it ran
    assert reusable(run_dir, key, retry_failed=False) is None


def test_foreign_content(tmp_path, finished):
    run_dir, _ = finished
    assert foreign_content(tmp_path / "missing") == [] and foreign_content(run_dir) == []
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("a user's file")
    (tmp_path / "mine" / LOCK_FILE).write_text("")
    assert foreign_content(tmp_path / "mine") == ["notes.txt"]


def test_a_locked_run_is_busy_without_waiting_and_untouched(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with FileLock(str(run_dir / LOCK_FILE)):  # another sweep is running it
        out = execute_run(str(ADD), str(run_dir), {"a": 1}, identity=run_key(ADD, {"a": 1}, None), wait=False)
    assert out == {"status": "busy"}
    assert sorted(p.name for p in run_dir.iterdir()) == [LOCK_FILE]  # nothing ran, nothing written


def test_a_done_run_is_found_under_the_lock_without_a_kernel(finished):
    run_dir, key = finished
    out = execute_run(str(ADD), str(run_dir), {"a": 1}, identity=key)
    assert out["status"] == "skipped" and (run_dir / "add.ipynb").read_text() == ADD.read_text()


def test_another_run_written_meanwhile_is_kept(finished):
    run_dir, key = finished
    before = (run_dir / RUN_FILE).read_text()
    other = run_key(ADD, {"a": 2}, None)
    out = execute_run(str(ADD), str(run_dir), {"a": 2}, identity=other)
    assert out["status"] == "failed" and out["error"].startswith("RunConflictError: ")
    assert "its parameters differ (a: 1 -> 2)" in out["error"]
    assert (run_dir / RUN_FILE).read_text() == before

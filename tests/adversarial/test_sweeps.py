"""Adversarial cases for notebook runs and sweeps (issue 14): misuse, kills, races, damaged folders.

Each case does what a user (or a crash) might do and checks that nothing is lost or mixed up and
that the error names what is wrong. The cases that need no kernel come first.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("papermill")
pytest.importorskip("distributed")

from dynvision.notebooks import RunConflictError, combine_sweep, run_notebook, sweep  # noqa: E402
from dynvision.validation import InvalidValueError  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"
ADD, CHECKS, SYNTAX = FIXTURES / "add.ipynb", FIXTURES / "checks.ipynb", FIXTURES / "syntax_error.ipynb"
CHECKOUT = str(Path(__import__("dynvision").__file__).resolve().parents[1])
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (CHECKOUT, os.environ.get("PYTHONPATH")) if p)}


@pytest.fixture
def cli(capsys):
    """Run ``dynvision ARGS`` in this process; return (exit status, stderr)."""
    from dynvision.cli import main

    def run(*args: str) -> tuple[int, str]:
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
        return code, capsys.readouterr().err

    return run


def _one_line_usage_error(result: tuple[int, str], *needles: str) -> str:
    """The command failed as a usage error (exit 2) with a message and no traceback; return stderr."""
    code, err = result
    assert code == 2, (code, err)
    assert "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


# --------------------------------------------------------------------------- bad input, no kernel needed

def test_cli_unreachable_scheduler_fails_at_once(cli, tmp_path):
    result = cli("sweep", str(ADD), "--grid", "a=1,2", "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "o"))
    _one_line_usage_error(result, "cannot reach the Dask scheduler at 'tcp://127.0.0.1:1': connection refused")
    assert not (tmp_path / "o").exists()


def test_cli_scheduler_without_port(cli, tmp_path):
    result = cli("sweep", str(ADD), "--grid", "a=1", "--scheduler", "tcp://localhost", "--out", str(tmp_path / "o"))
    _one_line_usage_error(result, "has no port")


def test_cli_parameters_cell_with_a_syntax_error(cli, tmp_path):
    result = cli("notebook", "run", str(SYNTAX), "-p", "a", "2", "--out", str(tmp_path / "o"))
    err = _one_line_usage_error(result, "syntax_error.ipynb", "line 2: b = = 2")
    assert "unknown parameter" not in err


def test_cli_unknown_model_argument_names_both_kinds_of_valid_names(cli, tmp_path):
    result = cli("sweep", str(FIXTURES / "model.ipynb"), "--grid", "tua=5,10", "--out", str(tmp_path / "o"))
    _one_line_usage_error(result, "'tua' (did you mean 'tau'?)", "valid notebook parameters", "valid arguments of model")


def test_output_folder_that_is_a_file(cli, tmp_path):
    (tmp_path / "out").write_text("a user's file")
    for call in (lambda: sweep(ADD, {"a": [1]}, tmp_path / "out", progress=False),
                 lambda: run_notebook(ADD, tmp_path / "out")):
        with pytest.raises(InvalidValueError, match=r"output_dir='.* is invalid: expected a folder, but it is a file"):
            call()
    _one_line_usage_error(cli("sweep", str(ADD), "--grid", "a=1", "--out", str(tmp_path / "out")), "is a file")
    assert (tmp_path / "out").read_text() == "a user's file"


@pytest.mark.parametrize("kwargs, message", [
    ({"workers": 0}, r"workers=0 is invalid: expected a whole number >= 1"),
    ({"workers": "2"}, r"workers='2' is invalid"),
    ({"threads": 0}, r"threads=0 is invalid"),
    ({"overwrite": "yes"}, r"overwrite='yes' is invalid: expected True or False"),
])
def test_bad_sweep_options_name_the_value(tmp_path, kwargs, message):
    with pytest.raises(InvalidValueError, match=message):
        sweep(ADD, {"a": [1]}, tmp_path / "out", progress=False, **kwargs)
    assert not (tmp_path / "out").exists()


def test_unsupported_grid_value_type(tmp_path):
    with pytest.raises(TypeError, match="parameter 'a' has type object"):
        sweep(ADD, {"a": [object()]}, tmp_path / "out", progress=False)


def test_missing_notebook(tmp_path):
    with pytest.raises(FileNotFoundError, match="moved.ipynb"):
        sweep(tmp_path / "moved.ipynb", {"a": [1]}, tmp_path / "out", progress=False)


def test_damaged_run_record_is_kept_not_overwritten(tmp_path):
    """A run.json that no longer parses could be anything: the sweep refuses rather than guess."""
    (tmp_path / "out" / "a=1").mkdir(parents=True)
    (tmp_path / "out" / "a=1" / "run.json").write_text('{"status": "ok", "key": {')  # truncated
    with pytest.raises(RunConflictError, match=r"a=1 \(holds files no run recorded: run.json\)"):
        sweep(ADD, {"a": [1]}, tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "a=1" / "run.json").read_text().endswith("{")


def test_combine_names_the_run_whose_result_is_missing(tmp_path):
    out = tmp_path / "out"
    (out / "a=1").mkdir(parents=True)
    (out / "sweep.json").write_text(json.dumps({"notebook": "add.ipynb", "grid": {"a": [1]}, "fixed": {},
                                                "runs": {"a=1": {"a": 1}}}))
    (out / "a=1" / "run.json").write_text(json.dumps({"status": "ok"}))
    (out / "a=1" / "add.ipynb").write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"run 'a=1' has no 'result.nc'; its folder holds: add.ipynb, run.json"):
        combine_sweep(out, "result.nc")


# --------------------------------------------------------------------------- kernels that misbehave

@pytest.mark.notebook
def test_kernel_that_dies_or_hangs_fails_its_run_only(tmp_path):
    index = sweep(CHECKS, {"case": ["ok", "die", "hang"]}, tmp_path / "out", workers=2, timeout=3,
                  progress=False, export_html=False)
    status = dict(zip(index.case, index.status))
    errors = dict(zip(index.case, index.error))
    assert status == {"ok": "ok", "die": "failed", "hang": "failed"}
    assert errors["die"].startswith("DeadKernelError")
    assert "CellTimeoutError" in errors["hang"] or "Timeout" in errors["hang"], errors["hang"]
    again = sweep(CHECKS, {"case": ["ok", "die", "hang"]}, tmp_path / "out", workers=2, timeout=3,
                  progress=False, export_html=False, retry_failed=False)
    assert list(again.status) == ["skipped", "failed", "failed"]  # kept as they were, nothing ran


@pytest.mark.notebook
def test_stale_garbled_sweep_file_is_replaced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sweep.json").write_text("{ garbled")
    index = sweep(ADD, {"a": [1]}, out, progress=False, export_html=False)
    assert list(index.status) == ["ok"] and json.loads((out / "sweep.json").read_text())["grid"] == {"a": [1]}


# --------------------------------------------------------------------------- races and kills

GRID = {"a": [1, 2, 3, 4]}
SWEEP_CODE = ("import sys; from dynvision.notebooks import sweep; "
              "i = sweep({nb!r}, {grid!r}, {out!r}, workers=2, progress=False, export_html=False, "
              "fixed={fixed!r}); print(','.join(i.status))")


def _start_sweep(out: Path, fixed: dict, grid: dict = GRID, tmpdir: str | None = None) -> subprocess.Popen:
    code = SWEEP_CODE.format(nb=str(ADD), grid=grid, out=str(out), fixed=fixed)
    env = {**ENV, "TMPDIR": tmpdir} if tmpdir else ENV
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.fixture
def kernel_tmp():
    """A short private TMPDIR for a sweep that will be killed: its kernels' socket folders land there."""
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="dvt-")  # short: kernels put unix sockets below it
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.notebook
def test_two_different_sweeps_into_one_folder_at_once_never_mix(tmp_path):
    """Started together with different fixed values: each run's results match its own record."""
    out = tmp_path / "out"
    procs = [_start_sweep(out, {"b": b}, {"a": [1, 2]}) for b in (10, 20)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert any(p.returncode == 0 for p in procs), outputs
    for rid in ("a=1", "a=2"):
        record = json.loads((out / rid / "run.json").read_text())
        result = json.loads((out / rid / "result.json").read_text())
        assert record["status"] == "ok" and result["b"] == record["key"]["parameters"]["b"]
        assert len((out / rid / "calls.log").read_text().split()) == 1  # run once, never replaced
    for proc, (stdout, stderr) in zip(procs, outputs):  # the loser was told, in one line or in its index
        assert proc.returncode == 0 or "RunConflictError" in stderr


def _kill_tree(pid: int) -> None:
    """SIGKILL a process and everything it started (its kernels): a crash, not a clean stop."""
    import psutil

    proc = psutil.Process(pid)
    family = [proc, *proc.children(recursive=True)]
    for p in family:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=30)


def _results(out: Path) -> dict[str, bytes]:
    return {f"{rid}/{name}": (out / rid / name).read_bytes() for rid in ("a=1", "a=2", "a=3", "a=4")
            for name in ("result.json", "result.nc")}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "out"
    index = sweep(ADD, GRID, out, workers=2, progress=False, export_html=False, fixed={"b": 7})
    assert list(index.status) == ["ok"] * 4, list(index.error)
    return out


@pytest.mark.notebook
@pytest.mark.xdist_group("sweep_kills")  # one worker computes the uninterrupted reference for both seeds
@pytest.mark.parametrize("seed", [0, 1])
def test_killed_sweep_resumes_to_the_uninterrupted_result(uninterrupted, tmp_path, kernel_tmp, seed):
    """Kill the sweep (and its kernels) at a random point, rerun: bit-identical results, done runs kept."""
    rng = random.Random(seed)
    finished_before_kill = rng.randint(0, 3)  # kill once this many runs have finished...
    extra_s = rng.uniform(0.0, 1.5)  # ...plus a random moment more
    out = tmp_path / "out"
    proc = _start_sweep(out, {"b": 7}, tmpdir=kernel_tmp)
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        done = [p for p in out.glob("*/run.json") if '"status": "ok"' in p.read_text(errors="replace")]
        if len(done) >= finished_before_kill:
            break
        time.sleep(0.05)
    time.sleep(extra_s)
    _kill_tree(proc.pid)
    proc.communicate()
    kept = {p.parent.name: p.read_text() for p in out.glob("*/run.json") if '"status": "ok"' in p.read_text()}

    index = sweep(ADD, GRID, out, workers=2, progress=False, export_html=False, fixed={"b": 7})
    assert set(index.status) <= {"ok", "skipped"}, list(index.error)
    assert _results(out) == _results(uninterrupted)
    for rid, record in kept.items():  # what had finished was not run again
        assert dict(zip(index.run_id, index.status))[rid] == "skipped"
        assert (out / rid / "run.json").read_text() == record

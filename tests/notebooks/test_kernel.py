"""How kernels start: environment, threads, a clean terminal, and retries when a kernel does not come up."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from dynvision.notebooks import run_notebook
from dynvision.notebooks.kernel import KernelSession, available_cores, nanny_environ, thread_env

from .conftest import FIXTURES

pytestmark = pytest.mark.notebook


def test_thread_env_and_nanny_environ_outside_a_worker():
    assert thread_env(3) == {"OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "3"}
    assert thread_env(None) == {}
    assert nanny_environ() == {}  # not in a Dask worker: a user's own settings stay
    assert available_cores() >= 1


def test_kernel_gets_its_threads_and_environment(notebook_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    record = run_notebook(notebook_copy("checks.ipynb"), tmp_path / "out", threads=1, export_html=False,
                          env={"DV_PLANTED": "yes", "MALLOC_TRIM_THRESHOLD_": None})
    assert record.ok, record.error
    env = json.loads((tmp_path / "out" / "env.json").read_text())
    assert env == {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MALLOC_TRIM_THRESHOLD_": None, "DV_PLANTED": "yes"}
    assert record.attempts == 1 and record.stderr == ""


def test_kernel_start_is_retried(flaky_kernels, notebook_copy, tmp_path, caplog):
    record = run_notebook(notebook_copy("checks.ipynb"), tmp_path / "out", kernel_name="flaky", export_html=False)
    assert record.ok, record.error
    assert record.attempts == 3 and flaky_kernels["flaky"].read_text() == "3"  # died twice, then started
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []  # handled: not logged


def test_kernel_that_never_starts_is_recorded_with_its_log(flaky_kernels, notebook_copy, tmp_path):
    record = run_notebook(notebook_copy("checks.ipynb"), tmp_path / "out", kernel_name="dead", start_attempts=2)
    assert record.status == "failed" and record.attempts == 2
    assert record.error.startswith("KernelStartError: the kernel did not start in 2 attempts; last: RuntimeError")
    assert "planted start-up failure 2" in record.error  # the kernel's own last words, from its log
    assert flaky_kernels["dead"].read_text() == "2"


def test_kernel_session_uses_ipc_sockets_in_a_private_folder():
    with KernelSession({"A": "1"}) as session:
        first, second = session.engine_kwargs(), session.engine_kwargs()
        folder = session.folder
        settings = second["config"]["RunKernelManager"]
        assert settings["transport"] == ("ipc" if os.name == "posix" else "tcp")
        assert settings["kernel_env"] == {"A": "1"} and settings["stderr_path"].endswith("kernel-2.log")
        assert first["config"]["RunKernelManager"]["connection_file"] != settings["connection_file"]
        assert len(str(folder)) < 60  # unix socket paths are limited to about 100 bytes
    assert not folder.exists()


def test_command_line_run_prints_nothing_on_stderr(tmp_path):
    """A correct run prints no warning: no kernel start-up or shutdown noise reaches the terminal."""
    out = subprocess.run([sys.executable, "-m", "dynvision.notebooks.cli", "notebook", "run",
                          str(FIXTURES / "add.ipynb"), "-p", "a", "2", "--out", str(tmp_path), "--no-progress"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert out.stdout.startswith("ok: ")

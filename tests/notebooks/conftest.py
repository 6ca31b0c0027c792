"""Fixtures for the tests of dynvision.notebooks: fixture notebooks and kernels that misbehave on purpose."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("papermill")
pytest.importorskip("distributed")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"


@pytest.fixture
def notebook_copy(tmp_path):
    """Copy a fixture notebook (and the helper module) into a fresh folder; return the copy's path."""
    import shutil

    def copy(name: str) -> Path:
        folder = tmp_path / "src"
        folder.mkdir(exist_ok=True)
        shutil.copy(FIXTURES / "warner.py", folder / "warner.py")
        return Path(shutil.copy(FIXTURES / name, folder / name))

    return copy


def write_kernelspec(root: Path, name: str, fail_first: int) -> Path:
    """A kernelspec ``name`` under ``root/kernels`` whose first ``fail_first`` starts die at once.

    The kernel's wrapper counts its starts in ``root/<name>.starts``; while the count is at most
    ``fail_first`` it writes a line on stderr and exits 1 (nbclient then reports "Kernel died
    before replying to kernel_info"), afterwards it runs ipykernel. ``fail_first=-1``: never starts.
    """
    spec_dir = root / "kernels" / name
    spec_dir.mkdir(parents=True)
    wrapper = spec_dir / "launch.py"
    wrapper.write_text(
        "import pathlib, sys\n"
        f"counter = pathlib.Path({str(root / (name + '.starts'))!r})\n"
        "n = int(counter.read_text()) + 1 if counter.exists() else 1\n"
        "counter.write_text(str(n))\n"
        f"if {fail_first} < 0 or n <= {fail_first}:\n"
        "    print(f'planted start-up failure {n}', file=sys.stderr)\n"
        "    sys.exit(1)\n"
        "from ipykernel import kernelapp\n"
        "kernelapp.launch_new_instance()\n")
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(wrapper), "-f", "{connection_file}"],
        "display_name": name, "language": "python"}))
    return root / f"{name}.starts"


@pytest.fixture
def flaky_kernels(tmp_path, monkeypatch):
    """Kernelspecs ``flaky`` (dies on its first 2 starts) and ``dead`` (never starts) on JUPYTER_PATH."""
    root = tmp_path / "jupyter"
    counters = {"flaky": write_kernelspec(root, "flaky", 2), "dead": write_kernelspec(root, "dead", -1)}
    monkeypatch.setenv("JUPYTER_PATH", str(root))
    return counters

"""Test helper: the repository built as a wheel and installed into a fresh venv (no editable finder).

Used by tests/test_package.py (an installed package runs from anywhere) and tests/test_readme.py
(``make run`` against an installed package). Imported by name: pytest puts tests/ on the path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_installed_venv(tmp: Path) -> Path:
    """Build a wheel of the repository and install it, without dependencies, into a fresh venv.

    The venv sees the project venv's dependencies through a ``.pth`` line (a plain path: the
    project's editable ``dynvision`` finder is not activated), so ``import dynvision`` there
    can only find the installed wheel.
    """
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "dynvision", src / "dynvision", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp / "wheels"),
                    str(src)], check=True, capture_output=True, text=True)
    wheel = next((tmp / "wheels").glob("dynvision-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, text=True)
    purelib = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    deps = [p for p in site.getsitepackages() if p.startswith(sys.prefix)] or [sysconfig.get_paths()["purelib"]]
    (Path(purelib) / "project-dependencies.pth").write_text("\n".join(deps) + "\n")
    return venv


def clean_env(tmp: Path) -> dict:
    """The environment without this checkout on the path, with a fresh home folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DYNVISION_DATA", "XDG_DATA_HOME")}
    (tmp / "home").mkdir(exist_ok=True)
    return {**env, "HOME": str(tmp / "home"), "PYTHONWARNINGS": "error::DeprecationWarning:dynvision"}


def mark_set_up(venv: Path, mode: str, root: Path = ROOT) -> Path:
    """Write the stamp ``scripts/setup.sh MODE`` leaves once it installed into ``venv``, so it skips pip."""
    digest = hashlib.sha1(b"".join((root / name).read_bytes() for name in ("pyproject.toml", "constraints.txt")))
    stamp = venv / f".dynvision-{mode}-{digest.hexdigest()[:12]}"
    stamp.touch()
    return stamp

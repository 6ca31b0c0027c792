"""The package: a small public API, no heavy imports and no side effects on import."""

import os
import subprocess
import sys

import dynvision


def test_public_api():
    for name in ("create_model", "list_models", "Simulation", "open_activations", "run_experiment",
                 "list_experiments"):
        assert name in dynvision.__all__
    assert callable(dynvision.create_model) and callable(dynvision.Simulation)


def test_import_is_light_and_has_no_side_effects(tmp_path):
    code = (
        "import sys, os; before = set(os.listdir('.')); import dynvision; "
        "dynvision.create_model('DyRCNNx2', input_dims=(2, 1, 8, 8)); dynvision.Simulation; dynvision.open_activations; "
        "heavy = [m for m in ('panel', 'holoviews', 'lightning', 'pytorch_lightning', 'papermill', 'bokeh') if m in sys.modules]; "
        "assert not heavy, heavy; assert set(os.listdir('.')) == before, set(os.listdir('.')) ^ before; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_environment_yml_declares_the_same_dependencies_as_pyproject():
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    name = lambda spec: re.split(r"[<>=\[ ;]", spec.strip(), maxsplit=1)[0].lower()  # noqa: E731
    wanted = {name(d) for d in project["dependencies"]} | {"pytest", "pytest-xdist", "playwright"}
    env = (root / "environment.yml").read_text()
    listed = {name(line.strip()[2:]) for line in env.splitlines()
              if line.strip().startswith("- ") and not line.strip().startswith("- -e")} - {"python", "pip", "pip:"}
    listed = {"dask" if n == "dask" else n for n in listed}
    missing = {n for n in wanted if n not in listed and n != "dask"}
    assert not missing, f"environment.yml lacks {sorted(missing)}"

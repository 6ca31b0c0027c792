"""The package: a small public API, no heavy imports and no side effects on import, and a wheel
that installs and runs from anywhere (pretrained models included)."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import dynvision
from wheel_venv import build_installed_venv, clean_env

ROOT = Path(__file__).resolve().parents[1]


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

    root = ROOT
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    name = lambda spec: re.split(r"[<>=\[ ;]", spec.strip(), maxsplit=1)[0].lower()  # noqa: E731
    wanted = {name(d) for d in project["dependencies"]} | {"pytest", "pytest-xdist", "playwright"}
    env = (root / "environment.yml").read_text()
    listed = {name(line.strip()[2:]) for line in env.splitlines()
              if line.strip().startswith("- ") and not line.strip().startswith("- -e")} - {"python", "pip", "pip:"}
    listed = {"dask" if n == "dask" else n for n in listed}
    missing = {n for n in wanted if n not in listed and n != "dask"}
    assert not missing, f"environment.yml lacks {sorted(missing)}"


# ------------------------------------------------------------------ an installed (non-editable) package
@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("install")
    return build_installed_venv(tmp), tmp


@pytest.mark.slow
def test_the_wheel_ships_the_pretrained_models_and_the_license(installed):
    venv, tmp = installed
    names = zipfile.ZipFile(next((tmp / "wheels").glob("*.whl"))).namelist()
    for model in ("dyrcnnx4-digits", "dyrcnnx4-digits-self"):
        for file in ("model.pt", "config.json", "metrics.json"):
            assert f"dynvision/pretrained/{model}/{file}" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "notebooks/", "data/")) for n in names)


@pytest.mark.slow
def test_an_installed_package_runs_an_experiment_from_anywhere(installed):
    venv, tmp = installed
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    env = clean_env(tmp)
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import dynvision; print(dynvision.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(venv)) and str(ROOT) not in where
    listed = subprocess.run([str(venv / "bin" / "dynvision"), "list", "pretrained"], cwd=elsewhere, env=env,
                            capture_output=True, text=True)
    assert listed.returncode == 0 and "dyrcnnx4-digits, dyrcnnx4-digits-self" in listed.stdout, listed.stderr
    run = subprocess.run([str(venv / "bin" / "dynvision"), "run", "contrast", "--set", "n_images=1", "--set",
                          "contrasts=0.5,1", "--set", "t_post=20", "--out", "results", "--no-figures", "--quiet"],
                         cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert run.stderr == "" and "dyrcnnx4-digits" in run.stdout
    assert (elsewhere / "results" / "contrast" / "activations" / "dyrcnnx4-digits.zarr").is_dir()

"""The contract between experiments and views: every experiment declares its metrics and figures.

Parametrised over the registry, so a new experiment is checked the moment it is registered: its
declared figures name kinds the views can draw and metrics it declares; a run computes every
declared metric and fit; the summary lists the declared summary metrics; nothing in the
experiments package imports the views.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dynvision.experiments as experiments
from dynvision.experiments import EXPERIMENTS, run_experiment

SMALL = dict(n_classes=10, input_dims=(1, 1, 16, 16), width=0.125, tff=2.0)
TINY = {"response": {"t_stim": 20.0}, "contrast": {"contrasts": (0.25, 0.5, 0.75, 1.0), "t_stim": 20.0},
        "duration": {"durations": (4.0, 10.0, 20.0)}, "interval": {"intervals": (4.0, 10.0, 20.0), "t_stim": 10.0}}


@pytest.fixture(scope="module")
def results():
    return {}


def _run(name, results):
    if name not in results:
        params = TINY.get(name, {})
        results[name] = run_experiment(name, model="DyRCNNx4", model_kwargs=SMALL, progress=False, n_images=2,
                                       t_pre=10.0, t_post=20.0, **params)
    return results[name]


@pytest.mark.parametrize("name", EXPERIMENTS.list())
def test_declared_figures_name_known_kinds_and_declared_metrics(name):
    from dynvision.views.figures import FIGURE_KINDS

    spec = EXPERIMENTS.get(name)
    declared = [m.name for m in spec.metric_specs]
    assert len(declared) == len(set(declared)), "a metric declared twice"
    assert spec.figure_specs, f"{name} declares no figure of its own"
    for figure in spec.figure_specs:
        assert figure.kind in FIGURE_KINDS, figure.kind
        assert set(figure.metrics) <= set(declared), (figure.name, figure.metrics)
        assert figure.caption and figure.title
        for fit in figure.fits:
            assert fit.metric in figure.metrics


@pytest.mark.parametrize("name", EXPERIMENTS.list())
def test_a_run_computes_every_declared_metric_and_fit(name, results):
    r = _run(name, results)
    spec = r.spec
    missing = [m.name for m in spec.metric_specs if m.name not in r.metrics]
    assert not missing, f"{name} declares metrics it does not compute: {missing}"
    for figure in spec.figure_specs:
        for fit in figure.fits:
            assert fit.available(r.metrics), (figure.name, fit.params)
            curve = fit.curve(r.metrics, spec.conditions[0])
            assert np.isfinite(curve.values).any()
    summary = r.summary()
    assert [c for c in summary.columns if c in r.metrics.data_vars] == spec.summary_metrics()


def test_summary_columns_come_from_the_declarations(results):
    r = _run("interval", results)
    assert list(r.summary().columns) == ["model", "area", "interval", "onset_latency", "peak_time", "peak_height",
                                         "p2_p1_ratio"]


def test_the_interval_ratio_says_what_it_holds(results):
    """P2/P1 near 1 means full recovery: the metric is not called 'suppression'."""
    r = _run("interval", results)
    assert "suppression" not in r.metrics and "p2_p1_ratio" in r.metrics
    declared = r.spec.metric_spec("p2_p1_ratio")
    assert declared.reference == 1.0 and "P2/P1" in declared.label
    assert "1 = full recovery" in r.metrics["p2_p1_ratio"].attrs["long_name"]


def test_a_stored_result_of_an_earlier_version_loads_with_the_new_name(results, tmp_path):
    r = _run("interval", results)
    r.save(tmp_path / "old")
    import xarray as xr

    tree = xr.open_datatree(tmp_path / "old" / "results.zarr", engine="zarr", consolidated=False).load()
    old = tree["metrics"].to_dataset().rename({"p2_p1_ratio": "suppression"})
    tree["metrics"] = xr.DataTree(old)
    tree.to_zarr(tmp_path / "old" / "results.zarr", mode="w", consolidated=False)
    again = experiments.ExperimentResult.load(tmp_path / "old")
    xr.testing.assert_allclose(again.metrics["p2_p1_ratio"], r.metrics["p2_p1_ratio"])


def test_the_experiments_package_does_not_import_the_views():
    for path in Path(experiments.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level: an import there would tie experiments to views
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(n.startswith("dynvision.views") for n in names), (path.name, names)
    code = "import sys, dynvision.experiments; assert not [m for m in sys.modules if m.startswith('dynvision.views')]"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_a_field_in_ms_is_also_taken_under_its_bare_name():
    from dataclasses import dataclass

    from dynvision.experiments.spec import ExperimentSpec

    @dataclass(frozen=True)
    class Waiting(ExperimentSpec):
        name = "waiting"
        t_wait_ms: float = 10.0

    assert Waiting.from_params(t_wait=5.0).t_wait_ms == 5.0 == Waiting.from_params(t_wait_ms=5.0).t_wait_ms
    with pytest.raises(TypeError, match="same parameter"):
        Waiting.from_params(t_wait=5.0, t_wait_ms=6.0)

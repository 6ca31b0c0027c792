"""Experiments: specs, stimuli, results schema, several models, storage, the CLI."""

import json

import numpy as np
import pytest
import xarray as xr

from dynvision.experiments import EXPERIMENTS, ExperimentResult, list_experiments, run_experiment
from dynvision.registry import UnknownNameError

SMALL = dict(n_classes=10, input_dims=(1, 1, 16, 16), width=0.125, tff=2.0)


def test_registry():
    assert list_experiments() == ["contrast", "duration", "interval", "response"]
    with pytest.raises(UnknownNameError, match=r"unknown experiment 'contrasts'.*did you mean 'contrast'"):
        run_experiment("contrasts", model="DyRCNNx2", model_kwargs=SMALL)


def test_spec_defaults_and_errors():
    spec = EXPERIMENTS.get("contrast")()
    assert spec.contrasts[0] == 0.1 and spec.contrasts[-1] == 1.0
    assert spec.asdict()["experiment"] == "contrast"
    with pytest.raises(UnknownNameError, match=r"'contrast_levels'.*'contrasts'"):
        EXPERIMENTS.get("contrast").from_params(contrast_levels=[0.5])
    with pytest.raises(ValueError, match="strictly increasing"):
        EXPERIMENTS.get("duration").from_params(durations=[10, 5])
    with pytest.raises(UnknownNameError, match="reduce"):
        EXPERIMENTS.get("response").from_params(reduce="max")


def test_stimulus_timing_follows_the_model_dt():
    from dynvision.models import create_model

    model = create_model("DyRCNNx2", **{**SMALL, "dt": 4.0, "trc": 8.0, "tff": 4.0, "tau": 10.0})
    stim = EXPERIMENTS.get("interval")(intervals=(8.0, 16.0), n_images=1).stimulus(model)
    assert float(stim.time[1] - stim.time[0]) == 4.0
    np.testing.assert_allclose(stim.onset2 - stim.stim_offset, stim.interval)
    with pytest.raises(ValueError, match=r"not a multiple of dt_ms=4"):
        EXPERIMENTS.get("duration")(durations=(2.0, 4.0)).stimulus(model)


@pytest.fixture(scope="module")
def contrast_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("contrast")
    return run_experiment("contrast", model="DyRCNNx4", model_kwargs=SMALL, out=out, progress=False,
                          n_images=2, contrasts=(0.25, 0.5, 0.75, 1.0), t_stim=20.0, t_post=40.0)


def test_result_schema(contrast_result):
    r = contrast_result
    assert r.responses.dims == ("model", "area", "sample", "time")
    assert r.responses["area"].values.tolist() == ["V1", "V2", "V4", "IT"]
    assert {"onset_latency", "peak_height", "nr_c50", "nr_n", "nr_r_max"} <= set(r.metrics.data_vars)
    assert r.metrics["peak_height"].dims == ("model", "area", "image", "contrast")
    assert r.metrics["nr_c50"].dims == ("model", "area")
    assert r.classifier is not None and r.classifier["accuracy"].dims == ("model", "time")
    summary = r.summary()
    assert list(summary.columns[:3]) == ["model", "area", "contrast"] and len(summary) == 4 * 4


def test_result_is_stored_and_reloads(contrast_result):
    path = contrast_result.path
    assert (path / "activations" / "DyRCNNx4.zarr").exists() and (path / "summary.csv").exists()
    info = json.loads((path / "spec.json").read_text())
    assert info["spec"]["contrasts"] == [0.25, 0.5, 0.75, 1.0]
    again = ExperimentResult.load(path)
    xr.testing.assert_allclose(again.metrics, contrast_result.metrics)
    xr.testing.assert_allclose(again.responses, contrast_result.responses)
    assert set(again.activations) == {"DyRCNNx4"}
    assert again.spec == contrast_result.spec


def test_rerun_reuses_the_stored_activations(contrast_result, monkeypatch):
    import dynvision.models.base as base

    calls = []
    original = base.RecurrentModel.run
    monkeypatch.setattr(base.RecurrentModel, "run", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    run_experiment("contrast", model="DyRCNNx4", model_kwargs=SMALL, out=contrast_result.path, progress=False,
                   n_images=2, contrasts=(0.25, 0.5, 0.75, 1.0), t_stim=20.0, t_post=40.0)
    assert calls == []  # reopened, not recomputed


def test_several_models_share_one_result_with_a_model_coordinate():
    r = run_experiment("response", model="DyRCNNx4", model_kwargs=SMALL, progress=False, n_images=1,
                       compare={"recurrence_type": ["full", "self"]}, t_stim=20.0, t_post=20.0)
    assert r.responses["model"].values.tolist() == ["recurrence_type=full", "recurrence_type=self"]
    assert r.metrics["onset_latency"].sizes["model"] == 2
    assert not np.allclose(r.responses.isel(model=0), r.responses.isel(model=1))


def test_models_given_as_a_mapping_and_dt_mismatch():
    from dynvision.models import create_model

    a = create_model("DyRCNNx2", **SMALL)
    b = create_model("DyRCNNx2", **{**SMALL, "dt": 1.0, "tau": 5.0, "trc": 6.0})
    with pytest.raises(ValueError, match="must share dt"):
        run_experiment("response", model={"a": a, "b": b}, progress=False)
    r = run_experiment("response", model={"first": a, "second": a}, progress=False, n_images=1, t_stim=10.0,
                       t_post=10.0)
    assert r.responses["model"].values.tolist() == ["first", "second"]


def test_unknown_model_lists_registered_and_pretrained():
    with pytest.raises(UnknownNameError, match=r"unknown model 'DyRCNN'.*'DyRCNNx4'"):
        run_experiment("response", model="DyRCNN")

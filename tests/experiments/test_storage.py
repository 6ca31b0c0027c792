"""A results folder never loses a run: models join a stored result, different runs are refused.

(Issue 14: ``dynvision run contrast --model B --out DIR`` used to replace model A's results.)
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from dynvision.experiments import ExperimentResult, ResultExistsError, resolve_models, run_experiment

SMALL = dict(n_classes=10, input_dims=(1, 1, 16, 16), width=0.125, tff=2.0)
PARAMS = dict(progress=False, n_images=1, t_pre=10.0, t_stim=20.0, t_post=20.0)


def run(out, model_kwargs=None, compare=None, overwrite=False, **params):
    return run_experiment("response", model="DyRCNNx4", model_kwargs=model_kwargs or SMALL, compare=compare,
                          out=out, overwrite=overwrite, **{**PARAMS, **params})


@pytest.fixture
def folder_with_a(tmp_path):
    run(tmp_path, compare={"recurrence_type": ["full"]})
    return tmp_path


def test_a_second_model_is_added_to_the_stored_result(folder_with_a):
    a = ExperimentResult.load(folder_with_a)
    b = run(folder_with_a, compare={"recurrence_type": ["self"]})
    assert b.labels == ["recurrence_type=full", "recurrence_type=self"]
    both = ExperimentResult.load(folder_with_a)
    assert both.labels == ["recurrence_type=full", "recurrence_type=self"]
    xr.testing.assert_allclose(both.responses.sel(model="recurrence_type=full"),
                               a.responses.sel(model="recurrence_type=full"))  # A's data kept as they were
    assert not np.allclose(both.responses.sel(model="recurrence_type=self"),
                           both.responses.sel(model="recurrence_type=full"))
    assert set(both.activations) == set(both.labels)
    summary = both.summary()
    assert summary["model"].unique().tolist() == both.labels
    info = json.loads((folder_with_a / "spec.json").read_text())
    assert set(info["models"]) == set(both.labels)


def test_rerunning_a_stored_model_replaces_only_its_own_entries(folder_with_a):
    run(folder_with_a, compare={"recurrence_type": ["self"]})
    again = run(folder_with_a, compare={"recurrence_type": ["full"]})
    assert again.labels == ["recurrence_type=self", "recurrence_type=full"]
    assert ExperimentResult.load(folder_with_a).responses.sizes["model"] == 2


def test_a_model_of_the_same_label_with_another_configuration_is_refused(folder_with_a):
    before = ExperimentResult.load(folder_with_a)
    store = folder_with_a / "activations" / "recurrence_type=full.zarr"
    stamp = sorted((p.name, p.stat().st_mtime_ns) for p in store.rglob("*") if p.is_file())
    with pytest.raises(ResultExistsError, match=r"recurrence_type=full.*another configuration.*width.*overwrite"):
        run(folder_with_a, model_kwargs={**SMALL, "width": 0.25}, compare={"recurrence_type": ["full"]})
    after = ExperimentResult.load(folder_with_a)
    xr.testing.assert_identical(after.responses, before.responses)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in store.rglob("*") if p.is_file()) == stamp  # untouched


def test_other_parameters_are_refused_and_overwrite_replaces(folder_with_a):
    with pytest.raises(ResultExistsError, match=r"other parameters \(t_stim: 20.0 stored, 30.0 now\)"):
        run(folder_with_a, compare={"recurrence_type": ["self"]}, t_stim=30.0)
    with pytest.raises(ResultExistsError, match="holds a 'response' result, not 'contrast'"):
        run_experiment("contrast", model="DyRCNNx4", model_kwargs=SMALL, out=folder_with_a, progress=False,
                       n_images=1, contrasts=[0.5, 1.0])
    replaced = run(folder_with_a, compare={"recurrence_type": ["self"]}, t_stim=30.0, overwrite=True)
    stored = ExperimentResult.load(folder_with_a)
    assert stored.labels == replaced.labels == ["recurrence_type=self"] and stored.spec.t_stim == 30.0
    assert sorted(p.name for p in (folder_with_a / "activations").iterdir()) == [
        ".recurrence_type=self.zarr.lock", "recurrence_type=self.zarr"]  # the store and its writer lock


def test_out_that_is_a_file_is_refused_before_any_work(tmp_path):
    target = tmp_path / "results.txt"
    target.write_text("my notes")
    with pytest.raises(ResultExistsError, match="is a file"):
        run(target)
    assert target.read_text() == "my notes"


def test_a_pretrained_model_with_changed_dynamics_is_not_labelled_as_the_pretrained_one():
    assert list(resolve_models("dyrcnnx4-digits")) == ["dyrcnnx4-digits"]
    assert list(resolve_models("dyrcnnx4-digits", {"tau": 10.0})) == ["dyrcnnx4-digits[tau=10.0]"]

"""Ensembles: one tree with a ``model`` dimension, one resumable store, members that must agree."""

import numpy as np
import pytest
import torch
import xarray as xr

import dynvision
from dynvision import Simulation, open_activations
from dynvision.io import check_store, store_status

from shared_helpers import make_stimulus


class StandInEnsemble:
    """Exactly the interface of dynvision.Ensemble that Simulation may use."""

    def __init__(self, models: dict):
        self.names, self.models = list(models), list(models.values())

    def __len__(self):
        return len(self.models)

    def __iter__(self):
        return iter(zip(self.names, self.models))

    def attrs(self):
        return {"kind": "seeds", "metric": "accuracy"}


def _member(seed, **kw):
    torch.manual_seed(seed)
    return dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(6, 1, 16, 16), width=0.25, **kw)


@pytest.fixture
def ensemble():
    return StandInEnsemble({"seed0": _member(0), "seed1": _member(1), "slow": _member(2, tau=10)})


def test_ensemble_tree_has_a_model_dimension_equal_to_single_runs(ensemble):
    stim = make_stimulus(n=3)
    tree = Simulation(ensemble, progress=False, batch_size=2).run(stim)
    assert tree["logits"].dims == ("model", "sample", "time", "class")
    assert tree["V1"]["activity"].dims == ("model", "sample", "time", "channel", "y", "x")
    assert tree["model"].values.tolist() == ["seed0", "seed1", "slow"]
    assert tree["stimulus"]["luminance"].dims == ("sample", "time", "channel", "y", "x")
    assert tree.attrs["models"] == ["seed0", "seed1", "slow"] and tree.attrs["ensemble"]["kind"] == "seeds"
    assert tree["V1"].attrs["tau_ms_per_model"] == [5.0, 5.0, 10.0]
    for name, model in ensemble:
        single = Simulation(model, progress=False, batch_size=2).run(stim)
        np.testing.assert_array_equal(tree["logits"].sel(model=name).values, single["logits"].values)
        np.testing.assert_array_equal(tree["V2"]["activity"].sel(model=name).values, single["V2"]["activity"].values)
    assert not np.array_equal(tree["logits"].sel(model="seed0"), tree["logits"].sel(model="seed1"))


def test_ensemble_streams_to_one_resumable_store(ensemble, tmp_path, monkeypatch):
    from dynvision.simulation.executor import Executor

    stim = make_stimulus(n=3)
    sim = Simulation(ensemble, progress=False, batch_size=2)
    reference = sim.run(stim)
    original, seen = Executor.run, []

    def crash(self, unit, frames):
        seen.append((unit.model, unit.start))
        if len(seen) == 4:
            raise RuntimeError("crash")
        return original(self, unit, frames)

    monkeypatch.setattr(Executor, "run", crash)
    with pytest.raises(RuntimeError):
        sim.run(stim, store=tmp_path / "ens.zarr")
    assert store_status(tmp_path / "ens.zarr")["units_done"] == 3  # units are (model, batch), batch-major
    seen.clear()
    monkeypatch.setattr(Executor, "run", lambda self, u, f: (seen.append((u.model, u.start)), original(self, u, f))[1])
    stored = sim.run(stim, store=tmp_path / "ens.zarr")
    assert seen == [(0, 2), (1, 2), (2, 2)]
    xr.testing.assert_identical(stored, reference)
    assert check_store(tmp_path / "ens.zarr").ok
    xr.testing.assert_identical(open_activations(tmp_path / "ens.zarr"), reference)


def test_members_must_agree(ensemble):
    stim = make_stimulus(n=2)
    bad = StandInEnsemble({"a": _member(0), "b": dynvision.create_model("DyRCNNx2", n_classes=3,
                                                                         input_dims=(6, 1, 16, 16), width=0.5)})
    with pytest.raises(ValueError, match=r"record areas of one shape: V1 is 9x\(16, 16\) in 'a' and 18x\(16, 16\) in 'b'"):
        Simulation(bad, progress=False).run(stim)
    dt = StandInEnsemble({"a": _member(0), "b": _member(0, dt=1)})
    with pytest.raises(ValueError, match=r"share dt: 'a' has 2.0, 'b' has 1.0"):
        Simulation(dt, progress=False).run(stim)
    classes = StandInEnsemble({"a": _member(0), "b": dynvision.create_model("DyRCNNx2", n_classes=4,
                                                                             input_dims=(6, 1, 16, 16), width=0.25)})
    with pytest.raises(ValueError, match=r"share n_classes: 'a' has 3, 'b' has 4"):
        Simulation(classes, progress=False).run(stim)
    x4 = StandInEnsemble({"a": _member(0), "b": dynvision.create_model("DyRCNNx4", n_classes=3,
                                                                        input_dims=(6, 1, 16, 16), width=0.125)})
    with pytest.raises(ValueError, match=r"share|no area|one shape"):
        Simulation(x4, progress=False).run(stim)
    dup = StandInEnsemble({"a": _member(0)})
    dup.names, dup.models = ["a", "a"], [_member(0), _member(1)]
    with pytest.raises(ValueError, match="unique"):
        Simulation(dup)
    with pytest.raises(TypeError, match="model \\(RecurrentModel\\) or an ensemble"):
        Simulation(object())


def test_ensemble_fingerprint_covers_members_and_names(ensemble):
    stim = make_stimulus(n=2)
    base = Simulation(ensemble, progress=False).plan(stim).fingerprint
    renamed = StandInEnsemble(dict(zip(["x", "seed1", "slow"], ensemble.models)))
    reordered = StandInEnsemble(dict(zip(ensemble.names[::-1], ensemble.models[::-1])))
    fewer = StandInEnsemble(dict(zip(ensemble.names[:2], ensemble.models[:2])))
    prints = {base} | {Simulation(e, progress=False).plan(stim).fingerprint for e in (renamed, reordered, fewer)}
    assert len(prints) == 4

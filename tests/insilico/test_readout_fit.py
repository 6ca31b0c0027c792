"""Readout fitting recovers a known readout; readout neurons work as units of in-silico analyses.

(The fitting code lives in ``dynvision.training.readout``; its tests sit with the in-silico tests
that use the fitted models.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dynvision
from dynvision.insilico import mei, unit_traces
from dynvision.layers import SpatioTemporalCore
from dynvision.training.readout import ReadoutModel, fit_readout

TRUE = {"a": {"mu": [[0.3, -0.2], [-0.4, 0.35], [0.0, 0.0]], "sigma": [[0.25], [0.35], [0.3]]},
        "b": {"mu": [[-0.1, -0.45], [0.45, 0.2]], "sigma": [[0.3], [0.25]]}}


@pytest.fixture(scope="module")
def core():
    torch.manual_seed(11)
    model = dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(4, 1, 8, 8), width=0.25)
    with torch.no_grad():
        model.areas["V1"].conv.bias.fill_(0.1)
    return model.eval()


def _truth(core) -> ReadoutModel:
    torch.manual_seed(1)
    true = ReadoutModel(core, {"a": 3, "b": 2}, area="V1")
    with torch.no_grad():
        for s, p in TRUE.items():
            r = true.readouts[s]
            r.set(mu=p["mu"], sigma=p["sigma"], features=torch.randn_like(r.features) * 2, bias=-0.5)
    return true.eval()


def _data(true, n=300, seed=0, average=False):
    g = torch.Generator().manual_seed(seed)
    data = {}
    for s in true.sessions:  # time-averaged responses: images held still; per step: a new frame each step
        x = torch.rand(n, 1, 1, 8, 8, generator=g).expand(-1, 4, -1, -1, -1) if average else \
            torch.rand(n, 4, 1, 8, 8, generator=g)
        with torch.no_grad():
            y = true(x, s)
        data[s] = (x, y.mean(1) if average else y)
    return data


@pytest.mark.parametrize("loss, average", [("mse", False), ("poisson", True)])
def test_fitting_recovers_the_readout_that_generated_the_responses(core, loss, average):
    true = _truth(core)
    data = _data(true, average=average)
    torch.manual_seed(2)
    fitted = ReadoutModel(core, {"a": 3, "b": 2}, area="V1")
    fit = fit_readout(fitted, data, loss=loss, epochs=100, lr=0.1, batch_size=30)
    assert fit.loss[-1] < fit.loss[0]
    for s in ("a", "b"):
        t, f = true.readouts[s], fitted.readouts[s]
        np.testing.assert_allclose(f.mu.detach(), t.mu.detach(), atol=0.06)
        np.testing.assert_allclose(f.sigma.detach(), t.sigma.detach(), rtol=0.2)
        for n in range(t.n_neurons):
            a, b = t.features[n].detach(), f.features[n].detach()
            assert float(a @ b / a.norm() / b.norm()) > (0.95 if average else 0.98), (s, n)  # averages tell less
        assert np.all(fit.correlation[s] > 0.99)
    assert fitted.core is core and not fitted.training


def test_the_core_trains_only_when_asked(core):
    true = _truth(core)
    data = {"a": _data(true, n=40)["a"]}
    before = {k: v.clone() for k, v in core.state_dict().items()}
    fit_readout(ReadoutModel(core, {"a": 3, "b": 2}, area="V1"), data, loss="mse", epochs=2)
    assert all(torch.equal(v, before[k]) for k, v in core.state_dict().items())
    own = dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(4, 1, 8, 8), width=0.25)
    w = own.areas["V1"].conv.weight.detach().clone()
    fit_readout(ReadoutModel(own, {"a": 3}, area="V1"), data, loss="mse", epochs=2, train_core=True)
    assert not torch.equal(own.areas["V1"].conv.weight, w)
    with pytest.raises(ValueError, match="dt_ms=3 differs"):
        ReadoutModel(core, {"a": 3}, area="V1", dt_ms=3)  # a model core has its own dt: never silently ignored
    with pytest.raises(ValueError, match="sessions"):
        fit_readout(ReadoutModel(core, {"a": 3}, area="V1"), {"c": data["a"]})
    with pytest.raises(ValueError, match=r"responses must be|\(N, T, 3\)"):
        fit_readout(ReadoutModel(core, {"a": 3}, area="V1"), {"a": (data["a"][0], data["a"][1][..., :2])})


def test_readout_neurons_are_units_and_models_round_trip(core, tmp_path):
    true = _truth(core)
    x = torch.rand(2, 4, 1, 8, 8)
    traces = unit_traces(true, x, ["readout:b:1", "readout:a:2"])
    with torch.no_grad():
        torch.testing.assert_close(traces[0], true(x[:1], "b")[0, :, 1])
        torch.testing.assert_close(traces[1], true(x[1:], "a")[0, :, 2])
    ds = mei(true, ["readout:a:0", "V1:0"], steps=5, progress=False)
    assert list(ds["unit"].values) == ["readout:a:0", "V1:0@4,4"] and np.all(ds["trace"][:, 0, -1] >= ds["trace"][:, 0, 0])
    back = ReadoutModel.load(true.save(tmp_path / "readout.pt"))
    with torch.no_grad():
        torch.testing.assert_close(back(x, "a"), true(x, "a"))


def test_a_spatiotemporal_core_carries_readouts():
    core = SpatioTemporalCore((1, 4), kernel_size=3, kernel_ms=6, dt_ms=2)
    model = ReadoutModel(core, {"s": 2}, input_dims=(5, 1, 8, 8), dt_ms=2)
    x = torch.rand(3, 5, 1, 8, 8)
    assert model(x, "s").shape == (3, 5, 2) and model.area_names == ["core"]
    traces = unit_traces(model, x[:1], ["readout:s:1"])
    torch.testing.assert_close(traces[0], model(x[:1], "s")[0, :, 1].detach())
    fit = fit_readout(model, {"s": (x, torch.rand(3, 2))}, loss="poisson", epochs=2)
    assert len(fit.loss) == 2

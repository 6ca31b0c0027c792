"""Results do not depend on dt: the default integrator converges at second order for a cascade."""

import pytest
import torch

import dynvision
from dynvision.testing import dt_convergence


def _builder(integrator: str, **kwargs):
    torch.manual_seed(0)
    kw = dict(n_classes=4, input_dims=(10, 1, 16, 16), width=0.125, tau=5.0, tff=0.0, trc=2.0,
              recurrence_type="full", skip=True, integrator=integrator, **kwargs)
    weights = dynvision.create_model("DyRCNNx4", dt=0.125, **kw).state_dict()

    def build(dt):
        model = dynvision.create_model("DyRCNNx4", dt=dt, **kw).double()
        model.load_state_dict(weights)
        return model

    return build


@pytest.fixture(scope="module")
def image():
    return torch.rand(1, 16, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def test_etd2_converges_at_second_order_on_a_recurrent_four_area_cascade(image):
    result = dt_convergence(_builder("etd2"), image)
    for area, orders in result["order"].items():
        assert min(orders) >= 1.8, (area, orders)
    assert max(result["error"][2.0].values()) < 0.01  # under 1 % of the peak at dt = 2 ms
    for area, latency in result["latency"][2.0].items():  # latencies agree within one step
        assert abs(latency - result["latency"][0.125][area]) < 2.0, area


def test_first_order_integrators_stay_first_order(image):
    for name in ("exponential", "euler"):
        result = dt_convergence(_builder(name), image)
        assert max(max(o) for o in result["order"].values()) < 1.4, name
        assert max(result["error"][2.0].values()) > 0.05, name  # what etd2 fixes


@pytest.mark.parametrize("mechanisms", [
    dict(adaptation=1.0, tau_adaptation=20.0, input_gain=1.0, tau_gain=30.0),
    dict(adaptation=0.5, adaptation_mode="subtractive", tau_adaptation=40.0, normalization=2.0,
         tau_normalization=8.0),
    dict(normalization=3.0, tau_normalization=4.0, normalization_mode="shunting", adaptation=1.0,
         adaptation_mode="shunting", tau_adaptation=30.0),
], ids=["adaptation+gain", "subtractive+normalization", "shunting"])
def test_second_order_holds_with_the_gain_mechanisms(image, mechanisms):
    result = dt_convergence(_builder("etd2", **mechanisms), image)
    for area, orders in result["order"].items():
        assert min(orders) >= 1.8, (area, orders)

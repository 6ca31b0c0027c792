"""The recurrence bound keeps each area's loop gain below the bound: stable by construction."""

import pytest
import torch

import dynvision
from dynvision.layers.bound import RecurrenceBound
from dynvision.layers.recurrence import make_recurrence


def true_norm(rec, iterations=100):
    u = torch.randn(1, rec.in_channels, *rec.size)
    for _ in range(iterations):
        z = u.requires_grad_(True)
        v = rec(z) - rec(torch.zeros_like(z))
        (u,) = torch.autograd.grad(v, z, v.detach())
        u = u.detach() / u.norm()
    with torch.no_grad():
        return float((rec(u) - rec(torch.zeros_like(u))).norm())


@pytest.mark.parametrize("kind", ["self", "full", "depthwise", "pointwise", "depthpointwise", "local"])
def test_scaled_recurrence_has_at_most_the_bound(kind):
    rec = make_recurrence(kind, 6, 6, kernel_size=3, size=(5, 5), init_scale=3.0)
    bound = RecurrenceBound(rec, 0.8)
    assert true_norm(rec) > 0.8  # the unscaled recurrence is too strong
    assert float(bound.scale().detach()) * true_norm(rec) == pytest.approx(0.8, rel=0.02)


def test_weak_recurrence_is_left_alone():
    rec = make_recurrence("full", 4, 4, kernel_size=3, size=(5, 5), init_scale=0.05)
    assert float(RecurrenceBound(rec, 0.9).scale().detach()) == 1.0


def test_bounded_model_settles_where_the_unbounded_one_explodes():
    kw = dict(n_classes=3, input_dims=(10, 1, 16, 16), width=0.25, trc=2.0)
    models = [dynvision.create_model("DyRCNNx4", recurrence_bound=b, **kw) for b in (None, 0.9)]
    with torch.no_grad():
        for m in models:
            for area in m.areas.values():
                area.conv.bias.fill_(0.1)
                area.recurrence.conv.weight.fill_(0.5)
    with pytest.raises(ValueError, match="does not settle"):
        models[0].steady_state()
    state = models[1].steady_state(tol=1e-6)
    assert all(torch.isfinite(a.v).all() and a.v.abs().max() < 100 for a in state.areas)


def test_gradients_flow_through_the_bound():
    m = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 8, 8), width=0.25, trc=2.0,
                               recurrence_bound=0.5)
    m.train()
    m(torch.rand(2, 4, 1, 8, 8)).sum().backward()
    assert all(a.recurrence.conv.weight.grad is not None for a in m.areas.values())
    assert sum(p.numel() for p in m.parameters()) == sum(
        p.numel() for p in dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 8, 8), width=0.25,
                                                  trc=2.0).parameters())


def test_bound_needs_additive_output_recurrence():
    with pytest.raises(ValueError, match="additive recurrence at the output"):
        dynvision.create_model("DyRCNNx2", input_dims=(4, 1, 8, 8), recurrence_bound=0.9,
                               recurrence_mode="multiplicative")


def test_bounded_model_moves_between_devices_and_dtypes():
    m = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 8, 8), width=0.25, trc=2.0,
                               recurrence_bound=0.5)
    m.to("cpu").double().float()  # nn.Module._apply must still be the module's own
    assert m(torch.rand(1, 4, 1, 8, 8)).shape == (1, 4, 3)


def test_limited_power_law_keeps_the_loop_stable_where_a_pure_one_explodes():
    # A supralinear area whose recurrence alone is below 1 in norm (0.8): at rest it is quiet, but a
    # drive that pushes activity up makes the power law's slope, and so the loop gain, exceed 1.
    kw = dict(n_classes=3, input_dims=(10, 1, 16, 16), width=0.25, trc=2.0, activation="supralinear",
              supralinearity=2.0)
    pure = dynvision.create_model("DyRCNNx4", **kw)
    limited = dynvision.create_model("DyRCNNx4", supralinear_limit=0.5, recurrence_bound=0.9, **kw)
    assert limited.areas["V1"].bound.bound == pytest.approx(0.9)  # slope 2 * 0.5 = 1
    for m in (pure, limited):
        with torch.no_grad():
            for area in m.areas.values():
                area.conv.bias.fill_(0.5)
                area.recurrence.conv.weight.fill_(0.0)
                area.recurrence.conv.weight[:, :, 1, 1] = torch.eye(area.recurrence.conv.weight.shape[0]) * 0.8
    with pytest.raises(ValueError, match="does not settle"):
        pure.steady_state()
    state = limited.steady_state(tol=1e-6)
    assert all(torch.isfinite(a.v).all() for a in state.areas)
    # V1 under the blank screen: r = phi(0.5 + 0.8 r) with phi(x) = 0.25 + (x - 0.5) above 0.5, so r = 1.25
    torch.testing.assert_close(state.areas[0].v, torch.full_like(state.areas[0].v, 1.25), atol=1e-4, rtol=0)

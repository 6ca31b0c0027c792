"""run_sequence: the masked objective, truncated BPTT borders, idle steps, activity."""

from __future__ import annotations

import copy

import pytest
import torch

from dynvision.training.bptt import chunk_bounds, run_sequence
from dynvision.training.objectives import cross_entropy_per_step


def _inputs(model, batch=3, seed=0):
    t, c, h, w = model.input_dims
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, t, c, h, w, generator=g), torch.arange(batch) % model.n_classes


def test_chunk_bounds():
    assert chunk_bounds(0, 5, 0) == [(0, 5, False)]
    assert chunk_bounds(1, 5, 3) == [(0, 1, True), (1, 4, False), (4, 5, False)]
    with pytest.raises(ValueError, match="chunk_steps must be >= 0"):
        chunk_bounds(0, 5, -1)
    with pytest.raises(ValueError, match="no stimulus step"):
        chunk_bounds(5, 5, 0)


@pytest.mark.parametrize("chunk_steps", [0, 2])
def test_values_do_not_depend_on_chunking(tiny, chunk_steps):
    x, y = _inputs(tiny)
    mask = torch.tensor([False, True, False, True, True])
    result = run_sequence(tiny, x, y, mask, n_pre=1, chunk_steps=chunk_steps)
    with torch.no_grad():
        logits = tiny(x)
    assert torch.allclose(result.logits, logits, atol=1e-6)
    assert torch.allclose(result.cross_entropy, cross_entropy_per_step(logits, y)[mask].mean(), atol=1e-6)
    assert result.n_chunks == 1 + (1 if chunk_steps == 0 else 2)


def _input_grad(model, chunk_steps, n_pre=0):
    x, y = _inputs(model)
    x.requires_grad_(True)
    mask = torch.tensor([False, False, False, True, True])  # loss only in the last two steps
    run_sequence(model, x, y, mask, n_pre=n_pre, chunk_steps=chunk_steps, backward=torch.Tensor.backward)
    return x.grad.abs().sum(dim=(0, 2, 3, 4))  # per step


def test_gradients_do_not_cross_chunk_borders(tiny):
    # the logits at step k are the state at t_k, before frame k acts: the loss at steps 3-4 sees
    # frames 0-3, and the last frame acts only on the state after the run
    full = _input_grad(tiny, chunk_steps=0)
    assert torch.all(full[:4] > 0) and full[4] == 0  # without truncation the loss reaches frame 0
    truncated = _input_grad(tiny, chunk_steps=3)  # chunks [0, 3) and [3, 5)
    assert torch.all(truncated[:3] == 0)
    assert truncated[3] > 0 and truncated[4] == 0


def test_idle_steps_get_no_gradient(tiny):
    grad = _input_grad(tiny, chunk_steps=0, n_pre=2)
    assert torch.all(grad[:2] == 0) and torch.all(grad[2:4] > 0) and grad[4] == 0


@pytest.mark.parametrize("activity_weight", [0.0, 0.5])
def test_backward_per_chunk_or_once_gives_the_same_gradients(tiny, activity_weight):
    x, y = _inputs(tiny)
    mask = torch.tensor([False, True, True, True, True])
    grads = []
    for per_chunk in (True, False):
        model = copy.deepcopy(tiny)
        calls = []
        run_sequence(model, x, y, mask, chunk_steps=2, activity_weight=activity_weight,
                     backward=lambda loss: (calls.append(1), loss.backward()), backward_per_chunk=per_chunk)
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
        assert len(calls) == (3 if per_chunk else 1)
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for name in grads[0]:
        assert torch.allclose(grads[0][name], grads[1][name], atol=1e-6), name


def test_chunk_shares_add_up_to_the_mean_over_counted_steps(tiny):
    """The gradient of the chunked objective is the gradient of the plain masked mean."""
    x, y = _inputs(tiny)
    mask = torch.tensor([False, True, True, False, True])
    a = copy.deepcopy(tiny)
    run_sequence(a, x, y, mask, chunk_steps=0, backward=torch.Tensor.backward)
    b = copy.deepcopy(tiny)
    cross_entropy_per_step(b(x), y)[mask].mean().backward()
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        if pb.grad is not None:
            assert torch.allclose(pa.grad, pb.grad, atol=1e-6), name


def test_activity_is_the_mean_square_of_the_recorded_areas(tiny):
    x, y = _inputs(tiny)
    mask = torch.ones(5, dtype=torch.bool)
    result = run_sequence(tiny, x, y, mask, n_pre=1, chunk_steps=2, measure_activity=True)
    with torch.no_grad():
        rec = tiny.run(x, record=tiny.area_names).recordings
    expected = torch.stack([r[:, 1:].pow(2).mean() for r in rec.values()]).mean()
    assert torch.allclose(result.activity, expected, rtol=1e-5)
    assert run_sequence(tiny, x, y, mask).activity is None
    only_v1 = run_sequence(tiny, x, y, mask, n_pre=1, activity_areas=["V1"], measure_activity=True).activity
    assert torch.allclose(only_v1, rec["V1"][:, 1:].pow(2).mean(), rtol=1e-5)


def test_loss_adds_the_weighted_activity(tiny):
    x, y = _inputs(tiny)
    mask = torch.ones(5, dtype=torch.bool)
    r = run_sequence(tiny, x, y, mask, activity_weight=0.25)
    assert torch.allclose(r.loss, r.cross_entropy + 0.25 * r.activity)
    assert set(r.metrics()) == {"loss", "cross_entropy", "acc_last", "acc_valid", "activity"}


def test_errors(tiny):
    x, y = _inputs(tiny)
    with pytest.raises(ValueError, match="one entry per step"):
        run_sequence(tiny, x, y, torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="nothing to learn"):
        run_sequence(tiny, x, y, torch.zeros(5, dtype=torch.bool), backward=torch.Tensor.backward)
    with pytest.raises(ValueError, match="activity_weight"):
        run_sequence(tiny, x, y, torch.ones(5, dtype=torch.bool), activity_weight=-1.0)
    with pytest.raises(ValueError, match="unknown area"):
        run_sequence(tiny, x, y, torch.ones(5, dtype=torch.bool), activity_areas=["V9"], activity_weight=1.0)


def _resting_penalty(model, x, n_pre, k):
    """The resting activity written independently: run the grey, keep the last k steps' graph."""
    with torch.no_grad():
        state = model.run(x[:, : n_pre - k]).state
    rec = model.run(x[:, n_pre - k: n_pre], state.detach(), record=model.area_names).recordings
    return torch.stack([r.pow(2).mean() for r in rec.values()]).mean()  # (B, k, C, H, W) per area


def test_rest_penalty_is_the_resting_activity_and_reaches_the_biases(tiny):
    x, y = _inputs(tiny)
    x[:, :3] = 0.5  # three grey steps, then the images
    mask = torch.tensor([False, False, False, True, True])
    with torch.no_grad():  # a resting level above zero (at zero biases the grey drives nothing)
        for name, p in tiny.named_parameters():
            if name.endswith("conv.bias"):
                p.fill_(0.2)
    other, start = copy.deepcopy(tiny), copy.deepcopy(tiny)
    r = run_sequence(tiny, x, y, mask, n_pre=3, rest_weight=2.0, rest_steps=2, backward=torch.Tensor.backward)
    plain = run_sequence(copy.deepcopy(other), x, y, mask, n_pre=3)
    # loss = cross-entropy + 2 * mean square activity over the last two grey steps
    expected = _resting_penalty(other, x, 3, 2)
    assert expected > 0.005 and torch.allclose(r.rest, expected.detach(), rtol=1e-5)
    assert torch.allclose(r.loss, plain.cross_entropy + 2.0 * expected.detach(), rtol=1e-5)
    assert "rest_activity" in r.metrics() and "rest_activity" not in plain.metrics()
    # the gradients are those of cross-entropy + 2 * that penalty, computed separately
    ce = run_sequence(other, x, y, mask, n_pre=3, backward=torch.Tensor.backward)
    assert torch.allclose(ce.cross_entropy, r.cross_entropy)
    (2.0 * _resting_penalty(other, x, 3, 2)).backward()
    for (name, pa), (_, pb) in zip(tiny.named_parameters(), other.named_parameters()):
        if pa.grad is None:
            assert pb.grad is None or not pb.grad.any(), name
            continue
        assert torch.allclose(pa.grad, pb.grad, atol=1e-6), name
    # the penalty pulls V1's biases down (a positive gradient), beyond what cross-entropy asks
    alone = copy.deepcopy(start)
    run_sequence(alone, x, y, mask, n_pre=3, backward=torch.Tensor.backward)
    extra = tiny.areas.V1.conv.bias.grad - alone.areas.V1.conv.bias.grad
    assert (extra > 0).all() and extra.sum() > 1e-3


def test_rest_penalty_alone_is_something_to_learn_and_needs_idle_steps(tiny):
    x, y = _inputs(tiny)
    none = torch.zeros(5, dtype=torch.bool)
    result = run_sequence(tiny, x, y, none, n_pre=2, rest_weight=1.0, backward=torch.Tensor.backward)
    assert result.n_chunks == 2 and result.rest > 0  # all 2 idle steps penalised (rest_steps capped at n_pre)
    with pytest.raises(ValueError, match="rest_weight=1.0 .*n_pre=0"):
        run_sequence(tiny, x, y, torch.ones(5, dtype=torch.bool), rest_weight=1.0)
    with pytest.raises(ValueError, match="rest_weight must be >= 0"):
        run_sequence(tiny, x, y, torch.ones(5, dtype=torch.bool), n_pre=1, rest_weight=-1.0)

"""Recurrence types: parameter-count formulas, zero weights == none, topographic sheet."""

import pytest
import torch

import dynvision
from dynvision.layers.recurrence import RECURRENCES, expected_parameters, make_recurrence
from dynvision.layers.topographic import LocalLateral, radial_index, sheet_permutation
from dynvision.registry import UnknownNameError

TYPES = RECURRENCES.list()


def test_all_documented_types_are_registered():
    assert set(TYPES) == {"none", "self", "scalar", "full", "depthwise", "pointwise", "depthpointwise",
                          "pointdepthwise", "local", "localdepthwise"}


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("k", [3, 5])
def test_parameter_count_formula(kind, k):
    c = 9
    rec = make_recurrence(kind, c, c, kernel_size=k, size=(6, 6))
    assert sum(p.numel() for p in rec.parameters()) == expected_parameters(kind, c, c, k)


@pytest.mark.parametrize("kind", ["full", "pointwise", "depthpointwise", "pointdepthwise"])
def test_channel_mixing_types_change_channels(kind):
    rec = make_recurrence(kind, 6, 4, kernel_size=3, size=(5, 5))
    assert rec(torch.randn(2, 6, 5, 5)).shape == (2, 4, 5, 5)
    assert sum(p.numel() for p in rec.parameters()) == expected_parameters(kind, 6, 4, 3)


@pytest.mark.parametrize("kind", ["self", "scalar", "depthwise", "local", "localdepthwise"])
def test_per_channel_types_refuse_channel_change(kind):
    with pytest.raises(ValueError, match=rf"{kind}.*6 -> 4.*recurrence_target='output'"):
        make_recurrence(kind, 6, 4, kernel_size=3, size=(5, 5))


def test_scalar_is_self_with_one_weight_for_every_channel():
    """DynVision's ``self``: every unit of the area feeds back onto itself with the same weight."""
    scalar = make_recurrence("scalar", 5, 5, bias=True)
    per_channel = make_recurrence("self", 5, 5, bias=True)
    with torch.no_grad():
        scalar.weight.fill_(0.3)
        scalar.bias.fill_(-0.1)
        per_channel.weight.fill_(0.3)
        per_channel.bias.fill_(-0.1)
    h = torch.randn(2, 5, 4, 4)
    torch.testing.assert_close(scalar(h), 0.3 * h - 0.1)
    torch.testing.assert_close(scalar(h), per_channel(h))
    with torch.no_grad():
        per_channel.weight[2] = 0.7  # per channel can differ; scalar has nothing to differ with
    assert not torch.allclose(scalar(h), per_channel(h))
    assert [p.numel() for p in scalar.parameters()] == [1, 1]


def test_unknown_type_lists_valid():
    with pytest.raises(UnknownNameError, match=r"'fullish'.*'depthwise'.*did you mean 'full'"):
        make_recurrence("fullish", 4, 4)
    with pytest.raises(UnknownNameError, match=r"'fullish'.*did you mean 'full'"):
        dynvision.create_model("DyRCNNx2", recurrence_type="fullish", input_dims=(4, 1, 8, 8))


@pytest.mark.parametrize("kind", [t for t in TYPES if t != "none"])
def test_zero_recurrent_weights_equal_no_recurrence(kind):
    dims = dict(n_classes=3, input_dims=(6, 1, 16, 16), width=0.25, trc=2)
    torch.manual_seed(1)
    with_rec = dynvision.create_model("DyRCNNx2", recurrence_type=kind, **dims)
    plain = dynvision.create_model("DyRCNNx2", recurrence_type="none", **dims)
    plain.load_state_dict(with_rec.state_dict(), strict=False)
    with torch.no_grad():
        for area in with_rec.areas.values():
            for p in area.recurrence.parameters():
                p.zero_()
    x = torch.rand(2, 6, 1, 16, 16)
    a = with_rec.run(x, record=["V1", "V2"])
    b = plain.run(x, record=["V1", "V2"])
    for name in ("V1", "V2"):
        torch.testing.assert_close(a.recordings[name], b.recordings[name])
    torch.testing.assert_close(a.logits, b.logits)


@pytest.mark.parametrize("kind", [t for t in TYPES if t != "none"])
def test_nonzero_recurrence_changes_response(kind):
    dims = dict(n_classes=3, input_dims=(6, 1, 16, 16), width=0.25, trc=2)
    with_rec = dynvision.create_model("DyRCNNx2", recurrence_type=kind, **dims)
    plain = dynvision.create_model("DyRCNNx2", recurrence_type="none", **dims)
    plain.load_state_dict(with_rec.state_dict(), strict=False)
    x = torch.rand(2, 6, 1, 16, 16)
    a = with_rec.run(x, record=["V1"]).recordings["V1"]
    b = plain.run(x, record=["V1"]).recordings["V1"]
    torch.testing.assert_close(a[:, 0], b[:, 0])  # nothing to recur on in the first step
    assert not torch.allclose(a[:, -1], b[:, -1])


def test_sheet_permutation_is_a_bijection_with_mirrored_tiles():
    c, h, w = 7, 3, 4
    perm = sheet_permutation(c, h, w)
    gy, gx = 3, 3
    assert sorted(perm.tolist()) == list(range(gy * gx * h * w))
    layer = torch.arange(gy * gx).view(-1, 1, 1).expand(-1, h, w).reshape(-1)  # channel id per unit
    sheet = layer[perm].view(h * gy, w * gx)
    # neighbouring hypercolumns are mirror images: the border columns carry the same channels
    assert torch.equal(sheet[:, gx - 1], sheet[:, gx])
    assert torch.equal(sheet[gy - 1, :], sheet[gy, :])


def test_local_kernel_depends_on_distance_only():
    index, n = radial_index(5)
    assert n == 6
    lat = LocalLateral(4, (3, 3), kernel_size=5)
    k = lat.kernel()[0, 0]
    assert torch.equal(k, k.flip(0)) and torch.equal(k, k.flip(1)) and torch.equal(k, k.T)


def test_local_roundtrip_to_sheet():
    lat = LocalLateral(5, (4, 3), kernel_size=3)
    x = torch.randn(2, 5, 4, 3)
    torch.testing.assert_close(lat.from_sheet(lat.to_sheet(x)), x)


@pytest.mark.parametrize("kind", ["self", "full", "depthpointwise", "local"])
def test_excitatory_recurrence_keeps_every_weight_non_negative_through_training(kind):
    from dynvision.layers.recurrence import make_recurrence

    rec = make_recurrence(kind, 4, 4, kernel_size=3, size=(6, 6), sign="excitatory")
    opt = torch.optim.SGD(rec.parameters(), lr=10.0)
    for _ in range(3):  # large steps that would push weights negative
        opt.zero_grad()
        rec(torch.rand(2, 4, 6, 6)).sum().backward()
        opt.step()
    weights = [m.weight for m in rec.modules() if hasattr(m, "parametrizations")]
    assert weights and all(bool((w >= 0).all()) for w in weights)
    with pytest.raises(ValueError, match="unknown recurrence sign 'inhibitory'"):
        make_recurrence(kind, 4, 4, kernel_size=3, size=(6, 6), sign="inhibitory")

"""What counts as a weight is defined once; statistics, histograms and kernels all read it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import dynvision
from dynvision.analysis import weights as aw
from dynvision.registry import UnknownNameError

KW = {"n_classes": 3, "input_dims": (2, 1, 16, 16)}


def _conv_and_linear_numel(module: nn.Module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


def test_views_and_analysis_share_one_implementation():
    from dynvision.views import weights as vw

    assert vw.KINDS is aw.KINDS
    assert vw.collect_weights is aw.collect_weights and vw.kernel_weights is aw.kernel_weights


def test_statistics_count_what_the_histograms_count():
    model = dynvision.create_model("DyRCNNx4", **KW, width=0.125, feedback=True)
    stats = aw.weight_statistics(model)
    collected = aw.collect_weights(model)
    for area in model.area_names:
        for kind in aw.KINDS:
            expected = collected[area][kind].size if kind in collected[area] else 0
            assert stats["count"].sel(area=area, kind=kind).item() == expected
    assert {k for kinds in collected.values() for k in kinds} == set(aw.KINDS)


def test_normalisation_scales_are_not_weights():
    model = dynvision.create_model("ResNet18", n_classes=3, input_dims=(2, 3, 32, 32), width=0.0625)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.areas.modules())
    for area, kinds in aw.collect_weights(model).items():
        assert kinds["feedforward"].size == _conv_and_linear_numel(model.areas[area].conv)
    grouped = dynvision.create_model("DyRCNNx2", **KW, width=0.25, norm="group")
    assert aw.collect_weights(grouped)["V1"]["feedforward"].size == grouped.areas["V1"].conv.weight.numel()


def test_weight_normalised_layers_give_their_effective_weight():
    model = dynvision.create_model("CordsNet", n_classes=3, input_dims=(2, 3, 32, 32), width=0.0625)
    area = model.area_names[0]
    conv = model.areas[area].conv
    convs = [m for m in conv.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(hasattr(m, "parametrizations") for m in convs)
    with torch.no_grad():  # g != ||v||: the effective weight differs from v
        convs[0].parametrizations.weight.original0.mul_(3.0)
    got = aw.collect_weights(model)[area]["feedforward"]
    expected = np.concatenate([m.weight.detach().numpy().ravel() for m in convs])
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("rec, shape", [("self", (9, 1, 1, 1)), ("depthwise", (9, 1, 3, 3)),
                                        ("local", (1, 1, 3, 3)), ("full", (9, 9, 3, 3))])
def test_layer_kernels_hold_the_layer_weights(rec, shape):
    model = dynvision.create_model("DyRCNNx2", **KW, width=0.25, recurrence_type=rec)
    kernels = aw.layer_kernels(model, ["V1"])
    ff, recurrent = kernels
    assert (ff.kind, ff.name) == ("feedforward", "conv")
    np.testing.assert_array_equal(ff.weight, model.areas["V1"].conv.weight.detach().numpy())
    assert recurrent.kind == "recurrent" and recurrent.weight.shape == shape
    module = model.areas["V1"].recurrence
    if rec == "self":
        np.testing.assert_array_equal(recurrent.weight.ravel(), module.weight.detach().numpy())
    elif rec == "local":
        np.testing.assert_array_equal(recurrent.weight, module.lateral.kernel().detach().numpy())
    else:
        np.testing.assert_array_equal(recurrent.weight, module.conv.weight.detach().numpy())
    assert recurrent.depthwise == (rec in ("self", "depthwise"))


def test_layer_kernels_cover_connections_and_the_recurrence_bound():
    model = dynvision.create_model("DyRCNNx4", **KW, width=0.125, recurrence_bound=0.5)
    kernels = aw.layer_kernels(model, kinds=["skip", "recurrent"])
    skips = [k for k in kernels if k.kind == "skip"]
    assert [(k.area, k.name) for k in skips] == [("V4", "skip from V1.conv"), ("IT", "skip from V2.conv")]
    conn = next(c for c in model.connections if c.target == "V4")
    np.testing.assert_array_equal(skips[0].weight, conn.conv.weight.detach().numpy())
    rec = next(k for k in kernels if k.kind == "recurrent" and k.area == "V1")
    bound = model.areas["V1"].bound
    u = bound.u.clone()
    assert model.training and rec.scale == aw.layer_kernels(model, ["V1"], ["recurrent"])[0].scale  # no side effect
    torch.testing.assert_close(bound.u, u, rtol=0, atol=0)
    with torch.no_grad():
        assert rec.scale == pytest.approx(float(bound.eval().scale()), rel=1e-6) and rec.scale < 1
    with pytest.raises(UnknownNameError, match="'V3'"):
        aw.layer_kernels(model, ["V3"])
    with pytest.raises(UnknownNameError, match="'lateral'"):
        aw.layer_kernels(model, kinds=["lateral"])

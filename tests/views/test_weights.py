"""Weight figures: histograms count every weight of each area and kind; one kernel per channel."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

import dynvision
from dynvision.registry import UnknownNameError
from dynvision.views.weights import KINDS, collect_weights, conv_kernels, kernel_weights, weight_distributions

from .conftest import KW, MODEL
from .helpers import elements, panels, title


def expected_counts(model) -> dict[tuple[str, str], int]:
    out = {}
    for name, area in model.areas.items():
        out[(name, "feedforward")] = area.conv.weight.numel()
        rec = sum(p.numel() for n, p in area.recurrence.named_parameters() if not n.endswith("bias"))
        if rec:
            out[(name, "recurrent")] = rec
    for conn in model.connections:
        key = (conn.target, conn.kind)
        out[key] = out.get(key, 0) + conn.conv.weight.numel()
    return out


def test_collect_weights_takes_every_weight_by_area_and_kind(x4):
    got = {(a, k): v.size for a, kinds in collect_weights(x4).items() for k, v in kinds.items()}
    assert got == expected_counts(x4)
    assert set(k for _, k in got) <= set(KINDS) and {"feedforward", "recurrent", "skip"} <= {k for _, k in got}
    np.testing.assert_array_equal(collect_weights(x4)["V1"]["feedforward"],
                                  x4.areas["V1"].conv.weight.detach().numpy().ravel())


def test_histograms_count_every_weight_rows_kinds_columns_areas(x4):
    fig = weight_distributions(x4, bins=20)
    counts = expected_counts(x4)
    kinds = [k for k in KINDS if any(kk == k for _, kk in counts)]
    cells = panels(fig)
    assert len(cells) == len(kinds) * 4
    for i, cell in enumerate(cells):
        kind, area = kinds[i // 4], x4.area_names[i % 4]
        hists = elements(cell, hv.Histogram)
        if (area, kind) not in counts:
            assert isinstance(cell, hv.Empty)
            continue
        assert title(cell).startswith(f"{area} {kind}")
        assert len(hists) == 1 and len(hists[0].dimension_values("count")) == 20
        assert hists[0].dimension_values("count").sum() == counts[(area, kind)]


def test_bins_are_shared_within_a_kind(x4):
    cells = [c for c in panels(weight_distributions(x4, bins=10)) if not isinstance(c, hv.Empty)]
    ff = [elements(c, hv.Histogram)[0].edges for c in cells[:4]]
    assert all(np.array_equal(ff[0], e) for e in ff)
    everywhere = [elements(c, hv.Histogram)[0].edges for c in panels(weight_distributions(x4, share_bins="all"))
                  if not isinstance(c, hv.Empty)]
    assert all(np.array_equal(everywhere[0], e) for e in everywhere)


def test_several_models_are_overlaid_with_their_labels_as_densities():
    models = {r: dynvision.create_model(MODEL, **KW, recurrence_type=r) for r in ("full", "self")}
    fig = weight_distributions(models, areas=["V1", "IT"], kinds=["recurrent"])
    cells = panels(fig)
    assert len(cells) == 2
    for cell in cells:
        hists = elements(cell, hv.Histogram)
        assert [h.label for h in hists] == ["full", "self"]
        for h in hists:  # density: integrates to one
            assert np.sum(h.dimension_values("density") * np.diff(h.edges)) == pytest.approx(1.0)


def test_weight_distribution_errors(x4):
    with pytest.raises(UnknownNameError, match="'V3'"):
        weight_distributions(x4, areas=["V3"])
    with pytest.raises(UnknownNameError, match="'lateral'.*feedforward"):
        weight_distributions(x4, kinds=["lateral"])


def test_kernel_grid_has_one_image_per_output_channel_holding_its_kernel(x4):
    w = x4.areas["V2"].conv.weight.detach().numpy()
    fig = conv_kernels(x4, "V2")
    images = panels(fig)
    assert len(images) == w.shape[0] and all(isinstance(i, hv.Image) for i in images)
    for i, img in enumerate(images):
        np.testing.assert_allclose(np.flipud(img.dimension_values(2, flat=False)), w[i].mean(0), rtol=1e-6)
    one = panels(conv_kernels(x4, "V2", in_channel=3, max_channels=5))
    assert len(one) == 5
    np.testing.assert_allclose(np.flipud(one[2].dimension_values(2, flat=False)), w[2, 3], rtol=1e-6)


def test_kernel_colour_scale_is_symmetric_and_shared(x4):
    images = panels(conv_kernels(x4, "V1"))
    clims = {hv.Store.lookup_options("bokeh", i, "plot").kwargs["clim"] for i in images}
    (lo, hi), = clims
    assert lo == -hi == -np.abs(x4.areas["V1"].conv.weight.detach().numpy().mean(1)).max()


def test_recurrent_kernels_and_errors(x4):
    w = kernel_weights(x4, "V4", "recurrent")
    assert w.shape == tuple(x4.areas["V4"].recurrence.conv.weight.shape)
    assert len(panels(conv_kernels(x4, "V4", kind="recurrent"))) == w.shape[0]
    selfrec = dynvision.create_model(MODEL, **KW, recurrence_type="self")
    with pytest.raises(ValueError, match="no spatial recurrent kernel"):
        conv_kernels(selfrec, "V1", kind="recurrent")
    with pytest.raises(ValueError, match="in_channel=5 is out of range.*0..0"):
        conv_kernels(x4, "V1", in_channel=5)
    with pytest.raises(UnknownNameError, match="'V3'.*'V1'"):
        conv_kernels(x4, "V3")

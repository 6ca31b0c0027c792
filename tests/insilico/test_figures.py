"""In-silico figures draw exactly the data they are given: layer weights, masks, responses, MEIs, gradients."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest
import torch

import dynvision
from dynvision.analysis.weights import layer_kernels
from dynvision.insilico import gradient_grid, impulse_responses, mei
from dynvision.layers import GaussianReadout, SpatioTemporalConv
from dynvision.views import insilico as vi


def _tiles(image: np.ndarray, shape) -> np.ndarray:
    """Undo :func:`mosaic`: tile (o, i) sits at rows o (kh + 1) and columns i (kw + 1)."""
    o, i, kh, kw = shape
    return np.stack([np.stack([image[a * (kh + 1):a * (kh + 1) + kh, b * (kw + 1):b * (kw + 1) + kw]
                               for b in range(i)]) for a in range(o)])


def _images(fig):
    return [im for ax in fig.axes for im in ax.images]


@pytest.fixture
def x4():
    torch.manual_seed(0)
    return dynvision.create_model("DyRCNNx4", n_classes=3, input_dims=(4, 1, 16, 16), width=0.125,
                                  recurrence_type="depthwise")


def test_every_kernel_tile_is_the_layer_weight_of_its_channel_pair(x4):
    fig = vi.area_kernels_figure(x4, "V2")
    kernels = layer_kernels(x4, ["V2"])
    images = _images(fig)
    assert [k.kind for k in kernels] == ["feedforward", "recurrent"] and len(images) == 2
    ff = x4.areas["V2"].conv.weight.detach().numpy()
    np.testing.assert_array_equal(_tiles(images[0].get_array().filled(np.nan), ff.shape), ff)
    dw = x4.areas["V2"].recurrence.conv.weight.detach().numpy()  # (C, 1, 3, 3): one row of tiles
    np.testing.assert_array_equal(_tiles(images[1].get_array().filled(np.nan), (1, dw.shape[0], 3, 3))[0],
                                  dw[:, 0])
    for im, w in zip(images, (ff, dw)):
        assert im.get_clim() == (-np.abs(w).max(), np.abs(w).max())  # symmetric scale
        assert im.colorbar is not None
    skip = next(k for k in layer_kernels(x4, ["V4"]) if k.kind == "skip")
    (im,) = _images(vi.kernel_figure(skip))
    np.testing.assert_array_equal(_tiles(im.get_array().filled(np.nan), skip.weight.shape), skip.weight)


def test_spatiotemporal_panels_show_the_spatial_and_temporal_kernels_and_basis_weights():
    layer = SpatioTemporalConv(2, 3, 5, kernel_ms=12, dt_ms=2, n_frequencies=2)
    fig = vi.spatiotemporal_figure(layer, out_channel=2, in_channel=1)
    ax_s, ax_t, ax_b = fig.axes[:3]
    np.testing.assert_array_equal(ax_s.images[0].get_array(), layer.spatial_weight.detach().numpy()[2, 1])
    line = next(l for l in ax_t.lines if l.get_label() == "temporal kernel")
    np.testing.assert_allclose(line.get_xdata(), np.arange(6) * 2.0)
    np.testing.assert_allclose(line.get_ydata(), layer.temporal_kernel().detach().numpy()[2], rtol=1e-6)
    np.testing.assert_allclose([p.get_height() for p in ax_b.patches], layer.temporal_weight.detach().numpy()[2])


def test_readout_figures_show_the_mask_and_feature_weights_of_the_neuron():
    r = GaussianReadout(5, (8, 10), 4, anisotropic=True).set(correlation=[0.5, -0.5, 0.0, 0.3])
    fig = vi.readout_figure(r, 3)
    ax_m, ax_f = fig.axes[:2]
    np.testing.assert_allclose(ax_m.images[0].get_array(), r.mask().detach().numpy()[3], rtol=1e-6)
    np.testing.assert_allclose([p.get_height() for p in ax_f.patches], r.features.detach().numpy()[3])
    (ellipse,) = ax_m.patches
    mu = r.mu.detach().numpy()[3]
    assert ellipse.center == pytest.approx(((mu[0] + 1) * 5 - 0.5, (mu[1] + 1) * 4 - 0.5))
    over = vi.readout_overview(r)
    np.testing.assert_allclose(over.axes[1].images[0].get_array(), r.features.detach().numpy())
    assert len(over.axes[0].patches) == 4


def test_classifier_and_impulse_figures_draw_the_weights_and_responses(x4):
    (im,) = _images(vi.classifier_figure(x4))
    np.testing.assert_array_equal(im.get_array(), x4.classifier.weight.detach().numpy())
    tree = impulse_responses(x4, ["V1"], duration_ms=24)
    fig = vi.impulse_figure(tree, "V1")
    r = tree["V1"]["response"]
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.lines]
    assert len(panels) == r.sizes["channel"]
    for c, ax in enumerate(panels):
        on, off = [l for l in ax.lines if l.get_label() in ("on", "off")]
        np.testing.assert_array_equal(on.get_ydata(), r.sel(polarity="on").isel(channel=c).values)
        np.testing.assert_array_equal(off.get_ydata(), r.sel(polarity="off").isel(channel=c).values)
        np.testing.assert_array_equal(on.get_xdata(), r["time"].values)


def test_mei_figures_show_each_units_best_start_and_its_trace(x4):
    ds = mei(x4, ["V1:0", "V2:1", "output:2"], n_starts=2, steps=3, progress=False)
    fig = vi.mei_figure(ds)
    images = _images(fig)
    assert len(images) == 3
    for k, label in enumerate(ds["unit"].values):
        best = int(ds["best_start"].sel(unit=label))
        np.testing.assert_array_equal(images[k].get_array(), ds["mei"].sel(unit=label, start=best).values[0])
        assert fig.axes[k].get_title().startswith(label)
    traces = vi.mei_trace_figure(ds).axes[0].lines
    assert len(traces) == 6
    np.testing.assert_array_equal(traces[1].get_ydata(), ds["trace"].isel(unit=0, start=1).values)
    view = vi.mei_view(ds)
    assert isinstance(view, hv.HoloMap) and list(view.keys()) == list(ds["unit"].values)
    np.testing.assert_array_equal(np.flipud(view["V2:1@4,4"].dimension_values(2, flat=False)),
                                  ds["mei"].sel(unit="V2:1@4,4", start=int(ds["best_start"][1])).values[0])


def test_gradient_grid_figures_draw_the_response_map_and_the_gradient_field():
    model = dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(4, 2, 8, 8), width=0.25)
    ds = gradient_grid(model, torch.rand(2, 8, 8), "V1:0", start=-1, stop=1, step=0.5, progress=False)
    ax = vi.gradient_grid_figure(ds).axes[0]
    mesh, quiver = ax.collections[0], ax.collections[1]
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(5, 5), ds["response"].values.T)
    np.testing.assert_allclose(quiver.U.reshape(5, 5), ds["gradient"].values[0])
    np.testing.assert_allclose(quiver.V.reshape(5, 5), ds["gradient"].values[1])
    overlay = vi.gradient_grid_view(ds)
    image, field = overlay.Image.I, overlay.VectorField.I
    np.testing.assert_allclose(image.dimension_values(2, flat=False), ds["response"].values.T)  # rows: b ascending
    angle = np.arctan2(ds["gradient"].values[1], ds["gradient"].values[0]).ravel()
    np.testing.assert_allclose(field.dimension_values("angle"), angle)


def test_figures_save_as_png_and_svg(tmp_path, x4):
    paths = vi.save_figure(vi.classifier_figure(x4), tmp_path / "sub" / "classifier", ("png", "svg"))
    assert [p.name for p in paths] == ["classifier.png", "classifier.svg"] and all(p.stat().st_size > 1000 for p in paths)

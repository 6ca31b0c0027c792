"""Hex and ensemble views: the values drawn are the values given, at the places the lattice puts them."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest
import xarray as xr

from dynvision.ensemble import cluster_models
from dynvision.layers.hexgrid import HexLattice, hex_to_pixel, placement
from dynvision.stimuli import render_hex
from dynvision.validation import InvalidValueError
from dynvision.views import cluster_embedding, ensemble_responses, hex_scatter, lattice_illustration

from .helpers import curves, elements


def test_hex_scatter_draws_each_receptor_value_in_its_cell():
    rec = render_hex(np.random.default_rng(0).random((24, 24)), extent=3, kernel_size=4)
    fig = hex_scatter(rec, title="eye")
    assert isinstance(fig, hv.Polygons)
    paths = fig.split()
    assert len(paths) == 37
    x, y = hex_to_pixel(rec.u.values, rec.v.values)
    for i, poly in enumerate(paths):
        verts = poly.array([0, 1])
        assert verts.shape[0] in (6, 7)
        np.testing.assert_allclose(verts[:6].mean(0), [x[i], -y[i]], atol=1e-9)  # cell centred on its receptor (y up)
        assert poly.dimension_values("value")[0] == pytest.approx(float(rec.values[i]))
        assert poly.dimension_values("u")[0] == rec.u.values[i]
    opts = hv.Store.lookup_options("bokeh", fig, "style").kwargs | hv.Store.lookup_options("bokeh", fig, "plot").kwargs
    assert opts["cmap"] == "gray" and tuple(opts["clim"]) == (0.0, 1.0) and opts["colorbar"] is True


def test_signed_values_get_a_diverging_map_centred_at_zero():
    values = np.linspace(-0.2, 0.8, 19)
    fig = hex_scatter(values)
    opts = hv.Store.lookup_options("bokeh", fig, "style").kwargs | hv.Store.lookup_options("bokeh", fig, "plot").kwargs
    assert opts["cmap"] == "RdBu_r" and tuple(opts["clim"]) == (-0.8, 0.8)
    with pytest.raises(InvalidValueError, match=r"one value per receptor"):
        hex_scatter(render_hex(np.zeros((2, 16, 16)), extent=2, kernel_size=4))


def test_lattice_illustration_puts_centres_and_boxes_where_the_renderer_averages():
    frame = np.random.default_rng(1).random((40, 60))
    fig = lattice_illustration(frame, extent=4, kernel_size=5)
    (image,) = elements(fig, hv.Image)
    (points,) = elements(fig, hv.Points)
    (boxes,) = elements(fig, hv.Rectangles)
    lattice = HexLattice(4)
    p = placement(lattice.canvas(5), frame.shape, "crop")
    centres = lattice.to_pixels(5)
    np.testing.assert_allclose(points.dimension_values("x"), p.offset_x + p.scale_x * centres[:, 0])
    np.testing.assert_allclose(points.dimension_values("y"), 40 - (p.offset_y + p.scale_y * centres[:, 1]))
    widths = boxes.dimension_values("x1") - boxes.dimension_values("x0")
    np.testing.assert_allclose(widths, p.scale_x * 5)
    np.testing.assert_allclose(image.dimension_values("luminance", flat=False)[::-1], frame)  # row 0 on top


def _ensemble_data():
    t = np.arange(0.0, 40.0, 2.0)
    up = [np.exp(-((t - 10) / 5) ** 2) * a for a in (1.0, 1.1, 0.9)]
    down = [-np.exp(-((t - 25) / 5) ** 2) * a for a in (1.0, 1.2, 0.95)]
    names = ["a", "b", "c", "d", "e", "f"]
    return xr.DataArray(np.stack(up + down), dims=("model", "time"), coords={"model": names, "time": t}, name="IT")


def test_ensemble_responses_draw_each_models_curve_in_its_colour():
    resp = _ensemble_data()
    colours = {n: f"#0000{i:02x}" for i, n in enumerate(resp.model.values)}
    fig = ensemble_responses(resp, colors=colours)
    got = curves(fig)
    assert set(got) == set(resp.model.values) and list(got)[-1] == "a"  # the first (best) model on top
    for name, c in got.items():
        np.testing.assert_allclose(c.dimension_values("response"), resp.sel(model=name).values)
        np.testing.assert_allclose(c.dimension_values("time"), resp.time.values)
        assert hv.Store.lookup_options("bokeh", c, "style").kwargs["color"] == colours[name]


def test_ensemble_responses_per_cluster():
    resp = _ensemble_data()
    clustering = cluster_models(resp, embedding="pca", task_error=dict(zip("abcdef", [.1, .2, .3, .05, .4, .5])))
    fig = ensemble_responses(resp, clustering=clustering)
    assert isinstance(fig, hv.Layout) and len(fig) == clustering.k == 2
    for c, panel in enumerate(fig):
        got = curves(panel)
        assert set(got) == set(clustering.members(c))
        best = clustering.best()[c]
        widths = {n: hv.Store.lookup_options("bokeh", cv, "style").kwargs["line_width"] for n, cv in got.items()}
        assert widths[best] == max(widths.values()) and list(widths.values()).count(widths[best]) == 1
    emb = cluster_embedding(clustering)
    pts = elements(emb, hv.Points)
    assert sorted(v for p in pts for v in p.dimension_values("model")) == sorted(resp.model.values)
    np.testing.assert_allclose(pts[0].dimension_values("x"), clustering.embedding[clustering.labels == 0, 0])
    with pytest.raises(InvalidValueError, match=r"a DataArray \(model, time\): select one unit"):
        ensemble_responses(resp.expand_dims(sample=2))

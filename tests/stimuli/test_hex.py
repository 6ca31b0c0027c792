"""The hexagonal receptor lattice: exact geometry, rendering of known patterns, and the way back."""

import math

import numpy as np
import pytest
import torch
import xarray as xr
from scipy.spatial import cKDTree

from dynvision.stimuli import HexLattice, HexRenderer, hex_to_image, hex_to_pixel, pixel_to_hex, render_hex
from dynvision.stimuli.hex import extent_of, n_receptors, round_hex
from dynvision.validation import InvalidValueError


@pytest.mark.parametrize("extent, count", [(0, 1), (1, 7), (2, 19), (3, 37), (5, 91), (8, 217), (15, 721)])
def test_receptor_count(extent, count):
    lattice = HexLattice(extent)
    assert len(lattice) == count == n_receptors(extent) and extent_of(count) == extent
    assert len(set(zip(lattice.u.tolist(), lattice.v.tolist()))) == count
    assert np.all(np.maximum(np.maximum(abs(lattice.u), abs(lattice.v)), abs(lattice.u + lattice.v)) <= extent)


def test_receptors_are_sorted_and_indexed():
    lattice = HexLattice(4)
    order = np.lexsort((lattice.v, lattice.u))
    assert np.array_equal(order, np.arange(len(lattice)))
    assert np.array_equal(lattice.index(lattice.u, lattice.v), np.arange(len(lattice)))
    assert lattice.index(5, 0) == -1 and lattice.index(3, 2) == -1 and lattice.index(2, 2) >= 0


@pytest.mark.parametrize("extent", [1, 4, 15])
def test_all_neighbours_are_equally_spaced(extent):
    """flyvis's BoxEye spaces neighbours d and 1.118 d; here every neighbour is d apart (within 1 %)."""
    d = 13.0
    xy = HexLattice(extent).to_pixels(kernel_size=d)
    tree = cKDTree(xy)
    dist, _ = tree.query(xy, k=7)  # itself and up to six neighbours
    nearest = dist[:, 1]
    np.testing.assert_allclose(nearest, d, rtol=0.01)
    pairs = tree.query_pairs(1.5 * d, output_type="ndarray")  # every pair closer than 1.5 d ...
    lengths = np.linalg.norm(xy[pairs[:, 0]] - xy[pairs[:, 1]], axis=1)
    np.testing.assert_allclose(lengths, d, rtol=0.01)  # ... is a neighbour pair at exactly d
    lattice = HexLattice(extent)
    axial_pairs = sum(int((lattice.index(lattice.u + du, lattice.v + dv) >= 0).sum()) for du, dv in ((1, 0), (0, 1), (1, -1)))
    assert len(pairs) == axial_pairs  # the short pairs are exactly the lattice's neighbour pairs
    interior = (np.abs(dist[:, 1:] - d) < 0.01 * d).sum(axis=1)
    assert interior.max() == 6


def test_flyvis_canvas_and_centres():
    lattice = HexLattice(15)
    assert lattice.canvas(13) == (351, 403)
    xy = lattice.to_pixels(13)
    assert xy[:, 0].min() >= 6.5 and xy[:, 0].max() <= 403 - 6.5
    assert xy[:, 1].min() >= 6.5 and xy[:, 1].max() <= 351 - 6.5
    assert np.sum(np.isclose(xy[:, 1], xy[lattice.index(0, 0), 1])) == 31  # 31 receptors across the middle


def test_pixel_conversions_round_trip_and_rounding():
    rng = np.random.default_rng(0)
    u, v = rng.integers(-9, 10, 50), rng.integers(-9, 10, 50)
    fu, fv = pixel_to_hex(*hex_to_pixel(u, v, 3.5), spacing=3.5)
    np.testing.assert_allclose(fu, u, atol=1e-12)
    np.testing.assert_allclose(fv, v, atol=1e-12)
    x, y = rng.uniform(-20, 20, (2, 500))
    ru, rv = round_hex(*pixel_to_hex(x, y, 2.0))
    lattice = HexLattice(25)  # large enough to hold every point's nearest receptor
    _, brute = cKDTree(lattice.positions(2.0)).query(np.stack([x, y], 1))
    assert np.array_equal(lattice.index(ru, rv), brute)  # cube rounding = nearest receptor


def _edge_frame(size, x0):
    """Bright (1) right of the vertical line x = x0 (pixel j spans [j, j + 1))."""
    h, w = size
    cols = np.arange(w)
    frame = np.clip(cols + 1 - x0, 0, 1)[None, :].repeat(h, 0)
    return frame.astype(np.float64)


def test_box_average_is_the_exact_area_fraction_of_an_edge():
    lattice = HexLattice(3)
    k = 5  # box edges fall inside pixels: weights are partial overlaps
    size = lattice.canvas(k)
    x0 = size[1] / 2 + 1.25  # an edge a quarter pixel into a column
    rec = render_hex(_edge_frame(size, x0), extent=3, kernel_size=k, fit="none")
    cx = lattice.to_pixels(k)[:, 0]
    expected = np.clip((cx + k / 2 - x0) / k, 0, 1)
    np.testing.assert_allclose(rec.values, expected, atol=1e-6)
    assert np.sum((expected > 0) & (expected < 1)) >= 4  # some boxes straddle the edge


def test_single_pixel_reaches_only_the_boxes_that_hold_it():
    k, d = 5, 4  # overlapping boxes, edges inside pixels
    lattice = HexLattice(2)
    h, w = lattice.canvas(k, d)
    i, j = h // 2 + 1, w // 2 + 2
    frame = np.zeros((h, w))
    frame[i, j] = 1.0
    rec = render_hex(frame, extent=2, kernel_size=k, spacing=d, fit="none").values
    cx, cy = lattice.to_pixels(k, d).T
    overlap_x = np.clip(np.minimum(j + 1, cx + k / 2) - np.maximum(j, cx - k / 2), 0, None)
    overlap_y = np.clip(np.minimum(i + 1, cy + k / 2) - np.maximum(i, cy - k / 2), 0, None)
    expected = overlap_x * overlap_y / k**2
    np.testing.assert_allclose(rec, expected, atol=1e-7)
    assert np.sum((expected > 0) & (expected < 1 / k**2 - 1e-9)) >= 1  # a box holds part of the pixel


@pytest.mark.parametrize("kernel", ["box", "gaussian"])
@pytest.mark.parametrize("fit", ["crop", "stretch", "none"])
def test_uniform_frames_render_uniform(kernel, fit):
    frames = np.full((2, 3, 48, 40), 0.7)
    rec = render_hex(frames, extent=4, kernel_size=5, kernel=kernel, fit=fit)
    np.testing.assert_allclose(rec.values, 0.7, atol=1e-6)


def test_batched_render_keeps_dims_coords_and_matches_frame_by_frame():
    rng = np.random.default_rng(1)
    stim = xr.DataArray(rng.random((3, 4, 1, 20, 24), dtype=np.float32), dims=("sample", "time", "channel", "y", "x"),
                        coords={"time": ("time", [0.0, 2.0, 4.0, 6.0], {"units": "ms"}), "contrast": ("sample", [0.1, 0.5, 1.0])},
                        attrs={"dt": 2.0}, name="stimulus")
    rec = render_hex(stim, extent=3, kernel_size=4, chunk=5)  # chunking does not change results
    assert rec.dims == ("sample", "time", "channel", "receptor") and rec.dtype == np.float32
    assert rec.contrast.values.tolist() == [0.1, 0.5, 1.0] and rec.time.attrs["units"] == "ms"
    assert rec.attrs["dt"] == 2.0 and rec.attrs["frame_size"] == [20, 24] and '"extent": 3' in rec.attrs["hex"]
    assert rec.u.dims == ("receptor",) and rec.sizes["receptor"] == 37
    one = render_hex(stim.values[2, 3, 0], extent=3, kernel_size=4)
    np.testing.assert_allclose(rec.values[2, 3, 0], one.values, atol=1e-6)
    tensor = render_hex(torch.from_numpy(stim.values[:, :, 0]), extent=3, kernel_size=4)
    assert tensor.dims == ("sequence", "frame", "receptor")


def test_crop_keeps_the_aspect_and_stretch_fills():
    lattice = HexLattice(2)
    hc, wc = lattice.canvas(4)
    wide = np.zeros((hc, 3 * wc))
    wide[:, : wc] = 1.0  # bright only in the left third: outside the cropped centre
    assert float(render_hex(wide, extent=2, kernel_size=4, fit="crop").max()) == 0.0
    assert float(render_hex(wide, extent=2, kernel_size=4, fit="stretch").max()) > 0.5


def test_renderer_is_differentiable_and_its_gradient_is_the_weights():
    renderer = HexRenderer(extent=2, kernel_size=4)
    x = torch.rand(3, 16, 16, requires_grad=True)
    out = renderer(x)
    assert out.shape == (3, 19)
    out[:, 5].sum().backward()
    op = renderer.operator((16, 16)).to_dense()
    torch.testing.assert_close(x.grad[0].flatten(), op[5])
    torch.testing.assert_close(op.sum(1), torch.ones(19))


def test_way_back_is_exact_for_linear_ramps():
    lattice = HexLattice(4)
    k = 6
    xy = lattice.to_pixels(k)
    values = 0.2 + 0.01 * xy[:, 0] - 0.004 * xy[:, 1]  # a linear ramp sampled at the receptors
    img = hex_to_image(values, size=lattice.canvas(k), kernel_size=k, fit="none", interpolation="linear")
    jj, ii = np.meshgrid(np.arange(img.sizes["x"]) + 0.5, np.arange(img.sizes["y"]) + 0.5)
    inner = np.hypot(jj - xy[lattice.index(0, 0), 0], ii - xy[lattice.index(0, 0), 1]) < 3.3 * k  # inside the hull
    np.testing.assert_allclose(img.values[inner], (0.2 + 0.01 * jj - 0.004 * ii)[inner], atol=1e-6)


def test_nearest_gives_hexagonal_cells_and_fill_marks_the_outside():
    lattice = HexLattice(2)
    k = 8
    size = lattice.canvas(k)
    img = hex_to_image(np.arange(19.0), size=size, kernel_size=k, fit="none", interpolation="nearest")
    xy = lattice.to_pixels(k)
    for r in range(19):  # each receptor's centre pixel shows its own value
        assert img.values[int(xy[r, 1]), int(xy[r, 0])] == r
    filled = hex_to_image(np.ones(19), size=size, kernel_size=k, fit="none", fill=0.5)
    assert filled.values[0, 0] == 0.5 and abs(filled.values[size[0] // 2, size[1] // 2] - 1) < 1e-6
    assert set(np.unique(filled.values.round(5))) == {0.5, 1.0}


def _orientation(img: np.ndarray) -> float:
    """Orientation (deg, 0 = horizontal, counter-clockwise) of the bright structure, by second moments."""
    w = np.clip(img - img.min(), 0, None)
    ii, jj = np.mgrid[: img.shape[0], : img.shape[1]]
    m = w.sum()
    cy, cx = (w * ii).sum() / m, (w * jj).sum() / m
    mu20, mu02 = (w * (jj - cx) ** 2).sum() / m, (w * (ii - cy) ** 2).sum() / m
    mu11 = (w * (jj - cx) * (ii - cy)).sum() / m
    return math.degrees(-0.5 * math.atan2(2 * mu11, mu20 - mu02)) % 180


def _bar(size, angle_deg, width=2.9, length=17.9):  # edges off pixel centres
    ii, jj = np.mgrid[:size, :size] + 0.5
    c = size / 2
    t = math.radians(angle_deg)
    along = (jj - c) * math.cos(t) - (ii - c) * math.sin(t)
    across = (jj - c) * math.sin(t) + (ii - c) * math.cos(t)
    return ((np.abs(across) <= width / 2) & (np.abs(along) <= length / 2)).astype(np.float64)


@pytest.mark.parametrize("angle", [0, 30, 45, 60, 90, 120, 150])
def test_a_bar_keeps_its_orientation_through_render_and_back(angle):
    bar = _bar(48, angle)
    assert abs(_orientation(bar) - angle) < 1.0  # the measure itself
    back = hex_to_image(render_hex(bar, extent=8, kernel_size=3, fit="crop"))
    assert back.shape == bar.shape
    diff = abs(_orientation(back.values) - angle)
    assert min(diff, 180 - diff) < 3.0


def test_uniform_frame_stays_uniform_through_render_and_back():
    for value in (0.0, 0.3, 1.0):
        back = hex_to_image(render_hex(np.full((2, 30, 26), value), extent=5, kernel_size=4))
        assert back.dims == ("frame", "y", "x") and back.shape == (2, 30, 26)
        np.testing.assert_allclose(back.values, value, atol=1e-6)


def test_errors():
    with pytest.raises(InvalidValueError, match=r"extent=-1 is invalid"):
        HexLattice(-1)
    with pytest.raises(InvalidValueError, match=r"n=20 is invalid: expected a receptor count"):
        extent_of(20)
    with pytest.raises(KeyError, match=r"unknown kernel 'disc'.*'box', 'gaussian'"):
        render_hex(np.zeros((8, 8)), kernel="disc")
    with pytest.raises(KeyError, match=r"unknown fit 'fill'"):
        render_hex(np.zeros((8, 8)), fit="fill")
    with pytest.raises(InvalidValueError, match=r"fit='none' is invalid.*falls outside"):
        render_hex(np.zeros((8, 8)), extent=15, kernel_size=13, fit="none")
    with pytest.raises(InvalidValueError, match=r"frames=.*last dims are \('y', 'x'\)"):
        render_hex(xr.DataArray(np.zeros((4, 4)), dims=("a", "b")))
    with pytest.raises(InvalidValueError, match=r"receptor count"):
        hex_to_image(np.zeros(20))


def test_pixels_beyond_the_lattice_take_their_nearest_receptor():
    lattice = HexLattice(2)
    k = 6
    h, w = lattice.canvas(k)
    size = (h + 20, w + 20)  # a margin of 10 pixels all round, wholly outside the lattice
    img = hex_to_image(np.arange(19.0), size=size, kernel_size=k, fit="none").values
    xy = lattice.to_pixels(k) + 10
    for i, j in [(0, 0), (0, size[1] - 1), (size[0] - 1, 0), (size[0] // 2, 0), (0, size[1] // 2)]:
        nearest = int(np.argmin(np.hypot(xy[:, 0] - (j + 0.5), xy[:, 1] - (i + 0.5))))
        assert img[i, j] == pytest.approx(nearest), (i, j)

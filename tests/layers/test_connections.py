"""Skip and feedback connections: resampling modes, bias, and the 1 x 1 mixing."""

import pytest
import torch
import torch.nn.functional as F

from dynvision.layers.connections import Connection, resample
from dynvision.layers.delay import History


def test_nearest_resampling_picks_the_top_left_pixel_of_each_block():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8)
    torch.testing.assert_close(resample(x, (2, 2), "nearest"), x[..., ::4, ::4], rtol=0, atol=0)
    torch.testing.assert_close(resample(x, (2, 2), "area"), F.avg_pool2d(x, 4), rtol=0, atol=0)
    up = resample(x[..., :2, :2], (4, 4), "nearest")
    torch.testing.assert_close(up, x[..., :2, :2].repeat_interleave(2, -2).repeat_interleave(2, -1))


@pytest.mark.parametrize("mode", ["area", "nearest"])
@pytest.mark.parametrize("sizes", [((6, 6), (2, 2)), ((2, 2), (6, 6))])
def test_connection_is_a_biased_1x1_convolution_of_the_resampled_source(mode, sizes):
    torch.manual_seed(0)
    (hin, win), (hout, wout) = sizes
    conn = Connection("A", "B", "skip", 5, 3, (hin, win), (hout, wout), delay=0, bias=True, resample=mode)
    with torch.no_grad():
        conn.conv.bias.copy_(torch.tensor([0.5, -1.0, 2.0]))
    h = torch.randn(2, 5, hin, win)
    w, b = conn.conv.weight[:, :, 0, 0], conn.conv.bias
    if hout < hin:
        small = h[..., ::3, ::3] if mode == "nearest" else F.avg_pool2d(h, 3)
    else:
        small = h.repeat_interleave(3, -2).repeat_interleave(3, -1)
    expected = torch.einsum("oc,bchw->bohw", w, small) + b.view(1, -1, 1, 1)
    torch.testing.assert_close(conn(h), expected, rtol=1e-5, atol=1e-6)
    assert Connection("A", "B", "skip", 5, 3, (2, 2), (2, 2), delay=0).conv.bias is None


def test_unknown_resample_mode_names_the_valid_ones():
    with pytest.raises(ValueError, match="'area', 'nearest'"):
        Connection("A", "B", "skip", 5, 3, (4, 4), (2, 2), delay=0, resample="bilinear")


def test_history_map_keeps_empty_slots_empty():
    h = History(None, 3)
    h.write(0, torch.ones(1))
    mapped = h.map(lambda t: t * 2)
    assert mapped.read(1, 1).item() == 2.0 and mapped.read(1, 2) is None

import pytest
import torch
import torch.nn.functional as F

from dynvision.layers.pool import MaxPool2d


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("k,s,p", [(3, 2, 1), (2, 2, 0), (3, 1, 1), (5, 3, 2)])
def test_equals_torch_max_pool(dtype, channels_last, k, s, p):
    x = torch.randn(2, 5, 17, 12).to(dtype)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(MaxPool2d(k, s, p)(x), F.max_pool2d(x, k, s, p), rtol=0, atol=0)


def test_gradient_reaches_the_maxima():
    x = torch.randn(1, 2, 8, 8, requires_grad=True)
    MaxPool2d(2, 2)(x).sum().backward()
    assert int((x.grad != 0).sum()) == 2 * 16

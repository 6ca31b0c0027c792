"""oneDNN's convolution with fused post-operations, for an area's target at inference.

``conv -> + other -> ReLU`` as one call (``torch.ops.mkldnn._convolution_pointwise``): the
addition and the rectification happen while the convolution's output is still in cache,
instead of two more passes over the area's largest tensors. :func:`ready` says where it may
run; everywhere else the plain operations run, with the same result
(:meth:`dynvision.layers.area.DynamicArea._fuse_rectification` decides which areas use it).
"""

from __future__ import annotations

import torch
from torch import nn

try:
    from torch.utils._python_dispatch import _get_current_dispatch_mode
except ImportError:  # pragma: no cover - older torch
    def _get_current_dispatch_mode():
        return None


def _available() -> bool:
    try:
        return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")
    except (AttributeError, RuntimeError):
        return False


AVAILABLE = _available()
BF16 = AVAILABLE and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def ready(x: torch.Tensor, *tensors) -> bool:
    """Can the fused convolution run on these tensors? Inference on the CPU only: the fused
    operation has no gradient, under autocast the plain operations keep autocast's precision
    rules, and under a dispatch mode (FLOP counting, fake tensors) they are the operations the
    mode knows."""
    if not AVAILABLE or x.device.type != "cpu" or torch.is_autocast_enabled("cpu"):
        return False
    if _get_current_dispatch_mode() is not None:
        return False
    if x.dtype == torch.bfloat16:
        # oneDNN's bf16 kernels need the CPU's bf16 support and channels-last input
        if not (BF16 and x.is_contiguous(memory_format=torch.channels_last)):
            return False
    elif x.dtype != torch.float32:
        return False
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, *tensors)):
        return False
    return all(t is None or t.dtype == x.dtype for t in tensors)


def conv_relu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, conv: nn.Conv2d,
              other: torch.Tensor | None = None) -> torch.Tensor:
    """``relu(conv(x) + other)`` (``relu(conv(x))`` without ``other``) with ``conv``'s padding,
    stride, dilation and groups, in one oneDNN call (check :func:`ready` first)."""
    args = (list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups)
    if other is None:
        return torch.ops.mkldnn._convolution_pointwise(x, weight, bias, *args, "relu", [], "")
    return torch.ops.mkldnn._convolution_pointwise(x, other, weight, bias, *args, "add", None, "relu", [], "")

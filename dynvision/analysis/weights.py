"""Weights of a model by area and kind: feedforward, recurrent, skip, feedback.

The one place that says what counts as a *weight* of an area (the weight histograms of
:mod:`dynvision.views.weights`, the kernel figures of :mod:`dynvision.views.insilico` and the
statistics here all read it):

- the ``weight`` of every convolution and linear layer, and of modules holding a weight of
  their own (self recurrence, the radial profile of topographic recurrence); weight-normalised
  layers contribute their *effective* weight (``g * v / ||v||``), not ``g`` and ``v``;
- never biases, time constants, or the scales of normalisation layers (BatchNorm, GroupNorm,
  LayerNorm, InstanceNorm): those rescale activity, they do not connect units;
- ``feedforward``: the area's feedforward module(s) (``conv``, ``conv2``; a whole ResNet stage);
  ``recurrent``: its recurrence, when the area runs it; ``skip`` and ``feedback``: the
  connections entering the area (a connection counts toward its *target*).

:func:`collect_weights` gives them as flat arrays, :func:`weight_statistics` as an
``xarray.Dataset`` (count, mean, std, mean magnitude), :func:`layer_kernels` as the 4-D kernel
of every layer, per (output, input) channel, for kernel figures.

Example:
    >>> import dynvision
    >>> model = dynvision.create_model("DyRCNNx2", input_dims=(2, 1, 8, 8), width=0.25)
    >>> stats = weight_statistics(model)
    >>> stats["count"].sel(area="V1", kind="recurrent").item()  # 9 channels, 3x3 full
    729
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr
from torch import nn

from dynvision.registry import UnknownNameError, check_choice, unknown_name_message

KINDS = ("feedforward", "recurrent", "skip", "feedback")
NORM_LAYERS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


def weight_tensors(module: nn.Module | None) -> list[tuple[str, torch.Tensor]]:
    """``(name, effective weight)`` of every weighted layer inside ``module`` (see module doc).

    Example:
        >>> [n for n, _ in weight_tensors(nn.Sequential(nn.Conv2d(1, 2, 3), nn.GroupNorm(1, 2)))]
        ['0']
    """
    if module is None:
        return []
    out = []
    for name, m in module.named_modules():
        if isinstance(m, NORM_LAYERS):
            continue
        weighted = isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)) or "weight" in m._parameters
        w = getattr(m, "weight", None) if weighted else None  # parametrised: the effective weight
        if w is not None:
            out.append((name, w))
    return out


def _area_modules(model, name: str) -> dict[str, list[tuple[str, nn.Module]]]:
    area = model.areas[name]
    parts: dict[str, list[tuple[str, nn.Module]]] = {k: [] for k in KINDS}
    parts["feedforward"] = [(n, m) for n in ("conv", "conv2") if (m := getattr(area, n, None)) is not None]
    if getattr(area, "has_recurrence", False):
        parts["recurrent"] = [("recurrence", area.recurrence)]
    for conn in getattr(model, "connections", []):
        if getattr(conn, "target", None) == name and getattr(conn, "kind", None) in KINDS:
            parts[conn.kind].append((f"{conn.kind} from {conn.source}", conn))
    return parts


def collect_weights(model) -> dict[str, dict[str, np.ndarray]]:
    """Every area's weights by kind: ``{area: {kind: flat array}}`` (empty kinds left out).

    Example:
        >>> import dynvision
        >>> m = dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(2, 1, 8, 8), width=0.25)
        >>> w = collect_weights(m)
        >>> w["V1"]["feedforward"].size == m.areas["V1"].conv.weight.numel()
        True
    """
    out: dict[str, dict[str, np.ndarray]] = {}
    for name in model.areas:
        kinds = {}
        for kind, modules in _area_modules(model, name).items():
            flat = [w.detach().float().cpu().numpy().ravel() for _, m in modules for _, w in weight_tensors(m)]
            if flat:
                kinds[kind] = np.concatenate(flat)
        out[name] = kinds
    return out


def weight_values(model) -> dict[tuple[str, str], np.ndarray]:
    """Flat weight arrays by ``(area, kind)``; kinds without weights are left out."""
    return {(a, k): w for a, kinds in collect_weights(model).items() for k, w in kinds.items()}


def weight_statistics(model) -> xr.Dataset:
    """Count, mean, std and mean |w| per area and kind (NaN where an area has none)."""
    values = weight_values(model)
    areas = list(model.areas.keys())
    shape = (len(areas), len(KINDS))
    stats = {k: np.full(shape, np.nan) for k in ("mean", "std", "mean_abs")}
    count = np.zeros(shape, dtype=np.int64)
    for (area, kind), w in values.items():
        i, j = areas.index(area), KINDS.index(kind)
        count[i, j] = w.size
        stats["mean"][i, j], stats["std"][i, j], stats["mean_abs"][i, j] = w.mean(), w.std(), np.abs(w).mean()
    coords = {"area": np.array(areas, dtype=object), "kind": np.array(KINDS, dtype=object)}
    ds = xr.Dataset({k: (("area", "kind"), v) for k, v in stats.items()}, coords=coords)
    ds["count"] = (("area", "kind"), count)
    ds["std"].attrs = {"long_name": "weight standard deviation"}
    ds["mean_abs"].attrs = {"long_name": "mean weight magnitude"}
    return ds


@dataclass(frozen=True)
class LayerKernel:
    """One weighted layer of an area as a 4-D kernel ``(out, in, kh, kw)``.

    Attributes:
        area: The area it belongs to (its target, for skip and feedback connections).
        kind: One of :data:`KINDS`.
        name: Where it sits (``conv``, ``recurrence.conv``, ``skip from V1.conv``...).
        weight: ``(out, in, kh, kw)``; a depthwise layer has ``in == 1`` (each output channel
            reads its own input channel), a self recurrence is ``(C, 1, 1, 1)``, a topographic
            kernel ``(1, 1, k, k)`` (one kernel on the cortical sheet).
        scale: Factor the model applies to this layer's output (the recurrence bound), else 1.
        depthwise: Each output channel reads only its own input channel (grouped convolutions,
            self recurrence).
    """

    area: str
    kind: str
    name: str
    weight: np.ndarray
    scale: float = 1.0
    depthwise: bool = False


def _as_kernel(module: nn.Module, w) -> np.ndarray:
    if hasattr(module, "kernel") and callable(module.kernel):  # topographic: the sheet kernel
        w = module.kernel()
    w = w.detach().float().cpu().numpy()
    if w.ndim == 1:  # self recurrence: one weight per channel
        return w.reshape(-1, 1, 1, 1)
    if w.ndim == 2:  # linear layer
        return w.reshape(*w.shape, 1, 1)
    return w


def _bound_scale(bound: nn.Module) -> float:
    """The recurrence bound's factor as evaluation uses it (its power-iteration buffer untouched)."""
    was_training = bound.training
    try:
        bound.eval()
        with torch.no_grad():
            return float(bound.scale())
    finally:
        bound.train(was_training)


def layer_kernels(model, areas=None, kinds=None) -> list[LayerKernel]:
    """The kernel of every weighted layer of the chosen areas, in hierarchy and kind order.

    Args:
        model: The model.
        areas: Area names (default all).
        kinds: Kinds (default all of :data:`KINDS`).

    Example:
        >>> import dynvision
        >>> m = dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(2, 1, 8, 8), width=0.25)
        >>> [(k.area, k.kind, k.name, k.weight.shape) for k in layer_kernels(m, ["V1"])]
        [('V1', 'feedforward', 'conv', (9, 1, 3, 3)), ('V1', 'recurrent', 'recurrence.conv', (9, 9, 3, 3))]
    """
    names = list(model.areas)
    for a in areas or []:
        if a not in names:
            raise UnknownNameError(unknown_name_message("area", a, names))
    for k in kinds or []:
        check_choice("weight kind", k, KINDS)
    out = []
    for area in [a for a in names if areas is None or a in areas]:
        bound = getattr(model.areas[area], "bound", None)
        for kind, modules in _area_modules(model, area).items():
            if kinds is not None and kind not in kinds:
                continue
            for prefix, module in modules:
                scale = _bound_scale(bound) if kind == "recurrent" and bound is not None else 1.0
                for name, w in weight_tensors(module):
                    sub = module.get_submodule(name) if name else module
                    full = ".".join(p for p in (prefix, name) if p)
                    groups = getattr(sub, "groups", 1)
                    depthwise = (w.ndim == 1 and not hasattr(sub, "kernel")) or \
                        (groups > 1 and groups == getattr(sub, "in_channels", 0))
                    out.append(LayerKernel(area, kind, full, _as_kernel(sub, w), scale, depthwise))
    return out


def kernel_weights(model, area: str, kind: str = "feedforward") -> np.ndarray:
    """The 4-D kernel ``(out, in, kh, kw)`` of an area's first *spatial* feedforward or recurrent layer.

    ``kind="feedforward"`` takes the first spatial convolution of the area's feedforward module;
    ``"recurrent"`` the spatial convolution of its recurrence (full, depthwise...) or the
    sheet kernel of a topographic (``local``) recurrence.

    Example:
        >>> import dynvision
        >>> m = dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(2, 1, 8, 8), width=0.25)
        >>> kernel_weights(m, "V1").shape == tuple(m.areas["V1"].conv.weight.shape)
        True
    """
    check_choice("kernel kind", kind, ("feedforward", "recurrent"))
    if area not in model.areas:
        raise UnknownNameError(unknown_name_message("area", area, list(model.areas)))
    module = model.areas[area].conv if kind == "feedforward" else model.areas[area].recurrence
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and max(m.kernel_size) > 1:
            return m.weight.detach().float().cpu().numpy()
    for m in module.modules():
        if hasattr(m, "kernel") and callable(m.kernel):
            return m.kernel().detach().float().cpu().numpy()
    raise ValueError(f"area {area!r} has no spatial {kind} kernel (its {kind} module is "
                     f"{type(module).__name__}); recurrent kernels exist for the types full, depthwise, "
                     f"depthpointwise, pointdepthwise, local and localdepthwise")


__all__ = ["KINDS", "LayerKernel", "collect_weights", "kernel_weights", "layer_kernels", "weight_statistics",
           "weight_tensors", "weight_values"]

"""Tuning around a stimulus: response gradients across the contrasts of two components.

:func:`gradient_grid` scales two *components* of a stimulus's contrast (its deviation from
the background) by ``a`` and ``b`` on a grid and records, at every grid point, the unit's
response and its gradient with respect to ``(a, b)``: where the response grows and how fast
(after openretina's colour-tuning analysis of MEIs, e.g. green against UV contrast). The
components are two channels (``channels=(0, 1)``, any pair) or any two masks of the stimulus
(``masks=(centre, surround)``); the rest of the stimulus stays as it is::

    x(a, b) = background + a * mask_a * (s - background) + b * mask_b * (s - background)
              + (1 - mask_a - mask_b) * (s - background)

The grid is ``start, start + step, ...`` up to ``stop`` (included when it falls on the grid)
on both axes; all points are evaluated in batches of ``batch_size`` with one forward and
backward pass per batch (the gradient is exact, by autograd). Models with an affine first
stage (``has_affine_front``: a core + readout model on a spatio-temporal core) run that stage on
three stimuli only (``base``, ``base + A``, ``base + B``): every grid point's first-stage output
is their affine combination, exactly, so the most expensive layer is computed 3 times, not 441.

:func:`equalize_channels` rescales the channels of a stimulus to equal contrast norms while
keeping its total contrast norm, optionally flipping the sign of some channels.

Example:
    >>> import torch, dynvision
    >>> m = dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(4, 2, 8, 8), width=0.1)
    >>> grid = gradient_grid(m, torch.rand(2, 8, 8), "V1:0", start=-1, stop=1, step=0.5, progress=False)
    >>> grid["response"].shape, list(grid["gradient"].coords["component"].values)
    ((5, 5), ['0', '1'])
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
import xarray as xr

from dynvision.conventions import BACKGROUND, jsonable
from dynvision.dynamics import delay_steps
from dynvision.insilico.objectives import TIME_REDUCERS, frozen, model_dt_ms, objective_values
from dynvision.insilico.units import resolve_unit
from dynvision.validation import InvalidValueError, check_int, check_number, ms_aliases


def contrast_values(start: float, stop: float, step: float) -> np.ndarray:
    """``start, start + step, ...`` up to ``stop`` (included when on the grid, to round-off).

    Example:
        >>> contrast_values(-1, 1, 0.5).tolist(), len(contrast_values(0, 1, 0.1))
        ([-1.0, -0.5, 0.0, 0.5, 1.0], 11)
    """
    start, stop = check_number("start", start), check_number("stop", stop)
    step = check_number("step", step, lo=0, lo_open=True)
    if stop < start:
        raise InvalidValueError("stop", stop, f"a number >= start={start:g}")
    n = int(math.floor((stop - start) / step + 1e-9)) + 1
    return start + step * np.arange(n)


def _as_tensor(stimulus: Any) -> torch.Tensor:
    if isinstance(stimulus, xr.DataArray):
        stimulus = stimulus.values
    x = torch.as_tensor(np.asarray(stimulus) if not torch.is_tensor(stimulus) else stimulus)
    return x if x.is_floating_point() else x.float()


def _sequence(stim: torch.Tensor, model, duration_ms: float | None) -> torch.Tensor:
    """A stimulus as one sequence ``(T, C, H, W)``: an image ``(C, H, W)`` is held for the duration."""
    _, c, h, w = (int(d) for d in model.input_dims)
    if stim.ndim == 5 and stim.shape[0] == 1:
        stim = stim[0]
    if stim.ndim == 3:
        dt = model_dt_ms(model)
        ms = dt * model.input_dims[0] if duration_ms is None else duration_ms
        stim = stim.unsqueeze(0).expand(delay_steps(check_number("duration_ms", ms, lo=0, lo_open=True), dt,
                                                    "duration_ms", minimum=1), -1, -1, -1)
    if stim.ndim != 4 or tuple(stim.shape[1:]) != (c, h, w):
        raise ValueError(f"the stimulus must be an image ({c}, {h}, {w}) or a sequence (time, {c}, {h}, {w}) for "
                         f"this model, got shape {tuple(stim.shape)}")
    return stim


@ms_aliases
def gradient_grid(model, stimulus: Any, unit: Any, channels: Sequence[int] | None = (0, 1), start: float = -1.0,
                  stop: float = 1.0, step: float = 0.1, *, masks: Sequence[Any] | None = None,
                  names: Sequence[str] | None = None, duration_ms: float | None = None,
                  window_ms: Sequence[float] | None = None, reduce: str = "mean", background: float = BACKGROUND,
                  batch_size: int = 32, affine_front: bool = True, progress: bool = True) -> xr.Dataset:
    """Response and response gradient of ``unit`` across the contrasts of two stimulus components.

    Args:
        model: A dynvision model.
        stimulus: An image ``(C, H, W)`` or a sequence ``(time, C, H, W)`` in luminance
            (tensor, array or DataArray; e.g. an MEI).
        unit: The unit (``"V1:0"``, ``Unit(...)``...).
        channels: The two channels whose contrasts vary (any pair, in either order).
        start: First contrast factor of both axes.
        stop: Last contrast factor (included when on the grid).
        step: Distance between grid points.
        masks: Instead of channels, two masks broadcastable to the stimulus (e.g. a centre disk
            and a surround annulus).
        names: Names of the two components (default: the channel numbers, or ``a``, ``b``).
        duration_ms: How long an image is shown (default: the model's ``input_dims`` steps).
        window_ms: ``(start, stop)`` of the response that counts (default: all of it).
        reduce: ``mean``, ``max``, ``sum`` or ``last`` over the window.
        background: The grey level contrasts are measured from.
        batch_size: Grid points per forward/backward pass.
        affine_front: Reuse the model's affine first stage when it has one (see the module
            docstring); the results are the same either way.
        progress: Show a progress bar.

    Returns:
        A Dataset over ``contrast_<a>`` and ``contrast_<b>`` with ``response``, ``gradient``
        (``component``: d response / d a and d b) and ``norm`` (the gradient's length).
    """
    unit = resolve_unit(model, unit)
    TIME_REDUCERS.get(reduce)
    values = contrast_values(start, stop, step)
    batch_size = check_int("batch_size", batch_size, lo=1)
    background = check_number("background", background)
    param = next(model.parameters())
    stim = _sequence(_as_tensor(stimulus), model, duration_ms).to(device=param.device, dtype=param.dtype)
    contrast = stim - background
    mask_a, mask_b, default_names = _masks(model, contrast, channels, masks)
    names = [str(n) for n in (names or default_names)]
    if len(names) != 2 or names[0] == names[1]:
        raise InvalidValueError("names", names, "two different names")
    base = background + (1 - mask_a - mask_b) * contrast
    comp_a, comp_b = mask_a * contrast, mask_b * contrast
    grid = torch.cartesian_prod(torch.as_tensor(values), torch.as_tensor(values)).to(param.device, param.dtype)
    response, gradient = [], []
    from tqdm.auto import tqdm

    run = None
    with frozen(model), torch.enable_grad():
        if affine_front and getattr(model, "has_affine_front", False):  # the first stage on 3 stimuli
            with torch.no_grad():
                f0, fa, fb = model.affine_front(torch.stack([base, base + comp_a, base + comp_b]))
            base, comp_a, comp_b, run = f0, fa - f0, fb - f0, model.run_front
        for i in tqdm(range(0, len(grid), batch_size), desc=f"gradient grid of {unit.label}", disable=not progress):
            ab = grid[i:i + batch_size].clone().requires_grad_(True)
            x = base + ab[:, 0, None, None, None, None] * comp_a + ab[:, 1, None, None, None, None] * comp_b
            r = objective_values(model, x, [unit] * len(ab), window_ms, reduce, run=run)
            (g,) = torch.autograd.grad(r.sum(), ab)
            response.append(r.detach().double().cpu())
            gradient.append(g.detach().double().cpu())
    n = len(values)
    resp = torch.cat(response).numpy().reshape(n, n)
    grad = torch.cat(gradient).numpy().reshape(n, n, 2).transpose(2, 0, 1)
    dims = (f"contrast_{names[0]}", f"contrast_{names[1]}")
    coords = {dims[0]: values, dims[1]: values, "component": np.array(names, dtype=object)}
    ds = xr.Dataset({"response": (dims, resp), "gradient": (("component", *dims), grad),
                     "norm": (dims, np.sqrt((grad ** 2).sum(0)))}, coords=coords)
    ds["response"].attrs = {"long_name": f"{reduce} response of {unit.label}"}
    ds["gradient"].attrs = {"long_name": "d response / d contrast"}
    ds["norm"].attrs = {"long_name": "gradient norm"}
    from dynvision.models.base import config_dict

    ds.attrs = {"dynvision": "gradient_grid", "unit": unit.label, "components": names,
                "settings": jsonable({"channels": None if masks is not None else channels, "start": start,
                                      "stop": stop, "step": step, "window_ms": window_ms, "reduce": reduce,
                                      "background": background, "duration_ms": duration_ms}),
                "model": config_dict(model)}
    return ds


def _masks(model, contrast: torch.Tensor, channels, masks):
    if masks is not None:
        if len(masks) != 2:
            raise InvalidValueError("masks", masks, "two masks broadcastable to the stimulus")
        out = [_as_tensor(m).to(contrast) for m in masks]
        try:
            out = [torch.broadcast_to(m, contrast.shape) for m in out]
        except RuntimeError:
            raise ValueError(f"masks of shapes {[tuple(m.shape) for m in out]} do not broadcast to the stimulus "
                             f"{tuple(contrast.shape)} (time, channel, y, x)") from None
        return out[0], out[1], ["a", "b"]
    n = contrast.shape[1]
    if channels is None or len(channels) != 2:
        raise InvalidValueError("channels", channels, "two channel indices, e.g. (0, 1)")
    chans = [check_int(f"channels[{i}]", c, lo=0, hi=n - 1) if n > 1 else None for i, c in enumerate(channels)]
    if n < 2:
        raise ValueError(f"the model has {n} input channel; vary two channels of a multi-channel model, or "
                         f"two parts of the stimulus with masks=(mask_a, mask_b)")
    if chans[0] == chans[1]:
        raise InvalidValueError("channels", channels, "two different channels")
    out = []
    for c in chans:
        m = torch.zeros_like(contrast)
        m[:, c] = 1.0
        out.append(m)
    return out[0], out[1], [str(c) for c in chans]


def equalize_channels(stimulus: Any, flip: int | Sequence[int] | None = None, *, background: float = BACKGROUND):
    """Give every channel the same contrast norm, keeping the total; optionally flip channels.

    The contrast ``d = stimulus - background`` of channel ``c`` is scaled by
    ``||d|| / (sqrt(C) ||d_c||)`` (norms over time and space), so each channel ends with norm
    ``||d|| / sqrt(C)`` and the total norm is unchanged; channels in ``flip`` change sign.
    Tensors and arrays hold channels on axis -3 (``(..., C, H, W)``); a leading batch axis of a
    5-D input ``(sample, time, C, H, W)`` is equalised sample by sample; DataArrays use their
    ``channel`` dim and keep every dim other than ``time``, ``y``, ``x`` separate.

    Example:
        >>> import torch
        >>> s = 0.5 + torch.stack([torch.full((2, 2), 0.1), torch.full((2, 2), 0.3)])
        >>> e = equalize_channels(s, flip=0)
        >>> [round(v, 4) for v in (e - 0.5)[:, 0, 0].tolist()]  # sqrt((0.1^2 + 0.3^2) / 2), channel 0 flipped
        [-0.2236, 0.2236]
    """
    background = check_number("background", background)
    if isinstance(stimulus, xr.DataArray):
        if "channel" not in stimulus.dims:
            raise ValueError(f"the stimulus has no 'channel' dim (dims {stimulus.dims})")
        d = stimulus - background
        over = [dim for dim in ("time", "y", "x") if dim in d.dims]
        norms = np.sqrt((d ** 2).sum(over))
        total = np.sqrt((norms ** 2).sum("channel"))
        _check_norms(norms.transpose("channel", ...).values)
        n = d.sizes["channel"]
        out = d * (total / (np.sqrt(n) * norms))
        sign = xr.DataArray(_signs(n, flip), dims="channel")
        return (background + out * sign).astype(stimulus.dtype).assign_attrs(stimulus.attrs)
    is_tensor = torch.is_tensor(stimulus)
    x = stimulus if is_tensor else torch.as_tensor(np.asarray(stimulus))
    if x.ndim < 3:
        raise ValueError(f"expected channels on axis -3 (..., channel, y, x), got shape {tuple(x.shape)}")
    d = (x - background).double()
    batch = x.ndim == 5
    over = [a for a in range(x.ndim) if a != x.ndim - 3 and not (batch and a == 0)]
    norms = d.pow(2).sum(over, keepdim=True).sqrt()
    total = norms.pow(2).sum(x.ndim - 3, keepdim=True).sqrt()
    _check_norms(norms.movedim(x.ndim - 3, 0).cpu().numpy())
    n = x.shape[-3]
    sign = torch.as_tensor(_signs(n, flip), dtype=d.dtype, device=d.device).view(n, 1, 1)
    out = (background + d * total / (math.sqrt(n) * norms) * sign).to(x.dtype)
    return out if is_tensor else out.numpy()


def _signs(n: int, flip) -> np.ndarray:
    flips = [] if flip is None else ([flip] if isinstance(flip, (int, np.integer)) else list(flip))
    sign = np.ones(n)
    for i, c in enumerate(flips):
        sign[check_int(f"flip[{i}]", c, lo=0, hi=n - 1)] = -1.0
    return sign


def _check_norms(norms: np.ndarray) -> None:
    zero = [int(c) for c in range(norms.shape[0]) if np.any(norms[c] == 0)]
    if zero:
        raise ValueError(f"channel(s) {zero} have no contrast (equal to the background everywhere): "
                         f"they cannot be scaled to the others' norm")


__all__ = ["contrast_values", "equalize_channels", "gradient_grid"]

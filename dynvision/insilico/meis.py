"""Most exciting inputs (MEIs): the stimulus that drives each unit most, by gradient ascent.

:func:`mei` optimises one stimulus per unit and random start, all rows in one batch: a
forward and a backward pass per step serve every unit and start at once, and each row's
objective reads its own unit only (see :mod:`~dynvision.insilico.objectives`), so a unit's
MEI is the same whether it is optimised alone or with others. The model is frozen for the
run (evaluation mode, no parameter gradients) and restored afterwards.

Each step: the objective of every row (its unit's response, reduced over ``window_ms``), a
gradient step on the stimulus contrast, then the projection onto the constraints
(:class:`~dynvision.insilico.constraints.Constraints`: value range, norm ball, temporal
smoothness), so every iterate is feasible. The objective before each step and after the
last one is the convergence trace. Optimisers:

- ``"ascent"`` (default): projected gradient ascent with each row's step scaled to length
  ``lr`` (in contrast norm, counting only the pixels not held at a bound of the value range),
  decaying to zero on a cosine schedule. Scale-free (responses of any magnitude), and its
  fixed points are the constrained optima;
- ``"sgd"``: projected gradient ascent with the raw gradient and a constant ``lr``;
- ``"adam"``: Adam, then the projection. Fast with a value range alone; with a norm ball its
  per-pixel step sizes make the projected fixed point differ from the constrained optimum.

A static MEI (the default) is one image shown for the whole ``duration_ms``; with
``static=False`` every frame is free (a movie, optionally band-limited by
``temporal_cutoff_hz``). Random starts: start ``s`` of a unit is the best, for that unit, of
``n_candidates`` seeded noise patterns (forward passes only), so a rectified unit that is
silent for most noise (and so has no gradient) starts where it responds; runs are
reproducible and independent of how units are batched.

Example:
    >>> import dynvision
    >>> m = dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(6, 1, 8, 8), width=0.1)
    >>> ds = mei(m, ["V1:0", "V2:1"], steps=5, progress=False)
    >>> ds["mei"].dims, ds["trace"].sizes["step"]
    (('unit', 'start', 'channel', 'y', 'x'), 6)
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
import torch
import xarray as xr

from dynvision.conventions import BACKGROUND, jsonable
from dynvision.dynamics import delay_steps
from dynvision.insilico.constraints import Constraints, lowpass_basis
from dynvision.insilico.objectives import (TIME_REDUCERS, frozen, model_dt_ms, objective_values, reduce_time,
                                           unit_traces)
from dynvision.insilico.units import Unit, resolve_units
from dynvision.registry import check_choice
from dynvision.validation import InvalidValueError, check_bool, check_int, check_number, check_numbers, ms_aliases

OPTIMIZERS = ("ascent", "sgd", "adam")


def _config(model) -> dict:
    from dynvision.models.base import config_dict

    return config_dict(model)


def _unit_coords(units: Sequence[Unit]) -> dict[str, Any]:
    return {"unit": ("unit", np.array([u.label for u in units], dtype=object)),
            "unit_area": ("unit", np.array([u.area for u in units], dtype=object)),
            "unit_channel": ("unit", np.array([u.channel for u in units], dtype=np.int64)),
            "unit_y": ("unit", np.array([-1 if u.y is None else u.y for u in units], dtype=np.int64)),
            "unit_x": ("unit", np.array([-1 if u.x is None else u.x for u in units], dtype=np.int64)),
            "unit_session": ("unit", np.array([u.session or "" for u in units], dtype=object))}


def start_noise(seed: int, start: int, shape: Sequence[int], std: float, candidate: int = 0) -> torch.Tensor:
    """The seeded noise contrast of candidate ``candidate`` of random start ``start`` (on the CPU)."""
    rng = np.random.default_rng([int(seed), int(start), int(candidate)])
    return torch.from_numpy(rng.normal(0.0, std, size=tuple(shape)).astype(np.float32))


@ms_aliases
def mei(model, units: Any, *, n_starts: int = 1, n_candidates: int = 16, steps: int = 200, lr: float | None = None,
        optimizer: str = "ascent",
        seed: int = 0, duration_ms: float | None = None, static: bool = True,
        window_ms: Sequence[float] | None = None, reduce: str = "mean",
        value_range: Sequence[float] | None = (0.0, 1.0), norm: float | None = None,
        temporal_cutoff_hz: float | None = None, init_std: float = 0.25, background: float = BACKGROUND,
        batch_size: int = 64, progress: bool = True,
        callback: Callable[[int, list[Unit], torch.Tensor], None] | None = None) -> xr.Dataset:
    """Optimise the most exciting input of each unit.

    Args:
        model: A dynvision model (kept on its device and dtype; frozen during the run).
        units: Unit specs (``"V1:3"``, ``Unit("V4", 0, y=1, x=2)``, ``"output:2"``...).
        n_starts: Random starts per unit.
        n_candidates: Noise patterns tried for each start (the unit's best one is the start).
        steps: Optimisation steps.
        lr: Step size: the first step's length in contrast norm for ``ascent`` (default
            ``0.05 * sqrt(pixels per stimulus)``, a twentieth of the largest contrast norm in
            the unit range), the learning rate of ``sgd`` and ``adam`` (default 0.05).
        optimizer: ``"ascent"``, ``"sgd"`` or ``"adam"`` (see the module docstring).
        seed: Seed of the random starts.
        duration_ms: How long the stimulus is shown (default: the model's ``input_dims`` steps).
        static: One image held for the whole duration (else a movie, one frame per step).
        window_ms: ``(start, stop)`` of the response that counts, inclusive (default: all of it).
        reduce: How the window is reduced: ``mean``, ``max``, ``sum`` or ``last``.
        value_range: Luminance bounds ``(lo, hi)`` around the background (``None``: unbounded).
        norm: Largest L2 norm of the contrast ``x - background`` (``None``: no norm ball).
        temporal_cutoff_hz: Movies only: keep temporal frequencies up to this (a band-limited
            movie; ``None``: no smoothness constraint).
        init_std: Standard deviation of the initial noise contrast (before the constraints).
        background: Grey level the contrast is measured from.
        batch_size: Rows (units x starts) optimised together; results do not depend on it.
        progress: Show a progress bar.
        callback: Called after every step as ``callback(step, units, stimulus)`` with the
            batch's units and stimuli (luminance, ``(rows, frames, C, H, W)``), e.g. to watch
            the optimisation.

    Returns:
        A Dataset with ``mei`` (unit, start, [time,] channel, y, x) in luminance, ``objective``
        (unit, start) after the last step, ``trace`` (unit, start, step) the objective before
        each step and after the last, ``response`` (unit, start, response_time) the unit's
        response to its MEI, ``best_start`` (unit); unit coordinates ``unit_area``,
        ``unit_channel``, ``unit_y``, ``unit_x``; ``attrs["settings"]`` and ``attrs["model"]``.
    """
    units = resolve_units(model, units)
    n_starts = check_int("n_starts", n_starts, lo=1)
    n_candidates = check_int("n_candidates", n_candidates, lo=1)
    steps = check_int("steps", steps, lo=0)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    seed = check_int("seed", seed)
    static = check_bool("static", static)
    TIME_REDUCERS.get(reduce)
    if window_ms is not None:
        check_numbers("window_ms", window_ms, unit="ms", min_len=2)
    init_std = check_number("init_std", init_std, lo=0)
    background = check_number("background", background)
    batch_size = check_int("batch_size", batch_size, lo=1)
    dt = model_dt_ms(model)
    _, channels, height, width = (int(d) for d in model.input_dims)
    duration_ms = check_number("duration_ms", dt * model.input_dims[0] if duration_ms is None else duration_ms,
                               lo=0, lo_open=True, unit="ms")
    n_steps = delay_steps(duration_ms, dt, "duration_ms", minimum=1)
    constraints = _constraints(value_range, norm, temporal_cutoff_hz, background, static, n_steps, dt)
    frames = 1 if static else n_steps
    shape = (frames, channels, height, width)
    if lr is None:
        lr = 0.05 * math.sqrt(math.prod(shape)) if optimizer == "ascent" else 0.05
    lr = check_number("lr", lr, lo=0, lo_open=True)
    param = next(model.parameters())
    device, dtype = param.device, param.dtype
    noise = torch.stack([torch.stack([start_noise(seed, s, shape, init_std, k) for k in range(n_candidates)])
                         for s in range(n_starts)])  # (starts, candidates, frames, C, H, W)
    rows = [(u, s) for u in units for s in range(n_starts)]
    chunks = [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]
    out = {"delta": [], "trace": [], "response": []}
    from tqdm.auto import tqdm

    bar = tqdm(total=len(chunks) * steps, desc=f"MEIs of {len(units)} unit(s)", disable=not progress)
    try:
        with frozen(model), torch.enable_grad():
            for chunk in chunks:
                init = _best_candidates(model, chunk, noise, constraints, n_steps, window_ms, reduce, background,
                                        batch_size, device, dtype)
                delta, trace, response = _optimise(model, [u for u, _ in chunk], init,
                                                   constraints, n_steps, steps, lr, optimizer, window_ms, reduce,
                                                   background, bar, callback)
                out["delta"].append(delta)
                out["trace"].append(trace)
                out["response"].append(response)
    finally:
        bar.close()
    settings = {"n_starts": n_starts, "n_candidates": n_candidates, "steps": steps, "lr": lr, "optimizer": optimizer, "seed": seed,
                "duration_ms": duration_ms, "static": static, "window_ms": window_ms, "reduce": reduce,
                "value_range": value_range, "norm": norm, "temporal_cutoff_hz": temporal_cutoff_hz,
                "init_std": init_std, "background": background}
    return _dataset(units, n_starts, out, background, static, dt, settings, model)


def _constraints(value_range, norm, cutoff_hz, background, static, n_steps, dt) -> Constraints:
    lo = hi = None
    if value_range is not None:
        lo_v, hi_v = check_numbers("value_range", value_range, min_len=2)[:2]
        if len(value_range) != 2 or not lo_v <= background <= hi_v or lo_v == hi_v:
            raise InvalidValueError("value_range", value_range, f"(lo, hi) with lo < hi around the background "
                                    f"{background:g}, or None")
        lo, hi = lo_v - background, hi_v - background
    norm = check_number("norm", norm, lo=0, lo_open=True, allow_none=True)
    basis = None
    if cutoff_hz is not None:
        if static:
            raise ValueError("temporal_cutoff_hz constrains movies; pass static=False (a static image has no "
                             "temporal frequencies)")
        basis = lowpass_basis(n_steps, dt, cutoff_hz)
    return Constraints(norm, lo, hi, basis)


def _held(d: torch.Tensor, n_steps: int) -> torch.Tensor:
    """Contrast rows ``(R, frames, C, H, W)`` over the run: a static frame is held for every step."""
    return d.expand(-1, n_steps, *d.shape[2:]) if d.shape[1] == 1 and n_steps > 1 else d


@torch.no_grad()
def _best_candidates(model, chunk, noise, constraints, n_steps, window_ms, reduce, background, batch_size, device,
                     dtype) -> torch.Tensor:
    """Each row's start: the (projected) noise candidate its unit responds to most."""
    k = noise.shape[1]
    cands = constraints.project(noise[[s for _, s in chunk]].flatten(0, 1).to(device=device, dtype=dtype))
    units = [u for u, _ in chunk for _ in range(k)]
    if k == 1:
        return cands
    values = torch.cat([objective_values(model, background + _held(cands[i:i + batch_size], n_steps),
                                         units[i:i + batch_size], window_ms, reduce)
                        for i in range(0, len(cands), batch_size)])
    best = values.view(len(chunk), k).argmax(1)
    return cands.view(len(chunk), k, *cands.shape[1:])[torch.arange(len(chunk), device=best.device), best]


def _optimise(model, units, delta, constraints, n_steps, steps, lr, optimizer, window_ms, reduce, background, bar,
              callback):
    delta = delta.clone().requires_grad_(True)
    opt = None
    if optimizer != "ascent":
        opt = torch.optim.Adam([delta], lr=lr) if optimizer == "adam" else torch.optim.SGD([delta], lr=lr)
    trace = torch.empty(len(units), steps + 1, dtype=torch.float64)
    shape = (-1, *[1] * (delta.ndim - 1))

    def stimulus(d):
        return background + _held(d, n_steps)

    for k in range(steps):
        value = objective_values(model, stimulus(delta), units, window_ms, reduce)
        trace[:, k] = value.detach().double().cpu()
        if opt is None:  # normalised ascent, cosine-decayed step length
            (grad,) = torch.autograd.grad(value.sum(), delta)
            length = lr * 0.5 * (1 + math.cos(math.pi * k / steps))
            with torch.no_grad():
                free = constraints.free_gradient(delta, grad)  # pushing against the range moves nothing
                delta += length * grad / free.flatten(1).norm(dim=1).clamp_min(1e-30).view(shape)
        else:
            opt.zero_grad(set_to_none=True)
            (-value.sum()).backward()
            opt.step()
        with torch.no_grad():
            delta.copy_(constraints.project(delta))
            if callback is not None:
                callback(k + 1, units, background + delta.detach())
        bar.update(1)
    with torch.no_grad():
        traces = unit_traces(model, stimulus(delta), units)
        trace[:, steps] = reduce_time(traces, model_dt_ms(model), window_ms, reduce).double().cpu()
    return delta.detach(), trace, traces.detach()


def _dataset(units, n_starts, out, background, static, dt, settings, model) -> xr.Dataset:
    n_units = len(units)
    delta = torch.cat(out["delta"]).float().cpu().numpy()
    stim = (background + delta).reshape(n_units, n_starts, *delta.shape[1:])
    trace = torch.cat(out["trace"]).numpy().reshape(n_units, n_starts, -1)
    response = torch.cat(out["response"]).float().cpu().numpy().reshape(n_units, n_starts, -1)
    objective = trace[..., -1]
    if static:
        mei_var = (("unit", "start", "channel", "y", "x"), stim[:, :, 0])
        coords_t = {}
    else:
        mei_var = (("unit", "start", "time", "channel", "y", "x"), stim)
        coords_t = {"time": ("time", np.arange(stim.shape[2]) * dt, {"units": "ms"})}
    ds = xr.Dataset(
        {"mei": mei_var,
         "objective": (("unit", "start"), objective),
         "trace": (("unit", "start", "step"), trace),
         "response": (("unit", "start", "response_time"), response),
         "best_start": ("unit", np.argmax(objective, axis=1).astype(np.int64))},
        coords={**_unit_coords(units), "start": np.arange(n_starts), "step": np.arange(trace.shape[-1]),
                "response_time": ("response_time", np.arange(response.shape[-1]) * dt, {"units": "ms"}),
                **coords_t})
    ds["mei"].attrs = {"long_name": "most exciting input", "units": "luminance"}
    ds["objective"].attrs = {"long_name": f"{settings['reduce']} response in the window"}
    ds["trace"].attrs = {"long_name": "objective before each step and after the last"}
    from dynvision import __version__

    ds.attrs = {"dynvision": "mei", "dynvision_version": __version__, "dt_ms": dt, "background": background,
                "static": static, "settings": jsonable(settings), "model": _config(model)}
    return ds


def best_meis(ds: xr.Dataset) -> xr.DataArray:
    """Each unit's MEI from its best start: ``(unit, [time,] channel, y, x)``.

    Example:
        >>> best_meis(ds).sel(unit="V1:0@4,4")  # doctest: +SKIP
    """
    return ds["mei"].isel(start=ds["best_start"]).drop_vars("start", errors="ignore")


__all__ = ["OPTIMIZERS", "best_meis", "mei", "start_noise"]

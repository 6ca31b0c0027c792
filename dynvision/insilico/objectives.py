"""Objectives: each row's own unit, its response over time, reduced over a time window.

:func:`unit_traces` runs the model once on a batch and returns, for row ``i``, the response
of *its* unit ``units[i]`` to *its* input ``x[i]`` over time. Rows never mix: the objective of
row ``i`` depends on ``x[i]`` only, so the gradient of the summed objectives with respect to
``x[i]`` is the gradient of row ``i``'s objective alone, and a batch of units and random
starts optimises each unit's stimulus independently in one forward/backward pass.
(openretina's objective averages the response over the batch, which ties the rows together.)

Time follows the package convention: output index ``k`` is the state at ``k * dt`` ms.
:func:`reduce_time` keeps the steps whose time lies in ``window_ms = (start, stop)``
(inclusive) and reduces them with a :data:`TIME_REDUCERS` entry (``mean``, ``max``, ``sum``,
``last``).

:func:`frozen` puts a model in evaluation mode with no parameter requiring a gradient for the
duration of an analysis and restores every flag afterwards.

Example:
    >>> import torch, dynvision
    >>> m = dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(4, 1, 8, 8), width=0.1)
    >>> traces = unit_traces(m, torch.rand(2, 4, 1, 8, 8), ["V1:0", "output:1"])
    >>> traces.shape
    torch.Size([2, 4])
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

import torch

from dynvision.insilico.units import OUTPUT, READOUT, resolve_units
from dynvision.registry import Registry
from dynvision.validation import check_numbers, ms_aliases

TIME_REDUCERS: Registry = Registry("time reducer")
TIME_REDUCERS.register("mean", lambda r: r.mean(-1))
TIME_REDUCERS.register("max", lambda r: r.amax(-1))
TIME_REDUCERS.register("sum", lambda r: r.sum(-1))
TIME_REDUCERS.register("last", lambda r: r[..., -1])


@contextlib.contextmanager
def frozen(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Evaluation mode and no parameter gradients inside the block; every flag restored after.

    Example:
        >>> import dynvision
        >>> m = dynvision.create_model("DyRCNNx2", input_dims=(2, 1, 8, 8), width=0.1)
        >>> with frozen(m):
        ...     assert not m.training and not any(p.requires_grad for p in m.parameters())
        >>> m.training and all(p.requires_grad for p in m.parameters())
        True
    """
    flags = [(p, p.requires_grad) for p in model.parameters()]
    modes = [(m, m.training) for m in model.modules()]
    try:
        for p, _ in flags:
            p.requires_grad_(False)
        model.eval()
        yield model
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        for m, mode in modes:
            m.training = mode


def window_steps(n_steps: int, dt_ms: float, window_ms: Sequence[float] | None) -> torch.Tensor:
    """Indices of the output steps whose time ``k * dt_ms`` lies in ``window_ms`` (inclusive).

    Example:
        >>> window_steps(6, 2.0, (4, 8)).tolist()
        [2, 3, 4]
    """
    times = torch.arange(n_steps, dtype=torch.float64) * float(dt_ms)
    if window_ms is None:
        return torch.arange(n_steps)
    start, stop = check_numbers("window_ms", window_ms, unit="ms", min_len=2)[:2]
    if len(window_ms) != 2 or stop < start:
        raise ValueError(f"window_ms must be (start, stop) in ms with start <= stop, got {tuple(window_ms)}")
    index = torch.nonzero((times >= start - 1e-9) & (times <= stop + 1e-9)).flatten()
    if index.numel() == 0:
        raise ValueError(f"window_ms={tuple(window_ms)} holds no step of the response "
                         f"(0 to {times[-1]:g} ms every {dt_ms:g} ms)")
    return index


@ms_aliases
def reduce_time(traces: torch.Tensor, dt_ms: float, window_ms: Sequence[float] | None = None,
                reduce: str | Callable = "mean") -> torch.Tensor:
    """Reduce ``(..., time)`` responses over the steps in ``window_ms`` -> ``(...)``."""
    fn = reduce if callable(reduce) else TIME_REDUCERS.get(reduce)
    index = window_steps(traces.shape[-1], dt_ms, window_ms).to(traces.device)
    return fn(traces.index_select(-1, index))


def _gather(columns: list[tuple[int, int, int]]) -> Callable[[torch.Tensor], torch.Tensor]:
    c, y, x = (list(v) for v in zip(*columns))

    def gather(a: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, n) for the recorder
        return a[:, torch.tensor(c, device=a.device), torch.tensor(y, device=a.device),
                 torch.tensor(x, device=a.device)]

    return gather


def unit_traces(model, x: torch.Tensor, units: Sequence[Any], state=None, run: Callable | None = None) -> torch.Tensor:
    """``(B, T)``: row ``i`` is the response of ``units[i]`` to ``x[i]`` over time.

    Args:
        model: A dynvision model (anything with ``run(x, state, record)`` and ``areas``);
            models with ``readouts`` also answer readout units.
        x: Stimulus ``(B, time, channels, height, width)`` (or whatever ``run`` takes).
        units: One unit spec per row (see :mod:`~dynvision.insilico.units`).
        state: Initial state (default: zeros).
        run: What runs the model on ``x`` (default ``model.run``; e.g. ``model.run_front``).

    Raises:
        ValueError: ``units`` does not hold one unit per row.
    """
    units = resolve_units(model, units)
    if len(units) != x.shape[0]:
        raise ValueError(f"one unit per row: got {len(units)} units for {x.shape[0]} rows")
    groups: dict[str, list[int]] = {}
    for i, u in enumerate(units):
        groups.setdefault(u.area if u.area != READOUT else f"{READOUT}:{u.session}", []).append(i)
    record: dict[str, Any] = {}
    columns: dict[str, dict[tuple[int, int, int], int]] = {}
    readout_area = getattr(model, "readout_area", None)
    for key, rows in groups.items():
        if key.startswith(f"{READOUT}:"):
            record[readout_area] = "none"
        elif key != OUTPUT:
            cols = columns.setdefault(key, {})
            for i in rows:
                cols.setdefault((units[i].channel, units[i].y, units[i].x), len(cols))
    for area, cols in columns.items():
        if area not in record:  # a full map recorded for a readout serves the area's units too
            record[area] = _gather(list(cols))
    out = (run or model.run)(x, state=state, record=record)
    traces = x.new_zeros(x.shape[0], out.logits.shape[1])
    for key, rows in groups.items():
        idx = torch.tensor(rows, device=x.device)
        if key == OUTPUT:
            values = out.logits[idx, :, torch.tensor([units[i].channel for i in rows], device=x.device)]
        elif key.startswith(f"{READOUT}:"):
            responses = model.readouts[units[rows[0]].session](out.recordings[readout_area][idx])
            values = responses[torch.arange(len(rows), device=x.device), :,
                               torch.tensor([units[i].channel for i in rows], device=x.device)]
        elif record[key] == "none":
            rec = out.recordings[key][idx]
            ar = torch.arange(len(rows), device=x.device)
            c, y, xx = (torch.tensor([getattr(units[i], a) for i in rows], device=x.device) for a in ("channel", "y", "x"))
            values = rec[ar, :, c, y, xx]
        else:
            col = torch.tensor([columns[key][(units[i].channel, units[i].y, units[i].x)] for i in rows],
                               device=x.device)
            values = out.recordings[key][idx, :, col]
        traces = traces.index_copy(0, idx, values.to(traces.dtype))
    return traces


@ms_aliases
def objective_values(model, x: torch.Tensor, units: Sequence[Any], window_ms: Sequence[float] | None = None,
                     reduce: str | Callable = "mean", state=None, run: Callable | None = None) -> torch.Tensor:
    """``(B,)``: each row's unit response to its input, reduced over ``window_ms``."""
    return reduce_time(unit_traces(model, x, units, state, run), model_dt_ms(model), window_ms, reduce)


def model_dt_ms(model) -> float:
    """The model's integration step in ms (``dt_ms``, or DynVision's ``dt``)."""
    return float(getattr(model, "dt_ms", None) or model.dt)


__all__ = ["TIME_REDUCERS", "frozen", "model_dt_ms", "objective_values", "reduce_time", "unit_traces",
           "window_steps"]

"""Optimisers and schedules, with their own learning rates for recurrent and feedback weights.

:func:`parameter_groups` splits a model's parameters into up to three optimizer groups:

- ``recurrence``: parameters whose name contains ``.recurrence.`` (the lateral/recurrent
  connections inside areas), at ``lr * recurrence_lr_factor``;
- ``feedback``: parameters of the connections with ``kind == "feedback"``, at
  ``lr * feedback_lr_factor``;
- ``default``: everything else, at ``lr``.

Slower learning of recurrent and feedback weights keeps the dynamics stable early in
training (a DynVision habit). Optimisers (``adamw``, ``adam``, ``sgd``) and schedules
(``cosine``, ``step``, ``none``) are looked up by name in registries, so a wrong name lists the
valid ones.

Example:
    >>> from dynvision.models import create_model
    >>> model = create_model("DyRCNNx2", input_dims=(4, 1, 8, 8), width=0.1, feedback=True, tfb=4)
    >>> groups = parameter_groups(model, lr=1e-3, recurrence_lr_factor=0.1, feedback_lr_factor=0.5)
    >>> [(g["name"], g["lr"]) for g in groups]
    [('default', 0.001), ('recurrence', 0.0001), ('feedback', 0.0005)]
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from dynvision.registry import Registry

OPTIMIZERS = Registry("optimizer")
SCHEDULERS = Registry("scheduler")


def parameter_groups(model: nn.Module, lr: float, recurrence_lr_factor: float = 1.0,
                     feedback_lr_factor: float = 1.0, weight_decay: float = 0.0) -> list[dict[str, Any]]:
    """Optimizer parameter groups ``default``, ``recurrence`` and ``feedback`` (empty ones left out).

    Args:
        model: The model (frozen parameters, ``requires_grad=False``, are left out).
        lr: Base learning rate.
        recurrence_lr_factor: Multiplies ``lr`` for parameters named ``*.recurrence.*``.
        feedback_lr_factor: Multiplies ``lr`` for feedback connections.
        weight_decay: Weight decay of every group.

    Returns:
        Dicts with ``name``, ``params``, ``lr``, ``lr_factor`` and ``weight_decay``.
    """
    for name, factor in (("recurrence_lr_factor", recurrence_lr_factor), ("feedback_lr_factor", feedback_lr_factor)):
        if not factor >= 0:
            raise ValueError(f"{name} must be >= 0, got {factor!r}")
    feedback_ids = {id(p) for conn in getattr(model, "connections", ()) if getattr(conn, "kind", None) == "feedback"
                    for p in conn.parameters()}
    buckets: dict[str, list[nn.Parameter]] = {"default": [], "recurrence": [], "feedback": []}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if id(param) in feedback_ids:
            buckets["feedback"].append(param)
        elif ".recurrence." in f".{name}":
            buckets["recurrence"].append(param)
        else:
            buckets["default"].append(param)
    factors = {"default": 1.0, "recurrence": float(recurrence_lr_factor), "feedback": float(feedback_lr_factor)}
    return [{"name": key, "params": params, "lr": lr * factors[key], "lr_factor": factors[key],
             "weight_decay": weight_decay}
            for key, params in buckets.items() if params]


@OPTIMIZERS.register("adamw")
def _adamw(groups, lr: float, weight_decay: float, momentum: float):
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)


@OPTIMIZERS.register("adam")
def _adam(groups, lr: float, weight_decay: float, momentum: float):
    return torch.optim.Adam(groups, lr=lr, weight_decay=weight_decay)


@OPTIMIZERS.register("sgd")
def _sgd(groups, lr: float, weight_decay: float, momentum: float):
    return torch.optim.SGD(groups, lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=momentum > 0)


def make_optimizer(name: str, model: nn.Module, lr: float, weight_decay: float = 0.0, momentum: float = 0.9,
                   recurrence_lr_factor: float = 1.0, feedback_lr_factor: float = 1.0) -> torch.optim.Optimizer:
    """An optimizer by name over :func:`parameter_groups` of ``model``.

    Args:
        name: ``adamw``, ``adam`` or ``sgd`` (Nesterov momentum when ``momentum > 0``).
        model: The model to optimise.
        lr: Base learning rate.
        weight_decay: Weight decay.
        momentum: SGD momentum (ignored by Adam-type optimizers).
        recurrence_lr_factor: See :func:`parameter_groups`.
        feedback_lr_factor: See :func:`parameter_groups`.

    Example:
        >>> from dynvision.models import create_model
        >>> m = create_model("DyRCNNx2", input_dims=(4, 1, 8, 8), width=0.1)
        >>> type(make_optimizer("sgd", m, lr=0.1)).__name__
        'SGD'
    """
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    factory = OPTIMIZERS.get(name)
    groups = parameter_groups(model, lr, recurrence_lr_factor, feedback_lr_factor, weight_decay)
    return factory(groups, lr=lr, weight_decay=weight_decay, momentum=momentum)


@SCHEDULERS.register("cosine")
def _cosine(optimizer, max_epochs: int, step_size: int, gamma: float, min_lr_factor: float):
    return torch.optim.lr_scheduler.LambdaLR(optimizer, _CosineFactor(max(1, max_epochs), min_lr_factor))


@SCHEDULERS.register("step")
def _step(optimizer, max_epochs: int, step_size: int, gamma: float, min_lr_factor: float):
    return torch.optim.lr_scheduler.LambdaLR(optimizer, _StepFactor(max(1, step_size), gamma))


@SCHEDULERS.register("none")
def _none(optimizer, max_epochs: int, step_size: int, gamma: float, min_lr_factor: float):
    return None


class _CosineFactor:
    """Cosine decay of the lr factor from 1 to ``min_factor`` over ``epochs`` (picklable)."""

    def __init__(self, epochs: int, min_factor: float):
        self.epochs, self.min_factor = epochs, min_factor

    def __call__(self, epoch: int) -> float:
        progress = min(epoch, self.epochs) / self.epochs
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))


class _StepFactor:
    """``gamma ** (epoch // step_size)`` (picklable)."""

    def __init__(self, step_size: int, gamma: float):
        self.step_size, self.gamma = step_size, gamma

    def __call__(self, epoch: int) -> float:
        return self.gamma ** (epoch // self.step_size)


def set_schedule_epoch(scheduler, epoch: int) -> None:
    """Put ``scheduler`` (from :func:`make_scheduler`) at ``epoch``: every group's lr becomes its
    base lr times the schedule's factor for that epoch.

    The schedules are closed-form functions of the epoch, so setting the epoch at the start of
    every epoch (rather than stepping after it) gives a resumed run exactly the learning rates
    of the uninterrupted one, whenever its checkpoint was written.

    Example:
        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> sched = make_scheduler("step", opt, step_size=2, gamma=0.5)
        >>> set_schedule_epoch(sched, 5); opt.param_groups[0]["lr"]
        0.25
    """
    for group, base, factor in zip(scheduler.optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas):
        group["lr"] = base * factor(int(epoch))
    scheduler.last_epoch = int(epoch)
    scheduler._last_lr = [group["lr"] for group in scheduler.optimizer.param_groups]


def make_scheduler(name: str, optimizer: torch.optim.Optimizer, max_epochs: int = 10, step_size: int = 10,
                   gamma: float = 0.1, min_lr_factor: float = 0.0):
    """A per-epoch learning-rate schedule by name (``None`` for ``"none"``).

    Every schedule is a ``LambdaLR`` whose factor is a closed-form function of the epoch
    (see :func:`set_schedule_epoch`).

    Args:
        name: ``cosine`` (from the group lrs down to ``min_lr_factor`` times them over
            ``max_epochs``), ``step`` (times ``gamma`` every ``step_size`` epochs) or ``none``.
        optimizer: The optimizer whose groups are scheduled (their lr ratios are kept).
        max_epochs: Length of the cosine schedule.
        step_size: Epochs between steps of the ``step`` schedule.
        gamma: Factor of the ``step`` schedule.
        min_lr_factor: Final lr of the cosine schedule relative to the initial one.

    Example:
        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> sched = make_scheduler("cosine", opt, max_epochs=2)
        >>> set_schedule_epoch(sched, 1); round(opt.param_groups[0]["lr"], 3)
        0.5
    """
    factory = SCHEDULERS.get(name)
    return factory(optimizer, max_epochs=max_epochs, step_size=step_size, gamma=gamma, min_lr_factor=min_lr_factor)

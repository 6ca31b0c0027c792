"""The plan of a simulation: every argument validated once, hashable, split into units of work.

:func:`make_plan` checks what a user can get wrong (areas, reductions, ``record`` with
``reduce``, the initial state, idle time, dtypes, batch size; an ensemble's members must
agree) and returns a frozen :class:`SimulationPlan`: the models' identities, the stimulus
(by reference, with its digest), the record/reduce spec and the options. Two plans are equal
exactly when they would store the same result, and :attr:`SimulationPlan.fingerprint` names
that result in a store. :attr:`SimulationPlan.units` splits the work into
``(model, samples start:stop)`` units, aligned with the store's chunks.

Example:
    >>> import dynvision, numpy as np
    >>> model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 8, 8))
    >>> plan = make_plan([model], np.zeros((3, 4, 1, 8, 8), "float32"), batch_size=2, record=["V1"])
    >>> [(u.start, u.stop) for u in plan.units]
    [(0, 2), (2, 3)]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import xarray as xr

from dynvision.conventions import BACKGROUND
from dynvision.dynamics import delay_steps
from dynvision.models.base import REDUCERS, ModelState
from dynvision.registry import UnknownNameError, check_choice, unknown_name_message
from dynvision.simulation.fingerprint import Hasher, model_digest, state_digest, stimulus_digest
from dynvision.simulation.stimulus import as_stimulus
from dynvision.validation import InvalidValueError, check_bool, check_int, check_number

INITIAL_STATES = ("zeros", "steady", "fade_in")
PRECISIONS = ("float32", "bfloat16", "autocast")
STORE_DTYPES = ("float32", "float16")
#: Bump when the meaning of stored values changes (the fingerprint then changes too).
PLAN_VERSION = 2


@dataclass(frozen=True)
class Unit:
    """One unit of work: model ``model`` on samples ``start:stop``."""

    index: int
    model: int
    start: int
    stop: int


@dataclass(frozen=True)
class SimulationPlan:
    """A validated simulation (see the module docstring).

    Attributes:
        models: Each member's digest (configuration and weights), in order.
        names: The members' names (``None`` for a single model: no ``model`` dimension).
        stimulus_digest: The stimulus' digest (values, coordinates, attributes).
        record: ``(area, reduction)`` pairs; a callable reduction is named by its digest.
        initial_state: ``"zeros"``, ``"steady"``, ``"fade_in"`` or ``"given:<digest>"``.
    """

    models: tuple[str, ...]
    names: tuple[str, ...] | None
    ensemble_attrs: str
    stimulus_digest: str
    n_samples: int
    times: tuple[float, ...]
    record: tuple[tuple[str, str], ...]
    initial_state: str
    idle_ms: float
    background: float
    store_dtype: str
    precision: str
    channels_last: bool
    store_stimulus: bool
    batch_size: int = field(compare=False)
    stimulus: xr.DataArray = field(compare=False, hash=False, repr=False)
    reducers: Mapping[str, Any] = field(compare=False, hash=False, repr=False)
    given_state: ModelState | None = field(compare=False, hash=False, repr=False, default=None)

    @property
    def fingerprint(self) -> str:
        """The hash of everything that determines the stored result (not the batch size)."""
        return Hasher().update(["dynvision.Simulation", PLAN_VERSION, self.models, self.names, self.ensemble_attrs,
                                self.stimulus_digest, self.record, self.initial_state, self.idle_ms, self.store_dtype,
                                self.precision, self.channels_last, self.store_stimulus]).hexdigest()

    @property
    def units(self) -> list[Unit]:
        """Units of work, batch-major (every model on batch 0, then batch 1...)."""
        out = []
        for start in range(0, self.n_samples, self.batch_size):
            for m in range(len(self.models)):
                out.append(Unit(len(out), m, start, min(self.n_samples, start + self.batch_size)))
        return out

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.store_dtype)

    def options(self) -> dict:
        """The options as stored in the tree's attributes."""
        return {"record": {a: r for a, r in self.record}, "initial_state": self.initial_state.split(":")[0],
                "idle_ms": self.idle_ms, "store_dtype": self.store_dtype, "precision": self.precision,
                "store_stimulus": self.store_stimulus, "fingerprint": self.fingerprint}


def _record_spec(model, record, reduce) -> dict[str, Any]:
    names = model.area_names
    if reduce is not None and isinstance(record, Mapping):
        raise InvalidValueError("reduce", reduce, "None when record is a mapping area -> reduction (the mapping "
                                "already sets each area's reduction); give one of them")
    if record is None:
        record = names
    if isinstance(record, str):
        record = [record]
    if isinstance(record, Mapping):
        spec = dict(record)
    else:
        record = list(record)
        if not record:
            raise InvalidValueError("record", record, f"a non-empty list of areas from {names}")
        spec = {name: reduce if reduce is not None else "none" for name in record}
    for name, red in spec.items():
        if name not in model.areas:
            raise UnknownNameError(unknown_name_message("area", name, names))
        if not callable(red):
            check_choice("reduction", red if red is not None else "none", REDUCERS)
    ordered = [n for n in names if n in spec]
    return {n: spec[n] if spec[n] is not None else "none" for n in ordered}


def _check_state(state: ModelState, model, n: int) -> None:
    ref = model.initial_state(1)
    if len(state.areas) != len(ref.areas):
        raise InvalidValueError("initial_state", f"<ModelState of {len(state.areas)} areas>",
                                f"a state of this model ({len(ref.areas)} areas {model.area_names})")
    for name, got, want in zip(model.area_names, state.areas, ref.areas):
        if tuple(got.v.shape[1:]) != tuple(want.v.shape[1:]):
            raise InvalidValueError("initial_state", f"<ModelState with {name} of shape {tuple(got.v.shape[1:])}>",
                                    f"a state of this model ({name} of shape {tuple(want.v.shape[1:])}): it comes "
                                    f"from another model")
    if state.batch_size not in (1, n):
        raise InvalidValueError("initial_state", f"<ModelState of batch size {state.batch_size}>",
                                f"batch size 1 (shared by every sample) or {n} (one per sample)")


def check_members(models: Sequence[torch.nn.Module], names: Sequence[str], record: Sequence[str]) -> None:
    """An ensemble's members must agree on dt, input and output sizes and recorded areas."""
    first = models[0]
    for name, m in zip(names[1:], models[1:]):
        for what, a, b in (("dt", first.dt, m.dt), ("input_dims", first.input_dims, m.input_dims),
                           ("n_classes", first.n_classes, m.n_classes)):
            if a != b:
                raise ValueError(f"ensemble members must share {what}: {names[0]!r} has {a}, {name!r} has {b}")
        for area in record:
            if area not in m.areas:
                raise ValueError(f"ensemble member {name!r} has no area {area!r} (its areas: {m.area_names})")
            a, b = first.areas[area], m.areas[area]
            if (a.out_channels, tuple(a.size)) != (b.out_channels, tuple(b.size)):
                raise ValueError(f"ensemble members must record areas of one shape: {area} is "
                                 f"{a.out_channels}x{tuple(a.size)} in {names[0]!r} and "
                                 f"{b.out_channels}x{tuple(b.size)} in {name!r}")


def make_plan(models: Sequence[torch.nn.Module], stimulus, *, names: Sequence[str] | None = None,
              ensemble_attrs: Any = None, record=None, reduce=None, batch_size: int = 16,
              initial_state: str | ModelState = "zeros", idle_ms: float = 0.0, store_dtype: str = "float32",
              precision: str = "float32", channels_last: bool = True, store_stimulus: bool = True) -> SimulationPlan:
    """Validate a simulation's arguments and return its plan (see :class:`SimulationPlan`).

    Raises:
        InvalidValueError, UnknownNameError: A bad value, naming it and what is valid.
        ValueError: Ensemble members that disagree, or a bad stimulus.
    """
    model = models[0]
    stim = as_stimulus(stimulus, dt_ms=model.dt)
    n = stim.sizes["sample"]
    _, c, h, w = model.input_dims
    if stim.sizes["channel"] != c or (stim.sizes["y"], stim.sizes["x"]) != (h, w):
        raise ValueError(f"stimulus has {stim.sizes['channel']} channels of {stim.sizes['y']} x {stim.sizes['x']} "
                         f"pixels; the model was built for input_dims={model.input_dims} ({c} channel(s) of {h} x {w})")
    spec = _record_spec(model, record, reduce)
    if names is not None:
        check_members(models, names, list(spec))
    batch_size = check_int("batch_size", batch_size, lo=1)
    check_choice("store_dtype", store_dtype, STORE_DTYPES)
    check_choice("precision", precision, PRECISIONS)
    check_bool("channels_last", channels_last)
    check_bool("store_stimulus", store_stimulus)
    idle_ms = check_number("idle_ms", idle_ms, lo=0, unit="ms")
    delay_steps(idle_ms, model.dt, "idle_ms")
    given = None
    if isinstance(initial_state, ModelState):
        for m in models:
            _check_state(initial_state, m, n)
        given, kind = initial_state, f"given:{state_digest(initial_state)}"
    elif isinstance(initial_state, str):
        kind = check_choice("initial_state", initial_state, INITIAL_STATES)
    else:
        raise InvalidValueError("initial_state", initial_state, f"one of {INITIAL_STATES} or a ModelState")
    background = check_number("stimulus attrs['background']", stim.attrs.get("background", BACKGROUND))
    record_key = tuple((a, r if isinstance(r, str) else f"callable:{Hasher().update(r).hexdigest()}")
                       for a, r in spec.items())
    return SimulationPlan(
        models=tuple(model_digest(m) for m in models), names=None if names is None else tuple(names),
        ensemble_attrs=Hasher().update(ensemble_attrs).hexdigest(), stimulus_digest=stimulus_digest(stim, batch_size), n_samples=n,
        times=tuple(float(t) for t in stim["time"].values), record=record_key, initial_state=kind,
        idle_ms=float(idle_ms), background=float(background), store_dtype=store_dtype, precision=precision,
        channels_last=channels_last, store_stimulus=store_stimulus, batch_size=batch_size, stimulus=stim,
        reducers=spec, given_state=given)

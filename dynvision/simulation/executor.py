"""Running units of work: a prepared copy of a model, frames in, arrays in the stored layout out.

:class:`Executor` never touches the caller's model: it works on a copy converted to the run's
precision, layout (channels-last) and device, made once (a few milliseconds for DyRCNNx4:
see ``benchmarks/record.py``). Each step's recording is copied straight into preallocated
buffers in the stored dtype and layout (``RecurrentModel.run(out=...)``); on a GPU those
buffers live on the device and reach pinned host memory in one non-blocking copy per unit.
Non-finite activity is refused per unit, before anything of it is written, naming the area,
the sample and the time.

Example:
    >>> import dynvision, numpy as np
    >>> from dynvision.simulation.plan import make_plan
    >>> model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 8, 8))
    >>> plan = make_plan([model], np.full((2, 4, 1, 8, 8), 0.5, "float32"), record=["V1"])
    >>> out = Executor(model, plan).run(plan.units[0], np.full((2, 4, 1, 8, 8), 0.5, "float32"))
    >>> out["V1"].shape, out["logits"].shape
    ((2, 4, 36, 8, 8), (2, 4, 3))
"""

from __future__ import annotations

import contextlib
import copy

import numpy as np
import torch

from dynvision.dynamics import delay_steps
from dynvision.models.base import REDUCERS, ModelState, RecurrentModel
from dynvision.simulation.plan import SimulationPlan, Unit

_TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def prepare_model(model: RecurrentModel, precision: str, channels_last: bool, device) -> RecurrentModel:
    """A copy of ``model`` in eval mode, in the run's precision, layout and device (the caller's
    model is never converted or switched to eval)."""
    copied = copy.deepcopy(model).eval()  # (areas recompile their operations when copied or unpickled)
    dtype = torch.bfloat16 if precision == "bfloat16" else None
    copied.to(device=device, dtype=dtype)
    if channels_last:
        copied.to(memory_format=torch.channels_last)
    return copied


class Executor:
    """Runs units of a plan on one model.

    Args:
        model: The caller's model (copied, see :func:`prepare_model`).
        plan: The plan.
        device: Where to run (default: where the model's parameters are).
    """

    def __init__(self, model: RecurrentModel, plan: SimulationPlan, device=None):
        self.plan = plan
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model = prepare_model(model, plan.precision, plan.channels_last, self.device)
        self.reducers = {n: r if callable(r) else REDUCERS[r] for n, r in plan.reducers.items()}
        self.input_dtype = torch.bfloat16 if plan.precision == "bfloat16" else torch.float32
        self._buffers: list[dict | None] = [None, None]  # two sets: one written while the next unit runs
        self._turn = 0
        self._steady: ModelState | None = None
        self._shapes: dict | None = None

    def _autocast(self):
        if self.plan.precision != "autocast":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    # ------------------------------------------------------------------------------------------
    def start_state(self, x: torch.Tensor, start: int, model: RecurrentModel | None = None) -> ModelState | None:
        """The state a unit starts from (zeros, steady, fade-in or given), after the idle time."""
        plan, batch = self.plan, x.shape[0]
        model = model if model is not None else self.model
        dtype = next(model.parameters()).dtype
        kind = plan.initial_state.split(":")[0]
        if kind == "zeros":
            state = None
        elif kind == "steady":
            if model is not self.model:
                state = model.steady_state(batch, background=plan.background)
            else:
                if self._steady is None:
                    self._steady = model.steady_state(1, background=plan.background)
                state = self._steady.expand(batch)
        elif kind == "fade_in":
            state = model.fade_in_state(x[:, 0], background=plan.background)
        else:
            given = plan.given_state
            pick = (lambda t: t.expand(batch, *t.shape[1:])) if given.batch_size == 1 else \
                (lambda t: t[start:start + batch])
            state = given.map(lambda t: pick(t).to(self.device, dtype))
        idle = delay_steps(plan.idle_ms, model.dt, "idle_ms")
        if idle:
            blank = torch.full((batch, idle, *x.shape[2:]), plan.background, device=x.device, dtype=x.dtype)
            state = model.run(blank, state).state
        return state

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-sample, per-step shapes of ``logits`` and every recorded area (one probe step,
        run once)."""
        if getattr(self, "_shapes", None) is not None:
            return self._shapes
        _, c, h, w = self.model.input_dims
        x = torch.full((1, 1, c, h, w), self.plan.background, device=self.device, dtype=self.input_dtype)
        with torch.no_grad(), self._autocast():
            out = self.model.run(x, record=self.reducers)
        shapes = {name: tuple(v.shape[2:]) for name, v in out.recordings.items()}
        shapes["logits"] = tuple(out.logits.shape[2:])
        self._shapes = shapes
        return shapes

    def _buffers_for(self, batch: int, steps: int, slot: int | None = None) -> tuple[dict, dict]:
        """(device buffers, host buffers) for a unit: set ``slot``, or the two sets in turn."""
        if slot is None:
            self._turn ^= 1
            slot = self._turn
        sets = self._buffers[slot]
        if sets is None or next(iter(sets[0].values())).shape[:2] != (batch, steps):
            dtype = _TORCH_DTYPES[self.plan.store_dtype]
            shapes = self.shapes()
            dev = {n: torch.empty((batch, steps, *s), dtype=dtype, device=self.device) for n, s in shapes.items()}
            if self.device.type == "cpu":
                host = dev
            else:
                pin = self.device.type == "cuda"  # page-locked: the copy back overlaps, no staging copy
                host = {n: torch.empty(t.shape, dtype=dtype, pin_memory=pin) for n, t in dev.items()}
            sets = self._buffers[slot] = (dev, host)
        return sets

    def run(self, unit: Unit, frames: np.ndarray, slot: int | None = None) -> dict[str, np.ndarray]:
        """Run one unit on its frames ``(batch, time, C, H, W)``.

        Args:
            unit: The unit.
            frames: Its frames.
            slot: Which of the two buffer sets to fill (``None``: they alternate). Callers
                running units concurrently lease slots (see :mod:`~dynvision.simulation.distributed`).

        Returns:
            ``"logits"`` and area name -> array ``(batch, time, ...)`` in the stored dtype and
            layout (valid until the unit after next, or until ``slot`` is filled again).

        Raises:
            FloatingPointError: Activity that is not finite, naming the area, sample and time.
        """
        x = torch.from_numpy(frames)
        if self.device.type == "cuda":
            x = x.pin_memory().to(self.device, non_blocking=True)
        elif self.device.type != "cpu":
            x = x.to(self.device)
        x = x.to(self.input_dtype)
        dev, host = self._buffers_for(x.shape[0], x.shape[1], slot)
        with torch.no_grad(), self._autocast():
            state = self.start_state(x, unit.start)
            self.model.run(x, state, record=self.reducers, out=dev)
        self.check_finite(dev, unit.start)
        if host is not dev:
            for name, buf in dev.items():
                host[name].copy_(buf, non_blocking=True)
            if self.device.type == "cuda":
                torch.cuda.current_stream(self.device).synchronize()
        return {name: buf.numpy() for name, buf in host.items()}

    def check_finite(self, buffers: dict[str, torch.Tensor], start: int) -> None:
        """Refuse activity that diverged (inf or NaN), naming the area, sample and time.

        Cheap by construction (a full scan of every recorded map costs more than the forward
        pass in float16 on a CPU): non-finite states persist (NaN and inf propagate through
        the recurrence and up the hierarchy to the logits), so the logits at every step and
        each area's last step decide; the exact search for the first sample and time runs only
        on failure. A float32 sum that overflows on large finite values passes."""
        for name, buf in buffers.items():
            probe = buf if name == "logits" else buf[:, -1]
            if torch.isfinite(probe.sum(dtype=torch.float32)) or bool(torch.isfinite(probe).all()):
                continue
            bad = ~torch.isfinite(buf.reshape(buf.shape[0], buf.shape[1], -1)).all(-1)
            s, t = (int(i) for i in bad.nonzero()[0])
            where = "the logits" if name == "logits" else f"area {name}"
            hint = (" (float16 stores hold at most 65504: try store_dtype='float32')"
                    if self.plan.store_dtype == "float16" else "")
            raise FloatingPointError(
                f"activity diverged (inf or NaN) in {where}: first at sample {start + s}, time "
                f"{self.plan.times[t]:g} ms{hint}; nothing of samples {start}..{start + buf.shape[0] - 1} was stored. "
                f"The model's recurrent loops are unstable over this duration; shorten the stimulus, lower the "
                f"recurrent weights, or check the model's parameters")

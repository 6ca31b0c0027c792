"""The per-step operation order of an area: vocabulary, defaults and validation.

Each area runs a fixed sequence of operations on its drive at every time step. The sequence is
declared by name when the model is built, validated there, and compiled into a list of bound
methods (see :class:`~dynvision.layers.area.DynamicArea`), so the time loop never dispatches on
strings.

========== ==================================================================================
operation  what it does to the running tensor ``x``
========== ==================================================================================
conv       feedforward convolution of the input from the area below (``x = W_ff * x``)
conv2      second feedforward stage of a two-stage area (``mid_channels``)
recurrence adds the recurrent term from the area's own output ``trc`` ms ago; *before* conv it
           enters at the input, between conv and conv2 in the middle, after them at the output
skip       adds the skip connections that target this area (each with its own delay)
feedback   adds the feedback connections that target this area (each with its own delay)
adapt      divides by (or subtracts) a per-unit trace of the recent activity (see ``layers.gain``)
normalize  divides by a trace of the population's recent activity at each position (divisive
           normalisation, see ``layers.gain``)
norm       normalisation layer
nonlinearity the activation function ``phi``
integrate  one step of the leaky dynamics ``tau dx/dt = -x + drive`` (the area's state)
record     the tap point that :class:`~dynvision.Simulation` records
delay      emits the output: stores it in the area's history and passes on what was emitted
           ``tff`` ms ago (the feedforward delay)
pool       spatial pooling of the (delayed) feedforward output
========== ==================================================================================

Everything before ``integrate`` computes the *target* the state relaxes to; only ``nonlinearity``,
``norm``, ``record``, ``delay`` and ``pool`` may follow it, and ``record`` sees the state through at
most ``nonlinearity``/``norm`` (so that a recording under time ``t`` is the state at ``t``).

The dynamics *form* (a unit model registered in :data:`dynvision.dynamics.FORMS`) fixes where
``nonlinearity`` sits relative to ``integrate`` (its ``nonlinearity`` attribute):

- ``rate`` (default): ``tau dr/dt = -r + phi(drive)``; order ``... nonlinearity, integrate ...``.
- ``voltage``: ``tau dv/dt = -v + drive``, output ``phi(v)``; ``... integrate, nonlinearity ...``.
- ``dynvision``: ``r <- phi(r + dt/tau (drive - r))``, the DynVision update in which the state is
  rectified every step; ``... integrate, nonlinearity ...`` (its own fixed step).
"""

from __future__ import annotations

from typing import Sequence

from dynvision.registry import UnknownNameError, check_choice, unknown_name_message

OPERATIONS = (
    "conv",
    "conv2",
    "recurrence",
    "skip",
    "feedback",
    "adapt",
    "normalize",
    "norm",
    "nonlinearity",
    "integrate",
    "record",
    "delay",
    "pool",
)
AFTER_INTEGRATE = ("nonlinearity", "norm", "record", "delay", "pool")


def _forms() -> list[str]:
    from dynvision.dynamics import FORMS

    return FORMS.list()


def _fixed(form: str) -> bool:
    from dynvision.dynamics import get_form

    return get_form(form).fixed


def _placement(form: str) -> str:
    from dynvision.dynamics import get_form

    return get_form(form).nonlinearity
TARGETS = ("input", "middle", "output")


def default_operations(form: str = "rate", recurrence_target: str = "output",
                       two_stage: bool = False) -> tuple[str, ...]:
    """The default order for a dynamics form and recurrence target.

    Example:
        >>> default_operations("rate")
        ('conv', 'recurrence', 'skip', 'feedback', 'adapt', 'normalize', 'norm', 'nonlinearity', 'integrate', 'record', 'delay', 'pool')
    """
    check_choice("dynamics form", form, _forms())
    check_choice("recurrence target", recurrence_target, TARGETS)
    if recurrence_target == "middle" and not two_stage:
        raise ValueError(
            "recurrence_target='middle' enters between the two feedforward stages and needs a "
            "two-stage area (mid_channels set, as in DyRCNNx8); use 'input' or 'output'"
        )
    ff = ["conv", "conv2"] if two_stage else ["conv"]
    pos = {"input": 0, "middle": 1, "output": len(ff)}[recurrence_target]
    ff.insert(pos, "recurrence")
    dyn = ["nonlinearity", "integrate"] if _placement(form) == "before" else ["integrate", "nonlinearity"]
    return (*ff, "skip", "feedback", "adapt", "normalize", "norm", *dyn, "record", "delay", "pool")


def validate_operations(order: Sequence[str], form: str = "rate", two_stage: bool = False) -> tuple[str, ...]:
    """Check an operation order and return it as a tuple.

    Raises:
        UnknownNameError: An operation is not in :data:`OPERATIONS`.
        ValueError: Duplicates, missing ``conv``/``integrate``/``delay``, ``conv2`` without a
            two-stage area, or an order that contradicts the dynamics form.
    """
    if isinstance(order, str):
        raise TypeError(f"operations must be a sequence of names, got the string {order!r}")
    order = tuple(order)
    check_choice("dynamics form", form, _forms())
    for op in order:
        if op not in OPERATIONS:
            raise UnknownNameError(unknown_name_message("operation", op, OPERATIONS))
    dupes = sorted({op for op in order if order.count(op) > 1})
    if dupes:
        raise ValueError(f"operations {dupes} appear more than once in {list(order)}")
    for required in ("conv", "integrate", "delay"):
        if required not in order:
            raise ValueError(f"operation order {list(order)} lacks the required operation {required!r}")
    if "conv2" in order and not two_stage:
        raise ValueError("operation 'conv2' needs a two-stage area (mid_channels set)")
    if two_stage and "conv2" not in order:
        raise ValueError(f"a two-stage area needs 'conv2' in its operation order, got {list(order)}")
    idx = order.index
    if "conv2" in order and idx("conv2") < idx("conv"):
        raise ValueError(f"'conv2' must come after 'conv' in {list(order)}")
    last_conv = idx("conv2") if "conv2" in order else idx("conv")
    if idx("integrate") < last_conv:
        raise ValueError(f"'integrate' must come after the feedforward convolution(s) in {list(order)}")
    if idx("delay") < idx("integrate"):
        raise ValueError(f"'delay' (emitting the output) must come after 'integrate' in {list(order)}")
    if "pool" in order and idx("pool") < idx("delay"):
        raise ValueError(f"'pool' must come after 'delay' in {list(order)}: it shapes the output sent on")
    late = [op for op in order[idx("integrate") + 1:] if op not in AFTER_INTEGRATE]
    if late:
        raise ValueError(f"operations {late} come after 'integrate' in {list(order)}; they shape the target "
                         f"the state relaxes to and must come before it (after 'integrate' only "
                         f"{list(AFTER_INTEGRATE)} may follow)")
    if "record" in order:
        if idx("record") < idx("integrate"):
            raise ValueError(f"'record' must come after 'integrate' in {list(order)}: a recording stores the "
                             f"area's state")
        between = [op for op in order[idx("integrate") + 1: idx("record")] if op not in ("nonlinearity", "norm")]
        if between:
            raise ValueError(f"only 'nonlinearity' or 'norm' may come between 'integrate' and 'record', got "
                             f"{between} in {list(order)}")
    if "nonlinearity" in order:
        before = idx("nonlinearity") < idx("integrate")
        placement = _placement(form)
        if placement == "before" and not before:
            raise ValueError(
                f"dynamics form 'rate' (tau dr/dt = -r + phi(drive)) needs 'nonlinearity' before "
                f"'integrate', got {list(order)}; use form 'voltage' or 'dynvision' for phi after integration"
            )
        if placement == "after" and before:
            raise ValueError(
                f"dynamics form {form!r} applies phi after integration and needs 'nonlinearity' "
                f"after 'integrate', got {list(order)}; use form 'rate' otherwise"
            )
        if _fixed(form) and idx("nonlinearity") != idx("integrate") + 1:
            raise ValueError(
                f"dynamics form 'dynvision' rectifies the state each step and needs 'nonlinearity' "
                f"right after 'integrate', got {list(order)}"
            )
    elif _fixed(form):
        raise ValueError(f"dynamics form {form!r} needs a 'nonlinearity' operation")
    return order


def recurrence_target_of(order: Sequence[str]) -> str:
    """Where the recurrent term enters, read off the order: input, middle or output."""
    if "recurrence" not in order:
        return "output"
    r = order.index("recurrence")
    if r < order.index("conv"):
        return "input"
    if "conv2" in order and r < order.index("conv2"):
        return "middle"
    return "output"

"""DynVision 0.1.0 models in dynvision: :func:`from_dynvision`.

The published DynVision package (PyPI ``dynvision==0.1.0``) trains DyRCNN models whose state
dicts and Lightning checkpoints :func:`from_dynvision` turns into the matching dynvision
model. Its ``model(x)`` on DynVision's raw input gives DynVision's logits, index for index,
and :meth:`DynVisionOutputs.dynvision_outputs` adds each area's responses; both agree with
the real package to 1e-5 relative (``tests/models/test_interop.py``, against a fixture
written by ``scripts/dynvision_fixture.py`` in DynVision's own venv).

What DynVision computes, and the dynvision option that reproduces it:

- ``r <- relu(r + dt/tau (drive - r))`` per area, one time constant per area read from the
  state dict: ``dynamics="dynvision"`` (its own fixed step, whatever ``integrator`` says).
- The raw input, not normalised: ``normalize_input=False``.
- Recurrent convolutions with biases (when ``bias=True``): ``recurrence_bias``; DynVision's
  ``self`` type, one weight and one bias for the whole layer, is dynvision's ``scalar``.
- Skip and feedback 1 x 1 convolutions with biases, nearest-neighbour resampling down and up:
  ``connection_bias=True, connection_resample="nearest"``.
- Before a source has emitted, DynVision reads ``None`` and leaves the term out (no recurrent
  or connection bias); an area without input stays silent and the logits are zero until the
  top area emits: ``delay_fill="silent"``.
- Delays in steps as DynVision rounds them: ``tff`` and ``trc`` truncated (``trc < dt`` reads
  the previous step), ``tsk`` and ``tfb`` rounded (``tfb < dt`` reads the previous step); a
  skip or feedback connection whose delay exceeds the history DynVision keeps never acts and
  is left out.
- The time axis: DynVision's output ``k`` is the state *after* frame ``k``; dynvision's
  ``run`` keeps its own convention (index ``k`` is the state before frame ``k``), so
  ``run(x).logits[:, k + 1]`` is DynVision's ``k`` and the last one is in ``run(x).state``.
  The returned model's ``forward`` (and ``dynvision_outputs``) put them in DynVision's order.

Example:
    >>> from dynvision.models import from_dynvision
    >>> model = from_dynvision("DyRCNNx4.ckpt")                       # doctest: +SKIP
    >>> model = from_dynvision(state_dict, n_classes=10, input_dims=(20, 3, 64, 64),
    ...                        recurrence_type="full", dt=2, tau=5, tff=0, trc=4)  # doctest: +SKIP
    >>> logits = model(x)        # DynVision's logits, (batch, time, classes)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any, Mapping

import torch

from dynvision.models.base import ModelState
from dynvision.models.dyrcnn import DyRCNNx2, DyRCNNx4
from dynvision.registry import UnknownNameError, unknown_name_message
from dynvision.validation import InvalidValueError

# DynVision's DyRCNN defaults (dynvision/models/dyrcnn.py and base/temporal.py of 0.1.0).
DEFAULTS: dict[str, Any] = {
    "n_classes": None, "input_dims": (20, 3, 224, 224), "n_timesteps": 1, "dt": 2.0, "tau": 5.0,
    "t_feedforward": 0.0, "t_recurrence": 6.0, "t_feedback": 30.0, "t_skip": 0.0, "recurrence_type": "full",
    "recurrence_target": "output", "feedback_mode": "additive", "skip": True, "feedback": False,
    "train_tau": False, "bias": True, "feedforward_only": False, "supralinearity": 1.0,
    "input_adaption_weight": 0.0, "use_retina": False, "idle_timesteps": 0, "dynamics_solver": "euler",
    "max_weight_init": 0.001, "classifier_name": "classifier",
}
SUPPORTED = tuple(DEFAULTS)
# Options that only shape training in DynVision (losses, optimisers, data presentation).
TRAINING_ONLY = (
    "data_presentation_pattern", "shuffle_presentation_pattern", "loss_reaction_time", "non_label_index",
    "non_input_value", "truncated_bptt_timesteps", "learning_rate", "optimizer", "optimizer_kwargs",
    "optimizer_configs", "lr_parameter_groups", "scheduler", "scheduler_kwargs", "scheduler_configs",
    "criterion_params", "activity_loss_weight", "retain_graph", "log_level", "log_every_n_steps",
)
ALIASES = {
    "taugrad": "train_tau", "supralin": "supralinearity", "winit": "max_weight_init",
    "inadapt": "input_adaption_weight", "ffonly": "feedforward_only", "trc": "t_recurrence",
    "tff": "t_feedforward", "tfb": "t_feedback", "tsk": "t_skip", "rctype": "recurrence_type",
    "rctarget": "recurrence_target", "fbmode": "feedback_mode", "pattern": "data_presentation_pattern",
    "shufflepattern": "shuffle_presentation_pattern", "lossrt": "loss_reaction_time",
    "solver": "dynamics_solver", "idle": "idle_timesteps", "tbptt": "truncated_bptt_timesteps",
    "lr": "learning_rate", "activityloss": "activity_loss_weight",
    # dynvision's spellings of the same times
    "dt_ms": "dt", "tau_ms": "tau", "tff_ms": "t_feedforward", "trc_ms": "t_recurrence",
    "tfb_ms": "t_feedback", "tsk_ms": "t_skip",
}
RECURRENCES = ("full", "self", "depthpointwise", "pointdepthwise", "none")
LAYER_OPERATIONS = {
    "DyRCNNx2": ["layer", "addext", "addskip", "addfeedback", "tstep", "nonlin", "supralin", "record", "delay",
                 "pool", "norm"],
    "DyRCNNx4": ["layer", "addext", "addskip", "addfeedback", "tstep", "nonlin", "supralin", "record", "delay",
                 "pool"],
}


class DynVisionOutputs:
    """Mixin of the models :func:`from_dynvision` returns: ``model(x)`` indexed as DynVision.

    ``model.run`` keeps dynvision's time axis (index ``k``: the state before frame ``k``) and
    is what :class:`~dynvision.Simulation` uses; ``model(x)`` returns DynVision's logits, whose
    index ``k`` is the state after frame ``k``.
    """

    dynvision_layers: dict[str, str] = {}  # dynvision area -> DynVision layer name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """DynVision's logits ``(batch, time, classes)``: index ``k`` after frame ``k``."""
        return self.dynvision_outputs(x, responses=False)[0]

    def dynvision_outputs(self, x: torch.Tensor, responses: bool = True
                          ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """DynVision's logits and each area's responses ``(batch, time, C, H, W)``, index ``k``
        after frame ``k`` (what DynVision's ``record`` sees; zeros while an area is silent).

        Keys are dynvision's area names (``dynvision_layers`` maps them to DynVision's).
        """
        out = self.run(x, record=self.area_names if responses else None)
        final: ModelState = out.state
        last = self._logits([final.features], x.shape[0], out.logits)
        logits = torch.cat([out.logits[:, 1:], last], dim=1)
        recorded = {}
        for i, name in enumerate(self.area_names if responses else ()):
            recorded[name] = torch.cat([out.recordings[name][:, 1:], final.areas[i].recorded.unsqueeze(1)], dim=1)
        return logits, recorded


class DynVisionDyRCNNx2(DynVisionOutputs, DyRCNNx2):
    """DyRCNNx2 with DynVision's output indexing (see :class:`DynVisionOutputs`)."""

    dynvision_layers = {"V1": "layer1", "V2": "layer2"}


class DynVisionDyRCNNx4(DynVisionOutputs, DyRCNNx4):
    """DyRCNNx4 with DynVision's output indexing (see :class:`DynVisionOutputs`)."""

    dynvision_layers = {"V1": "V1", "V2": "V2", "V4": "V4", "IT": "IT"}


def _unsupported(name: str, value: Any, expected: str) -> InvalidValueError:
    return InvalidValueError(
        name, value, f"{expected}; from_dynvision supports the DynVision options {', '.join(SUPPORTED)} "
                     f"and ignores the training-only ones ({', '.join(TRAINING_ONLY)})")


def load(source) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A DynVision state dict and the constructor arguments saved with it (checkpoints only)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"no DynVision state dict or checkpoint at {str(path)!r}")
        try:
            source = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as error:
            reason = str(error).strip().splitlines()[0]
            raise ValueError(f"{str(path)!r} holds more than tensors and plain values and is not read unchecked "
                             f"({reason}); if you trust it, pass torch.load(path, weights_only=False) "
                             f"instead of the path") from None
    if not isinstance(source, Mapping):
        raise TypeError(f"expected a DynVision state dict, a Lightning checkpoint or a path to one, "
                        f"got {type(source).__name__}")
    if "state_dict" in source and isinstance(source["state_dict"], Mapping):
        return dict(source["state_dict"]), dict(source.get("hyper_parameters") or {})
    if not all(torch.is_tensor(v) for v in source.values()):
        bad = next(k for k, v in source.items() if not torch.is_tensor(v))
        raise TypeError(f"not a state dict: entry {bad!r} is a {type(source[bad]).__name__}, not a tensor")
    return dict(source), {}


def resolve_options(kwargs: Mapping[str, Any], saved: Mapping[str, Any]) -> dict[str, Any]:
    """DynVision's constructor arguments: defaults, then a checkpoint's, then the caller's."""
    options = dict(DEFAULTS)
    options.update({k: v for k, v in saved.items() if k in DEFAULTS})
    given: dict[str, str] = {}
    for key, value in kwargs.items():
        name = ALIASES.get(key, key)
        if name not in DEFAULTS and name not in TRAINING_ONLY:
            raise UnknownNameError(unknown_name_message("DynVision option", key, [*SUPPORTED, *TRAINING_ONLY]))
        if name in given:
            raise TypeError(f"from_dynvision got {given[name]!r} and {key!r}: the same DynVision option; give one")
        given[name] = key
        options[name] = value
    return options


def _flag(options: Mapping[str, Any], name: str) -> bool:
    value = options[name]
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    if isinstance(value, (bool, int)) and value in (0, 1):
        return bool(value)
    raise InvalidValueError(name, value, "True or False")


def _flag_or_mode(value) -> bool:
    """DynVision's ``feedback`` argument: a flag, or ``"add"``/``"mul"`` (on, with that mode)."""
    if str(value).lower() in ("add", "mul"):
        return True
    return _flag({"feedback": value}, "feedback")


def check_supported(options: Mapping[str, Any], family: str, saved: Mapping[str, Any]) -> None:
    """Raise for DynVision settings that have no dynvision counterpart (named, with the reason)."""
    rules = [
        ("recurrence_target", lambda v: v == "output", "'output' (DynVision's recurrence at the layer input "
         "or middle reads its output through an upsampling dynvision does not model)"),
        ("supralinearity", lambda v: float(v) == 1.0, "1 (DynVision's supralinearity 0.8 * max(r, 1e-6)^n "
         "has no dynvision activation)"),
        ("input_adaption_weight", lambda v: float(v) == 0.0, "0 (DynVision's input adaption replaces the "
         "input after the first frame by a decaying copy of it)"),
        ("use_retina", lambda v: not v or str(v).lower() == "false", "False (DynVision 0.1.0 builds V1 for "
         "the retina's 18 channels but never applies the retina, so such a model cannot run)"),
        ("idle_timesteps", lambda v: int(v) == 0, "0 (run that many zero frames first: state = "
         "model.run(zeros).state, then model.run(x, state))"),
        ("classifier_name", lambda v: v == "classifier", "'classifier'"),
    ]
    for name, ok, expected in rules:
        if not ok(options[name]):
            raise _unsupported(name, options[name], expected)
    multiplicative = " (DynVision's multiplicative feedback x * (1 + tanh(h)) has no dynvision counterpart)"
    if str(options["feedback"]).lower() == "mul":
        raise _unsupported("feedback", options["feedback"], "True, False or 'add'" + multiplicative)
    if _flag_or_mode(options["feedback"]) and str(options["feedback_mode"]).lower() != "additive":
        raise _unsupported("feedback_mode", options["feedback_mode"], "'additive'" + multiplicative)
    kind = str(options["recurrence_type"]).lower()
    if kind not in RECURRENCES:
        raise _unsupported("recurrence_type", options["recurrence_type"],
                           f"one of {', '.join(RECURRENCES)} (DynVision's topographic 'local' types tile "
                           f"channels differently from dynvision's)")
    ops = saved.get("layer_operations")
    if ops is not None and list(ops) != LAYER_OPERATIONS[family]:
        raise _unsupported("layer_operations", ops, f"DynVision's {family} order {LAYER_OPERATIONS[family]}")


def dynvision_steps(options: Mapping[str, Any]) -> dict[str, Any]:
    """Delays in steps as DynVision 0.1.0 computes them, and which delayed terms can ever act.

    DynVision keeps ``int(history / dt)`` past outputs per layer (``history`` the longest of
    tff, trc, tfb with feedback and tsk + dt with skip) and reads ``None`` for anything older.
    """
    dt = float(options["dt"])
    tff, trc = float(options["t_feedforward"]), float(options["t_recurrence"])
    tfb, tsk = float(options["t_feedback"]), float(options["t_skip"])
    skip, feedback = _flag(options, "skip"), _flag_or_mode(options["feedback"])
    history = max(tff, trc, tfb if feedback else 0.0, tsk + dt if skip else 0.0)
    slots = int(history / dt)
    skip_index = int(round(tsk / dt)) + 1 if tsk else 1
    feedback_index = int(round(tfb / dt)) if tfb else 0
    ff_only = _flag(options, "feedforward_only")
    return {
        "slots": slots, "tff": int(tff / dt), "trc": max(1, int(trc / dt)),
        "tsk": skip_index - 1, "tfb": max(1, feedback_index),
        "skip": skip and not ff_only and skip_index <= slots,
        "feedback": feedback and not ff_only and max(1, feedback_index) <= slots,
        "recurrence": not ff_only and str(options["recurrence_type"]).lower() != "none",
    }


def family_of(state_dict: Mapping[str, torch.Tensor]) -> str:
    """DyRCNNx2 (layers ``layer1, layer2``) or DyRCNNx4 (``V1 ... IT``)."""
    if "layer1.conv.weight" in state_dict:
        return "DyRCNNx2"
    if "V1.conv2.weight" in state_dict:
        raise _unsupported("model", "DyRCNNx8", "DyRCNNx2 or DyRCNNx4 (DynVision's DyRCNNx8 uses a 5 x 5 "
                           "recurrence in V1 and 3 x 3 elsewhere; dynvision has one kernel size per model)")
    if "V1.conv.weight" in state_dict:
        return "DyRCNNx4"
    raise ValueError("not a DynVision DyRCNN state dict: it has neither 'V1.conv.weight' (DyRCNNx4) nor "
                     "'layer1.conv.weight' (DyRCNNx2)")


def from_dynvision(state_dict_or_checkpoint_path, **dynvision_kwargs):
    """Build the dynvision model that computes what a DynVision 0.1.0 DyRCNN computes.

    Args:
        state_dict_or_checkpoint_path: A DynVision ``state_dict()``, a Lightning checkpoint
            (dict with ``state_dict`` and ``hyper_parameters``) or a path to either.
        **dynvision_kwargs: The constructor arguments DynVision was given, by DynVision's
            names or aliases (``n_classes, input_dims, recurrence_type, dt, tau, tff, trc,
            tfb, tsk, skip, feedback, bias, train_tau, feedforward_only...``; the ``_ms``
            spellings work too). A checkpoint's saved arguments fill in what is not given;
            the rest take DynVision's defaults (``n_classes`` is read off the classifier).
            Training-only options (losses, optimisers, presentation patterns) are accepted
            and ignored.

    Returns:
        A :class:`DynVisionDyRCNNx2` or :class:`DynVisionDyRCNNx4`: a dynvision model (``run``
        and :class:`~dynvision.Simulation` keep dynvision's time axis) whose ``model(x)``
        returns DynVision's logits index for index.

    Raises:
        UnknownNameError: An option DynVision's DyRCNN does not take.
        InvalidValueError: A DynVision setting dynvision cannot reproduce (named, with the
            supported options).
        ValueError: The state dict does not fit the architecture and options.
    """
    state_dict, saved = load(state_dict_or_checkpoint_path)
    family = family_of(state_dict)
    options = resolve_options(dynvision_kwargs, saved)
    check_supported(options, family, saved)
    steps = dynvision_steps(options)
    if steps["slots"] == 0:
        raise _unsupported("t_recurrence", options["t_recurrence"], f">= dt={options['dt']:g} ms when tff, tfb "
                           f"and skip keep no history (DynVision then stores no past output: its recurrence "
                           f"never acts and its state is not rectified)")
    if family == "DyRCNNx2" and steps["skip"]:
        raise _unsupported("skip", options["skip"], "False for DyRCNNx2 (DynVision's layer1 -> layer2 skip "
                           "connection has no counterpart in dynvision's DyRCNNx2)")
    cls = DynVisionDyRCNNx2 if family == "DyRCNNx2" else DynVisionDyRCNNx4
    layers = cls.dynvision_layers
    config = build_config(options, steps, state_dict, layers)
    if family == "DyRCNNx2":
        config["train_tau"] = False  # DynVision's DyRCNNx2 keeps its time constants fixed
    model = cls(**config)
    weights = translate(state_dict, model, layers, options, steps)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        detail = " ".join(str(error).split())
        raise ValueError(f"the DynVision state dict does not fit {family} with these options "
                         f"(n_classes, input_dims, recurrence_type, bias...): {detail}") from None
    return model.eval()


def _tau_of(state_dict, layer: str, default: float) -> float:
    for key in (f"tau_{layer}", f"tstep_{layer}.tau"):
        if key in state_dict:
            return float(state_dict[key])
    return float(default)


def build_config(options, steps, state_dict, layers: Mapping[str, str]) -> dict[str, Any]:
    """The dynvision constructor arguments for DynVision's options."""
    dims = tuple(int(d) for d in options["input_dims"])
    if len(dims) == 3:  # DynVision also takes (C, H, W) with n_timesteps
        dims = (max(1, int(options["n_timesteps"])), *dims)
    if len(dims) != 4:
        raise InvalidValueError("input_dims", options["input_dims"], "(time, channels, height, width)")
    n_classes = options["n_classes"]
    if n_classes is None:
        n_classes = int(state_dict["classifier.2.weight"].shape[0]) if "classifier.2.weight" in state_dict else 1000
    dt = float(options["dt"])
    bias = _flag(options, "bias")
    kind = str(options["recurrence_type"]).lower() if steps["recurrence"] else "none"
    kind = OUR_RECURRENCE.get(kind, kind)
    return dict(
        n_classes=int(n_classes), input_dims=dims, dt_ms=dt,
        tau_ms={area: _tau_of(state_dict, layer, options["tau"]) for area, layer in layers.items()},
        tff_ms=steps["tff"] * dt, trc_ms=steps["trc"] * dt, tsk_ms=steps["tsk"] * dt, tfb_ms=steps["tfb"] * dt,
        recurrence_type=kind, recurrence_target="output", recurrence_bias=bias, recurrence_kernel=3,
        skip=steps["skip"], feedback=steps["feedback"], feedback_mode="additive",
        connection_bias=True, connection_resample="nearest", delay_fill="silent", normalize_input=False,
        dynamics="dynvision", activation="relu", bias=bias, train_tau=_flag(options, "train_tau"), width=1.0,
    )


# DynVision's connection modules and the layer each reads (dyrcnn.py of 0.1.0)
SOURCES = {"addskip_V4": "V1", "addskip_IT": "V2", "addfeedback_V1": "V4", "addfeedback_V2": "IT",
           "addskip_layer2": "layer1", "addfeedback_layer1": "layer2"}

# DynVision's ``self`` is one weight (and bias) for the whole layer: dynvision's ``scalar``
OUR_RECURRENCE = {"self": "scalar"}

RECURRENCE_KEYS = {
    "full": {"conv.weight": "conv.weight", "conv.bias": "conv.bias"},
    "self": {"weight": "weight", "bias": "bias"},
    "depthpointwise": {"depthwise_conv.weight": "depthwise.weight", "depthwise_conv.bias": "depthwise.bias",
                       "pointwise_conv.weight": "pointwise.weight", "pointwise_conv.bias": "pointwise.bias"},
}
RECURRENCE_KEYS["pointdepthwise"] = RECURRENCE_KEYS["depthpointwise"]


def translate(state_dict, model, layers: Mapping[str, str], options, steps) -> dict[str, torch.Tensor]:
    """DynVision's tensors under dynvision's names (every dynvision parameter, checked)."""
    ours = model.state_dict()
    out: dict[str, torch.Tensor] = {}
    used: set[str] = set()

    def take(theirs: str, mine: str, transform=None) -> None:
        if theirs not in state_dict:
            hint = (" (DynVision creates skip and feedback convolutions at its first forward pass: save the "
                    "state dict after one)") if theirs.startswith(("addskip", "addfeedback")) else ""
            raise ValueError(f"the DynVision state dict lacks {theirs!r}, needed for {mine!r}{hint}")
        value = state_dict[theirs].detach().to(torch.float32)
        out[mine] = transform(value) if transform else value
        used.add(theirs)

    kind = str(options["recurrence_type"]).lower()
    for area, layer in layers.items():
        take(f"{layer}.conv.weight", f"areas.{area}.conv.weight")
        if f"areas.{area}.conv.bias" in ours:
            take(f"{layer}.conv.bias", f"areas.{area}.conv.bias")
        if steps["recurrence"]:
            for theirs, mine in RECURRENCE_KEYS[kind].items():
                if f"areas.{area}.recurrence.{mine}" in ours:
                    take(f"{layer}.recurrence.{theirs}", f"areas.{area}.recurrence.{mine}")
        if f"areas.{area}.log_tau" in ours:
            out[f"areas.{area}.log_tau"] = torch.tensor(math.log(_tau_of(state_dict, layer, options["tau"])))
    for i, conn in enumerate(model.connections):
        prefix = f"add{conn.kind}_{layers[conn.target]}"
        take(f"{prefix}.conv.weight", f"connections.{i}.conv.weight")
        take(f"{prefix}.conv.bias", f"connections.{i}.conv.bias")
    take("classifier.2.weight", "classifier.weight")
    take("classifier.2.bias", "classifier.bias")
    _check_leftovers(state_dict, used)
    return out


def _check_leftovers(state_dict, used: set[str]) -> None:
    """Every DynVision tensor is used, an alias of a used one, or bookkeeping; else raise."""
    for key, value in state_dict.items():
        if key in used or key == "n_residual_timesteps" or key.startswith("tau_") or key.endswith(".tau"):
            continue
        if ".source." in key:  # a connection's view of its source layer: the same tensor
            prefix, rest = key.split(".source.", 1)
            owner = f"{SOURCES.get(prefix, '?')}.{rest}"
            if owner in state_dict and not torch.equal(state_dict[owner], value):
                raise ValueError(f"the DynVision state dict has {key!r} different from {owner!r}; "
                                 f"in DynVision they are one tensor")
            continue
        if key.startswith(("addskip_", "addfeedback_")):
            continue  # a connection that never acts with these delays (see dynvision_steps)
        raise ValueError(f"the DynVision state dict has {key!r}, which these options do not use; check the "
                         f"options (recurrence_type, skip, feedback, feedforward_only...) against the model "
                         f"that was trained")


__all__ = ["DynVisionDyRCNNx2", "DynVisionDyRCNNx4", "DynVisionOutputs", "from_dynvision"]

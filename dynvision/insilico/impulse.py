"""Impulse responses: how each channel of a continuous-time model responds over time to a flash.

A convolutional layer's temporal kernel has no direct counterpart in a continuous-time
model: the temporal side of a unit is its dynamics (time constant, delays, recurrence,
adaptation). :func:`impulse_responses` measures it the way one would in an experiment: a
brief full-field flash (luminance ``background +- amplitude`` on every channel and pixel for
``pulse_ms``, from ``onset_ms``), and the response of the centre unit of every channel of
every area, and of every output class, minus the response to a blank screen of the same
length (the resting activity). ``on`` is a flash brighter than the background, ``off`` darker.

Time follows the package convention: the value at ``t`` is the state at ``t``; the flash
shown over ``[onset, onset + pulse)`` changes the state from ``onset + dt`` on.

Example:
    >>> import dynvision
    >>> m = dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(4, 1, 8, 8), width=0.1)
    >>> tree = impulse_responses(m, duration_ms=20)
    >>> tree["V1"]["response"].dims, list(tree["V1"]["response"].polarity.values)
    (('polarity', 'time', 'channel'), ['on', 'off'])
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import torch
import xarray as xr

from dynvision.conventions import BACKGROUND, jsonable
from dynvision.dynamics import delay_steps
from dynvision.insilico.objectives import frozen, model_dt_ms
from dynvision.registry import UnknownNameError, check_choice, unknown_name_message
from dynvision.validation import check_bool, check_number, ms_aliases

POLARITIES = ("on", "off")


@ms_aliases
def impulse_responses(model, areas: Iterable[str] | None = None, *, pulse_ms: float | None = None,
                      onset_ms: float | None = None, duration_ms: float | None = None, amplitude: float = 0.5,
                      polarities: Sequence[str] = POLARITIES, output: bool = True,
                      background: float = BACKGROUND) -> xr.DataTree:
    """Responses of every channel's centre unit (and every output class) to a brief flash.

    Args:
        model: A dynvision model.
        areas: Areas to measure (default all).
        pulse_ms: Flash duration (default one step, ``dt``).
        onset_ms: Flash onset (default ``2 dt``, so the resting state shows before it).
        duration_ms: Length of the run (default: the model's ``input_dims`` steps, at least
            ``onset + pulse + 10 dt``).
        amplitude: Luminance step from the background (0.5: white and black flashes on grey).
        polarities: ``"on"`` (brighter) and/or ``"off"`` (darker).
        output: Include the output classes (node ``output``).
        background: The grey level before and after the flash.

    Returns:
        A DataTree with a node per area holding ``response`` (polarity, time, channel) and a
        node ``output`` with ``response`` (polarity, time, class); time in ms; the flash
        window in ``attrs``.
    """
    names = list(model.area_names if areas is None else areas)
    for a in names:
        if a not in model.areas:
            raise UnknownNameError(unknown_name_message("area", a, model.area_names))
    polarities = [check_choice("polarity", p, POLARITIES) for p in polarities]
    if not polarities:
        raise ValueError("polarities is empty: give 'on' and/or 'off'")
    output = check_bool("output", output)
    dt = model_dt_ms(model)
    pulse_ms = check_number("pulse_ms", dt if pulse_ms is None else pulse_ms, lo=0, lo_open=True, unit="ms")
    onset_ms = check_number("onset_ms", 2 * dt if onset_ms is None else onset_ms, lo=0, unit="ms")
    pulse, onset = delay_steps(pulse_ms, dt, "pulse_ms", minimum=1), delay_steps(onset_ms, dt, "onset_ms")
    if duration_ms is None:
        duration_ms = dt * max(int(model.input_dims[0]), onset + pulse + 10)
    steps = delay_steps(check_number("duration_ms", duration_ms, lo=0, lo_open=True, unit="ms"), dt, "duration_ms",
                        minimum=1)
    if onset + pulse > steps:
        raise ValueError(f"the flash ({onset_ms:g} to {onset_ms + pulse_ms:g} ms) does not fit in duration_ms="
                         f"{duration_ms:g}")
    amplitude = check_number("amplitude", amplitude, lo=0, lo_open=True)
    background = check_number("background", background)
    param = next(model.parameters())
    _, c, h, w = (int(d) for d in model.input_dims)
    x = torch.full((1 + len(polarities), steps, c, h, w), background, device=param.device, dtype=param.dtype)
    for i, p in enumerate(polarities):
        x[1 + i, onset:onset + pulse] += amplitude if p == "on" else -amplitude
    with frozen(model), torch.no_grad():
        out = model.run(x, record={a: "center" for a in names})
    time = np.arange(out.logits.shape[1]) * dt
    attrs = {"onset_ms": onset_ms, "pulse_ms": pulse_ms, "amplitude": amplitude, "background": background}
    nodes = {}
    for a in names:
        rec = out.recordings[a].float().cpu().numpy()
        nodes[a] = _node(rec[1:] - rec[:1], polarities, time, "channel", {**attrs, "area": a})
    if output:
        logits = out.logits.float().cpu().numpy()
        nodes["output"] = _node(logits[1:] - logits[:1], polarities, time, "class", {**attrs, "area": "output"})
    from dynvision.models.base import config_dict

    tree = xr.DataTree.from_dict(nodes)
    tree.attrs = {"dynvision": "impulse_responses", **attrs, "dt_ms": dt, "areas": names,
                  "model": jsonable(config_dict(model))}
    return tree


def _node(values: np.ndarray, polarities, time, unit_dim: str, attrs: dict) -> xr.Dataset:
    da = xr.DataArray(values, dims=("polarity", "time", unit_dim),
                      coords={"polarity": np.array(polarities, dtype=object),
                              "time": ("time", time, {"units": "ms"}), unit_dim: np.arange(values.shape[-1])},
                      attrs={"long_name": "response to the flash minus the resting response"})
    return xr.Dataset({"response": da}, attrs=attrs)


__all__ = ["POLARITIES", "impulse_responses"]

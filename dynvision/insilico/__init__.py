"""In-silico analysis: what drives a unit, and how it responds over time.

The role of this package is to probe a trained model as an experimenter probes a neuron:

- :mod:`~dynvision.insilico.units`: which response to read (area, channel and position,
  an output class, or a recorded neuron of a readout);
- :mod:`~dynvision.insilico.objectives`: a unit's response over time, reduced over a time
  window, each row of a batch reading its own unit;
- :mod:`~dynvision.insilico.constraints`: value range, norm ball and temporal smoothness as
  exact projections;
- :mod:`~dynvision.insilico.meis`: :func:`mei`, most exciting inputs, batched over units and
  random starts; :mod:`~dynvision.insilico.store`: MEIs in zarr;
- :mod:`~dynvision.insilico.tuning`: :func:`gradient_grid` (response gradients across the
  contrasts of two stimulus channels) and :func:`equalize_channels`;
- :mod:`~dynvision.insilico.impulse`: :func:`impulse_responses`, the response of every
  channel over time to a brief flash (the temporal side of a continuous-time unit);
- :mod:`~dynvision.insilico.loading`: :func:`load_model` from a name, a checkpoint or a folder;
- :mod:`~dynvision.insilico.visualize`: the ``dynvision visualize`` command.

It depends on :mod:`dynvision.models` and :mod:`dynvision.layers`; figures live in
:mod:`dynvision.views.insilico`.

Example:
    >>> import dynvision
    >>> from dynvision.insilico import mei
    >>> model = dynvision.create_model("DyRCNNx4", pretrained="dyrcnnx4-digits")  # doctest: +SKIP
    >>> meis = mei(model, ["V1:0", "V4:3", "output:7"], n_starts=4)  # doctest: +SKIP
"""

from __future__ import annotations

from dynvision._lazy import lazy_exports

_LAZY = {
    "Unit": "dynvision.insilico.units",
    "parse_unit": "dynvision.insilico.units",
    "all_units": "dynvision.insilico.units",
    "unit_traces": "dynvision.insilico.objectives",
    "objective_values": "dynvision.insilico.objectives",
    "frozen": "dynvision.insilico.objectives",
    "TIME_REDUCERS": "dynvision.insilico.objectives",
    "Constraints": "dynvision.insilico.constraints",
    "mei": "dynvision.insilico.meis",
    "best_meis": "dynvision.insilico.meis",
    "save_meis": "dynvision.insilico.store",
    "open_meis": "dynvision.insilico.store",
    "gradient_grid": "dynvision.insilico.tuning",
    "equalize_channels": "dynvision.insilico.tuning",
    "impulse_responses": "dynvision.insilico.impulse",
    "load_model": "dynvision.insilico.loading",
    "visualize_model": "dynvision.insilico.visualize",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

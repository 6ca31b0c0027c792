"""Simulation: a model (or an ensemble) on a stimulus -> labelled activations, streamed to zarr.

:class:`Simulation` runs any :class:`~dynvision.models.base.RecurrentModel`, or every model of an
ensemble, on a stimulus ``(sample, time, channel, y, x)`` in units of work, without gradients,
and returns an ``xarray.DataTree`` (schema in :mod:`dynvision.io.schema`): one node per
recorded area with ``activity``, the root with ``logits``, ``time`` in ms, every stimulus
condition as a coordinate along ``sample``, and the model, configuration, dt and version in
the attributes; an ensemble adds a ``model`` dimension.

The modules, one role each:

- :mod:`~dynvision.simulation.stimulus`: validating the stimulus, resampling it to ``dt``;
- :mod:`~dynvision.simulation.fingerprint`: hashing exactly what determines a result;
- :mod:`~dynvision.simulation.plan`: the validated, hashable plan and its units of work;
- :mod:`~dynvision.simulation.executor`: running units on a prepared copy of a model;
- :mod:`~dynvision.simulation.layout`: attributes, store layout and regions of the schema;
- :mod:`~dynvision.simulation.core`: :class:`Simulation`, tying them to the writer in
  :mod:`dynvision.io`;
- :mod:`~dynvision.simulation.distributed`: the same units on a Dask client.

With ``store=`` the result streams to zarr unit by unit (memory does not grow with the number
of stimuli) and is returned lazily; an interrupted run resumes when rerun, a finished one is
reopened, a damaged one repaired, and a store holding a different run is never overwritten
unless asked.

Example:
    >>> import torch, dynvision
    >>> model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(5, 1, 16, 16))
    >>> tree = dynvision.Simulation(model, progress=False).run(torch.rand(2, 5, 1, 16, 16))
    >>> tree["V1"]["activity"].dims, tree["logits"].shape
    (('sample', 'time', 'channel', 'y', 'x'), (2, 5, 3))
"""

from __future__ import annotations

from typing import Any, Mapping

from dynvision.simulation.core import Simulation, StoreRepairWarning
from dynvision.simulation.executor import Executor
from dynvision.simulation.fingerprint import Hasher, model_digest, stimulus_digest
from dynvision.simulation.plan import INITIAL_STATES, PRECISIONS, STORE_DTYPES, SimulationPlan, Unit, make_plan
from dynvision.simulation.stimulus import as_stimulus

__all__ = [
    "INITIAL_STATES",
    "PRECISIONS",
    "STORE_DTYPES",
    "Executor",
    "Simulation",
    "SimulationPlan",
    "StoreRepairWarning",
    "Unit",
    "as_stimulus",
    "fingerprint",
    "make_plan",
]


def fingerprint(model, stimulus, options: Mapping[str, Any] | None = None, batch_size: int = 16) -> str:
    """A hash of a model (configuration and weights), a stimulus (values, coordinates,
    attributes) and run options, by value (the same in every process).

    ``Simulation.run`` stores :attr:`SimulationPlan.fingerprint`, which covers every option of
    the run; this function is the same hash for ad-hoc use.
    """
    import xarray as xr

    stim = stimulus if isinstance(stimulus, xr.DataArray) else as_stimulus(stimulus, dt_ms=model.dt)
    return Hasher().update([model_digest(model), stimulus_digest(stim, batch_size), dict(options or {})]).hexdigest()

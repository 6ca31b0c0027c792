"""dynvision: biologically plausible recurrent visual networks, simulated into labelled xarray.

The public API is a handful of names; heavy subpackages load on first use, so
``import dynvision`` is fast and has no side effects (it never imports panel, holoviews,
lightning or papermill).

Example:
    >>> import dynvision
    >>> model = dynvision.create_model("DyRCNNx2", n_classes=10, input_dims=(6, 1, 16, 16))
    >>> tree = dynvision.Simulation(model).run(torch.rand(2, 6, 1, 16, 16))  # doctest: +SKIP
"""

from __future__ import annotations

from dynvision._lazy import lazy_exports

__version__ = "0.1.0"

_LAZY = {
    "create_model": "dynvision.models",
    "list_models": "dynvision.models",
    "Simulation": "dynvision.simulation",
    "open_activations": "dynvision.io",
    "run_experiment": "dynvision.experiments",
    "list_experiments": "dynvision.experiments",
    "Ensemble": "dynvision.ensemble",
}

__all__ = ["__version__", *_LAZY]

__getattr__, _ = lazy_exports(__name__, _LAZY)


def __dir__():
    return sorted(__all__)

"""Helpers the tests share, importable by a name no other test module uses.

(``from conftest import ...`` resolves to whichever ``conftest`` pytest imported last: a
sub-package's ``conftest.py`` shadows this directory's, so shared helpers live here.)
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def make_stimulus(n=5, steps=6, channels=1, size=16, dt=2.0, seed=0):
    rng = np.random.default_rng(seed)
    return xr.DataArray(
        rng.random((n, steps, channels, size, size), dtype=np.float32),
        dims=("sample", "time", "channel", "y", "x"),
        coords={"time": ("time", np.arange(steps) * dt, {"units": "ms"}),
                "contrast": ("sample", np.linspace(0.1, 1.0, n)),
                "label": ("sample", np.arange(n) % 3)},
        attrs={"background": 0.5, "dt": dt, "stimulus": "noise"},
        name="stimulus",
    )


def tiny_model_kwargs(name: str, steps: int = 3, channels: int = 3) -> dict:
    """Constructor arguments for a tiny version of any registered model (AlexNet needs 64 px)."""
    import inspect

    from dynvision.models import MODELS

    size = 64 if name == "AlexNet" else 32
    kwargs = {"n_classes": 3, "input_dims": (steps, channels, size, size)}
    if "width" in inspect.signature(MODELS.get(name).__init__).parameters:
        kwargs["width"] = 0.0625
    return kwargs

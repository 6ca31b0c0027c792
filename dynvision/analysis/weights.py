"""Weights of a model by area and kind: feedforward, recurrent, skip, feedback.

:func:`weight_values` collects the weights (not biases) of every area as flat arrays;
:func:`weight_statistics` summarises them as an ``xarray.Dataset`` indexed by ``area`` and
``kind`` (count, mean, standard deviation, mean magnitude), the numbers behind the weight
distribution figures. Skip and feedback connections count toward their *target* area.

Example:
    >>> import dynvision
    >>> model = dynvision.create_model("DyRCNNx2", input_dims=(2, 1, 8, 8), width=0.25)
    >>> stats = weight_statistics(model)
    >>> stats["count"].sel(area="V1", kind="recurrent").item()  # 9 channels, 3x3 full
    729
"""

from __future__ import annotations

import numpy as np
import xarray as xr

KINDS = ("feedforward", "recurrent", "skip", "feedback")


def weight_values(model) -> dict[tuple[str, str], np.ndarray]:
    """Flat weight arrays by (area, kind); kinds without weights are left out."""
    out: dict[tuple[str, str], list[np.ndarray]] = {}

    def add(area: str, kind: str, module) -> None:
        for name, p in module.named_parameters():
            if name.endswith("bias") or name.startswith("log_tau"):
                continue
            out.setdefault((area, kind), []).append(p.detach().float().cpu().numpy().ravel())

    for name, area in model.areas.items():
        for part in (area.conv, area.conv2):
            if part is not None:
                add(name, "feedforward", part)
        if getattr(area, "has_recurrence", False):
            add(name, "recurrent", area.recurrence)
    for conn in getattr(model, "connections", []):
        add(conn.target, conn.kind, conn)
    return {k: np.concatenate(v) for k, v in out.items()}


def weight_statistics(model) -> xr.Dataset:
    """Count, mean, std and mean |w| per area and kind (NaN where an area has none)."""
    values = weight_values(model)
    areas = list(model.areas.keys())
    shape = (len(areas), len(KINDS))
    stats = {k: np.full(shape, np.nan) for k in ("mean", "std", "mean_abs")}
    count = np.zeros(shape, dtype=np.int64)
    for (area, kind), w in values.items():
        i, j = areas.index(area), KINDS.index(kind)
        count[i, j] = w.size
        stats["mean"][i, j], stats["std"][i, j], stats["mean_abs"][i, j] = w.mean(), w.std(), np.abs(w).mean()
    coords = {"area": np.array(areas, dtype=object), "kind": np.array(KINDS, dtype=object)}
    ds = xr.Dataset({k: (("area", "kind"), v) for k, v in stats.items()}, coords=coords)
    ds["count"] = (("area", "kind"), count)
    ds["std"].attrs = {"long_name": "weight standard deviation"}
    ds["mean_abs"].attrs = {"long_name": "mean weight magnitude"}
    return ds

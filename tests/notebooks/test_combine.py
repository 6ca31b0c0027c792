"""combine_sweep stacks run results along the swept parameters, without warnings."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import xarray as xr

from dynvision.notebooks import combine_sweep


def _fake_sweep(root, consolidated: bool, zarr_format: int):
    """A sweep folder as sweep() leaves it, with one zarr store per run (written by the 'notebooks')."""
    runs = {"tau=5": {"tau": 5}, "tau=10": {"tau": 10}}
    (root / "sweep.json").write_text(json.dumps({"notebook": "nb.ipynb", "grid": {"tau": [5, 10]}, "fixed": {},
                                                 "runs": runs}))
    for rid, combo in runs.items():
        (root / rid).mkdir(parents=True)
        (root / rid / "run.json").write_text(json.dumps({"status": "ok"}))
        tree = xr.DataTree.from_dict({"/": xr.Dataset({"peak": ("area", [combo["tau"], 2.0 * combo["tau"]])},
                                                      coords={"area": ["V1", "IT"]}),
                                      "/V1": xr.Dataset({"trace": ("time", np.arange(3.0) * combo["tau"])})})
        tree.to_zarr(root / rid / "results.zarr", consolidated=consolidated, zarr_format=zarr_format)


@pytest.mark.parametrize("consolidated, zarr_format", [(False, 3), (True, 3), (False, 2), (True, 2)])
def test_zarr_results_combine_without_warnings(tmp_path, consolidated, zarr_format):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # writing is not what is tested
        _fake_sweep(tmp_path, consolidated, zarr_format)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        combined = combine_sweep(tmp_path, "results.zarr")
        peak = combined["peak"].load()
        trace = combined["V1"]["trace"].load()
    assert peak.dims == ("tau", "area") and peak.sel(area="IT").values.tolist() == [10.0, 20.0]
    assert trace.sel(tau=10).values.tolist() == [0.0, 10.0, 20.0]

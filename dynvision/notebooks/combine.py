"""Combine the results of a sweep into one xarray object with the swept parameters as dims.

Each successful run's result is loaded - a file the notebook wrote into its run folder
(zarr or netCDF, opened lazily) or whatever a user function returns for the folder - and the
results are stacked along new dimensions named after the swept parameters, in grid order.
Grid points without a result (failed or not run) are filled with NaN, with a warning.

Example:
    >>> from dynvision.notebooks import combine_sweep
    >>> acts = combine_sweep("results/contrast-sweep", "activations.zarr")  # doctest: +SKIP
    >>> acts["V1"].activity.dims  # doctest: +SKIP
    ('model', 'seed', 'sample', 'time', 'channel')
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Callable

from dynvision.notebooks.runs import RUN_FILE
from dynvision.notebooks.sweep import SWEEP_FILE

_RUN = "__run__"


def combine_sweep(output_dir: str | Path, loader: str | Callable[[Path], Any]) -> Any:
    """Load every successful run of a sweep and stack them along the swept parameters.

    Args:
        output_dir: A folder written by :func:`~dynvision.notebooks.sweep`.
        loader: Either a path relative to each run folder (``"result.zarr"``, ``"out.nc"``)
            opened with xarray - as a ``DataTree`` if it has groups, else a ``Dataset`` - or a
            callable ``loader(run_dir) -> DataArray | Dataset | DataTree``.

    Returns:
        An object of the loader's type with one new leading dimension per swept parameter
        (coordinates = the grid values, in grid order); DataTrees are combined node by node.
        ``attrs["sweep"]`` holds the notebook, grid and fixed parameters as JSON.

    Raises:
        FileNotFoundError: ``output_dir`` holds no sweep, or an ok run lacks the file.
        ValueError: No run succeeded, or a swept name is already a dimension of the results.

    Example:
        >>> combined = combine_sweep("out/sweep", lambda d: xr.open_dataset(d / "result.nc"))  # doctest: +SKIP
        >>> combined.c.dims  # doctest: +SKIP
        ('a', 'b')
    """
    import xarray as xr

    out = Path(output_dir)
    try:
        meta = json.loads((out / SWEEP_FILE).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{str(out)!r} holds no sweep ({SWEEP_FILE} is missing); "
                                f"run dynvision.notebooks.sweep into it first") from None
    grid, dims = meta["grid"], list(meta["grid"])
    results, params, missing = [], [], []
    for rid, combo in meta["runs"].items():
        run_dir = out / rid
        if _status(run_dir) != "ok":
            missing.append(rid)
            continue
        results.append(_load(run_dir, loader))
        params.append(combo)
    if not results:
        raise ValueError(f"no run in {str(out)!r} succeeded; see {out / 'index.csv'}")
    if missing:
        warnings.warn(f"combine_sweep: {len(missing)} of {len(meta['runs'])} runs have no result (failed or not "
                      f"run) and are NaN: {', '.join(missing)}", RuntimeWarning, stacklevel=2)
    info = json.dumps({k: meta[k] for k in ("notebook", "grid", "fixed")})
    if isinstance(results[0], xr.DataTree):
        nodes = {node.path: _stack([t[node.path].to_dataset(inherit=False) for t in results], params, grid)
                 for node in results[0].subtree}
        combined = xr.DataTree.from_dict(nodes)
    else:
        combined = _stack(results, params, grid)
    combined.attrs["sweep"] = info
    return combined


def _stack(objs: list, params: list[dict], grid: dict[str, list]):
    """Concatenate ``objs`` along a run dim and unstack it into one dim per grid key."""
    import xarray as xr

    dims = list(grid)
    items = []
    for i, obj in enumerate(objs):
        if not isinstance(obj, (xr.DataArray, xr.Dataset)):
            raise TypeError(f"the loader returned {type(obj).__name__}; expected an xarray DataArray, "
                            f"Dataset or DataTree")
        clash = [d for d in dims if d in obj.dims]
        if clash:
            raise ValueError(f"swept parameter{'s' if len(clash) > 1 else ''} {', '.join(map(repr, clash))} "
                             f"already a dimension of the results; rename the result's dimension")
        obj = obj.drop_vars([d for d in dims if d in obj.coords], errors="ignore")
        items.append(obj.expand_dims({_RUN: [i]}))
    combined = xr.concat(items, dim=_RUN, coords="different", compat="equals", join="outer",
                         combine_attrs="drop_conflicts")
    combined = combined.assign_coords({d: (_RUN, [_coord(p[d]) for p in params]) for d in dims})
    if len(dims) == 1:
        combined = combined.swap_dims({_RUN: dims[0]}).drop_vars(_RUN)
    else:
        combined = combined.set_index({_RUN: dims}).unstack(_RUN)
    combined = combined.reindex({d: [_coord(v) for v in grid[d]] for d in dims})
    return combined.transpose(*dims, ...)


def _status(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / RUN_FILE).read_text()).get("status")
    except (OSError, ValueError):
        return None


def _load(run_dir: Path, loader: str | Callable[[Path], Any]) -> Any:
    if callable(loader):
        return loader(run_dir)
    path = run_dir / loader
    if not path.exists():
        present = sorted(p.name for p in run_dir.iterdir())
        raise FileNotFoundError(f"run {run_dir.name!r} has no {loader!r}; its folder holds: {', '.join(present)}")
    return open_result(path)


def open_result(path: str | Path) -> Any:
    """Open a zarr store or netCDF file lazily: a ``DataTree`` if it has groups, else a ``Dataset``.

    Zarr stores are opened with consolidated metadata only where they have it (dynvision writes
    none), so opening prints no warning.

    Example:
        >>> open_result("out/sweep/a=1/result.nc")  # doctest: +SKIP
        <xarray.Dataset> ...
    """
    import xarray as xr

    path = Path(path)
    is_zarr = path.suffix == ".zarr" or (path / "zarr.json").exists() or (path / ".zgroup").exists()
    options = {"engine": "zarr", "consolidated": _consolidated(path)} if is_zarr else {}
    try:
        tree = xr.open_datatree(path, chunks={}, **options)
    except Exception:  # noqa: BLE001 - backends without group support (netCDF3 via scipy)
        return xr.open_dataset(path, chunks={}, **options)
    return tree if tree.children else tree.to_dataset()


def _consolidated(path: Path) -> bool:
    """Whether a zarr store has consolidated metadata (``.zmetadata`` in v2, in ``zarr.json`` in v3)."""
    if (path / ".zmetadata").is_file():
        return True
    try:
        return bool(json.loads((path / "zarr.json").read_text()).get("consolidated_metadata"))
    except (OSError, ValueError, AttributeError):
        return False


def _coord(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value

"""Run notebooks with parameters (papermill) and sweep them over parameter grids on Dask.

The role of this package: turn an exploratory notebook into a reproducible batch job.
:func:`run_notebook` executes one notebook into a folder (executed copy + offline HTML),
:func:`sweep` runs it once per grid point in parallel (local threads, a Dask scheduler or a
dask-jobqueue cluster) with a run index that survives interruptions and never redoes or mixes
up runs, and :func:`combine_sweep` stacks the per-run results into one xarray object with the
swept parameters as dimensions. Model arguments (``tau``, delays, recurrence) sweep by name.

Modules: ``runner`` (one run), ``kernel`` (how kernels start), ``strict`` (warnings as
errors inside a kernel), ``parameters`` (a notebook's parameters cell), ``model_args`` (model
arguments into ``model_kwargs``), ``runs`` (run keys, locks, reuse), ``backends`` (where a
sweep runs), ``sweep``, ``combine``, ``export`` (offline HTML); ``cli`` is the command-line
front end. papermill, nbconvert and distributed are imported only when a function needs them.

Example:
    >>> from dynvision.notebooks import run_notebook, sweep, combine_sweep
    >>> sweep("notebooks/contrast.ipynb", {"tau": [5, 10, 20]}, "results/tau-sweep",
    ...       fixed={"fast": True}, workers=2)  # doctest: +SKIP
    >>> combine_sweep("results/tau-sweep", "results.zarr").tau.values  # doctest: +SKIP
    array([ 5, 10, 20])
"""

from dynvision.notebooks.combine import combine_sweep
from dynvision.notebooks.parameters import MissingParametersCellError, ParametersSyntaxError, notebook_parameters
from dynvision.notebooks.runner import RunRecord, run_notebook
from dynvision.notebooks.sweep import RunConflictError, sweep

__all__ = ["run_notebook", "sweep", "combine_sweep", "notebook_parameters", "RunRecord",
           "MissingParametersCellError", "ParametersSyntaxError", "RunConflictError"]

"""Run notebooks with parameters (papermill) and sweep them over parameter grids on Dask.

The role of this package: turn an exploratory notebook into a reproducible batch job.
:func:`run_notebook` executes one notebook into a folder (executed copy + offline HTML),
:func:`sweep` runs it once per grid point in parallel (local processes, a Dask scheduler or a
dask-jobqueue cluster) with a run index that survives interruptions, and
:func:`combine_sweep` stacks the per-run results into one xarray object with the swept
parameters as dimensions. ``dynvision.notebooks.cli`` provides the command-line front end.
papermill, nbconvert and distributed are imported only when a function needs them.

Example:
    >>> from dynvision.notebooks import run_notebook, sweep, combine_sweep
    >>> sweep("notebooks/contrast.ipynb", {"model": ["DyRCNNx2", "DyRCNNx4"]},
    ...       "results/contrast-sweep", workers=2)  # doctest: +SKIP
    >>> combine_sweep("results/contrast-sweep", "metrics.nc").model.values  # doctest: +SKIP
    array(['DyRCNNx2', 'DyRCNNx4'], dtype='<U8')
"""

from dynvision.notebooks.combine import combine_sweep
from dynvision.notebooks.parameters import MissingParametersCellError, notebook_parameters
from dynvision.notebooks.runner import RunRecord, run_notebook
from dynvision.notebooks.sweep import sweep

__all__ = ["run_notebook", "sweep", "combine_sweep", "notebook_parameters", "RunRecord",
           "MissingParametersCellError"]

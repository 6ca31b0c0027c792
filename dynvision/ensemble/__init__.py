"""Ensembles: several models studied together, coloured by task error and clustered by response.

The role of this package is to treat a set of trained models (seeds, recurrence types,
architectures) as one object, as flyvis does for its 50 fly-eye networks:

- :class:`Ensemble` (:mod:`~dynvision.ensemble.base`): members from pretrained names (or a
  wildcard over them), checkpoints, model objects or a grid of constructor arguments, named,
  ordered by task error, iterable as ``(name, model)`` pairs;
- :func:`task_error_colors` (:mod:`~dynvision.ensemble.colors`): one colour per model, strong
  for the best, pale (never white) for the worst;
- :func:`cluster_models` / :meth:`Ensemble.cluster` (:mod:`~dynvision.ensemble.cluster`):
  UMAP or PCA embedding of each model's responses, a Gaussian mixture with the number of
  clusters chosen by BIC, the best model per cluster, stored as zarr or JSON.

Example:
    >>> from dynvision.ensemble import Ensemble
    >>> ens = Ensemble("dyrcnnx4-ens-*")       # the shipped ensemble  # doctest: +SKIP
    >>> ens.names[0], ens.task_error[ens.names[0]]  # doctest: +SKIP
"""

from dynvision.ensemble.base import Ensemble
from dynvision.ensemble.cluster import Clustering, cluster_models, load_clustering
from dynvision.ensemble.colors import task_error_colors, truncated_colormap

__all__ = ["Clustering", "Ensemble", "cluster_models", "load_clustering", "task_error_colors", "truncated_colormap"]

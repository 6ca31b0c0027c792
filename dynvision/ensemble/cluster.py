"""Clustering models by their responses: an embedding, a Gaussian mixture, k chosen by BIC.

:func:`cluster_models` takes responses with a ``model`` dimension (e.g. a unit's time course
per model and stimulus), flattens everything else into one feature vector per model, embeds the
vectors (UMAP from ``umap-learn``, or PCA from scikit-learn), fits Gaussian mixtures with 1 to
``max_clusters`` components and keeps the one with the lowest BIC. Clusters are numbered by
their best member (cluster 0 holds the model with the lowest task error; without task errors,
by their first member in the given order), so the numbering does not depend on the mixture's
random start.

The :class:`Clustering` it returns says which model is in which cluster, keeps the embedding
and the BIC curve, picks the best model per cluster, and is stored with a run: as a zarr group
(inside an activation store, beside the areas) or as JSON, and read back with
:func:`load_clustering`.

Example:
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> up, down = np.linspace(0, 1, 20), np.linspace(1, 0, 20)
    >>> traces = np.stack([up + 0.02 * rng.normal(size=20) for _ in range(5)]
    ...                   + [down + 0.02 * rng.normal(size=20) for _ in range(4)])
    >>> responses = xr.DataArray(traces, dims=("model", "time"), coords={"model": list("abcdefghi")})
    >>> c = cluster_models(responses, embedding="pca", task_error=dict(zip("abcdefghi", [.3, .2, .4, .5, .6, .1, .7, .8, .9])))
    >>> c.k, c.members(0), c.best()
    (2, ['f', 'g', 'h', 'i'], {0: 'f', 1: 'b'})
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import xarray as xr

from dynvision.conventions import jsonable
from dynvision.registry import check_choice
from dynvision.validation import InvalidValueError, check_int, check_number

EMBEDDINGS = ("umap", "pca", "none")
NORMALIZATIONS = ("none", "zscore", "l2")
FORMAT = "dynvision-clustering"


@dataclass
class Clustering:
    """Models grouped by their responses (see :func:`cluster_models`).

    Attributes:
        names: Model names, in the order of the responses.
        labels: Cluster of each model (0 .. k-1).
        embedding: ``(models, components)`` coordinates the mixture was fitted on.
        k: Number of clusters (lowest BIC).
        bic: Number of components -> BIC of the mixture.
        task_error: Name -> task error (``None`` where unknown).
        options: How the clustering was made (embedding, normalisation, seed...).
    """

    names: list[str]
    labels: np.ndarray
    embedding: np.ndarray
    k: int
    bic: dict[int, float]
    task_error: dict[str, float | None] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def members(self, cluster: int) -> list[str]:
        """Names of the models in ``cluster``."""
        check_int("cluster", cluster, lo=0, hi=self.k - 1)
        return [n for n, lab in zip(self.names, self.labels) if lab == cluster]

    def indices(self) -> dict[int, list[int]]:
        """Cluster -> indices of its models (positions in :attr:`names`)."""
        return {c: [i for i, lab in enumerate(self.labels) if lab == c] for c in range(self.k)}

    def best(self) -> dict[int, str]:
        """Cluster -> its model with the lowest task error (unknown errors: the one nearest the
        cluster's centre in the embedding)."""
        out = {}
        for c, idx in self.indices().items():
            known = [i for i in idx if self.task_error.get(self.names[i]) is not None]
            if known:
                out[c] = self.names[min(known, key=lambda i: (self.task_error[self.names[i]], i))]
            else:
                centre = self.embedding[idx].mean(axis=0)
                out[c] = self.names[min(idx, key=lambda i: (float(np.linalg.norm(self.embedding[i] - centre)), i))]
        return out

    def label_of(self, name: str) -> int:
        """The cluster of model ``name``."""
        if name not in self.names:
            raise InvalidValueError("name", name, f"a clustered model ({', '.join(self.names)})")
        return int(self.labels[self.names.index(name)])

    def __repr__(self) -> str:
        groups = "; ".join(f"{c}: {', '.join(self.members(c))}" for c in range(self.k))
        return f"Clustering(k={self.k}, {groups})"

    # -- storage ----------------------------------------------------------------------------
    def to_dataset(self) -> xr.Dataset:
        """Labels and embedding on a ``model`` dimension, the BIC curve on ``n_clusters``."""
        ks = sorted(self.bic)
        errors = [np.nan if self.task_error.get(n) is None else float(self.task_error[n]) for n in self.names]
        return xr.Dataset(
            {"cluster": ("model", self.labels.astype(np.int64)),
             "embedding": (("model", "component"), self.embedding.astype(np.float64)),
             "task_error": ("model", np.asarray(errors, dtype=np.float64)),
             "bic": ("n_clusters", np.asarray([self.bic[k] for k in ks], dtype=np.float64))},
            coords={"model": np.asarray(self.names, dtype=object),  # variable-length strings: stable in zarr 3 "component": np.arange(self.embedding.shape[1]),
                    "n_clusters": np.asarray(ks, dtype=np.int64)},
            attrs={"format": FORMAT, "k": int(self.k), "options": json.dumps(jsonable(self.options), sort_keys=True),
                   "best": json.dumps({str(c): n for c, n in self.best().items()})},
        )

    def to_json(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the clustering as JSON; an existing file is kept unless ``overwrite``."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        data = {"format": FORMAT, "names": self.names, "labels": self.labels.tolist(),
                "embedding": self.embedding.tolist(), "k": self.k, "bic": {str(k): v for k, v in self.bic.items()},
                "task_error": self.task_error, "options": self.options, "best": self.best()}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(jsonable(data), indent=1) + "\n")
        return path

    def to_zarr(self, store: str | os.PathLike, group: str = "clustering", overwrite: bool = False) -> str:
        """Write the clustering as a group of a zarr store (e.g. the run's activation store).

        Only that group is written; the rest of the store is untouched. An existing group is
        kept unless ``overwrite``.
        """
        import zarr

        try:
            existing = zarr.open_group(os.fspath(store), mode="r")
            taken = group.strip("/") in existing
        except (FileNotFoundError, zarr.errors.GroupNotFoundError):  # type: ignore[attr-defined]
            taken = False
        if taken and not overwrite:
            raise FileExistsError(f"{os.fspath(store)} already holds a group {group!r}; pass overwrite=True to replace it")
        if taken:
            zarr.open_group(os.fspath(store), mode="r+").__delitem__(group.strip("/"))
        self.to_dataset().to_zarr(os.fspath(store), group=group, mode="a", consolidated=False)
        return group

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> "Clustering":
        """The clustering stored by :meth:`to_dataset`."""
        if ds.attrs.get("format") != FORMAT:
            raise InvalidValueError("dataset", ds.attrs.get("format"), f"a dataset written by Clustering ({FORMAT!r})")
        names = [str(n) for n in ds["model"].values]
        errors = {n: None if np.isnan(e) else float(e) for n, e in zip(names, ds["task_error"].values)}
        return cls(names, np.asarray(ds["cluster"].values, dtype=np.int64), np.asarray(ds["embedding"].values),
                   int(ds.attrs["k"]), {int(k): float(b) for k, b in zip(ds["n_clusters"].values, ds["bic"].values)},
                   errors, json.loads(ds.attrs["options"]))


def load_clustering(path: str | os.PathLike, group: str = "clustering") -> Clustering:
    """Read a clustering written by :meth:`Clustering.to_json` or :meth:`Clustering.to_zarr`.

    Args:
        path: A ``.json`` file, or a zarr store (with ``group``).
    """
    path = Path(path)
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise InvalidValueError("path", str(path), f"a JSON file written by Clustering.to_json ({FORMAT!r})")
        return Clustering(data["names"], np.asarray(data["labels"], dtype=np.int64), np.asarray(data["embedding"]),
                          int(data["k"]), {int(k): float(v) for k, v in data["bic"].items()},
                          data["task_error"], data["options"])
    with xr.open_zarr(os.fspath(path), group=group, consolidated=False) as ds:
        return Clustering.from_dataset(ds.load())


def _features(responses: xr.DataArray, dim: str, normalize: str) -> np.ndarray:
    x = responses.transpose(dim, ...).values.reshape(responses.sizes[dim], -1).astype(np.float64)
    if not np.isfinite(x).all():
        raise InvalidValueError("responses", "<values with NaN or inf>", "finite responses")
    if normalize == "zscore":
        std = x.std(axis=0)
        x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    elif normalize == "l2":
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.where(norm > 0, norm, 1.0)
    return x


def _embed(x: np.ndarray, embedding: str, n_components: int, seed: int, umap_kwargs: Mapping[str, Any]) -> np.ndarray:
    n = x.shape[0]
    if embedding == "none":
        return x
    if embedding == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=min(n_components, n, x.shape[1]), random_state=seed).fit_transform(x)
    with warnings.catch_warnings():  # umap-learn announces at import that TensorFlow is missing
        warnings.filterwarnings("ignore", message=".*Tensorflow.*", category=ImportWarning)
        import umap

    kwargs = {"n_components": n_components, "n_neighbors": max(2, min(15, n - 1)), "random_state": seed,
              "n_jobs": 1, "init": "spectral" if n > n_components + 2 else "random", **dict(umap_kwargs)}
    return umap.UMAP(**kwargs).fit_transform(x)


def cluster_models(responses: xr.DataArray, *, dim: str = "model", embedding: str = "umap", n_components: int = 2,
                   max_clusters: int | None = None, normalize: str = "none",
                   task_error: Mapping[str, float | None] | None = None, seed: int = 0, reg_covar: float = 1e-3,
                   umap_kwargs: Mapping[str, Any] | None = None) -> Clustering:
    """Cluster models by their responses (see the module docstring).

    Args:
        responses: A DataArray with dimension ``dim`` (one entry per model, named by its
            coordinate); every other dimension is a feature.
        embedding: ``"umap"``, ``"pca"`` or ``"none"`` (the features themselves).
        n_components: Dimensions of the embedding.
        max_clusters: Most clusters tried (default: ``min(5, models // (n_components + 1))``:
            a full covariance needs ``n_components + 1`` points per cluster).
        normalize: Features per model as they are (``"none"``), z-scored per feature, or scaled
            to unit length per model (``"l2"``: clusters by response shape, not size).
        task_error: Name -> task error; numbers the clusters and picks their best models.
        seed: Seed of the embedding and the mixtures.
        reg_covar: Added to the mixture's covariances, relative to the embedding's variance
            (keeps clusters of a few nearly identical models from winning the BIC by collapse).
        umap_kwargs: Further options for ``umap.UMAP``.

    Raises:
        InvalidValueError: No ``dim``, fewer than 3 models, or non-finite responses.
    """
    from sklearn.mixture import GaussianMixture

    if not isinstance(responses, xr.DataArray) or dim not in responses.dims:
        raise InvalidValueError("responses", type(responses).__name__, f"a DataArray with a {dim!r} dimension")
    check_choice("embedding", embedding, EMBEDDINGS)
    check_choice("normalize", normalize, NORMALIZATIONS)
    n = responses.sizes[dim]
    if n < 3:
        raise InvalidValueError("responses", f"<{n} models>", "at least 3 models to cluster")
    names = [str(v) for v in (responses[dim].values if dim in responses.coords else range(n))]
    n_components = check_int("n_components", n_components, lo=1)
    default_k = min(5, max(1, n // (n_components + 1)))
    max_k = check_int("max_clusters", max_clusters if max_clusters is not None else default_k, lo=1, hi=n)
    features = _features(responses, dim, normalize)
    emb = _embed(features, embedding, n_components, check_int("seed", seed), umap_kwargs or {})
    scale = max(float(np.var(emb, axis=0).mean()), 1e-6 * float(np.mean(features**2)), 1e-300)
    reg = check_number("reg_covar", reg_covar, lo=0, lo_open=True) * scale  # identical models: one cluster
    bic, fits = {}, {}
    for k in range(1, max_k + 1):
        gm = GaussianMixture(k, covariance_type="full", n_init=5, random_state=seed, reg_covar=reg)
        gm.fit(emb)
        bic[k], fits[k] = float(gm.bic(emb)), gm
    k = min(bic, key=lambda key: (bic[key], key))
    raw = fits[k].predict(emb)
    errors = {name: None for name in names} | {str(n_): v for n_, v in (task_error or {}).items() if str(n_) in names}
    rank = {}
    for c in np.unique(raw):
        idx = np.flatnonzero(raw == c)
        known = [errors[names[i]] for i in idx if errors[names[i]] is not None]
        rank[c] = (min(known) if known else np.inf, idx.min())
    order = sorted(rank, key=lambda c: rank[c])
    labels = np.array([order.index(c) for c in raw], dtype=np.int64)
    options = {"dim": dim, "embedding": embedding, "n_components": n_components, "max_clusters": max_k,
               "normalize": normalize, "seed": seed, "reg_covar": reg_covar, "features": {d: int(s) for d, s in responses.sizes.items() if d != dim},
               "name": responses.name}
    return Clustering(names, labels, np.asarray(emb, dtype=np.float64), len(order), bic, errors, options)

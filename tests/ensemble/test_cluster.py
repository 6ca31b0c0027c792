"""Clustering models by their responses: known clusters come back, k by BIC, best per cluster, storage."""

import numpy as np
import pytest
import torch
import xarray as xr
import zarr
from sklearn.metrics import adjusted_rand_score

import dynvision
from dynvision.ensemble import Ensemble, cluster_models, load_clustering
from dynvision.validation import InvalidValueError


def synthetic(sizes=(6, 6, 6), noise=0.05, seed=0, steps=30):
    """Responses (model, sample, time) of models in known groups: each group has its own time course."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, steps)
    shapes = [np.exp(-t / 0.2), t * np.exp(-t / 0.3) * 3, np.sin(6 * t)]
    traces, truth = [], []
    for g, size in enumerate(sizes):
        for _ in range(size):
            base = shapes[g][None, :] * np.array([[1.0], [0.5]])  # two stimuli, two amplitudes
            traces.append(base + noise * rng.normal(size=base.shape))
            truth.append(g)
    names = [f"m{i:02d}" for i in range(len(truth))]
    da = xr.DataArray(np.stack(traces), dims=("model", "sample", "time"), coords={"model": names}, name="V1")
    return da, np.array(truth), names


@pytest.mark.parametrize("sizes", [(6, 6, 6), (5, 9), (4, 4, 4)])
def test_known_clusters_come_back_with_pca(sizes):
    responses, truth, names = synthetic(sizes)
    c = cluster_models(responses, embedding="pca")
    assert c.k == len(sizes) and adjusted_rand_score(truth, c.labels) == 1.0
    assert min(c.bic, key=c.bic.get) == c.k and set(c.bic) == set(range(1, len(c.bic) + 1))
    assert c.embedding.shape == (sum(sizes), 2) and c.names == names


@pytest.mark.slow  # umap-learn compiles its numba kernels on first use (~10 s)
def test_known_clusters_come_back_with_umap():
    responses, truth, _ = synthetic((8, 8), seed=1)
    c = cluster_models(responses, embedding="umap", seed=0)
    assert c.k == 2 and adjusted_rand_score(truth, c.labels) == 1.0
    assert c.options["embedding"] == "umap"


def test_numbering_follows_the_best_models_and_not_the_input_order():
    responses, truth, names = synthetic((5, 5, 5))
    errors = {n: 0.5 for n in names} | {"m12": 0.01, "m03": 0.02, "m07": 0.03}  # best in groups 2, 0, 1
    c = cluster_models(responses, embedding="pca", task_error=errors)
    assert c.label_of("m12") == 0 and c.label_of("m03") == 1 and c.label_of("m07") == 2
    assert c.best() == {0: "m12", 1: "m03", 2: "m07"}
    assert sorted(c.members(1)) == [f"m{i:02d}" for i in range(5)]
    shuffled = responses.isel(model=np.random.default_rng(3).permutation(15))
    again = cluster_models(shuffled, embedding="pca", task_error=errors)
    assert {n: again.label_of(n) for n in names} == {n: c.label_of(n) for n in names}


def test_without_task_errors_the_best_is_the_most_central_member():
    responses, _, names = synthetic((4, 4), noise=0.0)
    responses = responses.copy()
    responses[1] += 0.3  # an outlier in the first group
    c = cluster_models(responses, embedding="pca")
    assert c.best()[0] != "m01" and c.best()[0] in names[:4]


def test_normalisation_separates_shape_from_size():
    t = np.linspace(0, 1, 20)
    traces = [a * np.exp(-t / 0.2) for a in (1, 1.1, 3, 3.3, 0.9, 3.1)]
    da = xr.DataArray(np.stack(traces), dims=("model", "time"), coords={"model": list("abcdef")})
    assert cluster_models(da, embedding="pca", max_clusters=2).k == 2  # sizes differ
    assert cluster_models(da, embedding="pca", normalize="l2", max_clusters=2).k == 1  # one shape


def test_storage_round_trips_and_never_replaces_silently(tmp_path):
    responses, _, names = synthetic((5, 5))
    c = cluster_models(responses, embedding="pca", task_error={n: i / 10 for i, n in enumerate(names)})
    path = c.to_json(tmp_path / "clusters.json")
    back = load_clustering(path)
    assert back.names == c.names and np.array_equal(back.labels, c.labels) and back.best() == c.best()
    np.testing.assert_allclose(back.embedding, c.embedding)
    assert back.bic == pytest.approx(c.bic) and back.task_error == c.task_error
    with pytest.raises(FileExistsError, match="overwrite=True"):
        c.to_json(path)
    store = tmp_path / "run.zarr"
    xr.Dataset({"logits": ("sample", np.arange(3.0))}).to_zarr(store, consolidated=False)  # the run's own data
    c.to_zarr(store, group="clustering/V1")
    ds = xr.open_zarr(store, group="clustering/V1", consolidated=False)
    assert ds["cluster"].dims == ("model",) and list(ds["model"].values) == names
    back = load_clustering(store, group="clustering/V1")
    assert np.array_equal(back.labels, c.labels) and back.options == c.options
    with pytest.raises(FileExistsError, match="already holds a group 'clustering/V1'"):
        c.to_zarr(store, group="clustering/V1")
    c.to_zarr(store, group="clustering/V1", overwrite=True)
    np.testing.assert_array_equal(xr.open_zarr(store, consolidated=False)["logits"].values, np.arange(3.0))
    assert "clustering" in zarr.open_group(store, mode="r")


def test_errors():
    with pytest.raises(InvalidValueError, match=r"a DataArray with a 'model' dimension"):
        cluster_models(xr.DataArray(np.zeros((3, 2)), dims=("unit", "time")))
    with pytest.raises(InvalidValueError, match=r"at least 3 models"):
        cluster_models(xr.DataArray(np.zeros((2, 2)), dims=("model", "time")))
    with pytest.raises(InvalidValueError, match=r"finite responses"):
        cluster_models(xr.DataArray(np.full((4, 2), np.nan), dims=("model", "time")))
    with pytest.raises(KeyError, match=r"unknown embedding 'tsne'"):
        cluster_models(xr.DataArray(np.zeros((4, 2)), dims=("model", "time")), embedding="tsne")


def test_ensemble_dimensions_and_clustering_of_simulated_responses():
    """Interim, in tests only: one Simulation per model, concatenated along a new ``model`` dim."""
    ens = Ensemble.from_grid("DyRCNNx2", {"recurrence_type": ["full", "self"], "seed": [0, 1, 2]},
                             n_classes=3, input_dims=(6, 1, 16, 16), width=0.25)
    stim = torch.rand(2, 6, 1, 16, 16)
    trees = [dynvision.Simulation(model, progress=False).run(stim, record={"V1": "mean"}) for _, model in ens]
    acts = xr.concat([t["V1"]["activity"] for t in trees], dim="model").assign_coords(model=ens.names)
    assert acts.dims[0] == "model" and acts.sizes["model"] == 6 and list(acts.model.values) == ens.names
    c = ens.cluster(acts.mean("channel"), embedding="pca")
    assert c.names == ens.names and c.labels.shape == (6,) and 1 <= c.k <= 2

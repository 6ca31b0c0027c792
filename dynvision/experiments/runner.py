"""Run an experiment on one or several models and keep everything it produced.

``run_experiment(name, model=..., **params)``: spec -> stimulus -> :class:`~dynvision.Simulation`
(activations streamed to zarr) -> area responses -> metrics. Several models (a list, a mapping
``{label: model}``, or ``compare={"recurrence_type": ["full", "self"]}``) share one result with
a ``model`` coordinate, so they can be compared on one figure.

Layout of a stored result (``out``):

    spec.json                  the spec and the models' configurations
    activations/<model>.zarr   one activation tree per model (Simulation store)
    results.zarr               DataTree: /responses (model, area, sample, time),
                               /metrics (model, area, conditions...), /classifier (model, time)
    summary.csv                latency and peak per model, area and condition
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from dynvision.experiments.library import EXPERIMENTS
from dynvision.experiments.spec import ExperimentSpec
from dynvision.io.schema import zarr_safe
from dynvision.models.base import RecurrentModel, config_dict

DEFAULT_MODEL = "dyrcnnx4-digits"
"""The shipped pretrained model experiments use when no model is given."""


def list_experiments() -> list[str]:
    """Names of the registered experiments."""
    return EXPERIMENTS.list()


def build_model(model: str | RecurrentModel, seed: int = 0, **kwargs: Any) -> RecurrentModel:
    """A model from an instance, a registered or pretrained name, a checkpoint or a training folder.

    Untrained models are initialised from ``seed`` (without touching the global random state),
    so the same command builds the same model and a rerun can reuse its stored activations.
    See :func:`dynvision.models.load_model`, which this calls.
    """
    from dynvision.models import load_model

    return load_model(model, seed=seed, **kwargs)


def _label(model: str | RecurrentModel) -> str:
    if isinstance(model, RecurrentModel):
        return getattr(model, "pretrained_name", None) or getattr(model, "registry_name", type(model).__name__)
    from dynvision.models import describe_model

    return describe_model(model).label  # a checkpoint is named after its run folder, not its path


def resolve_models(model=None, model_kwargs: Mapping[str, Any] | None = None,
                   compare: Mapping[str, Sequence[Any]] | None = None, seed: int = 0) -> dict[str, RecurrentModel]:
    """Turn the ways of naming models into ``{label: model}``.

    Args:
        model: ``None`` (the default pretrained model), a name, a model, a list of those, or a
            mapping ``{label: name or model}``.
        model_kwargs: Constructor arguments applied to every named model.
        compare: ``{argument: [values...]}``: one model per combination of values (labelled
            ``argument=value``), all built from ``model``.
        seed: Initialisation seed of untrained models.
    """
    model_kwargs = dict(model_kwargs or {})
    if isinstance(model, Mapping):
        return {str(k): build_model(v, seed, **model_kwargs) for k, v in model.items()}
    if isinstance(model, (list, tuple)):
        out: dict[str, RecurrentModel] = {}
        for m in model:
            built = build_model(m, seed, **model_kwargs)
            label = _label(built)  # says what was changed: dyrcnnx4-digits[tau=10.0]
            label = label if label not in out else f"{label}-{len(out)}"
            out[label] = built
        return out
    base = DEFAULT_MODEL if model is None else model
    if not compare:
        built = build_model(base, seed, **model_kwargs)
        return {_label(built): built}
    keys = list(compare)
    out = {}
    for values in itertools.product(*(compare[k] for k in keys)):
        combo = dict(zip(keys, values))
        label = ",".join(f"{k}={v}" for k, v in combo.items())
        out[label] = build_model(base, seed, **{**model_kwargs, **combo})
    return out


def _safe(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=,+-]", "_", label)


@dataclass
class ExperimentResult:
    """What an experiment produced.

    Attributes:
        spec: The experiment's parameters.
        responses: Area responses ``(model, area, sample, time)`` (mean over channels and
            space) with the stimulus conditions as coordinates along ``sample``.
        metrics: Metrics indexed by model, area and condition (see the spec's ``metrics``).
        classifier: Accuracy and confidence over time per model (when images have labels).
        activations: The activation tree of each model (lazy when stored).
        models: The models (only in the session that ran them).
        path: Where the result is stored, if it is.
    """

    spec: ExperimentSpec
    responses: xr.DataArray
    metrics: xr.Dataset
    classifier: xr.Dataset | None = None
    activations: dict[str, xr.DataTree] = field(default_factory=dict)
    models: dict[str, RecurrentModel] = field(default_factory=dict)
    path: Path | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def summary(self) -> pd.DataFrame:
        """Latency, peak time and peak height per model, area and condition (mean over images)."""
        cols = [v for v in ("onset_latency", "peak_time", "peak_height", "suppression", "total_response")
                if v in self.metrics]
        ds = self.metrics[cols]
        if "image" in ds.dims:
            ds = ds.mean("image", keep_attrs=True)
        df = ds.to_dataframe().reset_index()
        keep = [c for c in ("model", "area", *self.spec.conditions) if c in df.columns] + cols
        order = {a: i for i, a in enumerate(self.responses["area"].values.tolist())}
        df = df[keep].sort_values(["model", "area"], key=lambda s: s.map(order) if s.name == "area" else s)
        return df.reset_index(drop=True)

    def figures(self, **kwargs) -> dict[str, Any]:
        """The experiment's interactive figures (HoloViews), by name."""
        from dynvision.views.figures import experiment_figures

        return experiment_figures(self, **kwargs)

    def save_figures(self, folder: str | Path, formats: Sequence[str] = ("png", "html")) -> list[Path]:
        """Write every figure as static (png/svg) and interactive (html) files."""
        from dynvision.views.export import save_figures

        return save_figures(self.figures(), folder, formats)

    # ------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Store spec, responses, metrics and classifier under ``path`` (activations stay put)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        info = {"spec": self.spec.asdict(),
                "models": {k: config_dict(m) for k, m in self.models.items()}}
        (path / "spec.json").write_text(json.dumps(info, indent=2, default=repr))
        nodes = {"/responses": self.responses.to_dataset(name="response"), "/metrics": self.metrics}
        if self.classifier is not None:
            nodes["/classifier"] = self.classifier
        tree = zarr_safe(xr.DataTree.from_dict(nodes))
        tree.attrs = {"experiment": self.spec.name, "spec": self.spec.asdict()}
        tree.to_zarr(path / "results.zarr", mode="w", consolidated=False)
        self.summary().to_csv(path / "summary.csv", index=False)
        self.path = path
        return path

    @classmethod
    def load(cls, path: str | Path) -> "ExperimentResult":
        """Reopen a stored result (activations lazily)."""
        from dynvision.io import open_activations

        path = Path(path)
        info = json.loads((path / "spec.json").read_text())
        spec_dict = dict(info["spec"])
        spec = EXPERIMENTS.get(spec_dict.pop("experiment")).from_params(**spec_dict)
        tree = xr.open_datatree(path / "results.zarr", engine="zarr", consolidated=False).load()
        acts = {p.stem: open_activations(p) for p in sorted((path / "activations").glob("*.zarr"))}
        classifier = tree["classifier"].to_dataset() if "classifier" in tree.children else None
        return cls(spec, tree["responses"]["response"], tree["metrics"].to_dataset(), classifier, acts, {}, path)


def run_experiment(name: str, model=None, *, model_kwargs: Mapping[str, Any] | None = None,
                   compare: Mapping[str, Sequence[Any]] | None = None, out: str | Path | None = None,
                   figures: str | Path | bool | None = None, progress: bool = True,
                   overwrite: bool = False, **params: Any) -> ExperimentResult:
    """Run a registered experiment.

    Args:
        name: One of :func:`list_experiments`.
        model: The model(s): ``None`` (the shipped default), a name (registered or pretrained),
            a model, a list, or ``{label: model}``.
        model_kwargs: Constructor arguments for named models.
        compare: ``{argument: [values]}``: compare models that differ in these arguments.
        out: Folder to store everything in (activations stream there); ``None`` keeps it in memory.
        figures: Folder to write the figures to (``True``: ``reports/figures/<name>``).
        progress: Show progress bars.
        overwrite: Replace stores of a different earlier run in ``out``.
        **params: The experiment's parameters (see its spec; unknown names raise).

    Example:
        >>> result = run_experiment("contrast", model="DyRCNNx2",  # doctest: +SKIP
        ...                         model_kwargs=dict(input_dims=(60, 1, 16, 16)), contrasts=[0.2, 1.0])
        >>> result.summary()  # doctest: +SKIP
    """
    from dynvision.analysis import classifier_response
    from dynvision.simulation import Simulation

    spec = EXPERIMENTS.get(name).from_params(**params)
    models = resolve_models(model, model_kwargs, compare, seed=spec.seed)
    dts = {label: m.dt for label, m in models.items()}
    if len(set(dts.values())) > 1:
        raise ValueError(f"models compared in one experiment must share dt; got {dts}")
    out = Path(out) if out is not None else None
    responses, classifiers, extra, activations = [], [], [], {}
    for i, (label, m) in enumerate(models.items()):
        stimulus = spec.stimulus(m)
        record = {a: spec.reduce for a in (spec.record or m.area_names)}
        store = out / "activations" / f"{_safe(label)}.zarr" if out is not None else None
        if progress and len(models) > 1:
            print(f"[{i + 1}/{len(models)}] {spec.name}: {label}")
        tree = Simulation(m, progress=progress, batch_size=spec.batch_size).run(
            stimulus, record=record, store=store, initial_state=spec.initial_state, overwrite=overwrite)
        activations[label] = tree
        responses.append(_area_responses(tree).expand_dims(model=[label]))
        more = spec.activation_metrics(tree)
        if more is not None:
            extra.append(more.expand_dims(model=[label]))
        if "label" in tree.coords:
            classifiers.append(classifier_response(tree["logits"], "label").expand_dims(model=[label]))
    areas = list(dict.fromkeys(a for r in responses for a in r["area"].values.tolist()))  # hierarchy order
    resp = xr.concat(responses, dim="model", join="outer", coords="minimal", compat="override")
    resp = resp.reindex(area=areas).load()
    metrics = spec.metrics(resp)
    if extra:
        more = xr.concat(extra, dim="model", join="outer", coords="minimal", compat="override").reindex(area=areas)
        metrics = metrics.merge(spec._by_condition(more.load()), compat="override", join="outer")
    metrics.attrs = {"experiment": spec.name}
    classifier = xr.concat(classifiers, dim="model").load() if classifiers else None
    result = ExperimentResult(spec, resp, metrics, classifier, activations, models, None)
    if out is not None:
        result.save(out)
    if figures:
        folder = Path("reports/figures") / spec.name if figures is True else Path(figures)
        result.save_figures(folder)
    return result


def _area_responses(tree: xr.DataTree) -> xr.DataArray:
    """Mean activity over channels and space of every area node: (area, sample, time)."""
    import dynvision.analysis  # noqa: F401  (registers the .dv accessor)

    out = tree.dv.responses().astype(np.float64)
    out.attrs = {"long_name": "area response (mean over channels and space)", "units": "a.u."}
    return out.rename("response")

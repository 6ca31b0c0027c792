"""Run an experiment on one or several models and keep everything it produced.

``run_experiment(name, model=..., **params)``: spec -> stimulus -> :class:`~dynvision.Simulation`
(activations streamed to zarr) -> area responses -> metrics. Several models (a list, a mapping
``{label: model}``, or ``compare={"recurrence_type": ["full", "self"]}``) share one result with
a ``model`` coordinate, so they can be compared on one figure; a model run later into the same
folder joins that result (see :mod:`dynvision.experiments.result` for the stored layout and
what is refused without ``overwrite``).

Models are labelled by what they are: a registered name, a pretrained name, and a pretrained
name with the settings changed from the trained ones in brackets
(``dyrcnnx4-digits[tau=10]``), since changed dynamics are no longer the trained model.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from dynvision.experiments.library import EXPERIMENTS
from dynvision.experiments.result import ExperimentResult, check_target, model_config, safe_label
from dynvision.models.base import RecurrentModel

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


def _label(model: str | RecurrentModel, built: RecurrentModel | None = None) -> str:
    """How a model is named in results: its pretrained name (with changed settings in
    brackets: ``dyrcnnx4-digits[tau=10]``), else the name it was asked by, else its class."""
    built = model if isinstance(model, RecurrentModel) else built
    pretrained = getattr(built, "pretrained_name", None)
    if pretrained:
        return str(pretrained)
    if isinstance(model, RecurrentModel):
        return getattr(model, "registry_name", type(model).__name__)
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
            label = _label(m, built)
            label = label if label not in out else f"{label}-{len(out)}"
            out[label] = built
        return out
    base = DEFAULT_MODEL if model is None else model
    if not compare:
        built = build_model(base, seed, **model_kwargs)
        return {_label(base, built): built}
    keys = list(compare)
    out = {}
    for values in itertools.product(*(compare[k] for k in keys)):
        combo = dict(zip(keys, values))
        label = ",".join(f"{k}={v}" for k, v in combo.items())
        out[label] = build_model(base, seed, **{**model_kwargs, **combo})
    return out


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
        overwrite: Replace what ``out`` holds from a different run (other parameters, another
            experiment, a model of the same label with another configuration); without it
            such a run is refused before anything is simulated. Models of the same experiment
            and parameters are added to the stored result either way.
        **params: The experiment's parameters (see its spec; unknown names raise).

    Raises:
        ResultExistsError: ``out`` holds a different run and ``overwrite`` is false.

    Example:
        >>> result = run_experiment("contrast", model="DyRCNNx2",  # doctest: +SKIP
        ...                         model_kwargs=dict(input_dims=(60, 1, 16, 16)), contrasts=[0.2, 1.0])
        >>> result.summary()  # doctest: +SKIP
    """
    from dynvision.simulation import Simulation

    spec = EXPERIMENTS.get(name).from_params(**params)
    models = resolve_models(model, model_kwargs, compare, seed=spec.seed)
    dts = {label: m.dt for label, m in models.items()}
    if len(set(dts.values())) > 1:
        raise ValueError(f"models compared in one experiment must share dt; got {dts}")
    out = Path(out) if out is not None else None
    configs = {label: model_config(m) for label, m in models.items()}
    if out is not None:
        check_target(out, spec, configs, overwrite=overwrite)  # before any work, not after
    responses, classifiers, extra, activations = [], [], [], {}
    for i, (label, m) in enumerate(models.items()):
        stimulus = spec.stimulus(m)
        record = {a: spec.reduce for a in (spec.record or m.area_names)}
        store = out / "activations" / f"{safe_label(label)}.zarr" if out is not None else None
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
            classifiers.append(_classifier(tree["logits"]).expand_dims(model=[label]))
    areas = list(dict.fromkeys(a for r in responses for a in r["area"].values.tolist()))  # hierarchy order
    resp = xr.concat(responses, dim="model", join="outer", coords="minimal", compat="override")
    resp = resp.reindex(area=areas).load()
    metrics = spec.metrics(resp)
    if extra:
        more = xr.concat(extra, dim="model", join="outer", coords="minimal", compat="override").reindex(area=areas)
        metrics = metrics.merge(spec._by_condition(more.load()), compat="override", join="outer")
    metrics.attrs = {"experiment": spec.name}
    classifier = xr.concat(classifiers, dim="model", combine_attrs="override").load() if classifiers else None
    result = ExperimentResult(spec, resp, metrics, classifier, activations, models, None, configs)
    if out is not None:
        result.save(out, overwrite=overwrite)
    if figures:
        folder = Path("reports/figures") / spec.name if figures is True else Path(figures)
        result.save_figures(folder, progress=progress)
    return result


def _classifier(logits: xr.DataArray) -> xr.Dataset:
    """Accuracy and confidence over time, mean over samples, with their standard errors
    (``<variable>_sem``) and the chance level (``attrs["chance"]``: 1 / classes)."""
    from dynvision.analysis import classifier_response

    per = classifier_response(logits, "label", dim=None)
    out = per.mean("sample", keep_attrs=True)
    n = per.sizes["sample"]
    for name in list(per.data_vars):
        sem = per[name].std("sample", ddof=1) / np.sqrt(n) if n > 1 else xr.full_like(out[name], np.nan)
        out[f"{name}_sem"] = sem.assign_attrs(long_name=f"standard error of the {name} across images",
                                              units="1")
    out.attrs = {"chance": 1.0 / logits.sizes["class"]}
    return out


def _area_responses(tree: xr.DataTree) -> xr.DataArray:
    """Mean activity over channels and space of every area node: (area, sample, time)."""
    import dynvision.analysis  # noqa: F401  (registers the .dv accessor)

    out = tree.dv.responses().astype(np.float64)
    out.attrs = {"long_name": "area response (mean over channels and space)", "units": "a.u."}
    return out.rename("response")


__all__ = ["DEFAULT_MODEL", "ExperimentResult", "build_model", "list_experiments", "resolve_models", "run_experiment"]

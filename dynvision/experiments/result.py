"""What an experiment produced, stored so that no run replaces another without being asked.

Layout of a stored result (``out``):

    spec.json                  the spec and every model's configuration
    activations/<model>.zarr   one activation tree per model (Simulation store)
    results.zarr               DataTree: /responses (model, area, sample, time),
                               /metrics (model, area, conditions...), /classifier (model, time)
    summary.csv                the spec's summary metrics per model, area and condition

Saving into a folder that already holds a result (:meth:`ExperimentResult.save`):

- same experiment and parameters, other models: the models are *added* (one result with all
  of them along ``model``); a model run again with the same configuration replaces its own
  entries;
- different parameters, another experiment, or a model of the same name with another
  configuration: refused (:class:`ResultExistsError`) unless ``overwrite=True``, which
  replaces the result (and removes the activation stores of models it no longer holds).

Example:
    >>> result = ExperimentResult.load("results/contrast")  # doctest: +SKIP
    >>> result.summary()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from dynvision.experiments.library import EXPERIMENTS
from dynvision.experiments.spec import ExperimentSpec
from dynvision.io.schema import zarr_safe

RENAMED = {"suppression": "p2_p1_ratio"}
"""Metric names of earlier versions, renamed when a stored result is loaded."""


class ResultExistsError(FileExistsError, ValueError):
    """A folder holds the result of a different run (saving would replace it)."""


def model_config(model) -> dict:
    """A model's configuration as JSON (``{"model": name, **arguments}``)."""
    from dynvision.models.base import config_dict

    return config_dict(model)


def _json(value: Any) -> Any:
    from dynvision.conventions import jsonable

    return jsonable(value)


@dataclass
class ExperimentResult:
    """What an experiment produced.

    Attributes:
        spec: The experiment's parameters.
        responses: Area responses ``(model, area, sample, time)`` (mean over channels and
            space) with the stimulus conditions as coordinates along ``sample``.
        metrics: Metrics indexed by model, area and condition (``spec.metric_specs`` says
            what each is).
        classifier: Accuracy and confidence over time per model (when images have labels).
        activations: The activation tree of each model (lazy when stored).
        models: The models (only in the session that ran them).
        path: Where the result is stored, if it is.
        configs: Each model's configuration (``{"model": name, **arguments}``).
    """

    spec: ExperimentSpec
    responses: xr.DataArray
    metrics: xr.Dataset
    classifier: xr.Dataset | None = None
    activations: dict[str, xr.DataTree] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    configs: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self):
        if not self.configs and self.models:
            self.configs = {label: model_config(m) for label, m in self.models.items()}

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def labels(self) -> list[str]:
        """The models' labels, in order."""
        return [str(m) for m in self.responses["model"].values.tolist()]

    def summary(self) -> pd.DataFrame:
        """The spec's summary metrics per model, area and condition (mean over images).

        Example:
            >>> result.summary().columns.tolist()  # doctest: +SKIP
            ['model', 'area', 'contrast', 'onset_latency', 'peak_time', 'peak_height']
        """
        cols = [v for v in self.spec.summary_metrics() if v in self.metrics]
        ds = self.metrics[cols]
        if "image" in ds.dims:
            ds = ds.mean("image", keep_attrs=True)
        df = ds.to_dataframe().reset_index()
        keep = [c for c in ("model", "area", *self.spec.conditions) if c in df.columns] + cols
        models = {m: i for i, m in enumerate(self.labels)}
        areas = {a: i for i, a in enumerate(self.responses["area"].values.tolist())}  # hierarchy order
        df = df[keep].sort_values(["model", "area"], key=lambda s: s.map(models if s.name == "model" else areas),
                                  kind="stable")
        return df.reset_index(drop=True)

    def figures(self, **kwargs) -> dict[str, Any]:
        """The experiment's interactive figures, by name: :func:`dynvision.views.experiment_figures`."""
        from dynvision.views import experiment_figures

        return experiment_figures(self, **kwargs)

    def save_figures(self, folder: str | Path, formats: Sequence[str] = ("png", "html"), **kwargs) -> list[Path]:
        """Write the figures: :func:`dynvision.views.save_experiment_figures`."""
        from dynvision.views import save_experiment_figures

        return save_experiment_figures(self, folder, formats, **kwargs)

    # ------------------------------------------------------------------------------------------ storage
    def check_target(self, path: str | Path, overwrite: bool = False) -> "ExperimentResult | None":
        """The result already stored at ``path`` that this one will join (``None`` if none).

        Raises:
            ResultExistsError: ``path`` holds a different run and ``overwrite`` is false.
        """
        return check_target(path, self.spec, self.configs, overwrite=overwrite)

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Store spec, responses, metrics and classifier under ``path`` (activations stay put).

        Models of an earlier run of the same experiment with the same parameters are kept
        (the result holds both); see the module docstring for what is refused.

        Raises:
            ResultExistsError: ``path`` holds a different run and ``overwrite`` is false.
        """
        path = Path(path)
        earlier = self.check_target(path, overwrite=overwrite)
        merged = merge(earlier, self) if earlier is not None else self
        if overwrite and earlier is None:
            _remove_stale_activations(path, merged.labels)
        path.mkdir(parents=True, exist_ok=True)
        info = {"spec": self.spec.asdict(), "models": _json(merged.configs)}
        nodes = {"/responses": merged.responses.to_dataset(name="response"), "/metrics": merged.metrics}
        if merged.classifier is not None:
            nodes["/classifier"] = merged.classifier
        tree = zarr_safe(xr.DataTree.from_dict(nodes))
        tree.attrs = {"experiment": self.spec.name, "spec": self.spec.asdict()}
        tree.to_zarr(path / "results.zarr", mode="w", consolidated=False)
        merged.summary().to_csv(path / "summary.csv", index=False)
        (path / "spec.json").write_text(json.dumps(info, indent=2, default=repr))
        self.__dict__.update({k: getattr(merged, k) for k in ("responses", "metrics", "classifier", "activations",
                                                              "models", "configs")})
        self.path = path
        return path

    @classmethod
    def load(cls, path: str | Path) -> "ExperimentResult":
        """Reopen a stored result (activations lazily).

        Raises:
            FileNotFoundError: ``path`` holds no result.
        """
        from dynvision.io import open_activations

        path = Path(path)
        if not (path / "spec.json").is_file() or not (path / "results.zarr").exists():
            raise FileNotFoundError(f"no experiment result at {str(path)!r}: expected spec.json and results.zarr "
                                    f"(written by run_experiment(..., out=) or dynvision run)")
        info = json.loads((path / "spec.json").read_text())
        spec = spec_from_dict(info["spec"])
        tree = xr.open_datatree(path / "results.zarr", engine="zarr", consolidated=False).load()
        metrics = tree["metrics"].to_dataset()
        metrics = metrics.rename({k: v for k, v in RENAMED.items() if k in metrics})
        responses = tree["responses"]["response"]
        labels = [str(m) for m in responses["model"].values.tolist()]
        stores = {p.stem: p for p in sorted((path / "activations").glob("*.zarr"))}
        acts = {label: open_activations(stores[safe_label(label)]) for label in labels if safe_label(label) in stores}
        classifier = tree["classifier"].to_dataset() if "classifier" in tree.children else None
        configs = {str(k): dict(v) for k, v in dict(info.get("models", {})).items()}
        return cls(spec, responses, metrics, classifier, acts, {}, path, configs)


def safe_label(label: str) -> str:
    """A model label as a file name (``activations/<safe_label>.zarr``).

    Example:
        >>> safe_label("dyrcnnx4-digits[tau=10]")
        'dyrcnnx4-digits_tau=10_'
    """
    import re

    return re.sub(r"[^A-Za-z0-9_.=,+-]", "_", label)


def spec_from_dict(data: Mapping[str, Any]) -> ExperimentSpec:
    """The spec that :meth:`ExperimentSpec.asdict` wrote."""
    data = dict(data)
    return EXPERIMENTS.get(data.pop("experiment")).from_params(**data)


def _stored(path: Path) -> dict | None:
    info = path / "spec.json"
    if not info.is_file():
        return None
    try:
        return json.loads(info.read_text())
    except ValueError as exc:
        raise ResultExistsError(f"{info} is not a readable experiment result ({exc}); move it away or pass "
                                f"overwrite=True to replace it") from None


def check_target(path: str | Path, spec: ExperimentSpec, configs: Mapping[str, Mapping],
                 overwrite: bool = False) -> ExperimentResult | None:
    """Check that results of ``spec`` with models ``configs`` may be written to ``path``.

    Returns:
        The result stored there that they will be added to, or ``None`` (nothing stored,
        or ``overwrite``).

    Raises:
        ResultExistsError: ``path`` holds another experiment, other parameters, or a model of
            the same label with another configuration, and ``overwrite`` is false.

    Example:
        >>> check_target("results/contrast", spec, {"dyrcnnx4-digits": {...}})  # doctest: +SKIP
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ResultExistsError(f"out={str(path)!r} is a file, not a folder")
    stored = _stored(path)
    if stored is None or overwrite:
        return None
    hint = "pass overwrite=True (dynvision run --overwrite) to replace it, or choose another folder"
    old_spec = dict(stored.get("spec", {}))
    try:  # through the spec class: names and defaults of earlier versions compare as they are now
        old_spec = _json(spec_from_dict(old_spec).asdict())
    except (KeyError, TypeError, ValueError):
        pass
    new_spec = _json(spec.asdict())
    if old_spec.get("experiment") != new_spec["experiment"]:
        raise ResultExistsError(f"{path} holds a {old_spec.get('experiment')!r} result, not {spec.name!r}; {hint}")
    changed = sorted(k for k in set(old_spec) | set(new_spec) if old_spec.get(k) != new_spec.get(k))
    if changed:
        diffs = ", ".join(f"{k}: {old_spec.get(k)!r} stored, {new_spec.get(k)!r} now" for k in changed[:4])
        raise ResultExistsError(f"{path} holds a {spec.name} run with other parameters ({diffs}); {hint}")
    old_models = dict(stored.get("models", {}))
    for label, config in configs.items():
        if label in old_models and old_models[label] != _json(dict(config)):
            keys = sorted(k for k in set(old_models[label]) | set(config)
                          if old_models[label].get(k) != _json(dict(config)).get(k))
            raise ResultExistsError(f"{path} holds model {label!r} with another configuration (differs in "
                                    f"{', '.join(keys[:6])}); label this model differently, or {hint}")
    return ExperimentResult.load(path)


def merge(earlier: ExperimentResult, new: ExperimentResult) -> ExperimentResult:
    """``earlier``'s models that ``new`` does not hold, followed by ``new``'s, as one result.

    Raises:
        ValueError: The two results' time axes differ (models of another ``dt``).
    """
    keep = [m for m in earlier.labels if m not in new.labels]
    if not keep:
        return new
    old_times, new_times = earlier.responses["time"].values, new.responses["time"].values
    if old_times.shape != new_times.shape or not np.allclose(old_times, new_times):
        raise ValueError(f"cannot add models to the result in {earlier.path}: its models were simulated with "
                         f"another time step (models compared in one result must share dt)")

    def cat(old, add):
        if old is None or add is None:
            return add if old is None else old.sel(model=keep)
        out = xr.concat([old.sel(model=keep), add], dim="model", join="outer", coords="minimal", compat="override")
        out.attrs = dict(add.attrs)
        return out

    responses = cat(earlier.responses, new.responses)
    areas = list(dict.fromkeys([*earlier.responses["area"].values.tolist(), *new.responses["area"].values.tolist()]))
    responses = responses.reindex(area=areas)
    metrics = cat(earlier.metrics, new.metrics).reindex(area=areas)
    classifier = cat(earlier.classifier, new.classifier)
    activations = {**{k: v for k, v in earlier.activations.items() if k in keep}, **new.activations}
    configs = {**{k: v for k, v in earlier.configs.items() if k in keep}, **new.configs}
    return ExperimentResult(new.spec, responses, metrics, classifier, activations, dict(new.models), new.path, configs)


def _remove_stale_activations(path: Path, labels: Sequence[str]) -> None:
    """With ``overwrite``: remove the activation stores (written by dynvision) of models the
    result no longer holds, so that the folder and its explorer show only this run."""
    from dynvision.io import store_status

    folder = path / "activations"
    if not folder.is_dir():
        return
    wanted = {safe_label(label) for label in labels}
    for store in folder.glob("*.zarr"):
        if store.stem not in wanted and store_status(store) is not None:
            shutil.rmtree(store)
            (store.parent / f".{store.name}.lock").unlink(missing_ok=True)  # its writer lock (dynvision.io.lock)


__all__ = ["ExperimentResult", "RENAMED", "ResultExistsError", "check_target", "merge", "safe_label",
           "spec_from_dict"]

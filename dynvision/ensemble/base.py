"""Ensemble: several models as one ordered, named sequence, best task score first.

An :class:`Ensemble` is built from pretrained names (or a wildcard over them), checkpoint files,
model objects, a mapping of names to any of these, or a grid of constructor arguments
(:meth:`Ensemble.from_grid`). Each member has a unique name and a task error (``1 -
acc_valid`` of a pretrained model's ``metrics.json`` or a training run's ``run.json``;
``None`` when unknown, or given by the caller). Members are ordered by task error, lowest
first, so ``ensemble[0]`` is the best model and colours by task error
(:func:`~dynvision.ensemble.colors.task_error_colors`) run from strong to pale.

Example:
    >>> import dynvision
    >>> ens = dynvision.Ensemble({"a": dynvision.create_model("DyRCNNx2", input_dims=(2, 1, 8, 8)),
    ...                           "b": dynvision.create_model("DyRCNNx2", input_dims=(2, 1, 8, 8))},
    ...                          task_error={"a": 0.3, "b": 0.1})
    >>> ens.names, len(ens), [name for name, _ in ens]
    (['b', 'a'], 2, ['b', 'a'])
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Iterator

from dynvision.conventions import jsonable
from dynvision.validation import InvalidValueError, check_number

METRIC = "acc_valid"


def _is_checkpoint(spec: Any) -> bool:
    return isinstance(spec, os.PathLike) or (isinstance(spec, str) and (
        spec.endswith((".ckpt", ".pt")) or os.sep in spec) and Path(spec).expanduser().is_file())


def _run_error(path: Path, metric: str) -> float | None:
    """1 - the metric from the ``run.json`` of the training run a checkpoint belongs to."""
    for folder in (path.parent, path.parent.parent):
        run = folder / "run.json"
        if run.is_file():
            metrics = json.loads(run.read_text()).get("metrics", {})
            for key in (f"test/{metric}", f"val/{metric}"):
                if key in metrics:
                    return 1.0 - float(metrics[key])
    return None


def _load(spec: Any, metric: str) -> tuple[Any, str, float | None, dict[str, Any]]:
    """(model, default name, task error, source description) of one member spec."""
    from dynvision.models.base import RecurrentModel

    if isinstance(spec, RecurrentModel):
        name = getattr(spec, "pretrained_name", None) or type(spec).__name__
        return spec, name, None, {"kind": "model"}
    if _is_checkpoint(spec):
        from dynvision.training.evaluate import model_from_checkpoint

        path = Path(spec).expanduser()
        name = path.parent.parent.name if path.parent.name == "checkpoints" else path.stem
        return model_from_checkpoint(path), name, _run_error(path, metric), {"kind": "checkpoint", "path": str(path)}
    if isinstance(spec, str):
        from dynvision.models.pretrained import load_pretrained, pretrained_info

        model = load_pretrained(spec)  # unknown names raise, listing the available ones
        value = pretrained_info(spec)["metrics"].get(metric)
        return model, spec, None if value is None else 1.0 - float(value), {"kind": "pretrained", "name": spec}
    raise InvalidValueError("models", spec, "dynvision models, pretrained names, checkpoint paths, a mapping "
                            "of names to these, or a wildcard over pretrained names")


class Ensemble(Sequence):
    """Several models as one named sequence ordered by task error (see the module docstring).

    Args:
        models: Member specs: a list (models, pretrained names, checkpoint paths), a mapping
            name -> spec, or a string with a wildcard over pretrained names
            (``"dyrcnnx4-ens-*"``).
        task_error: Task errors to use instead of the stored ones (a mapping by name, or a
            list in the order given).
        metric: The stored score whose complement is the task error (``acc_valid``).
        sort: Order members by task error (lowest first; unknown errors last, in given order).

    Attributes:
        names: Member names, in order.
        models: The models, in the same order.
        task_error: Name -> task error (``None`` when unknown).
        sources: Name -> where the model came from (pretrained name, checkpoint, object, grid).
    """

    def __init__(self, models: Any, *, task_error: Mapping[str, float] | Sequence[float] | None = None,
                 metric: str = METRIC, sort: bool = True):
        if isinstance(models, str) and any(c in models for c in "*?["):
            from dynvision.models.pretrained import list_pretrained

            matches = fnmatch.filter(list_pretrained(), models)
            if not matches:
                raise InvalidValueError("models", models, f"a pattern matching pretrained models "
                                        f"(available: {', '.join(list_pretrained()) or 'none'})")
            models = matches
        if isinstance(models, (str, os.PathLike)) or not isinstance(models, (Sequence, Mapping)):
            models = [models]
        given_names = list(models) if isinstance(models, Mapping) else None
        specs = list(models.values()) if isinstance(models, Mapping) else list(models)
        if not specs:
            raise InvalidValueError("models", models, "at least one model")
        loaded = [_load(s, metric) for s in specs]
        names = given_names or [name for _, name, _, _ in loaded]
        names = [str(n) for n in names]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidValueError("models", dupes, "unique names: pass a mapping {name: model}")
        errors = {n: err for n, (_, _, err, _) in zip(names, loaded)}
        if task_error is not None:
            given = dict(task_error) if isinstance(task_error, Mapping) else dict(zip(names, task_error))
            if isinstance(task_error, Sequence) and len(task_error) != len(names):
                raise InvalidValueError("task_error", task_error, f"one value per model ({len(names)})")
            for key, value in given.items():
                if key not in errors:
                    raise InvalidValueError("task_error", key, f"a member name ({', '.join(names)})")
                errors[key] = check_number(f"task_error[{key!r}]", value, allow_none=True)
        order = list(range(len(names)))
        if sort:
            order.sort(key=lambda i: (errors[names[i]] is None, errors[names[i]] or 0.0, i))
        self.names = [names[i] for i in order]
        self.models = [loaded[i][0] for i in order]
        self.task_error = {n: errors[n] for n in self.names}
        self.sources = {names[i]: loaded[i][3] for i in order}
        self.metric = metric

    @classmethod
    def from_grid(cls, model: str, grid: Mapping[str, Sequence[Any]], **fixed: Any) -> "Ensemble":
        """Untrained models, one per combination of ``grid`` values (a ``seed`` key seeds the weights).

        Example:
            >>> ens = Ensemble.from_grid("DyRCNNx2", {"recurrence_type": ["full", "self"], "seed": [0, 1]},
            ...                          input_dims=(2, 1, 8, 8), width=0.25)
            >>> ens.names[:2]
            ['recurrence_type=full,seed=0', 'recurrence_type=full,seed=1']
        """
        import torch

        from dynvision.models import create_model

        keys = list(grid)
        members, sources = {}, {}
        for values in itertools.product(*(list(grid[k]) for k in keys)):
            kwargs = dict(zip(keys, values))
            name = ",".join(f"{k}={v}" for k, v in kwargs.items())
            seed = kwargs.pop("seed", None)
            if seed is not None:
                torch.manual_seed(int(seed))
            members[name] = create_model(model, **fixed, **kwargs)
            sources[name] = {"kind": "grid", "model": model, "grid": jsonable(dict(zip(keys, values)))}
        ens = cls(members, sort=False)
        ens.sources = sources
        return ens

    # -- the sequence of named models -----------------------------------------------------
    def __len__(self) -> int:
        return len(self.models)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(zip(self.names, self.models))

    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, slice):
            sub = object.__new__(Ensemble)
            sub.names, sub.models = self.names[key], self.models[key]
            sub.task_error = {n: self.task_error[n] for n in sub.names}
            sub.sources, sub.metric = {n: self.sources[n] for n in sub.names}, self.metric
            return sub
        if isinstance(key, str):
            if key not in self.names:
                from dynvision.registry import UnknownNameError, unknown_name_message

                raise UnknownNameError(unknown_name_message("ensemble member", key, self.names))
            return self.models[self.names.index(key)]
        return self.models[key]

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __repr__(self) -> str:
        errors = ", ".join(f"{n}: {'?' if e is None else f'{e:.3f}'}" for n, e in self.task_error.items())
        return f"Ensemble({len(self)} models; task error {{{errors}}})"

    # -- descriptions ---------------------------------------------------------------------
    def best(self) -> str:
        """The name of the member with the lowest known task error (else the first)."""
        return self.names[0]

    def attrs(self) -> dict[str, Any]:
        """A JSON description: names, task errors, sources and each model's configuration."""
        from dynvision.models.base import config_dict

        return jsonable({"names": self.names, "metric": self.metric, "task_error": self.task_error,
                         "models": {n: {"source": self.sources[n], "config": config_dict(m)} for n, m in self}})

    def colors(self, cmap: str = "Blues_r", **kwargs: Any) -> dict[str, str]:
        """Name -> hex colour by task error (see :func:`~dynvision.ensemble.colors.task_error_colors`)."""
        from dynvision.ensemble.colors import task_error_colors

        return task_error_colors(self.task_error, cmap=cmap, **kwargs)

    def cluster(self, responses: Any, **kwargs: Any) -> Any:
        """Cluster the members by their ``responses`` (a DataArray with a ``model`` dimension).

        Responses of models outside the ensemble raise; the task errors pick the best model
        per cluster. See :func:`~dynvision.ensemble.cluster.cluster_models` for the options.
        """
        from dynvision.ensemble.cluster import cluster_models

        dim = kwargs.get("dim", "model")
        if dim in getattr(responses, "dims", ()):
            unknown = [str(n) for n in responses[dim].values if str(n) not in self.names]
            if unknown:
                raise InvalidValueError("responses", unknown, f"responses of ensemble members ({', '.join(self.names)})")
        return cluster_models(responses, task_error=self.task_error, **kwargs)

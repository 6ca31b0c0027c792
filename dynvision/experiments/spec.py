"""The experiment contract: a frozen spec with defaults -> stimulus -> metrics -> declared figures.

Each experiment is an :class:`ExperimentSpec` subclass whose fields are its parameters, with
the defaults in one place (the dataclass). A spec builds its stimulus for a model
(:meth:`ExperimentSpec.stimulus`) and turns the area responses of any number of models into
a metrics Dataset (:meth:`ExperimentSpec.metrics`). It declares what that Dataset holds
(``metric_specs``: :class:`~dynvision.experiments.contract.Metric`) and which figures show it
(``figure_specs``: :class:`~dynvision.experiments.contract.Figure`); the summary table and the
views read these declarations. ``asdict(spec)`` goes into every store's attributes, so each
result says how it was produced.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import xarray as xr

from dynvision.experiments.contract import RESPONSE_METRICS, Figure, Metric, find_metric
from dynvision.registry import UnknownNameError, check_choice, unknown_name_message


@dataclass(frozen=True)
class ExperimentSpec:
    """Parameters shared by every experiment (all times in ms).

    Attributes:
        images: Image source (``dynvision.stimuli.list_sources()``): digits, natural, grating...
        n_images: How many images each condition is shown with.
        t_pre: Grey before the stimulus.
        t_post: Grey after the (last) stimulus.
        contrast: Stimulus contrast about the grey mean (experiments that vary it ignore this).
        record: Areas to record (empty: all).
        reduce: What to store per area: ``mean`` (spatial mean per channel), ``center`` or
            ``none`` (full maps; large).
        initial_state: ``steady`` (the state under a blank screen; a flat baseline),
            ``zeros`` or ``fade_in``.
        batch_size: Samples simulated together.
        seed: Seed for image selection.
    """

    name: ClassVar[str] = "base"
    conditions: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    metric_specs: ClassVar[tuple[Metric, ...]] = RESPONSE_METRICS
    """The variables :meth:`metrics` returns (besides fit parameters), with labels and units."""
    figure_specs: ClassVar[tuple[Figure, ...]] = ()
    """The experiment's own figures (the views add time courses, classifier and weights)."""

    images: str = "digits"
    n_images: int = 4
    t_pre: float = 40.0
    t_post: float = 100.0
    contrast: float = 1.0
    record: tuple[str, ...] = ()
    reduce: str = "mean"
    initial_state: str = "steady"
    batch_size: int = 16
    seed: int = 0

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
        check_choice("reduce", self.reduce, ("mean", "center", "none"))
        check_choice("initial_state", self.initial_state, ("steady", "zeros", "fade_in"))
        if self.n_images < 1:
            raise ValueError(f"n_images must be >= 1, got {self.n_images}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")

    # ------------------------------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def canonical(cls, name: str) -> str:
        """The field a parameter name sets: ``X`` -> ``X_ms`` where the field carries its unit."""
        return f"{name}_ms" if f"{name}_ms" in cls.field_names() else name

    @classmethod
    def from_params(cls, **params: Any) -> "ExperimentSpec":
        """Build a spec, raising on unknown parameter names (listing the valid ones); a field
        ``X_ms`` is also taken under its bare name ``X``."""
        valid = cls.field_names()
        canonical = {}
        for key, value in params.items():
            name = cls.canonical(key)
            if name not in valid:
                raise UnknownNameError(unknown_name_message(f"parameter of experiment {cls.name!r}", key, valid))
            if name in canonical:
                raise TypeError(f"{key!r} and {name!r} are the same parameter of experiment {cls.name!r}; give one")
            canonical[name] = value
        return cls(**canonical)

    @classmethod
    def metric_spec(cls, name: str) -> Metric:
        """The declaration of metric ``name`` (raises listing the declared ones)."""
        return find_metric(cls.metric_specs, name)

    @classmethod
    def summary_metrics(cls) -> list[str]:
        """The metrics :meth:`ExperimentResult.summary` lists, in declaration order."""
        return [m.name for m in cls.metric_specs if m.summary]

    def asdict(self) -> dict[str, Any]:
        return {"experiment": self.name, **json.loads(json.dumps(dataclasses.asdict(self)))}

    def replace(self, **changes: Any) -> "ExperimentSpec":
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------------------------------
    def image_set(self, model) -> xr.DataArray:
        """The images, at the model's input size and channels."""
        from dynvision.stimuli import make_images

        _, channels, h, w = model.input_dims
        kwargs = {"seed": self.seed} if self.images in ("digits", "noise") else {}
        return make_images(self.images, n=self.n_images, size=(h, w), channels=channels, **kwargs)

    def stimulus(self, model) -> xr.DataArray:
        """The stimulus for ``model`` (its dt, size and channels)."""
        raise NotImplementedError

    def metrics(self, responses: xr.DataArray) -> xr.Dataset:
        """Metrics of area responses ``(model, area, sample, time)`` with stimulus coordinates."""
        from dynvision.analysis import response_properties

        props = response_properties(responses, onset="stim_onset", offset="stim_offset")
        return self._by_condition(props)

    def activation_metrics(self, tree: xr.DataTree) -> xr.Dataset | None:
        """Metrics that need more than the area means (per-channel responses), as a Dataset
        with dims (area, sample); ``None`` when the experiment has none."""
        return None

    def _by_condition(self, data: xr.Dataset | xr.DataArray):
        from dynvision.analysis import conditions_to_dims

        names = ["image", *self.conditions] if "image" in data.coords else list(self.conditions)
        return conditions_to_dims(data, names) if names else data


def ms_grid(values: Sequence[float], name: str) -> tuple[float, ...]:
    """Validate a non-empty, strictly increasing grid of times in ms."""
    values = tuple(float(v) for v in values)
    if not values:
        raise ValueError(f"{name} must hold at least one value")
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"{name} must be strictly increasing, got {list(values)}")
    return values


__all__ = ["ExperimentSpec", "ms_grid"]

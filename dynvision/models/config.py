"""The configuration of a model family (:class:`ModelConfig`); see :mod:`dynvision.config`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from dynvision.config import AreaValues, Config, param
from dynvision.layers.config import AREA_FIELDS, MODES, AreaConfig, _forms, _integrators, _recurrences

@dataclass(frozen=True)
class ModelConfig(Config):
    """Base of every model family's configuration.

    The mapping view also holds ``"model"``: the registered name the configuration builds.
    """

    model: ClassVar[str] = ""

    n_classes: int = param(10, "int", lo=1, hi=10**7, doc="classes of the classifier")
    input_dims: tuple = param((20, 3, 64, 64), "dims", doc="(time, channels, height, width) of the input")

    def _keys(self) -> list[str]:
        return ["model", *self.field_names()]

    def __getitem__(self, key: str) -> Any:
        if key == "model":
            return self.model
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        return key == "model" or super().__contains__(key)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, **super().to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelConfig":
        data = dict(data)
        name = data.pop("model", None)
        if name is not None and cls.model and name != cls.model:
            raise ValueError(f"the configuration is for model {name!r}, not {cls.model!r}")
        return cls.from_kwargs(**data)

    def __reduce__(self):
        """Pickle by the registered model's name (the per-model subclass is made at registration)."""
        if not type(self).model:
            return super().__reduce__()
        values = {f: getattr(self, f) for f in self.field_names()}
        return (_config_of, (type(self).model, values))

    @classmethod
    def named(cls, name: str) -> type["ModelConfig"]:
        """The configuration class of the registered model ``name`` in this family.

        Members of a family (DyRCNNx2/x4/x8, ResNet18...152) share the fields and defaults of
        the family's class; each gets a subclass that only says its name.
        """
        if cls.model == name:
            return cls
        sub = type(cls.__name__, (cls,), {"model": name, "__qualname__": cls.__qualname__,
                                          "__module__": cls.__module__, "__doc__": cls.__doc__})
        return dataclass(frozen=True)(sub)



def _config_of(model: str, values: dict) -> "ModelConfig":
    """The configuration of registered model ``model`` with ``values`` (for unpickling)."""
    from dynvision.models.registry import MODELS

    return MODELS.get(model).config_class(**values)


__all__ = ["AREA_FIELDS", "MODES", "AreaConfig", "AreaValues", "ModelConfig", "param",
           "_forms", "_integrators", "_recurrences"]

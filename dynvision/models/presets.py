"""Named sets of model settings (dynamics only: weights and architecture are untouched).

``create_model(name, preset="primate")`` builds a model with a preset's settings (keywords you
give win); ``create_model(name, pretrained=..., preset=...)`` runs a trained model under them.

``primate``: delays and time constants on the scale of the macaque ventral stream. Stimulus-to-V1
latency about 40 ms (retina and LGN; V1 onset latencies are typically 40-70 ms), 10 ms between
areas (conduction plus synaptic delay; V2, V4 and IT follow V1 by roughly 10-20, 30-40 and 40-70
ms), 20 ms for the longer skip and feedback paths, and time constants of 10-20 ms growing up the
hierarchy (Schmolesky et al. 1998, J Neurophysiol 79:3272; Lamme & Roelfsema 2000, TINS 23:571;
Nowak & Bullier 1997, Cerebral Cortex 12:205). The README compares the latencies a trained model
shows under it with these.

Example:
    >>> from dynvision.models import create_model
    >>> create_model("DyRCNNx4", preset="primate", input_dims=(60, 1, 16, 16)).config.tin_ms
    40.0
"""

from __future__ import annotations

from typing import Any, Mapping

from dynvision.registry import Registry

PRESETS = Registry("preset")

PRESETS.register("primate", {
    "DyRCNN": {"dt_ms": 2.0, "tin_ms": 40.0, "tau_ms": {"V1": 10.0, "V2": 12.0, "V4": 16.0, "IT": 20.0},
               "tff_ms": 10.0, "trc_ms": 6.0, "tsk_ms": 20.0, "tfb_ms": 20.0},
})


def preset_settings(name: str, model_class: type) -> dict[str, Any]:
    """The settings of preset ``name`` for a model class (looked up by its family)."""
    table: Mapping[str, Mapping[str, Any]] = PRESETS.get(name)
    for cls in model_class.__mro__:
        if cls.__name__ in table:
            settings = dict(table[cls.__name__])
            names = [c.__name__ for c in model_class.__mro__]
            if "tau_ms" in settings and isinstance(settings["tau_ms"], Mapping) and "DyRCNNx2" in names:
                settings["tau_ms"] = {k: v for k, v in settings["tau_ms"].items() if k in ("V1", "V2")}
            return settings
    raise ValueError(f"preset {name!r} has no settings for {model_class.__name__}; it covers "
                     f"{', '.join(table)}")


def list_presets() -> list[str]:
    """Names of the presets."""
    return PRESETS.list()


__all__ = ["PRESETS", "list_presets", "preset_settings"]

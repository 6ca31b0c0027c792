"""Helpers shared by the view tests (imported relatively: ``from .helpers import ...``)."""

from __future__ import annotations

import holoviews as hv


def elements(obj, kind) -> list:
    """Every element of type ``kind`` inside a figure (Layouts, HoloMaps and Overlays walked)."""
    return [e for e in obj.traverse(lambda x: x, [kind])]


def curves(obj) -> dict[str, hv.Curve]:
    """The curves of one panel by label."""
    return {c.label: c for c in elements(obj, hv.Curve)}


def panels(obj) -> list:
    """The panels of a figure: the items of a Layout, or the figure itself."""
    return list(obj) if isinstance(obj, hv.Layout) else [obj]


def title(obj, backend: str = "bokeh") -> str:
    """The title option of a panel (for HoloMaps: of their first frame)."""
    target = obj.last if isinstance(obj, hv.HoloMap) else obj
    return hv.Store.lookup_options(backend, target, "plot").kwargs.get("title", "")


def labels(obj) -> set[str]:
    """Every label, title and hover value of type str found in a figure (to find model names)."""
    out = set()
    for e in obj.traverse(lambda x: x):
        out.add(str(e.label))
        if isinstance(e, (hv.Overlay, hv.Layout, hv.HoloMap)) or hasattr(e, "data"):
            out.add(str(title(e)))
        if isinstance(e, hv.Dataset) and not isinstance(e, hv.Image):
            for d in e.vdims[1:]:
                out |= {str(v) for v in e.dimension_values(d)}
    return out

"""Colours by task error: strong for the best model, paler for worse ones, never white.

A sequential colormap is truncated to ``[lo, hi]`` of its range (``Blues_r`` from 0 to 0.75:
dark blue to light blue), and task errors are mapped linearly onto it, best to worst, so the
worst model stays visible on a white background. Models with an unknown task error are grey.

Example:
    >>> task_error_colors({"a": 0.02, "b": 0.10, "c": None})
    {'a': '#08306b', 'b': '#c7dbef', 'c': '#999999'}
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from dynvision.validation import InvalidValueError, check_number

UNKNOWN = "#999999"


def truncated_colormap(cmap: str = "Blues_r", lo: float = 0.0, hi: float = 0.75, n: int = 256):
    """The part ``[lo, hi]`` of a matplotlib colormap as a new colormap.

    Example:
        >>> truncated_colormap("Blues_r", 0, 0.75)(1.0)[:3] != (1.0, 1.0, 1.0)
        True
    """
    import matplotlib
    from matplotlib.colors import LinearSegmentedColormap

    lo, hi = check_number("lo", lo, lo=0, hi=1), check_number("hi", hi, lo=0, hi=1)
    if hi <= lo:
        raise InvalidValueError("hi", hi, f"a value above lo={lo:g}")
    base = matplotlib.colormaps[cmap]
    return LinearSegmentedColormap.from_list(f"{cmap}[{lo:g}:{hi:g}]", base(np.linspace(lo, hi, n)), N=n)


def task_error_colors(task_error: Mapping[str, float | None], cmap: str = "Blues_r", lo: float = 0.0,
                      hi: float = 0.75) -> dict[str, str]:
    """Name -> hex colour, the lowest task error at ``lo`` of ``cmap``, the highest at ``hi``.

    Args:
        task_error: Name -> task error (``None``: unknown, grey).
        cmap: A matplotlib colormap name (reversed maps put dark colours first).
        lo, hi: The part of the colormap used; ``hi < 1`` keeps the worst model off white.
    """
    from matplotlib.colors import to_hex

    colormap = truncated_colormap(cmap, lo, hi)
    known = [float(e) for e in task_error.values() if e is not None]
    best, worst = (min(known), max(known)) if known else (0.0, 0.0)
    span = worst - best
    out = {}
    for name, err in task_error.items():
        if err is None:
            out[name] = UNKNOWN
        else:
            out[name] = to_hex(colormap((float(err) - best) / span if span > 0 else 0.0))
    return out

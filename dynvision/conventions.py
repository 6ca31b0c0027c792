"""The conventions every part of dynvision shares, defined once.

- Luminance is in ``[0, 1]``; a blank screen is :data:`BACKGROUND` grey.
- Stimuli and activity are ``(sample, time, channel, y, x)``; logits ``(sample, time, class)``.
- Times are in ms. The value stored under time label ``t`` is the state *at* ``t``: the frame
  shown over ``[t, t + dt)`` changes the state only from ``t + dt`` on (see
  :mod:`dynvision.dynamics`).
- Anything written to attrs, JSON or a fingerprint goes through :func:`jsonable`.

Example:
    >>> import numpy as np
    >>> jsonable({"dt": np.float32(2.0), "dims": (1, 2)})
    {'dt': 2.0, 'dims': [1, 2]}
"""

from __future__ import annotations

import json
from typing import Any

BACKGROUND = 0.5
STIMULUS_DIMS = ("sample", "time", "channel", "y", "x")
ACTIVITY_DIMS = ("sample", "time", "channel", "y", "x")
REDUCED_DIMS = ("sample", "time", "channel")
LOGIT_DIMS = ("sample", "time", "class")


def _default(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "tolist"):  # numpy arrays and scalars, torch tensors
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (tuple, set, frozenset)):
        return sorted(obj) if isinstance(obj, (set, frozenset)) else list(obj)
    if hasattr(obj, "__fspath__"):
        return str(obj)
    return repr(obj)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (numbers, strings, lists, dicts): numpy and torch scalars
    become numbers, tuples lists, paths strings, objects with ``to_dict`` their dict, anything
    else its ``repr``."""
    return json.loads(json.dumps(value, default=_default))

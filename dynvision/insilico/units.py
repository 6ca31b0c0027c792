"""Units: which response an in-silico analysis reads.

A :class:`Unit` names one response of a model:

- an internal unit: an area, a channel and a position on the area's map (default: the centre,
  ``(H // 2, W // 2)``), e.g. ``Unit("V1", 3)`` or ``Unit("V4", 0, y=1, x=2)``;
- an output unit: ``Unit("output", k)``, the logit of class ``k``;
- a recorded neuron of a readout: ``Unit("readout", n, session="mouse1")`` (models with
  ``readouts``, see :class:`~dynvision.training.readout.ReadoutModel`).

Strings work wherever units are taken (the command line uses them): ``"V1:3"``,
``"V4:0@1,2"`` (at ``y=1, x=2``), ``"output:2"``, ``"readout:mouse1:5"``.

Example:
    >>> parse_unit("V4:0@1,2")
    Unit(area='V4', channel=0, y=1, x=2, session=None)
    >>> parse_unit("output:2").label, parse_unit(("V1", 3)).label
    ('output:2', 'V1:3')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

from dynvision.registry import UnknownNameError, unknown_name_message
from dynvision.validation import InvalidValueError, check_int

OUTPUT = "output"
READOUT = "readout"
_PATTERN = re.compile(r"^(?P<area>[^:@]+)(?::(?P<session>[^:@]+))?:(?P<channel>-?\d+)"
                      r"(?:@(?P<y>-?\d+),(?P<x>-?\d+))?$")


@dataclass(frozen=True)
class Unit:
    """One response of a model (see the module docstring).

    Attributes:
        area: An area name, ``"output"`` (class logits) or ``"readout"`` (recorded neurons).
        channel: Channel of the area, class of the output, or neuron of the readout session.
        y: Row on the area's map (``None``: the centre).
        x: Column on the area's map (``None``: the centre).
        session: Readout session (readout units only).
    """

    area: str
    channel: int
    y: int | None = None
    x: int | None = None
    session: str | None = None

    @property
    def label(self) -> str:
        """A short name that :func:`parse_unit` reads back (``V1:3``, ``V1:3@2,4``, ``output:1``)."""
        head = f"{self.area}:{self.session}" if self.session is not None else self.area
        where = f"@{self.y},{self.x}" if self.y is not None and self.x is not None else ""
        return f"{head}:{self.channel}{where}"

    @property
    def internal(self) -> bool:
        """Whether the unit sits in an area (not the output or a readout)."""
        return self.area not in (OUTPUT, READOUT)


def parse_unit(spec: Any) -> Unit:
    """A :class:`Unit` from a Unit, a string, a tuple ``(area, channel[, y, x])`` or a mapping.

    Raises:
        ValueError: A string that is not ``AREA:CHANNEL[@Y,X]`` or ``readout:SESSION:NEURON``.
    """
    if isinstance(spec, Unit):
        return spec
    if isinstance(spec, str):
        m = _PATTERN.match(spec.strip())
        if m is None:
            raise InvalidValueError("unit", spec, "AREA:CHANNEL, AREA:CHANNEL@Y,X, output:CLASS or "
                                    "readout:SESSION:NEURON (e.g. 'V1:3', 'V4:0@1,2', 'output:2')")
        g = m.groupdict()
        if g["session"] is not None and g["area"] != READOUT:
            raise InvalidValueError("unit", spec, "a session only after 'readout' (readout:SESSION:NEURON)")
        y, x = (None, None) if g["y"] is None else (int(g["y"]), int(g["x"]))
        return Unit(g["area"], int(g["channel"]), y, x, g["session"])
    if isinstance(spec, Mapping):
        return Unit(**spec)
    if isinstance(spec, Sequence) and len(spec) in (2, 4):
        return Unit(str(spec[0]), *spec[1:])
    raise InvalidValueError("unit", spec, "a Unit, a string like 'V1:3', a tuple (area, channel[, y, x]) "
                            "or a mapping")


def unit_shape(model, area: str) -> tuple[int, int, int]:
    """``(channels, height, width)`` of what ``model`` records from ``area``."""
    a = model.areas[area]
    if hasattr(a, "shape_at"):
        channels, size = a.shape_at("record")
        return int(channels), int(size[0]), int(size[1])
    return int(a.out_channels), int(a.size[0]), int(a.size[1])


def resolve_unit(model, spec: Any) -> Unit:
    """``spec`` as a :class:`Unit` checked against ``model``, with the centre filled in.

    Raises:
        UnknownNameError: Unknown area or readout session (the valid ones are listed).
        InvalidValueError: A channel, class, neuron or position out of range.
    """
    unit = parse_unit(spec)
    channel = check_int(f"channel of unit {unit.label!r}", unit.channel, lo=0)
    if unit.area == OUTPUT:
        check_int(f"class of unit {unit.label!r}", channel, lo=0, hi=int(model.n_classes) - 1)
        return replace(unit, y=None, x=None, session=None)
    if unit.area == READOUT:
        readouts = getattr(model, "readouts", None)
        if readouts is None:
            raise UnknownNameError(f"unit {unit.label!r} reads a readout, but {type(model).__name__} has none; "
                                   f"valid areas: {', '.join(map(repr, [*model.area_names, OUTPUT]))}")
        keys = readouts.readout_keys()
        session = unit.session if unit.session is not None else (keys[0] if len(keys) == 1 else None)
        if session not in keys:
            raise UnknownNameError(unknown_name_message("readout session", unit.session, keys))
        n = readouts[session].n_neurons
        check_int(f"neuron of unit {unit.label!r}", channel, lo=0, hi=n - 1)
        return replace(unit, y=None, x=None, session=session)
    if unit.area not in model.areas:
        valid = [*model.area_names, OUTPUT] + ([READOUT] if getattr(model, "readouts", None) is not None else [])
        raise UnknownNameError(unknown_name_message("area", unit.area, valid))
    c, h, w = unit_shape(model, unit.area)
    check_int(f"channel of unit {unit.label!r}", channel, lo=0, hi=c - 1)
    y = h // 2 if unit.y is None else check_int(f"y of unit {unit.label!r}", unit.y, lo=0, hi=h - 1)
    x = w // 2 if unit.x is None else check_int(f"x of unit {unit.label!r}", unit.x, lo=0, hi=w - 1)
    return Unit(unit.area, channel, y, x, None)


def resolve_units(model, units: Any) -> list[Unit]:
    """Several units (one spec or an iterable of specs), resolved against ``model``."""
    single_tuple = isinstance(units, tuple) and len(units) in (2, 4) and isinstance(units[0], str) \
        and isinstance(units[1], int)
    if isinstance(units, (str, Unit, Mapping)) or single_tuple:
        units = [units]
    out = [resolve_unit(model, u) for u in units]
    if not out:
        raise ValueError("no units given: pass a unit such as 'V1:0' or a list of units")
    return out


def all_units(model, areas: Iterable[str] | None = None, output: bool = True) -> list[Unit]:
    """The centre unit of every channel of each area (default all), then every output unit.

    Example:
        >>> import dynvision
        >>> m = dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(2, 1, 8, 8), width=0.1)
        >>> [u.label for u in all_units(m, ["V1"])]
        ['V1:0@4,4', 'V1:1@4,4', 'V1:2@4,4', 'V1:3@4,4', 'output:0', 'output:1']
    """
    names = list(model.area_names if areas is None else areas)
    out = []
    for area in names:
        if area not in model.areas:
            raise UnknownNameError(unknown_name_message("area", area, model.area_names))
        out += [resolve_unit(model, Unit(area, c)) for c in range(unit_shape(model, area)[0])]
    if output:
        out += [Unit(OUTPUT, k) for k in range(int(model.n_classes))]
    return out


__all__ = ["OUTPUT", "READOUT", "Unit", "all_units", "parse_unit", "resolve_unit", "resolve_units", "unit_shape"]

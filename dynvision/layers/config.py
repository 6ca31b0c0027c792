"""The configuration of one area's dynamics (:class:`AreaConfig`); see :mod:`dynvision.config`."""

from __future__ import annotations

from dataclasses import dataclass

from dynvision.config import Config, param
from dynvision.validation import InvalidValueError

def _recurrences() -> list[str]:
    from dynvision.layers.recurrence import RECURRENCES

    return RECURRENCES.list()


def _integrators() -> list[str]:
    from dynvision.dynamics import INTEGRATORS

    return INTEGRATORS.list()


def _forms() -> list[str]:
    from dynvision.dynamics import FORMS

    return FORMS.list()


MODES = ("additive", "multiplicative")
FILLS = ("rest", "silent")


@dataclass(frozen=True)
class AreaConfig(Config):
    """The dynamics of one area (:class:`~dynvision.layers.area.DynamicArea`)."""

    dt_ms: float = param(2.0, "ms", lo=0, lo_open=True, doc="integration step")
    tau_ms: float = param(5.0, "ms", lo=0, lo_open=True, doc="time constant")
    tff_ms: float = param(0.0, "ms", lo=0, doc="feedforward delay (of the output sent on)")
    trc_ms: float | None = param(None, "ms", lo=0, allow_none=True, doc="recurrent delay (None: one step)")
    integrator: str = param("etd2", "choice", choices=_integrators, doc="etd2, exponential or euler")
    dynamics: str = param("rate", "choice", choices=_forms, doc="dynamics form: rate, voltage or dynvision")
    recurrence_type: str = param("full", "choice", choices=_recurrences, doc="lateral recurrence")
    recurrence_kernel: int = param(3, "int", lo=1, hi=99, doc="kernel size of the recurrence (odd)")
    recurrence_mode: str = param("additive", "choice", choices=MODES, doc="how the recurrent term enters")
    recurrence_bias: bool = param(False, "bool", doc="recurrent convolutions carry a bias")
    recurrence_init: float = param(0.5, "number", lo=0, hi=100, doc="scale of the initial recurrent weights")
    recurrence_sign: str = param("any", "choice", choices=("any", "excitatory"),
                                 doc="any, or excitatory (recurrent weights kept non-negative)")
    recurrence_bound: float | None = param(None, "number", lo=0, lo_open=True, hi=100, allow_none=True,
                                           doc="largest loop gain: operator norm of the recurrence x largest slope of "
                                               "the activation (None: unbounded)")
    recurrence_gain: float | None = param(None, "number", lo=0, lo_open=True, hi=100, allow_none=True,
                                          doc="set each area's recurrent loop gain (operator norm x largest slope "
                                              "of the activation) to this value")
    train_tau: bool = param(False, "bool", doc="learn the time constant")
    delay_fill: str = param("rest", "choice", choices=FILLS,
                            doc="before a source first emits, a delayed read gives its initial output "
                                "(rest) or nothing (silent: the term is left out, DynVision 0.1.0)")

    def validate(self) -> None:
        if self.recurrence_kernel % 2 == 0:
            raise InvalidValueError("recurrence_kernel", self.recurrence_kernel, "an odd whole number >= 1")


AREA_FIELDS = tuple(AreaConfig.field_names())

__all__ = ["AREA_FIELDS", "FILLS", "MODES", "AreaConfig"]

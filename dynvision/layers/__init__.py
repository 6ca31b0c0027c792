"""Layers: one concept per file.

Recurrence types (``recurrence``, ``topographic``), delays (``delay``), skip and feedback
connections (``connections``), the retina front stage (``retina``), adaptive gain (``gain``),
activations (``activation``), norms (``norm``), the operation order (``operations``) and the
area that ties them together (``area``).
"""

from dynvision.layers.activation import ACTIVATIONS, make_activation
from dynvision.layers.area import AreaState, DynamicArea
from dynvision.layers.connections import Connection, resample
from dynvision.layers.delay import History
from dynvision.layers.gain import AdaptiveGain
from dynvision.layers.operations import OPERATIONS, default_operations, validate_operations
from dynvision.layers.recurrence import RECURRENCES, expected_parameters, make_recurrence
from dynvision.layers.retina import Retina

__all__ = [
    "ACTIVATIONS", "AdaptiveGain", "AreaState", "Connection", "DynamicArea", "History",
    "OPERATIONS", "RECURRENCES", "Retina", "default_operations", "expected_parameters",
    "make_activation", "make_recurrence", "resample", "validate_operations",
]

"""Layers: one concept per file.

Recurrence types (``recurrence``, ``topographic``), delays (``delay``), skip and feedback
connections (``connections``), the retina front stage (``retina``), adaptive gain (``gain``),
activations (``activation``), norms (``norm``), the operation order (``operations``), the
area that ties them together (``area``), Gaussian readouts of recorded neurons (``readout``) and
spatio-temporal separable convolutions for feedforward cores (``spatiotemporal``).
"""

from dynvision.layers.activation import ACTIVATIONS, make_activation
from dynvision.layers.area import AreaState, DynamicArea
from dynvision.layers.connections import Connection, resample
from dynvision.layers.delay import History
from dynvision.layers.gain import AdaptiveGain
from dynvision.layers.operations import OPERATIONS, default_operations, validate_operations
from dynvision.layers.readout import GaussianReadout, MultiSessionReadout
from dynvision.layers.recurrence import RECURRENCES, expected_parameters, make_recurrence
from dynvision.layers.retina import Retina
from dynvision.layers.spatiotemporal import SpatioTemporalConv, SpatioTemporalCore, temporal_basis

__all__ = [
    "ACTIVATIONS", "AdaptiveGain", "AreaState", "Connection", "DynamicArea", "GaussianReadout", "History",
    "MultiSessionReadout", "OPERATIONS", "RECURRENCES", "Retina", "SpatioTemporalConv", "SpatioTemporalCore",
    "default_operations", "expected_parameters", "make_activation", "make_recurrence", "resample",
    "temporal_basis", "validate_operations",
]

"""Models: every family follows the contract of :mod:`dynvision.models.base`.

``create_model(name, **kwargs)`` builds any registered model; ``list_models()`` lists them.
Families live one per file (``dyrcnn.py``...), registered with ``@register_model``.
"""

from dynvision.models.base import ModelState, RecurrentModel, RunOutput
from dynvision.models.registry import MODELS, create_model, list_models, register_model
from dynvision.models.dyrcnn import DyRCNN, DyRCNNx2, DyRCNNx4, DyRCNNx8

__all__ = [
    "MODELS",
    "DyRCNN",
    "DyRCNNx2",
    "DyRCNNx4",
    "DyRCNNx8",
    "ModelState",
    "RecurrentModel",
    "RunOutput",
    "create_model",
    "list_models",
    "register_model",
]

"""Models: every family follows the contract of :mod:`dynvision.models.base`.

``create_model(name, **kwargs)`` builds any registered model; ``list_models()`` lists them;
``load_model(source)`` also takes pretrained names, training checkpoints and folders.
Families live one per file, registered with ``@register_model``: ``dyrcnn.py`` (DyRCNNx2/x4/x8)
and the zoo of classic architectures run as dynamic systems, ``alexnet.py`` (AlexNet),
``resnet.py`` (ResNet18/34/50/101/152), ``cornet.py`` (CorNetRT) and ``cordsnet.py`` (CordsNet).
``from_dynvision`` (``interop.py``) builds the model that reproduces a DynVision 0.1.0 DyRCNN.
"""

from dynvision.models.base import ModelState, RecurrentModel, RunOutput
from dynvision.models.registry import MODELS, create_model, list_models, register_model
from dynvision.models.presets import PRESETS, list_presets
from dynvision.models.dyrcnn import DyRCNN, DyRCNNx2, DyRCNNx4, DyRCNNx8
from dynvision.models.alexnet import AlexNet
from dynvision.models.resnet import ResNet, ResNet18, ResNet34, ResNet50, ResNet101, ResNet152
from dynvision.models.cornet import CorNetRT
from dynvision.models.cordsnet import CordsNet
from dynvision.models.interop import from_dynvision
from dynvision.models.sources import describe_model, load_model

__all__ = [
    "MODELS",
    "PRESETS",
    "AlexNet",
    "CordsNet",
    "CorNetRT",
    "DyRCNN",
    "DyRCNNx2",
    "DyRCNNx4",
    "DyRCNNx8",
    "ModelState",
    "RecurrentModel",
    "ResNet",
    "ResNet18",
    "ResNet34",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "RunOutput",
    "create_model",
    "describe_model",
    "from_dynvision",
    "list_models",
    "list_presets",
    "load_model",
    "register_model",
]

"""Training: any registered model on static images shown over time, with Lightning.

The role of this package is to turn labelled images into trained dynvision models; it
depends on :mod:`dynvision.models` only (datasets come from :mod:`dynvision.data` when
asked for by name).

- :mod:`~dynvision.training.temporal`: :class:`Presentation` shows an image over the
  model's time grid (idle grey steps, presentation patterns) and says which steps the loss
  counts (reaction-time mask, response latency);
- :mod:`~dynvision.training.bptt`: :func:`run_sequence`, the masked loss with truncated
  BPTT and the activity penalty;
- :mod:`~dynvision.training.optim`: parameter groups with lr factors for recurrent and
  feedback weights, optimisers and schedules by name;
- :mod:`~dynvision.training.module`: :class:`DynVisionModule`, the LightningModule;
- :mod:`~dynvision.training.datamodule`: datasets as loaders, shared out among processes;
- :mod:`~dynvision.training.api`: :func:`train`, the one-call entry point;
- :mod:`~dynvision.training.evaluate`: :func:`evaluate` and :func:`model_from_checkpoint`;
- :mod:`~dynvision.training.checks`: the checks before work (arguments, the run folder:
  never overwritten without ``overwrite``, resumed only with the same settings);
- :mod:`~dynvision.training.records`: what a pretrained model records about its training.

The ``dynvision train`` command is :mod:`dynvision.cli.train`.

Names load on first use: importing this package does not import Lightning.

Example:
    >>> from dynvision.training import train
    >>> result = train("DyRCNNx4", {"width": 0.25}, "digits", data_kwargs={"size": 16},
    ...                max_epochs=1, out_dir="results/quick")  # doctest: +SKIP
"""

from __future__ import annotations

from dynvision._lazy import lazy_exports

_LAZY = {
    "Presentation": "dynvision.training.temporal",
    "response_latency_steps": "dynvision.training.temporal",
    "run_sequence": "dynvision.training.bptt",
    "SequenceResult": "dynvision.training.bptt",
    "parameter_groups": "dynvision.training.optim",
    "make_optimizer": "dynvision.training.optim",
    "make_scheduler": "dynvision.training.optim",
    "DynVisionModule": "dynvision.training.module",
    "ImageDataModule": "dynvision.training.datamodule",
    "train": "dynvision.training.api",
    "TrainResult": "dynvision.training.api",
    "evaluate": "dynvision.training.evaluate",
    "model_from_checkpoint": "dynvision.training.evaluate",
    "add_train_command": "dynvision.training.cli",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

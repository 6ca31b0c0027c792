"""The LightningModule that trains any registered dynvision model on static images.

:class:`DynVisionModule` builds its model from a registry name and keyword arguments and saves
both as hyperparameters, so every checkpoint says what it holds and
``DynVisionModule.load_from_checkpoint(path)`` (or
:func:`~dynvision.training.checkpoints.model_from_checkpoint`) rebuilds it. Each batch of images
``(B, C, H, W)`` is shown as a sequence by a :class:`~dynvision.training.temporal.Presentation`
(idle grey steps, presentation pattern, reaction-time mask) and run by
:func:`~dynvision.training.bptt.run_sequence` (cross-entropy averaged over the counted steps,
truncated BPTT, activity penalty).

Optimisation is manual (Lightning's ``automatic_optimization = False``) so that truncated BPTT
can back-propagate chunk by chunk; under data parallelism (``world_size > 1``) the chunks are
summed and back-propagated once, which gives the same gradients (see ``bptt``). Logged per
stage (``train``, ``val``, ``test``): ``loss``, ``cross_entropy``, ``acc_last`` (accuracy at
the last step), ``acc_valid`` (averaged over the counted steps), ``activity``; plus the
learning rate of every parameter group (``lr/default``, ``lr/recurrence``, ``lr/feedback``).

This module imports Lightning; ``import dynvision`` and ``import dynvision.training`` do not.

Example:
    >>> module = DynVisionModule("DyRCNNx2", {"n_classes": 3, "input_dims": (6, 1, 8, 8), "width": 0.1},
    ...                          t_pre=4.0, reaction_time=2.0)
    >>> module.presentation.n_pre, module.hparams.model
    (2, 'DyRCNNx2')
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import lightning as L
import torch

from dynvision.models import RecurrentModel, create_model
from dynvision.registry import check_choice
from dynvision.training.bptt import SequenceResult, run_sequence
from dynvision.training.optim import OPTIMIZERS, SCHEDULERS, make_optimizer, make_scheduler
from dynvision.training.temporal import Presentation


def model_spec(model: RecurrentModel) -> tuple[str, dict[str, Any]]:
    """The registry name and constructor keywords that rebuild ``model`` (from ``model.config``).

    Example:
        >>> m = create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 8, 8))
        >>> name, kwargs = model_spec(m)
        >>> name, kwargs["n_classes"], kwargs["input_dims"]
        ('DyRCNNx2', 3, [4, 1, 8, 8])
    """
    name = getattr(type(model), "registry_name", None)
    config = getattr(model, "config", None)
    if name is None or not isinstance(config, Mapping):
        raise TypeError(f"{type(model).__name__} is not a registered dynvision model with a config; "
                        f"register it with @register_model and decorate __init__ with @capture_config")
    return name, {k: v for k, v in config.items() if k != "model"}


class DynVisionModule(L.LightningModule):
    """Train a dynvision model on static images shown over time.

    Args:
        model: A registered model name, or a built model (its weights are kept and its
            ``config`` becomes the hyperparameters).
        model_kwargs: Constructor keywords when ``model`` is a name.
        lr: Base learning rate.
        optimizer: ``adamw``, ``adam`` or ``sgd``.
        weight_decay: Weight decay.
        momentum: SGD momentum.
        scheduler: Per-epoch schedule: ``cosine``, ``step`` or ``none``.
        schedule_epochs: Length of the cosine schedule (default: the trainer's ``max_epochs``).
        step_size: Epochs between steps of the ``step`` schedule.
        gamma: Factor of the ``step`` schedule.
        min_lr_factor: Final/initial lr of the cosine schedule.
        recurrence_lr_factor: lr factor of parameters named ``*.recurrence.*``.
        feedback_lr_factor: lr factor of feedback connections.
        t_pre: Grey before the stimulus (ms); idle steps without gradient.
        t_stim: Stimulus period (ms); default: the rest of ``input_dims[0]`` steps.
        pattern: Presentation pattern over the stimulus period (``"1"``, ``"1011"``...).
        shuffle_pattern: Shuffle the pattern's blocks for every training batch.
        reaction_time: Time after each onset (ms) the loss ignores (the reaction-time mask);
            the model's response latency is always ignored as well.
        tbptt_steps: Truncated-BPTT window in steps (0: back-propagate through the whole
            stimulus period).
        backward_per_chunk: Back-propagate every chunk as it ends (default: yes on one
            device, no under data parallelism).
        activity_weight: Weight of the L2 activity penalty (mean square of the recorded
            areas' activity over the stimulus steps); 0 turns it off.
        activity_areas: Areas penalised (default: all).
        log_activity: Measure and log the activity even when it is not penalised.
        gradient_clip: Clip the gradient norm to this value (``None``: no clipping).
    """

    def __init__(self, model: str | RecurrentModel = "DyRCNNx4", model_kwargs: Mapping[str, Any] | None = None, *,
                 lr: float = 1e-3, optimizer: str = "adamw", weight_decay: float = 0.01, momentum: float = 0.9,
                 scheduler: str = "cosine", schedule_epochs: int | None = None, step_size: int = 10,
                 gamma: float = 0.1, min_lr_factor: float = 0.0, recurrence_lr_factor: float = 1.0,
                 feedback_lr_factor: float = 1.0, t_pre: float = 0.0, t_stim: float | None = None,
                 pattern: str = "1", shuffle_pattern: bool = False, reaction_time: float = 0.0,
                 tbptt_steps: int = 0, backward_per_chunk: bool | None = None, activity_weight: float = 0.0,
                 activity_areas: Sequence[str] | None = None, log_activity: bool = True,
                 gradient_clip: float | None = None):
        super().__init__()
        check_choice("optimizer", optimizer, OPTIMIZERS.list())
        check_choice("scheduler", scheduler, SCHEDULERS.list())
        if isinstance(model, RecurrentModel):
            if model_kwargs:
                raise ValueError("model_kwargs only apply when the model is given by name; got a built model")
            self.model = model
        else:
            self.model = create_model(str(model), **dict(model_kwargs or {}))
        name, model_kwargs = model_spec(self.model)  # every constructor argument, defaults included
        if int(tbptt_steps) < 0:
            raise ValueError(f"tbptt_steps must be >= 0 (0: no truncation), got {tbptt_steps}")
        if activity_areas is not None:
            activity_areas = list(activity_areas)
            self.model._validate_record(activity_areas)  # unknown areas raise, listing the valid ones
        self.save_hyperparameters(ignore=["model", "model_kwargs"])
        self.hparams["model"], self.hparams["model_kwargs"] = name, dict(model_kwargs)
        self.hparams["activity_areas"] = activity_areas
        self.presentation = Presentation.for_model(self.model, t_pre=t_pre, t_stim=t_stim, pattern=pattern,
                                                   shuffle_pattern=shuffle_pattern, reaction_time=reaction_time)
        self.presentation.valid_steps()  # fail now if no step would count
        self.automatic_optimization = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, T, K)`` of a sequence ``(B, T, C, H, W)``."""
        return self.model(x)

    # -- the steps ------------------------------------------------------------------------------
    def _world_size(self) -> int:
        trainer = self._trainer
        return 1 if trainer is None else int(trainer.world_size)

    def _run(self, batch, backward=None, shuffle: bool | None = False) -> SequenceResult:
        images, labels = batch
        hp = self.hparams
        sequence, mask = self.presentation.present(images, shuffle=shuffle)
        per_chunk = hp.backward_per_chunk if hp.backward_per_chunk is not None else self._world_size() == 1
        return run_sequence(self.model, sequence, labels, mask, n_pre=self.presentation.n_pre,
                            chunk_steps=int(hp.tbptt_steps), activity_weight=float(hp.activity_weight),
                            activity_areas=hp.activity_areas, measure_activity=bool(hp.log_activity),
                            backward=backward, backward_per_chunk=per_chunk)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        opt = self.optimizers()
        opt.zero_grad()
        result = self._run(batch, backward=self.manual_backward, shuffle=None)
        if self.hparams.gradient_clip:
            self.clip_gradients(opt, gradient_clip_val=float(self.hparams.gradient_clip),
                                gradient_clip_algorithm="norm")
        opt.step()
        self._log("train", result, batch_size=len(batch[1]))
        return result.loss

    def validation_step(self, batch, batch_idx: int) -> None:
        self._log("val", self._run(batch), batch_size=len(batch[1]))

    def test_step(self, batch, batch_idx: int) -> None:
        self._log("test", self._run(batch), batch_size=len(batch[1]))

    def _log(self, stage: str, result: SequenceResult, batch_size: int) -> None:
        for key, value in result.metrics().items():
            self.log(f"{stage}/{key}", value, on_step=stage == "train" and key == "loss", on_epoch=True,
                     prog_bar=key in ("loss", "acc_valid"), sync_dist=True, batch_size=batch_size)

    # -- optimisation ---------------------------------------------------------------------------
    def configure_optimizers(self):
        hp = self.hparams
        opt = make_optimizer(hp.optimizer, self.model, lr=hp.lr, weight_decay=hp.weight_decay,
                             momentum=hp.momentum, recurrence_lr_factor=hp.recurrence_lr_factor,
                             feedback_lr_factor=hp.feedback_lr_factor)
        epochs = hp.schedule_epochs
        if epochs is None:
            trainer = self._trainer
            epochs = trainer.max_epochs if trainer is not None and (trainer.max_epochs or 0) > 0 else 1
        sched = make_scheduler(hp.scheduler, opt, max_epochs=epochs, step_size=hp.step_size, gamma=hp.gamma,
                               min_lr_factor=hp.min_lr_factor)
        if sched is None:
            return opt
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}

    def on_train_epoch_start(self) -> None:
        for group in self.optimizers().optimizer.param_groups:
            self.log(f"lr/{group.get('name', 'default')}", group["lr"], on_step=False, on_epoch=True,
                     sync_dist=True)

    def on_train_epoch_end(self) -> None:
        sched = self.lr_schedulers()
        if sched is not None:
            sched.step()

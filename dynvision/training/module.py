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
the last step), ``acc_valid`` (averaged over the counted steps), ``activity``,
``rest_activity`` (with ``rest_weight > 0``); plus the
learning rate of every parameter group (``lr/default``, ``lr/recurrence``, ``lr/feedback``).

This module imports Lightning; ``import dynvision`` and ``import dynvision.training`` do not.

Example:
    >>> module = DynVisionModule("DyRCNNx2", {"n_classes": 3, "input_dims": (6, 1, 8, 8), "width": 0.1},
    ...                          t_pre=4.0, reaction_time=2.0)
    >>> module.presentation.n_pre, module.hparams.model
    (2, 'DyRCNNx2')
"""

from __future__ import annotations

import inspect
import random
from typing import Any, Sequence

import lightning as L
import numpy as np
import torch

from dynvision.models import RecurrentModel, create_model
from dynvision.models.base import config_dict
from dynvision.registry import check_choice
from dynvision.training.bptt import SequenceResult, run_sequence
from dynvision.training.optim import OPTIMIZERS, SCHEDULERS, make_optimizer, make_scheduler, set_schedule_epoch
from dynvision.training.temporal import Presentation
from dynvision.validation import InvalidValueError, check_bool, check_int, check_number


def model_spec(model: RecurrentModel) -> tuple[str, dict[str, Any]]:
    """The registry name and constructor keywords that rebuild ``model`` (from its configuration).

    Example:
        >>> m = create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 8, 8))
        >>> name, kwargs = model_spec(m)
        >>> name, kwargs["n_classes"], kwargs["input_dims"]
        ('DyRCNNx2', 3, [4, 1, 8, 8])
    """
    name = getattr(type(model), "registry_name", None)
    if name is None or getattr(model, "config", None) is None:
        raise TypeError(f"{type(model).__name__} is not a registered dynvision model with a config; "
                        f"register it with @register_model and decorate __init__ with @capture_config")
    return name, {k: v for k, v in config_dict(model).items() if k != "model"}


def check_module_settings(*, lr: float, weight_decay: float, momentum: float, schedule_epochs: int | None,
                          step_size: int, gamma: float, min_lr_factor: float, recurrence_lr_factor: float,
                          feedback_lr_factor: float, t_pre: float, t_stim: float | None, shuffle_pattern: bool,
                          reaction_time: float, hold: float, tbptt_steps: int, activity_weight: float,
                          rest_weight: float, gradient_clip: float | None, seed: int, **_: Any) -> None:
    """Check the numbers of a :class:`DynVisionModule` (each error names the value and range).

    Example:
        >>> check_module_settings(**{**DEFAULTS, "lr": -1.0})
        Traceback (most recent call last):
        ...
        dynvision.validation.InvalidValueError: lr=-1.0 is invalid: expected a finite number > 0
    """
    check_number("lr", lr, lo=0, lo_open=True)
    check_number("weight_decay", weight_decay, lo=0)
    check_number("momentum", momentum, lo=0, hi=1, hi_open=True)
    check_int("schedule_epochs", schedule_epochs, lo=1, allow_none=True)
    check_int("step_size", step_size, lo=1)
    check_number("gamma", gamma, lo=0, lo_open=True)
    check_number("min_lr_factor", min_lr_factor, lo=0, hi=1)
    check_number("recurrence_lr_factor", recurrence_lr_factor, lo=0)
    check_number("feedback_lr_factor", feedback_lr_factor, lo=0)
    check_number("t_pre", t_pre, lo=0, unit="ms")
    check_number("t_stim", t_stim, lo=0, lo_open=True, unit="ms", allow_none=True)
    check_bool("shuffle_pattern", shuffle_pattern)
    check_number("reaction_time", reaction_time, lo=0, unit="ms")
    check_number("hold", hold, lo=0, unit="ms")
    check_int("tbptt_steps", tbptt_steps, lo=0)
    check_number("activity_weight", activity_weight, lo=0)
    check_number("rest_weight", rest_weight, lo=0)
    if rest_weight > 0 and t_pre <= 0:
        raise InvalidValueError("rest_weight", rest_weight, f"0 when t_pre={t_pre} ms (the penalty is on the "
                                "resting activity during the grey before the stimulus: give t_pre > 0)")
    check_number("gradient_clip", gradient_clip, lo=0, lo_open=True, allow_none=True)
    check_int("seed", seed, lo=0)


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
        hold: Time after each offset (ms) in which the loss still counts (a memory period; with a
            pattern that turns the image off, e.g. ``"110"``).
        tbptt_steps: Truncated-BPTT window in steps (0: back-propagate through the whole
            stimulus period).
        backward_per_chunk: Back-propagate every chunk as it ends (default: yes on one
            device, no under data parallelism).
        activity_weight: Weight of the L2 activity penalty (mean square of the recorded
            areas' activity over the stimulus steps); 0 turns it off.
        rest_weight: Weight of the penalty on the resting activity (mean square of the recorded
            areas' activity over the last 5 grey steps before the stimulus, which then run with
            gradient): it teaches a low spontaneous level, so that stimuli raise activity
            rather than modulate a high resting level; 0 turns it off. Needs ``t_pre > 0``.
        activity_areas: Areas penalised (default: all).
        log_activity: Measure and log the activity even when it is not penalised.
        gradient_clip: Clip the gradient norm to this value (``None``: no clipping).
        seed: Seed of the pattern shuffling (each training step draws its permutation from
            ``(seed, step)``, so a resumed run shuffles exactly as the uninterrupted one).

    Checkpoints also hold the random states of torch, numpy and Python, restored on resume,
    so models that draw random numbers in training (dropout...) resume exactly too.
    """

    def __init__(self, model: str | RecurrentModel = "DyRCNNx4", model_kwargs: Mapping[str, Any] | None = None, *,
                 lr: float = 1e-3, optimizer: str = "adamw", weight_decay: float = 0.01, momentum: float = 0.9,
                 scheduler: str = "cosine", schedule_epochs: int | None = None, step_size: int = 10,
                 gamma: float = 0.1, min_lr_factor: float = 0.0, recurrence_lr_factor: float = 1.0,
                 feedback_lr_factor: float = 1.0, t_pre: float = 0.0, t_stim: float | None = None,
                 pattern: str = "1", shuffle_pattern: bool = False, reaction_time: float = 0.0, hold: float = 0.0,
                 tbptt_steps: int = 0, backward_per_chunk: bool | None = None, activity_weight: float = 0.0,
                 rest_weight: float = 0.0, activity_areas: Sequence[str] | None = None, log_activity: bool = True,
                 gradient_clip: float | None = None, seed: int = 0):
        super().__init__()
        check_choice("optimizer", optimizer, OPTIMIZERS.list())
        check_choice("scheduler", scheduler, SCHEDULERS.list())
        check_module_settings(**{k: v for k, v in locals().items() if k in DEFAULTS})
        if isinstance(model, RecurrentModel):
            if model_kwargs:
                raise ValueError("model_kwargs only apply when the model is given by name; got a built model")
            self.model = model
        else:
            self.model = create_model(str(model), **dict(model_kwargs or {}))
        name, model_kwargs = model_spec(self.model)  # every constructor argument, defaults included
        if activity_areas is not None:
            activity_areas = list(activity_areas)
            self.model._validate_record(activity_areas)  # unknown areas raise, listing the valid ones
        self.save_hyperparameters(ignore=["model", "model_kwargs"])
        self.hparams["model"], self.hparams["model_kwargs"] = name, dict(model_kwargs)
        self.hparams["activity_areas"] = activity_areas
        self.presentation = Presentation.for_model(self.model, t_pre=t_pre, t_stim=t_stim, pattern=pattern,
                                                   shuffle_pattern=shuffle_pattern, reaction_time=reaction_time,
                                                   hold=hold)
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
        generator = None
        if shuffle is not False and self.presentation.shuffle_pattern:
            generator = torch.Generator().manual_seed(int(hp.seed) * 1_000_003 + int(self.global_step))
        sequence, mask = self.presentation.present(images, generator=generator, shuffle=shuffle)
        per_chunk = hp.backward_per_chunk if hp.backward_per_chunk is not None else self._world_size() == 1
        return run_sequence(self.model, sequence, labels, mask, n_pre=self.presentation.n_pre,
                            chunk_steps=int(hp.tbptt_steps), activity_weight=float(hp.activity_weight),
                            rest_weight=float(hp.get("rest_weight", 0.0)),
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
        sched = self.lr_schedulers()
        if sched is not None:  # the lr of an epoch is a function of the epoch alone (exact resume)
            set_schedule_epoch(sched, self.current_epoch)
        for group in self.optimizers().optimizer.param_groups:
            self.log(f"lr/{group.get('name', 'default')}", group["lr"], on_step=False, on_epoch=True,
                     sync_dist=True)

    # -- exact resume -------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = np.random.get_state()
        checkpoint["dynvision_rng"] = {
            "torch": torch.get_rng_state(),
            "numpy": {"keys": torch.from_numpy(state[1].astype(np.int64)), "pos": int(state[2]),
                      "has_gauss": int(state[3]), "cached_gaussian": float(state[4])},
            "python": [list(v) if isinstance(v, tuple) else v for v in random.getstate()],
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        rng = checkpoint.get("dynvision_rng")
        if not rng:
            return
        torch.set_rng_state(rng["torch"])
        numpy = rng["numpy"]
        np.random.set_state(("MT19937", numpy["keys"].numpy().astype(np.uint32), numpy["pos"], numpy["has_gauss"],
                             numpy["cached_gaussian"]))
        version, internal, gauss = rng["python"]
        random.setstate((version, tuple(internal), gauss))


DEFAULTS: dict[str, Any] = {
    name: p.default for name, p in inspect.signature(DynVisionModule.__init__).parameters.items()
    if p.default is not inspect.Parameter.empty and name != "model_kwargs"}
"""The training settings of :class:`DynVisionModule` and their defaults."""
